package dataset

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"slices"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// valueBatch is how many values are decoded at a time on the general path.
const valueBatch = 1024

// ReadParquet reads a Parquet file of size bytes from f; source names it in errors.
//
// Only flat schemas are read: every selected column must be a top-level leaf, required
// or optional; nested (group) and repeated (list, map) columns are errors. Values map to
// columns like this:
//
//   - FLOAT, DOUBLE, INT32, INT64 (signed or unsigned, any bit width) and DECIMAL (any
//     physical type) become numeric columns; a null is NaN.
//   - BYTE_ARRAY (strings, enums, JSON, raw bytes) and FIXED_LEN_BYTE_ARRAY become string
//     columns; UUIDs are written in their canonical 8-4-4-4-12 form, FLOAT16 is numeric.
//   - BOOLEAN becomes a string column of "True" and "False", as pandas prints them.
//   - TIMESTAMP becomes a string column in RFC 3339 with as many fractional digits as
//     needed: "2024-03-01T12:00:00.5Z" when adjusted to UTC, without the zone
//     ("2024-03-01T12:00:00.5") when not; INT96 timestamps are written without the zone
//     too. DATE becomes "2024-03-01" and TIME "12:00:00.5". Timestamps are not numbers a
//     drift test can compare, and as text they stay readable in reports.
//
// Columns are read page by page in batches of values, never row by row. The footer's
// row count is checked against opts.Limits but trusted no further: a column is
// allocated for at most as many values as the file's size could encode (8 a byte) and
// grows only with the values actually decoded, which must then match the footer.
func ReadParquet(f io.ReaderAt, size int64, source string, opts Options) (t *Table, err error) {
	defer RecoverParquet(source, &err) // t stays nil: the table is returned only at the end
	if size == 0 {
		return nil, &DataError{Source: source, Msg: "empty file, want a Parquet file"}
	}
	pf, err := OpenParquet(f, size, source, opts.Limits.WithDefaults())
	if err != nil {
		return nil, err
	}
	return readOpenParquet(f, size, source, pf, opts)
}

// readOpenParquet reads the columns opts selects of pf, opened by OpenParquet from f.
func readOpenParquet(f io.ReaderAt, size int64, source string, pf *parquet.File, opts Options) (t *Table, err error) {
	defer RecoverParquet(source, &err)
	ctx, limits := opts.ctx(), opts.Limits.WithDefaults()
	leaves := pf.Root().Columns()
	sel, err := selectParquet(source, pf, opts)
	if err != nil {
		return nil, err
	}
	rows := pf.NumRows()
	if err := limits.CheckTableSize(source, rows, len(sel)); err != nil {
		return nil, err
	}
	var flat []*parquet.Column // the columns that will be read
	for _, s := range sel {
		if leaf := leaves[s.index]; leaf.Leaf() && !leaf.Repeated() {
			flat = append(flat, leaf)
		}
	}
	if err := CheckParquetPages(f, size, source, pf, flat, limits); err != nil {
		return nil, err
	}
	tab := &Table{Source: source, Rows: int(rows), Columns: make([]Column, len(sel))}
	read := parquetReader{ctx: ctx, rows: int(rows), capacity: int(min(rows, size*8)), maxCell: limits.MaxCellBytes}
	var errs []error
	for i, s := range sel {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		leaf := leaves[s.index]
		switch {
		case !leaf.Leaf():
			errs = append(errs, &DataError{Source: source, Column: s.name, Msg: "nested column (a group), want a flat column of numbers or strings"})
			continue
		case leaf.Repeated():
			errs = append(errs, &DataError{Source: source, Column: s.name, Msg: "repeated column (a list), want one value per row"})
			continue
		}
		conv, err := converterFor(leaf.Type())
		if err != nil {
			errs = append(errs, &DataError{Source: source, Column: s.name, Msg: err.Error()})
			continue
		}
		col, err := read.column(leaf, conv)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if errors.Is(err, ErrLimit) {
				return nil, &DataError{Source: source, Column: s.name, Msg: fmt.Sprintf("a value of more than %d bytes, more than the limit maxCellBytes", limits.MaxCellBytes), Err: ErrLimit}
			}
			errs = append(errs, &DataError{Source: source, Column: s.name, Msg: "read values", Err: err})
			continue
		}
		col.Name = s.name
		if err := applyKind(source, &col, s.kind, opts.Invalid); err != nil {
			errs = append(errs, err)
			continue
		}
		tab.Columns[i] = col
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return tab, nil
}

