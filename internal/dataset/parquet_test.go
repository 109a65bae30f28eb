package dataset

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
)

// writeRows writes rows with parquet-go's own writer, as a producer of data would.
func writeRows[T any](t *testing.T, rows []T, options ...parquet.WriterOption) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[T](&buf, options...)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func ptr[T any](v T) *T { return &v }

type typedRow struct {
	I32  int32     `parquet:"i32"`
	I64  *int64    `parquet:"i64,optional"`
	F32  float32   `parquet:"f32"`
	F64  *float64  `parquet:"f64,optional"`
	U64  uint64    `parquet:"u64"`
	Dec  int64     `parquet:"dec,decimal(2:10)"`
	DF   float64   `parquet:"df,dict"`
	S    *string   `parquet:"s,optional"`
	SD   string    `parquet:"sd,dict"`
	B    bool      `parquet:"b"`
	OB   *bool     `parquet:"ob,optional"`
	TS   time.Time `parquet:"ts,timestamp(millisecond)"`
	Day  int32     `parquet:"day,date"`
	UUID [16]byte  `parquet:"uuid,uuid"`
}

func typedRows() []typedRow {
	ts := time.Date(2024, 3, 1, 12, 0, 0, 500e6, time.UTC)
	u := [16]byte{0x12, 0x3e, 0x45, 0x67, 0xe8, 0x9b, 0x12, 0xd3, 0xa4, 0x56, 0x42, 0x66, 0x14, 0x17, 0x40, 0x00}
	return []typedRow{
		{I32: -7, I64: ptr[int64](1 << 40), F32: 0.5, F64: ptr(2.25), U64: math.MaxUint64, Dec: 12345, DF: 1.5, S: ptr("a"), SD: "x", B: true, OB: ptr(false), TS: ts, Day: 19783, UUID: u},
		{I32: 0, I64: nil, F32: float32(math.Inf(-1)), F64: nil, U64: 0, Dec: -5, DF: 1.5, S: nil, SD: "y", B: false, OB: nil, TS: ts.Add(time.Hour), Day: 0, UUID: u},
		{I32: math.MaxInt32, I64: ptr[int64](-3), F32: -1, F64: ptr(math.NaN()), U64: 42, Dec: 0, DF: -2, S: ptr(""), SD: "x", B: true, OB: ptr(true), TS: ts, Day: 1, UUID: u},
	}
}

func TestReadParquetTypes(t *testing.T) {
	// Small pages and row groups make the reader cross page and row group boundaries.
	data := writeRows(t, typedRows(), parquet.MaxRowsPerRowGroup(2), parquet.PageBufferSize(64))
	got, err := ReadParquet(bytes.NewReader(data), int64(len(data)), "typed.parquet", Options{})
	if err != nil {
		t.Fatal(err)
	}
	const uuid = "123e4567-e89b-12d3-a456-426614174000"
	checkTable(t, got, 3,
		num("i32", "-7", "0", "2.147483647e+09"),
		num("i64", "1.099511627776e+12", missingCell, "-3"),
		num("f32", "0.5", "-Inf", "-1"),
		num("f64", "2.25", missingCell, missingCell), // a stored NaN is missing too
		num("u64", "1.8446744073709552e+19", "0", "42"),
		num("dec", "123.45", "-0.05", "0"),
		num("df", "1.5", "1.5", "-2"),
		str("s", "a", missingCell, ""),
		str("sd", "x", "y", "x"),
		str("b", "True", "False", "True"),
		str("ob", "False", missingCell, "True"),
		str("ts", "2024-03-01T12:00:00.5Z", "2024-03-01T13:00:00.5Z", "2024-03-01T12:00:00.5Z"),
		str("day", "2024-03-01", "1970-01-01", "1970-01-02"),
		str("uuid", uuid, uuid, uuid),
	)
}

