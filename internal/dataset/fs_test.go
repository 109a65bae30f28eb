package dataset

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

func TestReadFSReadsTheSameTableFromDiskAndFromMemory(t *testing.T) {
	csv := "age,ward\n61,icu\n,ward-3\n47,icu\n"
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(csv))
	zw.Close()

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "cur.csv.gz"), gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	mem := fstest.MapFS{"data/cur.csv": {Data: []byte(csv)}, "data/cur.csv.gz": {Data: gz.Bytes()}}
	for name, read := range map[string]func() (*Table, error){
		"os gzip":     func() (*Table, error) { return ReadFS(os.DirFS(dir), "cur.csv.gz", Options{}) },
		"memory":      func() (*Table, error) { return ReadFS(mem, "data/cur.csv", Options{}) },
		"memory gzip": func() (*Table, error) { return ReadFS(mem, "data/cur.csv.gz", Options{}) },
	} {
		tab, err := read()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		age, ok := tab.Column("age")
		if !ok || !age.IsNumeric() || age.Len() != 3 || age.Float[0] != 61 || age.Missing() != 1 {
			t.Fatalf("%s: age column = %+v", name, age)
		}
		ward, ok := tab.Column("ward")
		if !ok || ward.IsNumeric() || ward.Dict[ward.Codes[1]] != "ward-3" {
			t.Fatalf("%s: ward column = %+v", name, ward)
		}
	}
}

func TestReadFSErrorsNameTheFile(t *testing.T) {
	mem := fstest.MapFS{"empty.csv": {Data: nil}, "bad.csv.gz": {Data: []byte{0x1f, 0x8b, 1, 2}}}
	for _, name := range []string{"empty.csv", "bad.csv.gz"} {
		_, err := ReadFS(mem, name, Options{})
		var de *DataError
		if !errors.As(err, &de) || de.Source != name || !errors.Is(err, ErrInvalid) {
			t.Fatalf("ReadFS(%s) = %v, want a DataError naming the file", name, err)
		}
	}
	if _, err := ReadFS(mem, "missing.csv", Options{}); err == nil || errors.Is(err, ErrInvalid) {
		t.Fatalf("a missing file = %v, want a read error that is not invalid data", err)
	}
}

// TestReadNamesAMissingFileOnce: the error used to read "open X: open X: no such file".
func TestReadNamesAMissingFileOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing.csv")
	for name, read := range map[string]func() (*Table, error){
		"os": func() (*Table, error) { return Read(path, Options{}) },
		"fs": func() (*Table, error) { return ReadFS(fstest.MapFS{}, "data/missing.csv", Options{}) },
	} {
		_, err := read()
		if err == nil || strings.Count(err.Error(), "missing.csv") != 1 {
			t.Errorf("%s: %v, want the file named once", name, err)
		}
	}
}
