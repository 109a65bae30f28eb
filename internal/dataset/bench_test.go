package dataset

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/medimind/modelops/internal/testutil/peakrss"
)

// Size of the tables in the benchmarks and the peak-memory test: a 20,000 × 1,000
// numeric table is 160 MB of float64.
const (
	bigRows = 20000
	bigCols = 1000
)

// numericTable makes a rows × cols table of normal numbers with the given mean.
func numericTable(rows, cols int, seed uint64, mean float64) *Table {
	rng := rand.New(rand.NewPCG(seed, 1))
	t := &Table{Rows: rows, Columns: make([]Column, cols)}
	for j := range t.Columns {
		vals := make([]float64, rows)
		for i := range vals {
			vals[i] = mean + rng.NormFloat64()
		}
		t.Columns[j] = Column{Name: fmt.Sprintf("f%04d", j), Float: vals}
	}
	return t
}

// writeTable writes t to path as CSV or Parquet, by extension.
func writeTable(tb testing.TB, path string, t *Table) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if strings.HasSuffix(path, ".parquet") {
		err = WriteParquet(w, t)
	} else {
		err = WriteCSV(w, t)
	}
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		tb.Fatal(err)
	}
}

func benchmarkRead(b *testing.B, ext string) {
	path := filepath.Join(b.TempDir(), "ref"+ext)
	writeTable(b, path, numericTable(bigRows, bigCols, 1, 0))
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("read", func(b *testing.B) {
		b.SetBytes(st.Size())
		b.ReportAllocs()
		for b.Loop() {
			t, err := Read(path, Options{})
			if err != nil {
				b.Fatal(err)
			}
			if t.Rows != bigRows || len(t.Columns) != bigCols || !t.Columns[bigCols-1].IsNumeric() {
				b.Fatalf("read %d × %d", t.Rows, len(t.Columns))
			}
		}
	})
}

// BenchmarkReadParquet20kx1000 reads a 20,000 × 1,000 numeric Parquet file written by
// WriteParquet (generated once; the sub-benchmark "read" is the measurement).
func BenchmarkReadParquet20kx1000(b *testing.B) { benchmarkRead(b, ".parquet") }

// BenchmarkReadCSV20kx1000 reads the same table as CSV.
func BenchmarkReadCSV20kx1000(b *testing.B) { benchmarkRead(b, ".csv") }

// rssChildEnv names the pair the child process of TestReadPairPeakRSS reads.
const rssChildEnv = "MODELOPS_DATASET_RSS_PAIR"

// TestReadPairPeakRSS checks the memory promise: reading a 20,000 × 1,000 numeric
// reference/current pair (320 MB of float64) peaks below twice that in resident
// memory, from CSV and from Parquet. Each read runs in a fresh process (this test
// binary, re-run on TestReadPairPeakRSSChild) whose VmHWM is the measure.
//
// It writes about 1 GB of files and takes a minute or two, so it runs only when
// MODELOPS_DATASET_RSS=1 (MODELOPS_DATASET_RSS_DIR=dir keeps the files for reruns):
//
//	MODELOPS_DATASET_RSS=1 go test -run 'TestReadPairPeakRSS$' -v ./internal/dataset
func TestReadPairPeakRSS(t *testing.T) {
	if os.Getenv("MODELOPS_DATASET_RSS") != "1" {
		t.Skip("set MODELOPS_DATASET_RSS=1 to measure peak memory (writes ~1 GB, takes a minute)")
	}
	// MODELOPS_DATASET_RSS_DIR keeps the generated files there for later runs.
	dir := os.Getenv("MODELOPS_DATASET_RSS_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	for _, ext := range []string{".csv", ".parquet"} {
		for i, name := range []string{"ref", "cur"} {
			p := filepath.Join(dir, name+ext)
			if _, err := os.Stat(p); err == nil {
				continue
			}
			writeTable(t, p, numericTable(bigRows, bigCols, uint64(i+1), 0.1*float64(i)))
		}
	}
	const floatBytes = 2 * bigRows * bigCols * 8
	for _, ext := range []string{".csv", ".parquet"} {
		t.Run(strings.TrimPrefix(ext, "."), func(t *testing.T) {
			peak := peakrss.Child(t, "TestReadPairPeakRSSChild", rssChildEnv+"="+filepath.Join(dir, "ref"+ext)+","+filepath.Join(dir, "cur"+ext))
			t.Logf("peak RSS %.0f MB for %.0f MB of float64 (%.2f×)", float64(peak)/1e6, floatBytes/1e6, float64(peak)/floatBytes)
			if peak >= 2*floatBytes {
				t.Errorf("peak RSS %d bytes, want < %d (2× the float64 size)", peak, 2*floatBytes)
			}
		})
	}
}

// TestReadPairPeakRSSChild is the child process of TestReadPairPeakRSS: it reads the
// pair and prints its peak resident memory.
func TestReadPairPeakRSSChild(t *testing.T) {
	pair := os.Getenv(rssChildEnv)
	if pair == "" {
		t.Skip("run by TestReadPairPeakRSS")
	}
	refPath, curPath, _ := strings.Cut(pair, ",")
	ref, cur, err := ReadPair(refPath, curPath, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ref.Rows != bigRows || cur.Rows != bigRows || len(cur.Columns) != bigCols {
		t.Fatalf("read %d and %d rows", ref.Rows, cur.Rows)
	}
	peakrss.Print(t)
	// The tables must be live when the peak is read.
	if ref.Columns[0].Float[0] == cur.Columns[0].Float[0] {
		t.Log("same first value")
	}
}

// BenchmarkAlignWide aligns two 100,000-column tables whose columns are in opposite
// orders: one map lookup a column, where a scan a column took minutes.
func BenchmarkAlignWide(b *testing.B) {
	const cols = 100_000
	ref, cur := numericTable(4, cols, 1, 0), numericTable(4, cols, 2, 0)
	slices.Reverse(cur.Columns)
	reversed := slices.Clone(cur.Columns)
	b.ReportAllocs()
	for b.Loop() {
		cur.Columns = slices.Clone(reversed)
		if err := Align(ref, cur, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
