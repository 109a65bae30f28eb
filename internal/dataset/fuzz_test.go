package dataset

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
)

// fuzzLimits are small, so that the fuzzer's inputs reach them: seeds in
// testdata/fuzz hold a gzip bomb and a Parquet file whose footer claims 2^31-1 rows,
// and every target must refuse such files with an error instead of running out of
// memory.
var fuzzLimits = Limits{MaxRows: 10_000, MaxColumns: 100, MaxBytes: 1 << 20, MaxCellBytes: 1 << 10, MaxMemory: 8 << 20}

// addFiles adds the files matching pattern as seeds.
func addFiles(f *testing.F, pattern string) {
	f.Helper()
	seeds, err := filepath.Glob(pattern)
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
}

// FuzzReadCSV reads arbitrary bytes as CSV, from a seekable reader (which may read the
// text twice, and reads it in parallel in chunks of 16 bytes) and from a one-shot
// stream. Neither may panic; when they succeed, every column has Rows values and both
// agree on the shape of the table. The parallel reading and the sequential one of the
// same text give the same table or the same error.
func FuzzReadCSV(f *testing.F) {
	addFiles(f, "testdata/*.csv")
	f.Add([]byte("a,b\n1,x\n2.5,3\nNA,\n"))
	smallChunks(f, 16)
	f.Fuzz(func(t *testing.T, data []byte) {
		opts := Options{Limits: fuzzLimits}
		var opens int
		sequential := bytesOpener(data, &opens)
		sequential.sequential = true
		want, wantErr := readCSV(sequential, opts)
		got, gotErr := readCSV(bytesOpener(data, &opens), opts)
		if fmt.Sprint(wantErr) != fmt.Sprint(gotErr) {
			t.Fatalf("sequential error %v, parallel error %v", wantErr, gotErr)
		}
		if wantErr == nil {
			if d := sameTable(want, got); d != "" {
				t.Fatalf("sequential and parallel tables differ: %s", d)
			}
		}
		seek, err1 := ReadCSV(bytes.NewReader(data), "fuzz.csv", opts)
		once, err2 := ReadCSV(oneShot{bytes.NewReader(data)}, "fuzz.csv", opts)
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

// FuzzReadGzip reads arbitrary bytes as a gzipped CSV file, held in memory (a git
// tree) and on disk. Neither may panic or exceed the limits, and both agree.
func FuzzReadGzip(f *testing.F) {
	addFiles(f, "testdata/*.gz")
	f.Fuzz(func(t *testing.T, data []byte) {
		opts := Options{Limits: fuzzLimits}
		mem, err1 := ReadFS(fstest.MapFS{"fuzz.csv.gz": {Data: data}}, "fuzz.csv.gz", opts)
		path := filepath.Join(t.TempDir(), "fuzz.csv.gz")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		disk, err2 := Read(path, opts)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("in memory error %v, on disk error %v", err1, err2)
		}
		if err1 != nil {
			return
		}
		checkInvariants(t, mem)
		checkInvariants(t, disk)
		if mem.Rows != disk.Rows || len(mem.Columns) != len(disk.Columns) {
			t.Fatalf("in memory %d rows × %d columns, on disk %d × %d", mem.Rows, len(mem.Columns), disk.Rows, len(disk.Columns))
		}
	})
}

// FuzzReadParquet reads arbitrary bytes as a Parquet file. It may not panic, exceed the
// limits or trust the footer; a table it returns holds Rows values in every column.
func FuzzReadParquet(f *testing.F) {
	addFiles(f, "testdata/*.parquet")
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, err := ReadParquet(bytes.NewReader(data), int64(len(data)), "fuzz.parquet", Options{Limits: fuzzLimits})
		if err != nil {
			return
		}
		checkInvariants(t, tab)
		if tab.Rows > int(fuzzLimits.MaxRows) || len(tab.Columns) > fuzzLimits.MaxColumns {
			t.Fatalf("%d rows × %d columns, over the limits", tab.Rows, len(tab.Columns))
		}
	})
}
