package dataset

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// smallChunks makes every file go through the parallel reader, cut into chunks of a
// few lines, for the rest of the test.
func smallChunks(t testing.TB, chunk int) {
	oldChunk, oldFrom := csvChunkBytes, csvParallelFrom
	csvChunkBytes, csvParallelFrom = chunk, 0
	t.Cleanup(func() { csvChunkBytes, csvParallelFrom = oldChunk, oldFrom })
}

// bytesOpener opens data as a file does, counting the opens.
func bytesOpener(data []byte, opens *int) opener {
	return opener{source: "gen.csv", reopen: true, open: func() (io.Reader, error) {
		*opens++
		return bytes.NewReader(data), nil
	}}
}

// genCSV makes a CSV text of the kinds the readers must agree on: numbers in many
// spellings, missing cells, text, and, with plain false, quoted fields with line
// breaks and quotes, CRLF, a BOM, ragged rows, blank lines and stray '\r' and '"'.
func genCSV(rng *rand.Rand, plain bool) []byte {
	cols, rows := 1+rng.IntN(5), rng.IntN(40)
	var b strings.Builder
	if rng.IntN(4) == 0 {
		b.WriteString("\uFEFF")
	}
	nl := "\n"
	if rng.IntN(3) == 0 {
		nl = "\r\n"
	}
	for j := range cols {
		if j > 0 {
			b.WriteByte(',')
		}
		if rng.IntN(5) == 0 {
			fmt.Fprintf(&b, `"c%d"`, j)
		} else {
			fmt.Fprintf(&b, "c%d", j)
		}
	}
	b.WriteString(nl)
	plainCells := []string{"1", "-2.5", "1e3", "1e999", "0x1p-2", "", "NaN", "nan", "Inf", "x", "a b", "1.0", "007", " 3"}
	oddCells := []string{`"q,1"`, "\"line\nbreak\"", `"say ""hi"""`, `a"b`, "\r", `"2"`, `""`}
	textCol := rng.IntN(cols + 1) // a column whose cells are mostly text
	for range rows {
		n := cols
		if !plain && rng.IntN(15) == 0 {
			n += rng.IntN(3) - 1 // ragged
		}
		if rng.IntN(12) == 0 {
			b.WriteString(nl) // blank line
		}
		for j := range n {
			if j > 0 {
				b.WriteByte(',')
			}
			switch {
			case !plain && rng.IntN(12) == 0:
				b.WriteString(oddCells[rng.IntN(len(oddCells))])
			case j == textCol && rng.IntN(4) > 0:
				fmt.Fprintf(&b, "t%d", rng.IntN(4))
			case rng.IntN(6) == 0:
				b.WriteString(plainCells[rng.IntN(len(plainCells))])
			default:
				fmt.Fprintf(&b, "%.3f", rng.NormFloat64())
			}
		}
		b.WriteString(nl)
	}
	s := b.String()
	if rng.IntN(4) == 0 {
		s = strings.TrimSuffix(s, nl)
	}
	return []byte(s)
}

// genOptions picks the options the type rules depend on.
func genOptions(rng *rand.Rand) Options {
	var o Options
	switch rng.IntN(5) {
	case 1:
		o.Numeric = []string{"c0"}
	case 2:
		o.Numeric, o.Invalid = []string{"c0"}, InvalidIgnore
	case 3:
		o.Categorical = []string{"c0"}
	}
	switch rng.IntN(8) {
	case 0:
		o.Limits = Limits{MaxRows: 20, MaxCellBytes: 4}
	case 1:
		o.Limits = Limits{MaxBytes: 300}
	case 2:
		o.Limits = Limits{MaxMemory: 8 * 60}
	}
	return o
}

// sameTable reports how a and b differ, or "" when they hold the same names, kinds,
// values (NaN bit for bit), codes and dictionaries.
func sameTable(a, b *Table) string {
	if a.Rows != b.Rows || len(a.Columns) != len(b.Columns) {
		return fmt.Sprintf("%d × %d against %d × %d", a.Rows, len(a.Columns), b.Rows, len(b.Columns))
	}
	for i := range a.Columns {
		x, y := &a.Columns[i], &b.Columns[i]
		if x.Name != y.Name || x.Invalid != y.Invalid || len(x.Float) != len(y.Float) ||
			fmt.Sprint(x.Codes, x.Dict) != fmt.Sprint(y.Codes, y.Dict) || (x.Float == nil) != (y.Float == nil) {
			return fmt.Sprintf("column %d: %+v against %+v", i, *x, *y)
		}
		for r := range x.Float {
			if math.Float64bits(x.Float[r]) != math.Float64bits(y.Float[r]) {
				return fmt.Sprintf("column %q row %d: %v against %v", x.Name, r, x.Float[r], y.Float[r])
			}
		}
	}
	return ""
}

