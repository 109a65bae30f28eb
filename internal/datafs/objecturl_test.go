package datafs

import (
	"strings"
	"testing"
)

func TestParseObjectURL(t *testing.T) {
	good := []struct{ in, bucketURL, key, shown string }{
		{"s3://omics/sepsis/ref.parquet", "s3://omics", "sepsis/ref.parquet", "s3://omics/sepsis/ref.parquet"},
		{"s3://omics/logs/sepsis/?region=eu-west-1&endpoint=http://127.0.0.1:9000", "s3://omics?endpoint=http%3A%2F%2F127.0.0.1%3A9000&region=eu-west-1", "logs/sepsis", "s3://omics/logs/sepsis"},
		{"gs://omics/cur.csv.gz?anonymous=true", "gs://omics?anonymous=true", "cur.csv.gz", "gs://omics/cur.csv.gz"},
		{"azblob://logs/p.parquet?storage_account=medimind", "azblob://logs?storage_account=medimind", "p.parquet", "azblob://logs/p.parquet"},
	}
	for _, g := range good {
		u, err := ParseObjectURL(g.in)
		if err != nil {
			t.Errorf("ParseObjectURL(%q): %v", g.in, err)
			continue
		}
		if u.BucketURL() != g.bucketURL || u.Key != g.key || u.String() != g.shown || !IsObjectURL(g.in) {
			t.Errorf("ParseObjectURL(%q) = bucket %q key %q shown %q", g.in, u.BucketURL(), u.Key, u.String())
		}
	}
	bad := []struct{ in, want string }{
		{"s3://omics/ref.parquet?aws_secret_access_key=hunter2", `s3://omics/ref.parquet: unknown parameter "aws_secret_access_key"`},
		{"gs://omics/ref.parquet?region=x", `gs://omics/ref.parquet: unknown parameter "region" for gs:// (want anonymous)`},
		{"s3://key:hunter2@omics/ref.parquet", "s3://...: credentials do not go in a policy"},
		{"s3://omics/", "s3://omics/ names no object"},
		{"s3://omics/a/../b", `the key "a/../b" must be a clean slash-separated path`},
		{"s3://omics/a?region=x&region=y", `parameter "region" given 2 times`},
		{"azblob://c/k#frag", "a key with # must be written %23"},
	}
	for _, b := range bad {
		_, err := ParseObjectURL(b.in)
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("ParseObjectURL(%q) = %v, want an error saying %q", b.in, err, b.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("ParseObjectURL(%q) repeats the secret: %v", b.in, err)
		}
	}
	for _, s := range []string{"data/ref.csv", "https://x/y.csv", "file:///etc/passwd", "s3:/x"} {
		if IsObjectURL(s) {
			t.Errorf("IsObjectURL(%q) = true", s)
		}
	}
}
