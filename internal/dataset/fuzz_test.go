package dataset

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadCSV reads arbitrary bytes as CSV, from a seekable reader (which may read the
// text twice) and from a one-shot stream. Neither may panic; when they succeed, every
// column has Rows values and both agree on the shape of the table.
func FuzzReadCSV(f *testing.F) {
	seeds, err := filepath.Glob("testdata/*.csv")
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range seeds {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("a,b\n1,x\n2.5,3\nNA,\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		seek, err1 := ReadCSV(bytes.NewReader(data), "fuzz.csv", Options{})
		once, err2 := ReadCSV(oneShot{bytes.NewReader(data)}, "fuzz.csv", Options{})
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("seekable error %v, one-shot error %v", err1, err2)
		}
		if err1 != nil {
			return
		}
		checkInvariants(t, seek)
		checkInvariants(t, once)
		if seek.Rows != once.Rows || len(seek.Columns) != len(once.Columns) {
			t.Fatalf("seekable %d rows × %d columns, one-shot %d × %d", seek.Rows, len(seek.Columns), once.Rows, len(once.Columns))
		}
		for i := range seek.Columns {
			a, b := &seek.Columns[i], &once.Columns[i]
			if a.Name != b.Name || a.IsNumeric() != b.IsNumeric() || a.Missing() != b.Missing() {
				t.Fatalf("column %d: seekable %q numeric=%v missing=%d, one-shot %q numeric=%v missing=%d",
					i, a.Name, a.IsNumeric(), a.Missing(), b.Name, b.IsNumeric(), b.Missing())
			}
		}
	})
}