// RecoverParquet turns a panic of parquet-go, which panics on some malformed footers
// and pages (a DECIMAL without a length, slice bounds on short pages), into a
// *DataError in *err: a bad file must be an error, never a crash. Defer it in the
// function that reads source: defer dataset.RecoverParquet(source, &err).
func RecoverParquet(source string, err *error) {
	if r := recover(); r != nil {
		*err = &DataError{Source: source, Msg: "malformed Parquet file", Err: fmt.Errorf("%v", r)}
	}
}

// OpenParquet opens the Parquet file f of size bytes after checking what parquet-go
// would otherwise trust: the file's size, the footer's length and structure
// (checkFooter), the number of columns, the row count and the chunks' uncompressed size
// against limits (which must have its defaults). source names the file in errors. The
// pages of the columns to be read are checked next, with CheckParquetPages.
func OpenParquet(f io.ReaderAt, size int64, source string, limits Limits) (*parquet.File, error) {
	if err := limits.CheckBytes(source, size); err != nil {
		return nil, err
	}
	if err := checkFooter(f, size, limits.MaxCellBytes); err != nil {
		return nil, &DataError{Source: source, Msg: "not a valid Parquet file", Err: err}
	}
	pf, err := parquet.OpenFile(f, size, parquet.SkipBloomFilters(true), parquet.SkipPageIndex(true))
	if err != nil {
		return nil, &DataError{Source: source, Msg: "not a valid Parquet file", Err: err}
	}
	if err := limits.CheckColumns(source, len(pf.Root().Columns())); err != nil {
		return nil, err
	}
	if rows := pf.NumRows(); rows < 0 {
		return nil, &DataError{Source: source, Msg: fmt.Sprintf("the footer gives %d rows", rows)}
	}
	if err := checkChunkSizes(source, pf, limits); err != nil {
		return nil, err
	}
	return pf, nil
}

// CheckParquetPages checks the pages of the flat columns cols of pf before they are
// read (see checkPages).
func CheckParquetPages(f io.ReaderAt, size int64, source string, pf *parquet.File, cols []*parquet.Column, limits Limits) error {
	indexes := make([]int, len(cols))
	for i, c := range cols {
		indexes[i] = c.Index()
	}
	return checkPages(source, f, size, pf, indexes, pf.NumRows(), limits)
}

// checkChunkSizes refuses a file whose column chunks, by the footer's own account,
// decompress to more than limits.MaxBytes, before any page is read.
func checkChunkSizes(source string, pf *parquet.File, limits Limits) error {
	var total int64
	for _, rg := range pf.Metadata().RowGroups {
		for _, cc := range rg.Columns {
			if n := cc.MetaData.TotalUncompressedSize; n > 0 {
				total += n
			}
			if total > limits.MaxBytes {
				return limitError(source, fmt.Sprintf("column chunks of more than %d bytes uncompressed", limits.MaxBytes), "maxBytes", limits.MaxBytes)
			}
		}
	}
	return nil
}

