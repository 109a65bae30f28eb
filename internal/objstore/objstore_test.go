//go:build !lite

package objstore_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/medimind/modelops/internal/datafs"
	"github.com/medimind/modelops/internal/dataset"
	"github.com/medimind/modelops/internal/driftcheck"
	"github.com/medimind/modelops/internal/objstore"
	"github.com/medimind/modelops/internal/testutil/s3fake"
)

// newS3Server starts an S3 endpoint on loopback and puts its credentials in the
// environment.
func newS3Server(t *testing.T) *s3fake.Server {
	s := s3fake.Start(t, s3fake.KeyID)
	s3fake.UseCredentials(t, "")
	return s
}

// read reads the table at the data path p through buckets, as a drift check does.
func read(t *testing.T, buckets *objstore.Buckets, p string, opts dataset.Options) (*dataset.Table, error) {
	t.Helper()
	return driftcheck.ReadPath(t.Context(), buckets, nil, p, opts)
}

// wideTable is a numeric table of random values (which do not compress) with cols
// columns named c00, c01, ...
func wideTable(rows, cols int, seed uint64) *dataset.Table {
	rng := rand.New(rand.NewPCG(seed, 1))
	t := &dataset.Table{Rows: rows, Columns: make([]dataset.Column, cols)}
	for j := range t.Columns {
		f := make([]float64, rows)
		for i := range f {
			f[i] = rng.NormFloat64()
		}
		t.Columns[j] = dataset.Column{Name: fmt.Sprintf("c%02d", j), Float: f}
	}
	return t
}

