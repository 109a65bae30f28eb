package dataset

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// forgeFooter rewrites the footer of a Parquet file with mutate.
func forgeFooter(t testing.TB, file []byte, mutate func(md *format.FileMetaData)) []byte {
	t.Helper()
	n := binary.LittleEndian.Uint32(file[len(file)-8:])
	footerStart := len(file) - 8 - int(n)
	var md format.FileMetaData
	if err := thrift.Unmarshal(new(thrift.CompactProtocol), file[footerStart:len(file)-8], &md); err != nil {
		t.Fatal(err)
	}
	mutate(&md)
	footer, err := thrift.Marshal(new(thrift.CompactProtocol), &md)
	if err != nil {
		t.Fatal(err)
	}
	out := append(bytes.Clone(file[:footerStart]), footer...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(footer)))
	return append(out, "PAR1"...)
}

// forgeRowCount rewrites the footer of a Parquet file so that the file and each row
// group claim rows rows, as the 27 KB file of the Trust I report claimed 2^31-1.
func forgeRowCount(t testing.TB, file []byte, rows int64) []byte {
	t.Helper()
	return forgeFooter(t, file, func(md *format.FileMetaData) {
		md.NumRows = rows
		for i := range md.RowGroups {
			md.RowGroups[i].NumRows = rows
		}
	})
}

// smallParquet is a 1,000-row Parquet file of two numeric columns.
func smallParquet(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteParquet(&buf, numericTable(1000, 2, 1, 0)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// allocated returns the bytes f allocates on the heap.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestParquetForgedRowCountIsRefusedOrNeverAllocated(t *testing.T) {
	forged := forgeRowCount(t, smallParquet(t), math.MaxInt32)
	if len(forged) > 64<<10 {
		t.Fatalf("forged file is %d bytes, want a small one", len(forged))
	}
	// Under the default limits the footer's claim alone is refused.
	_, err := ReadParquet(bytes.NewReader(forged), int64(len(forged)), "forged.parquet", Options{})
	if !errors.Is(err, ErrLimit) || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "forged.parquet: 2147483647 rows, more than the limit maxRows") {
		t.Fatalf("got %v, want a maxRows limit error naming the file", err)
	}
	// With the limits raised out of the way, the columns grow only with the values the
	// file holds: the read fails on the count, having allocated about the file's size
	// rather than 2^31 float64s (17 GB).
	huge := Options{Limits: Limits{MaxRows: math.MaxInt64, MaxMemory: math.MaxInt64}}
	used := allocated(func() {
		_, err = ReadParquet(bytes.NewReader(forged), int64(len(forged)), "forged.parquet", huge)
	})
	if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "want one per row (2147483647)") {
		t.Fatalf("got %v, want an error about the values missing", err)
	}
	if used > 64<<20 {
		t.Errorf("reading a %d-byte file allocated %d MB", len(forged), used>>20)
	}
}

// gzipBomb is CSV text of a header and then body repeated to n bytes, gzipped: a few
// kilobytes that inflate to n bytes.
func gzipBomb(t testing.TB, body string, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write([]byte("x\n"))
	chunk := []byte(strings.Repeat(body, 64<<10/len(body)))
	for written := 0; written < n; written += len(chunk) {
		zw.Write(chunk)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGzipBombStopsAtTheByteLimit(t *testing.T) {
	limits := Limits{MaxBytes: 1 << 20}
	bombs := map[string][]byte{
		"lines":       gzipBomb(t, "1\n", 8<<20),
		"no newlines": gzipBomb(t, "1", 8<<20),
	}
	for name, bomb := range bombs {
		if len(bomb) > 64<<10 {
			t.Fatalf("%s: bomb is %d bytes compressed, want a small one", name, len(bomb))
		}
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "cur.csv.gz"), bomb, 0o644); err != nil {
			t.Fatal(err)
		}
		mem := fstest.MapFS{"cur.csv.gz": {Data: bomb}}
		for how, read := range map[string]func() (*Table, error){
			"file":   func() (*Table, error) { return Read(filepath.Join(dir, "cur.csv.gz"), Options{Limits: limits}) },
			"memory": func() (*Table, error) { return ReadFS(mem, "cur.csv.gz", Options{Limits: limits}) },
		} {
			var err error
			used := allocated(func() { _, err = read() })
			if !errors.Is(err, ErrLimit) || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "cur.csv.gz") {
				t.Errorf("%s, %s: got %v, want a limit error naming the file", name, how, err)
			}
			// The 8 MiB of text is never held: what is allocated is the 1 MiB read
			// under the limit, and buffers.
			if used > 6<<20 {
				t.Errorf("%s, %s: allocated %d MB", name, how, used>>20)
			}
		}
	}
	// Within the limit the same file reads.
	tab, err := ReadBytes(bombs["lines"], "cur.csv.gz", Options{Limits: Limits{MaxBytes: 64 << 20}})
	if err != nil {
		t.Fatal(err)
	}
	if tab.Rows != 4<<20 {
		t.Errorf("%d rows, want %d", tab.Rows, 4<<20)
	}
}