// checkFooter checks the footer's length against the file's size and its Thrift
// structure (checkThrift) before parquet-go allocates from either. Encrypted footers
// ("PARE") cannot be checked and are refused; files without a footer are left to
// parquet-go, which refuses them without allocating.
func checkFooter(f io.ReaderAt, size int64, maxCell int) error {
	var trailer [8]byte
	if size < 12 {
		return nil // too short to allocate from: parquet-go says what is wrong
	}
	if _, err := f.ReadAt(trailer[:], size-8); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	switch string(trailer[4:]) {
	case "PAR1":
	case "PARE":
		return errors.New("encrypted Parquet files are not supported")
	default:
		return nil // parquet-go refuses it before reading the footer
	}
	n := int64(binary.LittleEndian.Uint32(trailer[:4]))
	if n > size-12 {
		return fmt.Errorf("the footer claims %d bytes of a %d-byte file", n, size)
	}
	footer := make([]byte, n)
	if _, err := f.ReadAt(footer, size-8-n); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if _, err := checkThrift(footer); err != nil {
		return fmt.Errorf("malformed footer: %w", err)
	}
	// parquet-go sizes values of FIXED_LEN_BYTE_ARRAY columns by the schema's length.
	var md format.FileMetaData
	if err := thrift.Unmarshal(new(thrift.CompactProtocol), footer, &md); err != nil {
		return fmt.Errorf("malformed footer: %w", err)
	}
	for _, e := range md.Schema {
		if n := e.TypeLength; n.Valid && (n.V < 0 || int(n.V) > maxCell) {
			return fmt.Errorf("column %q: values of %d bytes, more than the limit maxCellBytes = %d", e.Name, n.V, maxCell)
		}
	}
	return nil
}

// checkPages reads the header of every page of the column chunks of the flat leaf columns
// (indexes in the footer) and refuses a
// page that claims more than the file can hold: bytes past its chunk, more values than
// the footer has rows, more uncompressed bytes than limits.MaxBytes. parquet-go sizes
// its buffers from these figures before it reads a page, so they must be checked first.
// Headers are decoded from bytes in memory, which allocates no more than they hold.
func checkPages(source string, f io.ReaderAt, size int64, pf *parquet.File, flat []int, rows int64, limits Limits) error {
	bad := func(format string, args ...any) error {
		return &DataError{Source: source, Msg: "malformed Parquet file: " + fmt.Sprintf(format, args...)}
	}
	buf := make([]byte, 0, 4096)
	for _, rg := range pf.Metadata().RowGroups {
		for _, col := range flat {
			if col >= len(rg.Columns) {
				return bad("a row group without column %d", col)
			}
			md := &rg.Columns[col].MetaData
			start := md.DataPageOffset
			if d := md.DictionaryPageOffset; d > 0 && d < start {
				start = d
			}
			end := start + md.TotalCompressedSize
			if start < 4 || md.TotalCompressedSize < 0 || end > size || end < start {
				return bad("a column chunk at bytes %d to %d of a %d-byte file", start, end, size)
			}
			for off := start; off < end; {
				var h format.PageHeader
				n, err := decodePageHeader(f, off, end, &h, &buf, limits.MaxCellBytes)
				if err != nil {
					return bad("page header at byte %d: %v", off, err)
				}
				off += n
				values := int64(0)
				switch {
				case h.DataPageHeader.Valid:
					values = int64(h.DataPageHeader.V.NumValues)
				case h.DataPageHeaderV2.Valid:
					values = int64(max(h.DataPageHeaderV2.V.NumValues, h.DataPageHeaderV2.V.NumRows))
				case h.DictionaryPageHeader.Valid:
					values = int64(h.DictionaryPageHeader.V.NumValues)
				}
				switch {
				case h.CompressedPageSize < 0 || int64(h.CompressedPageSize) > end-off:
					return bad("a page of %d bytes at byte %d, past the end of its column chunk (byte %d)", h.CompressedPageSize, off, end)
				case h.UncompressedPageSize < 0 || int64(h.UncompressedPageSize) > min(limits.MaxBytes, maxPageBytes):
					return bad("a page of %d bytes uncompressed at byte %d", h.UncompressedPageSize, off)
				case values < 0 || values > rows:
					return bad("a page of %d values at byte %d, in a file of %d rows", values, off, rows)
				}
				if err := checkCompressedPage(f, off, &h, md.Codec); err != nil {
					return bad("page at byte %d: %v", off, err)
				}
				off += int64(h.CompressedPageSize)
			}
		}
	}
	return nil
}