// TestParquetIsReadByRangesOfTheColumnsNeeded reads 2 of 40 columns of a Parquet object
// and checks, from what the server saw, that every request was a range overlapping the
// footer or one of the two columns' chunks, and that the bytes fetched are those chunks
// and the footer plus the read-ahead, a small part of the object.
func TestParquetIsReadByRangesOfTheColumnsNeeded(t *testing.T) {
	s := newS3Server(t)
	tab := wideTable(20000, 40, 7)
	var buf bytes.Buffer
	if err := dataset.WriteParquet(&buf, tab); err != nil {
		t.Fatal(err)
	}
	s.Put(t, "omics/ref.parquet", buf.Bytes())
	size := int64(buf.Len())

	keep := map[string]bool{"c03": true, "c27": true}
	var exclude []string
	for _, c := range tab.Columns {
		if !keep[c.Name] {
			exclude = append(exclude, c.Name)
		}
	}
	// Where the needed column chunks and the footer are, from the file's own metadata.
	pf, err := parquet.OpenFile(bytes.NewReader(buf.Bytes()), size)
	if err != nil {
		t.Fatal(err)
	}
	type extent struct{ lo, hi int64 }
	var needed []extent
	var neededBytes int64
	for _, rg := range pf.Metadata().RowGroups {
		for i, cc := range rg.Columns {
			if !keep[tab.Columns[i].Name] {
				continue
			}
			lo := cc.MetaData.DataPageOffset
			if d := cc.MetaData.DictionaryPageOffset; d > 0 && d < lo {
				lo = d
			}
			needed = append(needed, extent{lo, lo + cc.MetaData.TotalCompressedSize})
			neededBytes += cc.MetaData.TotalCompressedSize
		}
	}
	footerLen := int64(len(buf.Bytes())) - 8
	footerLen = int64(uint32(buf.Bytes()[footerLen]) | uint32(buf.Bytes()[footerLen+1])<<8 | uint32(buf.Bytes()[footerLen+2])<<16 | uint32(buf.Bytes()[footerLen+3])<<24)
	needed = append(needed, extent{size - 8 - footerLen, size}, extent{0, 4}) // and the magic bytes that tell the format

	buckets := objstore.New(objstore.Options{})
	t.Cleanup(func() { buckets.Close() })
	got, err := read(t, buckets, s.Path("omics/ref.parquet"), dataset.Options{Exclude: exclude})
	if err != nil {
		t.Fatal(err)
	}
	if got.Source != "s3://data/omics/ref.parquet" || len(got.Columns) != 2 || got.Rows != tab.Rows {
		t.Fatalf("read %s: %d columns, %d rows", got.Source, len(got.Columns), got.Rows)
	}
	for i, name := range []string{"c03", "c27"} {
		want := tab.Columns[map[string]int{"c03": 3, "c27": 27}[name]]
		if got.Columns[i].Name != name || !equalFloats(got.Columns[i].Float, want.Float) {
			t.Fatalf("column %d: got %s, want %s with the values written", i, got.Columns[i].Name, name)
		}
	}

	var fetched int64
	gets := 0
	for _, r := range s.Requests() {
		if r.Method != http.MethodGet {
			continue
		}
		gets++
		var lo, hi int64
		if _, err := fmt.Sscanf(r.Range, "bytes=%d-%d", &lo, &hi); err != nil {
			t.Fatalf("GET without a range (%q): the object would be streamed whole", r.Range)
		}
		overlaps := false
		for _, e := range needed {
			if lo < e.hi && hi >= e.lo {
				overlaps = true
			}
		}
		if !overlaps {
			t.Errorf("GET %s overlaps neither the footer nor a needed column", r.Range)
		}
		fetched += r.Bytes
	}
	t.Logf("object %d bytes; needed chunks %d bytes, footer %d; fetched %d bytes in %d GETs", size, neededBytes, footerLen, fetched, gets)
	// Each needed chunk may be overshot by the read-ahead's last request (at most twice
	// its length), the footer comes in a window of 64 KiB.
	if limit := 3*neededBytes + 64<<10; fetched > limit {
		t.Errorf("fetched %d bytes, want at most %d (3 × the needed chunks + the footer's window)", fetched, limit)
	}
	if fetched > size/5 {
		t.Errorf("fetched %d of the object's %d bytes for 2 of its 40 columns", fetched, size)
	}
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestCSVIsStreamed reads a CSV object and a gzip one: the tables equal the local
// reading of the same bytes, and the text is streamed (GETs from the start, no ranges
// beyond the format's four bytes).
func TestCSVIsStreamed(t *testing.T) {
	s := newS3Server(t)
	tab := wideTable(3000, 5, 11)
	var csvText bytes.Buffer
	if err := dataset.WriteCSV(&csvText, tab); err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(csvText.Bytes())
	zw.Close()
	s.Put(t, "sensor/cur.csv", csvText.Bytes())
	s.Put(t, "sensor/cur.csv.gz", gz.Bytes())
	want, err := dataset.ReadBytes(csvText.Bytes(), "local.csv", dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	buckets := objstore.New(objstore.Options{})
	t.Cleanup(func() { buckets.Close() })
	for _, key := range []string{"sensor/cur.csv", "sensor/cur.csv.gz"} {
		s.Reset()
		got, err := read(t, buckets, s.Path(key), dataset.Options{})
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if got.Rows != want.Rows || len(got.Columns) != len(want.Columns) {
			t.Fatalf("%s: %d×%d, want %d×%d", key, got.Rows, len(got.Columns), want.Rows, len(want.Columns))
		}
		for i := range want.Columns {
			if !equalFloats(got.Columns[i].Float, want.Columns[i].Float) {
				t.Fatalf("%s: column %s differs from the local reading", key, want.Columns[i].Name)
			}
		}
		streams := 0
		for _, r := range s.Requests() {
			if r.Method != http.MethodGet {
				continue
			}
			switch {
			case r.Range == "" || strings.HasPrefix(r.Range, "bytes=0-") && r.Bytes > 4:
				streams++
			case r.Bytes > 64<<10:
				t.Errorf("%s: a range GET %s of %d bytes: CSV should be streamed", key, r.Range, r.Bytes)
			}
		}
		if streams == 0 || streams > 3 {
			t.Errorf("%s: %d streaming GETs, want 1 to 3 (a pass to count lines, one to parse)", key, streams)
		}
	}
}

// TestErrorsSayWhatWentWrong: each failure of object storage is an error naming the
// object and the cause, and none holds the secret key.
func TestErrorsSayWhatWentWrong(t *testing.T) {
	s := newS3Server(t)
	tab := wideTable(2000, 4, 3)
	var pq bytes.Buffer
	if err := dataset.WriteParquet(&pq, tab); err != nil {
		t.Fatal(err)
	}
	s.Put(t, "ok.parquet", pq.Bytes())
	s.Put(t, "truncated.parquet", pq.Bytes()[:pq.Len()/2])
	var csvText bytes.Buffer
	if err := dataset.WriteCSV(&csvText, wideTable(20000, 4, 5)); err != nil {
		t.Fatal(err)
	}
	s.Put(t, "cut.csv", csvText.Bytes())
	s.CutAfter("cut.csv", csvText.Len()/3)

	tests := []struct {
		name  string
		key   string
		setup func(t *testing.T) *objstore.Buckets
		is    error
		want  string
	}{
		{"a missing object is fs.ErrNotExist", "nope/ref.parquet", nil, fs.ErrNotExist,
			"s3://data/nope/ref.parquet: no such object"},
		{"a truncated Parquet object is invalid data", "truncated.parquet", nil, dataset.ErrInvalid,
			"s3://data/truncated.parquet: not a valid Parquet file"},
		{"a body cut in transfer says where it ended", "cut.csv", nil, objstore.ErrTruncated,
			fmt.Sprintf("s3://data/cut.csv: the object ended at byte %d of the %d it announced", csvText.Len()/3, csvText.Len())},
		{"wrong credentials are refused, naming where credentials come from", "ok.parquet", func(t *testing.T) *objstore.Buckets {
			t.Setenv("AWS_ACCESS_KEY_ID", "AKIAWRONG")
			return nil
		}, objstore.ErrDenied, "s3://data/ok.parquet: access denied: the credentials from the environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"},
		{"a slow server fails the read after the stall bound", "ok.parquet", func(t *testing.T) *objstore.Buckets {
			s.Delay(3 * time.Second)
			t.Cleanup(func() { s.Delay(0) })
			return objstore.New(objstore.Options{Stall: 200 * time.Millisecond})
		}, nil, "s3://data/ok.parquet: no answer from the object store for 200ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buckets := objstore.New(objstore.Options{})
			if tt.setup != nil {
				if b := tt.setup(t); b != nil {
					buckets = b
				}
			}
			defer buckets.Close()
			_, err := read(t, buckets, s.Path(tt.key), dataset.Options{})
			if err == nil {
				t.Fatal("read succeeded")
			}
			t.Log(err)
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q does not match %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q\ndoes not say %q", err, tt.want)
			}
			var stall *objstore.StallError
			if tt.name == "a slow server fails the read after the stall bound" && !errors.As(err, &stall) {
				t.Errorf("error %q is not a *StallError", err)
			}
			if strings.Contains(err.Error(), s3fake.Secret) {
				t.Errorf("error holds the secret key: %q", err)
			}
		})
	}
}