func TestReadParquetOptions(t *testing.T) {
	type row struct {
		A  float64 `parquet:"a"`
		N  *string `parquet:"n,optional"`
		C  int32   `parquet:"c"`
		Ex string  `parquet:"ex"`
	}
	data := writeRows(t, []row{{1, ptr("1.5"), 3, "z"}, {2, nil, 4, "z"}, {3, ptr("-2"), 3, "z"}})
	got, err := ReadParquet(bytes.NewReader(data), int64(len(data)), "opts.parquet",
		Options{Numeric: []string{"n"}, Categorical: []string{"c"}, Exclude: []string{"ex"}})
	if err != nil {
		t.Fatal(err)
	}
	checkTable(t, got, 3,
		num("a", "1", "2", "3"),
		num("n", "1.5", missingCell, "-2"),
		str("c", "3", "4", "3"))

	bad := writeRows(t, []row{{1, ptr("1"), 3, "z"}, {2, nil, 4, "z"}, {3, ptr("n/a"), 3, "z"}})
	_, err = ReadParquet(bytes.NewReader(bad), int64(len(bad)), "bad.parquet", Options{Numeric: []string{"n"}})
	if want := `bad.parquet: row 3: column "n": want a number, got "n/a"`; err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
}

func TestReadParquetErrors(t *testing.T) {
	type nested struct {
		ID    int64 `parquet:"id"`
		Inner struct {
			X float64 `parquet:"x"`
		} `parquet:"inner"`
		List []int32 `parquet:"list"`
	}
	data := writeRows(t, []nested{{ID: 1, List: []int32{1, 2}}})
	_, err := ReadParquet(bytes.NewReader(data), int64(len(data)), "nested.parquet", Options{})
	want := `nested.parquet: column "inner": nested column (a group), want a flat column of numbers or strings` + "\n" +
		`nested.parquet: column "list": repeated column (a list), want one value per row`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("%v does not wrap ErrInvalid", err)
	}
	// Excluding the offending columns makes the file readable.
	got, err := ReadParquet(bytes.NewReader(data), int64(len(data)), "nested.parquet", Options{Exclude: []string{"inner", "list"}})
	if err != nil {
		t.Fatal(err)
	}
	checkTable(t, got, 1, num("id", "1"))

	_, err = ReadParquet(bytes.NewReader([]byte("a,b\n1,2\n")), 8, "fake.parquet", Options{})
	if want := `fake.parquet: not a valid Parquet file: invalid magic header of parquet file: "a,b\n"`; err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	// A file cut short keeps its magic header but loses the footer.
	_, err = ReadParquet(bytes.NewReader(data[:len(data)/2]), int64(len(data)/2), "cut.parquet", Options{})
	if err == nil || !errors.Is(err, ErrInvalid) {
		t.Fatalf("got %v, want an ErrInvalid", err)
	}
}

func TestReadParquetCorruptPagesNeverPanic(t *testing.T) {
	data := writeRows(t, typedRows(), parquet.Compression(&parquet.Snappy))
	// Flip bytes across the data pages (the footer at the end is left intact, so the
	// file opens and the damage is met while decoding).
	for i := 4; i < len(data)-200; i += 7 {
		bad := bytes.Clone(data)
		bad[i] ^= 0xff
		if _, err := ReadParquet(bytes.NewReader(bad), int64(len(bad)), "bad.parquet", Options{}); err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("byte %d: %v is not ErrInvalid", i, err)
		}
	}
}