// TestParallelCSVMatchesSequential reads many generated texts with the parallel reader
// (chunks of a few lines) and the sequential one: the tables, or the errors, are the
// same. Plain valid texts must really be read in parallel (three opens: the line
// count, the header, the chunks), not by the fallback.
func TestParallelCSVMatchesSequential(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 1))
	parallelReads := 0
	for i := range 3000 {
		smallChunks(t, 1+rng.IntN(64))
		data := genCSV(rng, i%2 == 0)
		opts := genOptions(rng)
		var seqOpens, parOpens int
		seq := bytesOpener(data, &seqOpens)
		seq.sequential = true
		want, wantErr := readCSV(seq, opts)
		got, gotErr := readCSV(bytesOpener(data, &parOpens), opts)
		if fmt.Sprint(wantErr) != fmt.Sprint(gotErr) {
			t.Fatalf("input %d %q: sequential error %v, parallel error %v", i, data, wantErr, gotErr)
		}
		if wantErr != nil {
			continue
		}
		if d := sameTable(want, got); d != "" {
			t.Fatalf("input %d %q (%+v): %s", i, data, opts, d)
		}
		if parOpens == 3 {
			parallelReads++
		}
	}
	if parallelReads < 500 {
		t.Fatalf("only %d of 3000 inputs were read in parallel", parallelReads)
	}
}

// TestParallelCSVGzip reads a gzip file large enough for many chunks in parallel: the
// table is the one the sequential reader reads.
func TestParallelCSVGzip(t *testing.T) {
	smallChunks(t, 4096)
	path := filepath.Join(t.TempDir(), "t.csv.gz")
	writeTable(t, strings.TrimSuffix(path, ".gz"), numericTable(3000, 7, 3, 1))
	text, err := os.ReadFile(strings.TrimSuffix(path, ".gz"))
	if err != nil {
		t.Fatal(err)
	}
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write(text)
	zw.Close()
	if err := os.WriteFile(path, zb.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Read(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var opens int
	seq := bytesOpener(text, &opens)
	seq.sequential = true
	want, err := readCSV(seq, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d := sameTable(want, got); d != "" || got.Rows != 3000 {
		t.Fatalf("%d rows: %s", got.Rows, d)
	}
}

// TestParseDecimalMatchesParseFloat compares the fast path with strconv.ParseFloat, bit
// for bit, on short decimals and on the spellings it must leave to ParseFloat.
func TestParseDecimalMatchesParseFloat(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 1))
	cases := []string{"0", "-0", "+0.0", "-0.000000", "1.", ".5", "007", "999999999999999", "0.000000000000001",
		"123456789012345.", "9007199254740993", "1e3", "1_0", "", ".", "-", "+", "1.2.3", "Inf", "nan", "0x10", " 1"}
	for range 100000 {
		digits := 1 + rng.IntN(17)
		s := strconv.FormatUint(rng.Uint64N(uint64(math.Pow10(min(digits, 19)))), 10)
		if p := rng.IntN(len(s) + 1); p < len(s) {
			s = s[:p] + "." + s[p:]
		}
		if rng.IntN(2) == 0 {
			s = "-" + s
		}
		cases = append(cases, s)
	}
	for _, s := range cases {
		got, ok := parseDecimal([]byte(s))
		if !ok {
			continue
		}
		want, err := strconv.ParseFloat(s, 64)
		if err != nil || math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("parseDecimal(%q) = %v, ParseFloat %v, %v", s, got, want, err)
		}
	}
}

// BenchmarkReadCSVSequential20kx1000 reads the file of BenchmarkReadCSV20kx1000 with the
// sequential reader: what the parallel reader is measured against.
func BenchmarkReadCSVSequential20kx1000(b *testing.B) {
	path := filepath.Join(b.TempDir(), "ref.csv")
	writeTable(b, path, numericTable(bigRows, bigCols, 1, 0))
	o, closeLast := reopener(path, func() (fs.File, error) { return os.Open(path) }, false)
	defer closeLast()
	o.sequential = true
	b.ReportAllocs()
	for b.Loop() {
		if t, err := readCSV(o, Options{}); err != nil || t.Rows != bigRows {
			b.Fatal(err)
		}
	}
}

// cancelAfter cancels its context once the reader has given n bytes.
type cancelAfter struct {
	r      io.Reader
	n      int
	cancel func()
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	if c.n -= k; c.n <= 0 {
		c.cancel()
	}
	return k, err
}

// TestParallelCSVCancel cancels the context while the parallel reader reads the body:
// the read stops with the context's error.
func TestParallelCSVCancel(t *testing.T) {
	smallChunks(t, 256)
	var b bytes.Buffer
	WriteCSV(&b, numericTable(2000, 5, 4, 0))
	data := b.Bytes()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opens := 0
	o := opener{source: "big.csv", reopen: true, open: func() (io.Reader, error) {
		opens++
		if opens == 3 { // the line count, the header, then the body in chunks
			return &cancelAfter{r: bytes.NewReader(data), n: len(data) / 2, cancel: cancel}, nil
		}
		return bytes.NewReader(data), nil
	}}
	_, err := readCSV(o, Options{Context: ctx})
	if !errors.Is(err, context.Canceled) || opens != 3 {
		t.Fatalf("error %v after %d opens, want context.Canceled after 3", err, opens)
	}
}
