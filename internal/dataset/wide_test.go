package dataset

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// TestWriteWideData writes the wide pair the memory budget is measured on (README,
// Performance), and is skipped unless MODELOPS_WIDE_DIR names the directory to write:
//
//	MODELOPS_WIDE_DIR=/tmp/wide MODELOPS_WIDE_ROWS=20000 MODELOPS_WIDE_COLS=20000 \
//	  go test -run TestWriteWideData -v ./internal/dataset
//
// reference.parquet and current.parquet hold ROWS rows of COLS standard normal DOUBLE
// columns (every tenth current column shifted by 0.3), Snappy-compressed, written a row
// group of 5,000 rows at a time so that the writer never holds the table; with
// MODELOPS_WIDE_CSV=1, reference.csv and current.csv hold the same shape as text (six
// decimals, as NumPy's savetxt "%.6f" writes them).
func TestWriteWideData(t *testing.T) {
	dir := os.Getenv("MODELOPS_WIDE_DIR")
	if dir == "" {
		t.Skip("MODELOPS_WIDE_DIR not set")
	}
	rows, _ := strconv.Atoi(os.Getenv("MODELOPS_WIDE_ROWS"))
	cols, _ := strconv.Atoi(os.Getenv("MODELOPS_WIDE_COLS"))
	if rows <= 0 || cols <= 0 {
		t.Fatal("set MODELOPS_WIDE_ROWS and MODELOPS_WIDE_COLS")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	csv := os.Getenv("MODELOPS_WIDE_CSV") == "1"
	for side, shift := range map[string]float64{"reference": 0, "current": 0.3} {
		var err error
		if csv {
			err = writeWideCSV(filepath.Join(dir, side+".csv"), rows, cols, shift)
		} else {
			err = writeWideParquet(filepath.Join(dir, side+".parquet"), rows, cols, shift)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// wideValues fills v with column col's values of rows [lo, lo+len(v)).
func wideValues(v []float64, col, lo int, shift float64) {
	rng := rand.New(rand.NewPCG(uint64(col), uint64(lo)^uint64(shift*10)))
	s := 0.0
	if col%10 == 0 {
		s = shift
	}
	for i := range v {
		v[i] = rng.NormFloat64() + s
	}
}

func wideName(col int) string { return fmt.Sprintf("g%05d", col) }

func writeWideParquet(path string, rows, cols int, shift float64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fields := make(orderedGroup, cols)
	for i := range fields {
		fields[i] = namedField{Node: parquet.Leaf(parquet.DoubleType), name: wideName(i)}
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	pw := parquet.NewWriter(bw, parquet.NewSchema("table", fields), parquet.Compression(&parquet.Snappy))
	const group = 5000
	vals := make([]float64, group)
	batch := make([]parquet.Value, group)
	for lo := 0; lo < rows; lo += group {
		n := min(group, rows-lo)
		writers := pw.ColumnWriters()
		for c := range cols {
			wideValues(vals[:n], c, lo, shift)
			for k, v := range vals[:n] {
				batch[k] = parquet.DoubleValue(v).Level(0, 0, c)
			}
			if _, err := writers[c].WriteRowValues(batch[:n]); err != nil {
				return err
			}
		}
		if err := pw.Flush(); err != nil {
			return err
		}
	}
	if err := pw.Close(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return f.Close()
}

func writeWideCSV(path string, rows, cols int, shift float64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	for c := range cols {
		if c > 0 {
			w.WriteByte(',')
		}
		w.WriteString(wideName(c))
	}
	w.WriteByte('\n')
	const group = 1000
	block := make([][]float64, cols)
	for c := range block {
		block[c] = make([]float64, group)
	}
	buf := make([]byte, 0, 32)
	for lo := 0; lo < rows; lo += group {
		n := min(group, rows-lo)
		for c := range cols {
			wideValues(block[c][:n], c, lo, shift)
		}
		for r := range n {
			for c := range cols {
				if c > 0 {
					w.WriteByte(',')
				}
				buf = strconv.AppendFloat(buf[:0], block[c][r], 'f', 6, 64)
				w.Write(buf)
			}
			w.WriteByte('\n')
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}