// checkCompressedPage checks the body of the page with header h at off (checkPageBody).
// A version 2 data page keeps its levels uncompressed ahead of the compressed values.
func checkCompressedPage(f io.ReaderAt, off int64, h *format.PageHeader, codec format.CompressionCodec) error {
	if codec == format.Uncompressed {
		return nil
	}
	body := make([]byte, h.CompressedPageSize)
	if _, err := f.ReadAt(body, off); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	size := int(h.UncompressedPageSize)
	if v2 := h.DataPageHeaderV2; v2.Valid {
		if v2.V.IsCompressed.Valid && !v2.V.IsCompressed.V {
			return nil
		}
		levels := int(v2.V.DefinitionLevelsByteLength) + int(v2.V.RepetitionLevelsByteLength)
		if levels < 0 || levels > len(body) || levels > size {
			return fmt.Errorf("levels of %d bytes in a page of %d", levels, len(body))
		}
		body, size = body[levels:], size-levels
	}
	return checkPageBody(codec, body, size)
}

// decodePageHeader decodes the page header at off (before end) of f into h and returns
// its length. It reads 4 KiB, then more while the header is cut short, up to twice the
// longest value a header's statistics may hold.
func decodePageHeader(f io.ReaderAt, off, end int64, h *format.PageHeader, buf *[]byte, maxCell int) (int64, error) {
	window := int64(cap(*buf))
	for {
		n := min(window, end-off)
		b := slices.Grow((*buf)[:0], int(n))[:n]
		*buf = b
		k, err := f.ReadAt(b, off)
		if err != nil && !(errors.Is(err, io.EOF) && int64(k) == n) {
			return 0, err
		}
		_, err = checkThrift(b)
		if errors.Is(err, errThriftShort) && n < end-off && window <= 2*int64(maxCell)+4096 {
			window *= 4
			continue
		}
		if err != nil {
			return 0, err
		}
		r := new(thrift.CompactProtocol).NewReaderFromBytes(b)
		*h = format.PageHeader{}
		if err := thrift.NewDecoder(r).Decode(h); err != nil {
			return 0, err
		}
		return int64(r.BytesRead()), nil
	}
}

// checkParquetNames rejects duplicate column names, which a hand-built file can have.
func checkParquetNames(source string, names []string) error {
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		if seen[n] {
			return &DataError{Source: source, Column: n, Msg: "duplicate column name"}
		}
		seen[n] = true
	}
	return nil
}

// applyKind enforces Options.Numeric and Options.Categorical (and the kinds of
// Options.Reference) on a Parquet column; invalid says what a non-number does in a
// numeric column.
func applyKind(source string, c *Column, kind columnKind, invalid InvalidValues) error {
	switch {
	case kind == kindCategorical && c.IsNumeric():
		toText(c)
	case kind == kindNumeric && !c.IsNumeric():
		// Strings holding numbers are accepted, as they would be in CSV.
		vals := make([]float64, len(c.Dict))
		ok := make([]bool, len(c.Dict))
		for i, s := range c.Dict {
			vals[i], ok[i] = parseNumber(s)
		}
		floats := make([]float64, len(c.Codes))
		for row, code := range c.Codes {
			switch {
			case code < 0:
				floats[row] = math.NaN()
			case !ok[code] && invalid == InvalidIgnore:
				floats[row] = invalidNaN
				c.Invalid++
			case !ok[code]:
				return &DataError{Source: source, Row: row + 1, Column: c.Name, Msg: notNumber(c.Dict[code])}
			default:
				floats[row] = vals[code]
			}
		}
		c.Float, c.Codes, c.Dict = floats, nil, nil
	}
	return nil
}