// TestPrefixesListAsDirectories: a Hive-partitioned prefix lists as directories through
// fs.ReadDir and fs.WalkDir, and its files open, so that windows over partitions read
// object storage as they read a directory.
func TestPrefixesListAsDirectories(t *testing.T) {
	s := newS3Server(t)
	for _, k := range []string{
		"logs/sepsis/date=2026-12-01/part-0.csv", "logs/sepsis/date=2026-12-01/part-1.csv",
		"logs/sepsis/date=2026-12-02/part-0.csv", "logs/sepsis/_SUCCESS", "logs/other/date=2026-12-01/part-0.csv",
	} {
		s.Put(t, k, []byte("x\n1\n"))
	}
	buckets := objstore.New(objstore.Options{})
	t.Cleanup(func() { buckets.Close() })
	u, err := datafs.ParseObjectURL(s.Path("logs/sepsis/"))
	if err != nil {
		t.Fatal(err)
	}
	fsys, dir, err := buckets.FS(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := fs.Stat(fsys, dir); err != nil || !fi.IsDir() {
		t.Fatalf("Stat(%s) = %v, %v; want a directory", dir, fi, err)
	}
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name()+map[bool]string{true: "/", false: ""}[e.IsDir()])
	}
	if got, want := strings.Join(names, " "), "_SUCCESS date=2026-12-01/ date=2026-12-02/"; got != want {
		t.Errorf("ReadDir(%s) = %s, want %s", dir, got, want)
	}
	var files []string
	err = fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 4 {
		t.Errorf("WalkDir found %v, want the 4 objects below logs/sepsis", files)
	}
	b, err := fs.ReadFile(fsys, "logs/sepsis/date=2026-12-02/part-0.csv")
	if err != nil || string(b) != "x\n1\n" {
		t.Errorf("ReadFile = %q, %v", b, err)
	}
	if _, err := fs.ReadDir(fsys, "logs/none"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadDir of an empty prefix: %v, want fs.ErrNotExist", err)
	}
}