func TestLimitsNameTheFileAndTheLimit(t *testing.T) {
	tests := []struct {
		name, csv string
		limits    Limits
		want      string
	}{
		{"rows", "a\n1\n2\n3\n", Limits{MaxRows: 2}, "data.csv: 3 rows, more than the limit maxRows = 2"},
		{"columns", "a,b,c\n1,2,3\n", Limits{MaxColumns: 2}, "data.csv: 3 columns, more than the limit maxColumns = 2"},
		{"cell", "a,b\n1,2\nx,abcdefgh\n", Limits{MaxCellBytes: 4}, `data.csv: line 3: column "b": a cell of 8 bytes, more than the limit maxCellBytes = 4`},
		{"memory", "a,b\n1,2\n3,4\n5,6\n", Limits{MaxMemory: 40}, "data.csv: 3 rows × 2 columns (8 bytes a cell), more than the limit maxMemory = 40"},
		{"bytes", "a\n" + strings.Repeat("1\n", 100), Limits{MaxBytes: 100}, "data.csv: more than 100 bytes of text, more than the limit maxBytes = 100"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadCSV(strings.NewReader(tc.csv), "data.csv", Options{Limits: tc.limits})
			if !errors.Is(err, ErrLimit) || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("seekable: got %v\nwant %s", err, tc.want)
			}
			_, err = ReadCSV(oneShot{strings.NewReader(tc.csv)}, "data.csv", Options{Limits: tc.limits})
			if !errors.Is(err, ErrLimit) || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("stream: got %v\nwant %s", err, tc.want)
			}
		})
	}
}

func TestReadingAndAligningStopWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	opts := Options{Context: ctx}
	if _, err := ReadCSV(strings.NewReader("a\n1\n"), "data.csv", opts); !errors.Is(err, context.Canceled) {
		t.Errorf("ReadCSV: got %v, want context.Canceled", err)
	}
	file := smallParquet(t)
	if _, err := ReadParquet(bytes.NewReader(file), int64(len(file)), "data.parquet", opts); !errors.Is(err, context.Canceled) {
		t.Errorf("ReadParquet: got %v, want context.Canceled", err)
	}
	ref, cur := numericTable(2, 3, 1, 0), numericTable(2, 3, 2, 0)
	if err := Align(ref, cur, opts); !errors.Is(err, context.Canceled) {
		t.Errorf("Align: got %v, want context.Canceled", err)
	}
}

// forgeFirstPage rewrites the header of the first page of the first column chunk with
// mutate, moving what follows and the footer's offsets to fit.
func forgeFirstPage(t testing.TB, file []byte, mutate func(h *format.PageHeader)) []byte {
	t.Helper()
	n := binary.LittleEndian.Uint32(file[len(file)-8:])
	footerStart := len(file) - 8 - int(n)
	var md format.FileMetaData
	if err := thrift.Unmarshal(new(thrift.CompactProtocol), file[footerStart:len(file)-8], &md); err != nil {
		t.Fatal(err)
	}
	first := &md.RowGroups[0].Columns[0].MetaData
	start := first.DataPageOffset
	if d := first.DictionaryPageOffset; d > 0 && d < start {
		start = d
	}
	r := new(thrift.CompactProtocol).NewReaderFromBytes(file[start:footerStart])
	var h format.PageHeader
	if err := thrift.NewDecoder(r).Decode(&h); err != nil {
		t.Fatal(err)
	}
	oldLen := int64(r.BytesRead())
	mutate(&h)
	header, err := thrift.Marshal(new(thrift.CompactProtocol), &h)
	if err != nil {
		t.Fatal(err)
	}
	delta := int64(len(header)) - oldLen
	for i := range md.RowGroups {
		for j := range md.RowGroups[i].Columns {
			c := &md.RowGroups[i].Columns[j].MetaData
			if c.DataPageOffset > start {
				c.DataPageOffset += delta
			}
			if c.DictionaryPageOffset > start {
				c.DictionaryPageOffset += delta
			}
		}
	}
	first.TotalCompressedSize += delta
	footer, err := thrift.Marshal(new(thrift.CompactProtocol), &md)
	if err != nil {
		t.Fatal(err)
	}
	out := append(bytes.Clone(file[:start]), header...)
	out = append(out, file[start+oldLen:footerStart]...)
	out = append(out, footer...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(footer)))
	return append(out, "PAR1"...)
}