// converter turns Parquet values of one column type into numbers or text.
type converter struct {
	// num converts a non-null value to a number; nil for text columns.
	num func(v parquet.Value) float64
	// text appends the text of a non-null value to buf; nil for numeric columns.
	text func(buf []byte, v parquet.Value) []byte
	// kind is the physical type, for the typed fast path; Undefined disables it.
	fast parquet.Kind
}

// converterFor chooses how to convert the values of a column of type t.
func converterFor(t parquet.Type) (converter, error) {
	var logical format.LogicalTypeValue
	if lt := t.LogicalType(); lt != nil {
		logical = lt.Value
	}
	switch t.Kind() {
	case parquet.Boolean:
		return converter{text: func(buf []byte, v parquet.Value) []byte {
			if v.Boolean() {
				return append(buf, "True"...)
			}
			return append(buf, "False"...)
		}}, nil
	case parquet.Int32:
		switch lt := logical.(type) {
		case *format.DateType:
			return converter{text: func(buf []byte, v parquet.Value) []byte {
				return time.Unix(int64(v.Int32())*86400, 0).UTC().AppendFormat(buf, time.DateOnly)
			}}, nil
		case *format.TimeType:
			return timeOfDay(lt.Unit), nil
		case *format.DecimalType:
			scale := math.Pow10(int(lt.Scale))
			return converter{num: func(v parquet.Value) float64 { return float64(v.Int32()) / scale }}, nil
		case *format.IntType:
			if !lt.IsSigned {
				return converter{num: func(v parquet.Value) float64 { return float64(v.Uint32()) }}, nil
			}
		}
		return converter{num: func(v parquet.Value) float64 { return float64(v.Int32()) }, fast: parquet.Int32}, nil
	case parquet.Int64:
		switch lt := logical.(type) {
		case *format.TimestampType:
			unit := TimeUnit(lt.Unit)
			layout := "2006-01-02T15:04:05.999999999"
			if lt.IsAdjustedToUTC {
				layout = time.RFC3339Nano
			}
			return converter{text: func(buf []byte, v parquet.Value) []byte {
				return UnixTime(v.Int64(), unit).AppendFormat(buf, layout)
			}}, nil
		case *format.TimeType:
			return timeOfDay(lt.Unit), nil
		case *format.DecimalType:
			scale := math.Pow10(int(lt.Scale))
			return converter{num: func(v parquet.Value) float64 { return float64(v.Int64()) / scale }}, nil
		case *format.IntType:
			if !lt.IsSigned {
				return converter{num: func(v parquet.Value) float64 { return float64(v.Uint64()) }}, nil
			}
		}
		return converter{num: func(v parquet.Value) float64 { return float64(v.Int64()) }, fast: parquet.Int64}, nil
	case parquet.Int96:
		return converter{text: func(buf []byte, v parquet.Value) []byte {
			return Int96Time(v.Int96()).AppendFormat(buf, "2006-01-02T15:04:05.999999999")
		}}, nil
	case parquet.Float:
		return converter{num: func(v parquet.Value) float64 { return float64(v.Float()) }, fast: parquet.Float}, nil
	case parquet.Double:
		return converter{num: func(v parquet.Value) float64 { return v.Double() }, fast: parquet.Double}, nil
	case parquet.ByteArray, parquet.FixedLenByteArray:
		switch lt := logical.(type) {
		case *format.DecimalType:
			scale := int(lt.Scale)
			return converter{num: func(v parquet.Value) float64 { return decimalBytes(v.ByteArray(), scale) }}, nil
		case *format.UUIDType:
			return converter{text: func(buf []byte, v parquet.Value) []byte { return appendUUID(buf, v.ByteArray()) }}, nil
		case *format.Float16Type:
			return converter{num: func(v parquet.Value) float64 { return float16(v.ByteArray()) }}, nil
		}
		return converter{text: func(buf []byte, v parquet.Value) []byte { return append(buf, v.ByteArray()...) }}, nil
	}
	return converter{}, fmt.Errorf("unsupported Parquet type %s", t)
}