func TestWriteParquetReadsBackEqual(t *testing.T) {
	orig := &Table{Source: "orig", Rows: 4, Columns: []Column{
		{Name: "zeta", Float: []float64{1, math.Inf(1), -0.1, 7}},
		{Name: "alpha", Float: []float64{math.NaN(), 2, 3, math.NaN()}},
		{Name: "sex", Codes: []int32{0, 1, -1, 0}, Dict: []string{"F", "M"}},
		{Name: "ward", Codes: []int32{0, 0, 1, 0}, Dict: []string{"ICU", "A&E"}},
	}}
	path := filepath.Join(t.TempDir(), "t.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteParquet(f, orig); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	back, err := Read(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Column order is kept (parquet.Group would sort "alpha" first).
	checkTable(t, back, 4,
		num("zeta", "1", "+Inf", "-0.1", "7"),
		num("alpha", missingCell, "2", "3", missingCell),
		str("sex", "F", "M", missingCell, "F"),
		str("ward", "ICU", "ICU", "A&E", "ICU"))
}

func TestWriteParquetManyRowGroups(t *testing.T) {
	n := parquetRowGroupRows + 10
	orig := &Table{Rows: n, Columns: []Column{{Name: "x", Float: make([]float64, n)}, {Name: "s", Codes: make([]int32, n), Dict: []string{"a", "b"}}}}
	for i := range n {
		orig.Columns[0].Float[i] = float64(i)
		orig.Columns[1].Codes[i] = int32(i % 2)
	}
	var buf bytes.Buffer
	if err := WriteParquet(&buf, orig); err != nil {
		t.Fatal(err)
	}
	pf, err := parquet.OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if g := len(pf.RowGroups()); g != 2 {
		t.Errorf("%d row groups, want 2", g)
	}
	back, err := ReadParquet(bytes.NewReader(buf.Bytes()), int64(buf.Len()), "big.parquet", Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, back)
	for i, v := range back.Columns[0].Float {
		if v != float64(i) {
			t.Fatalf("x[%d] = %v, want %d", i, v, i)
		}
	}
	for i, c := range back.Columns[1].Codes {
		if back.Columns[1].Dict[c] != orig.Columns[1].Dict[i%2] {
			t.Fatalf("s[%d] = %q", i, back.Columns[1].Dict[c])
		}
	}
}

func TestReadParquetTimesAndLegacyTypes(t *testing.T) {
	type row struct {
		Clock int32            `parquet:"clock,time(millisecond)"`
		U32   uint32           `parquet:"u32"`
		I96   deprecated.Int96 `parquet:"i96"`
		Local int64            `parquet:"local,timestamp(microsecond:local)"`
	}
	noon := time.Date(2024, 3, 1, 12, 0, 0, 500e6, time.UTC)
	days := noon.Unix() / 86400
	nanos := uint64(noon.UnixNano() - days*86400e9)
	i96 := deprecated.Int96{uint32(nanos), uint32(nanos >> 32), uint32(days + 2440588)}
	data := writeRows(t, []row{
		{Clock: int32((13*time.Hour + 5*time.Minute + 1500*time.Millisecond) / time.Millisecond), U32: math.MaxUint32, I96: i96, Local: noon.UnixMicro()},
	})
	got, err := ReadParquet(bytes.NewReader(data), int64(len(data)), "times.parquet", Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkTable(t, got, 1,
		str("clock", "13:05:01.5"),
		num("u32", "4.294967295e+09"),
		str("i96", "2024-03-01T12:00:00.5"),
		str("local", "2024-03-01T12:00:00.5"))
}

func TestDecodeHelpers(t *testing.T) {
	for _, tc := range []struct {
		b     []byte
		scale int
		want  float64
	}{
		{[]byte{0x30, 0x39}, 2, 123.45}, // 12345
		{[]byte{0xff, 0xfb}, 2, -0.05},  // -5
		{[]byte{0x80, 0, 0, 0, 0, 0, 0, 0, 0}, 0, math.Ldexp(-1, 71)},
		{nil, 3, 0},
	} {
		if got := decimalBytes(tc.b, tc.scale); got != tc.want {
			t.Errorf("decimalBytes(%x, %d) = %v, want %v", tc.b, tc.scale, got, tc.want)
		}
	}
	for _, tc := range []struct {
		b    []byte
		want float64
	}{
		{[]byte{0x00, 0x3c}, 1},
		{[]byte{0x00, 0xc0}, -2},
		{[]byte{0x01, 0x00}, math.Ldexp(1, -24)}, // smallest subnormal
		{[]byte{0xff, 0x7b}, 65504},              // largest normal
		{[]byte{0x00, 0x7c}, math.Inf(1)},
	} {
		if got := float16(tc.b); got != tc.want {
			t.Errorf("float16(%x) = %v, want %v", tc.b, got, tc.want)
		}
	}
	if got := float16([]byte{0x01, 0x7c}); !math.IsNaN(got) {
		t.Errorf("float16(NaN) = %v", got)
	}
}