func TestParquetPageHeadersAreCheckedBeforeParquetGoAllocatesFromThem(t *testing.T) {
	file := smallParquet(t)
	// The unchanged header reads: the forging itself is sound.
	same := forgeFirstPage(t, file, func(*format.PageHeader) {})
	if _, err := ReadParquet(bytes.NewReader(same), int64(len(same)), "same.parquet", Options{}); err != nil {
		t.Fatalf("re-encoded file: %v", err)
	}
	tests := map[string]func(h *format.PageHeader){
		"values": func(h *format.PageHeader) {
			h.DataPageHeader.V.NumValues = 1 << 28
			h.DataPageHeaderV2.V.NumValues = 1 << 28
			h.DictionaryPageHeader.V.NumValues = 1 << 28
		},
		"compressed size":   func(h *format.PageHeader) { h.CompressedPageSize = 1 << 30 },
		"uncompressed size": func(h *format.PageHeader) { h.UncompressedPageSize = 1 << 30 },
	}
	for name, mutate := range tests {
		forged := forgeFirstPage(t, file, mutate)
		var err error
		used := allocated(func() {
			_, err = ReadParquet(bytes.NewReader(forged), int64(len(forged)), "forged.parquet", Options{Limits: Limits{MaxBytes: 1 << 20}})
		})
		if !errors.Is(err, ErrInvalid) || !strings.HasPrefix(err.Error(), "forged.parquet: malformed Parquet file: a page of") {
			t.Errorf("%s: got %v, want a malformed page error", name, err)
		}
		if used > 16<<20 {
			t.Errorf("%s: allocated %d MB for a %d-byte file", name, used>>20, len(forged))
		}
	}
}

func TestParquetFootersAreCheckedBeforeParquetGoAllocatesFromThem(t *testing.T) {
	file := smallParquet(t)
	// The footer's length claims 4 GB.
	long := bytes.Clone(file)
	binary.LittleEndian.PutUint32(long[len(long)-8:], 0xfffffff0)
	// The footer is a struct whose schema (field 2) is a list claiming 2^31 structs.
	list := []byte("PAR1\x29\xfc\x80\x80\x80\x80\x08\x00")
	list = binary.LittleEndian.AppendUint32(list, uint32(len(list)-4))
	list = append(list, "PAR1"...)
	// Structs nested a thousand deep.
	deep := append([]byte("PAR1"), bytes.Repeat([]byte{0x1c}, 1000)...)
	deep = binary.LittleEndian.AppendUint32(deep, 1000)
	deep = append(deep, "PAR1"...)
	tests := map[string]struct {
		file []byte
		want string
	}{
		"footer length": {long, "the footer claims 4294967280 bytes"},
		"list length":   {list, "malformed footer: a list of 2147483648 elements in 1 bytes"},
		"nesting":       {deep, "malformed footer: structs nested deeper than 32"},
		"encrypted":     {append(bytes.Clone(file[:len(file)-4]), "PARE"...), "encrypted Parquet files are not supported"},
	}
	for name, tc := range tests {
		var err error
		used := allocated(func() {
			_, err = ReadParquet(bytes.NewReader(tc.file), int64(len(tc.file)), "forged.parquet", Options{})
		})
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", name, err, tc.want)
		}
		if used > 16<<20 {
			t.Errorf("%s: allocated %d MB for a %d-byte file", name, used>>20, len(tc.file))
		}
	}
}

func TestParquetFixedLengthBeyondTheCellLimitIsRefused(t *testing.T) {
	type row struct {
		ID [16]byte `parquet:"id"`
	}
	file := writeRows(t, []row{{}, {ID: [16]byte{1}}})
	forged := forgeFooter(t, file, func(md *format.FileMetaData) {
		for i := range md.Schema {
			if md.Schema[i].TypeLength.Valid {
				md.Schema[i].TypeLength.V = 1 << 30
			}
		}
	})
	var err error
	used := allocated(func() {
		_, err = ReadParquet(bytes.NewReader(forged), int64(len(forged)), "forged.parquet", Options{})
	})
	if want := `column "id": values of 1073741824 bytes, more than the limit maxCellBytes = 1048576`; !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want %q", err, want)
	}
	if used > 16<<20 {
		t.Errorf("allocated %d MB for a %d-byte file", used>>20, len(forged))
	}
}

func TestParquetPagesDecompressingPastTheirHeaderAreRefused(t *testing.T) {
	type row struct {
		X float64 `parquet:"x"`
	}
	rows := make([]row, 10000)
	for i := range rows {
		rows[i].X = float64(i % 7)
	}
	for _, codec := range []compress.Codec{&parquet.Snappy, &parquet.Gzip, &parquet.Zstd, &parquet.Brotli, &parquet.Lz4Raw} {
		file := writeRows(t, rows, parquet.Compression(codec))
		// The file as written reads: the check refuses no sound page.
		tab, err := ReadParquet(bytes.NewReader(file), int64(len(file)), "ok.parquet", Options{})
		if err != nil || tab.Rows != len(rows) {
			t.Fatalf("%s: %v", codec, err)
		}
		// A page whose header claims 100 bytes but whose data inflates to 80,000.
		forged := forgeFirstPage(t, file, func(h *format.PageHeader) { h.UncompressedPageSize = 100 })
		var used uint64
		used = allocated(func() {
			_, err = ReadParquet(bytes.NewReader(forged), int64(len(forged)), "forged.parquet", Options{})
		})
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "forged.parquet: malformed Parquet file: page at byte") {
			t.Errorf("%s: got %v, want a malformed page error", codec, err)
		}
		if used > 16<<20 {
			t.Errorf("%s: allocated %d MB", codec, used>>20)
		}
	}
}