// timeOfDay converts TIME values to "15:04:05.999999999".
func timeOfDay(u format.TimeUnit) converter {
	unit := TimeUnit(u)
	return converter{text: func(buf []byte, v parquet.Value) []byte {
		n := v.Int64()
		if v.Kind() == parquet.Int32 {
			n = int64(v.Int32())
		}
		return time.Unix(0, 0).UTC().Add(time.Duration(n)*unit).AppendFormat(buf, "15:04:05.999999999")
	}}
}

// TimeUnit is the length of one step of a Parquet time unit; milliseconds when unset.
func TimeUnit(u format.TimeUnit) time.Duration {
	if u.Value == nil {
		return time.Millisecond
	}
	return u.Value.Duration()
}

// UnixTime converts a count of units (TimeUnit) since the Unix epoch to UTC time.
func UnixTime(n int64, unit time.Duration) time.Time {
	switch unit {
	case time.Millisecond:
		return time.UnixMilli(n).UTC()
	case time.Microsecond:
		return time.UnixMicro(n).UTC()
	}
	return time.Unix(0, n).UTC()
}

// Int96Time decodes a legacy INT96 timestamp: nanoseconds of the day in the low 8
// bytes, Julian day number in the high 4.
func Int96Time(i deprecated.Int96) time.Time {
	const julianUnixEpoch = 2440588
	nanos := int64(uint64(i[1])<<32 | uint64(i[0]))
	days := int64(i[2]) - julianUnixEpoch
	return time.Unix(days*86400, nanos).UTC()
}

// decimalBytes decodes a big-endian two's-complement unscaled DECIMAL value.
func decimalBytes(b []byte, scale int) float64 {
	n := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	f, _ := new(big.Float).Quo(new(big.Float).SetInt(n), new(big.Float).SetFloat64(math.Pow10(scale))).Float64()
	return f
}

// float16 decodes an IEEE 754 half-precision value stored little-endian.
func float16(b []byte) float64 {
	if len(b) != 2 {
		return math.NaN()
	}
	h := uint16(b[0]) | uint16(b[1])<<8
	sign, exp, frac := h>>15, int(h>>10&0x1f), float64(h&0x3ff)
	var v float64
	switch exp {
	case 0:
		v = math.Ldexp(frac, -24)
	case 0x1f:
		if frac != 0 {
			return math.NaN()
		}
		v = math.Inf(1)
	default:
		v = math.Ldexp(1+frac/1024, exp-15)
	}
	if sign != 0 {
		v = -v
	}
	return v
}

// appendUUID writes 16 bytes as 8-4-4-4-12 hex digits.
func appendUUID(buf, b []byte) []byte {
	const hex = "0123456789abcdef"
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			buf = append(buf, '-')
		}
		buf = append(buf, hex[c>>4], hex[c&0xf])
	}
	return buf
}

// parquetReader reads the columns of one file.
type parquetReader struct {
	ctx context.Context
	// rows is the footer's row count: every column must hold exactly that many values.
	rows int
	// capacity is what a column is allocated for before its values are decoded: the
	// footer's rows, but no more than the file's size could encode.
	capacity int
	// maxCell is the longest string value (Limits.MaxCellBytes).
	maxCell int
}

// column reads every page of a flat column into a Column of r.rows values.
func (r parquetReader) column(leaf *parquet.Column, conv converter) (col Column, err error) {
	rows := r.rows
	pages := leaf.Pages()
	defer func() {
		if cerr := pages.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	var (
		floats []float64
		codes  []int32
		dict   dictBuilder
		text   []byte
		batch  []parquet.Value
		pos    int
	)
	if conv.num != nil {
		floats = make([]float64, 0, r.capacity)
	} else {
		codes = make([]int32, 0, r.capacity)
	}
	for {
		if err := r.ctx.Err(); err != nil {
			return col, err
		}
		p, err := pages.ReadPage()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return col, err
		}
		n := int(p.NumValues())
		if n > rows-pos {
			parquet.Release(p)
			return col, fmt.Errorf("more values than the file's %d rows", rows)
		}
		// The page's values are decoded, so the column grows to hold them.
		if floats != nil {
			floats = slices.Grow(floats, n)[:pos+n]
		} else {
			codes = slices.Grow(codes, n)[:pos+n]
		}
		if floats != nil && readFast(p, conv.fast, floats[pos:pos+n]) {
			pos += n
			parquet.Release(p)
			continue
		}
		if batch == nil {
			batch = make([]parquet.Value, valueBatch)
		}
		values := p.Values()
		got := 0
		for got < n {
			k, rerr := values.ReadValues(batch[:min(len(batch), n-got)])
			for _, v := range batch[:k] {
				switch {
				case floats != nil && v.IsNull():
					floats[pos] = math.NaN()
				case floats != nil:
					floats[pos] = conv.num(v)
				case v.IsNull():
					codes[pos] = -1
				default:
					text = conv.text(text[:0], v)
					if len(text) > r.maxCell {
						parquet.Release(p)
						return col, ErrLimit
					}
					codes[pos] = dict.codeBytes(text)
				}
				pos++
			}
			got += k
			if errors.Is(rerr, io.EOF) {
				break
			}
			if rerr != nil {
				parquet.Release(p)
				return col, rerr
			}
			if k == 0 {
				parquet.Release(p)
				return col, io.ErrNoProgress
			}
		}
		parquet.Release(p)
		if got != n {
			return col, fmt.Errorf("page declares %d values, holds %d", n, got)
		}
	}
	if pos != rows {
		return col, fmt.Errorf("%d values, want one per row (%d)", pos, rows)
	}
	if floats != nil {
		col.Float = floats
		return col, nil
	}
	col.Codes, col.Dict = codes, dict.dict
	if col.Dict == nil {
		col.Dict = []string{}
	}
	return col, nil
}

// readFast copies the values of a page without nulls or dictionary straight into dst,
// through parquet-go's typed readers, and reports whether it did. Other pages take
// the general path through parquet.Value batches.
func readFast(p parquet.Page, kind parquet.Kind, dst []float64) bool {
	if len(p.DefinitionLevels()) != 0 || p.Dictionary() != nil {
		return false
	}
	values := p.Values()
	switch kind {
	case parquet.Double:
		r, ok := values.(parquet.DoubleReader)
		if !ok {
			return false
		}
		got := 0
		for got < len(dst) {
			k, err := r.ReadDoubles(dst[got:])
			got += k
			if err != nil || k == 0 {
				break
			}
		}
		return got == len(dst)
	case parquet.Float:
		r, ok := values.(parquet.FloatReader)
		if !ok {
			return false
		}
		return readConverted(dst, r.ReadFloats)
	case parquet.Int32:
		r, ok := values.(parquet.Int32Reader)
		if !ok {
			return false
		}
		return readConverted(dst, r.ReadInt32s)
	case parquet.Int64:
		r, ok := values.(parquet.Int64Reader)
		if !ok {
			return false
		}
		return readConverted(dst, r.ReadInt64s)
	}
	return false
}

// readConverted fills dst from a typed reader through a small scratch buffer.
func readConverted[T int32 | int64 | float32](dst []float64, read func([]T) (int, error)) bool {
	var scratch [valueBatch]T
	got := 0
	for got < len(dst) {
		k, err := read(scratch[:min(len(scratch), len(dst)-got)])
		for i, v := range scratch[:k] {
			dst[got+i] = float64(v)
		}
		got += k
		if err != nil || k == 0 {
			break
		}
	}
	return got == len(dst)
}
