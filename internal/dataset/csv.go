package dataset

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
)

// utf8BOM is stripped from the start of a CSV file (Excel writes it).
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// ReadCSV reads an uncompressed CSV table from r; source names it in errors. When r is
// an io.Seeker (a file), ReadCSV may read it more than once (see readCSV). Otherwise it
// reads r once, and in a column that turns from numbers to text part way down, every
// number is spelled as strconv.FormatFloat(v, 'g', -1, 64) spells it ("1.0" reads as
// "1"), since the text of the rows before the turn cannot be read again.
func ReadCSV(r io.Reader, source string, opts Options) (*Table, error) {
	if rs, ok := r.(io.ReadSeeker); ok {
		if start, err := rs.Seek(0, io.SeekCurrent); err == nil {
			return readCSV(opener{source: source, reopen: true, open: func() (io.Reader, error) {
				if _, err := rs.Seek(start, io.SeekStart); err != nil {
					return nil, fmt.Errorf("seek %s: %w", source, err)
				}
				return rs, nil
			}}, opts)
		}
	}
	return readCSV(opener{source: source, open: func() (io.Reader, error) { return r, nil }}, opts)
}

// opener gives the CSV text of one source from its start.
type opener struct {
	source string
	gz     bool // the text is gunzipped: decoding errors are data errors
	// reopen says that open may be called more than once; otherwise it is called once.
	reopen bool
	open   func() (io.Reader, error)
	// sequential: the parallel reader gave the text up, read it record by record.
	sequential bool
}

// bounded returns o with every text it opens bounded by limits and cancelled by ctx.
func (o opener) bounded(ctx context.Context, limits Limits) opener {
	open := o.open
	o.open = func() (io.Reader, error) {
		r, err := open()
		if err != nil {
			return nil, err
		}
		return BoundReader(ctx, r, o.source, limits), nil
	}
	return o
}

// readErr classifies an error met while reading the text (see readError).
func (o opener) readErr(err error) error { return readError(o.source, o.gz, err) }

// readError classifies an error met while reading the CSV text of source: a limit of
// the reader or cancellation stays as it is, a broken gzip stream (gz) is bad data,
// anything else a read failure.
func readError(source string, gz bool, err error) error {
	var de *DataError
	if errors.As(err, &de) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var corrupt flate.CorruptInputError
	if gz && (errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &corrupt)) {
		return &DataError{Source: source, Msg: "not a valid gzip file", Err: err}
	}
	return fmt.Errorf("read %s: %w", source, err)
}

// csvColumn builds one column while the records stream by.
type csvColumn struct {
	selected
	text bool // a string column: Categorical, or a cell was not a number
	// invalid counts the non-numbers read as missing in a numeric column (InvalidIgnore).
	invalid int
	floats  []float64
	codes   []int32
	dict    dictBuilder
	// recover is the number of leading rows whose text must be read again: the column
	// was numeric for them, held at least one number, and then met a non-number.
	recover int
	// canon is set when the numbers before the turn were formatted because the text
	// cannot be read again: later numbers are formatted too, so that one number has
	// one spelling in the column whichever row it is on.
	canon bool
}

// encoding/csv allocates one string per record, so reading a CSV file makes as much
// garbage as the file has text: more than the float64 columns it fills. The collector
// lets garbage grow to the size of the live heap before it runs, which would let a
// reference/current pair peak near twice the columns' size in memory. Reading a table
// whose columns take at least collectAbove bytes therefore collects every collectEvery
// bytes of text; the columns hold no pointers, so each collection costs milliseconds.
const (
	collectAbove = 64 << 20
	collectEvery = 32 << 20
)

// readCSV reads a CSV table.
//
// Memory is the reason for its shape. Numeric cells are parsed from the record's
// strings straight into a []float64 (encoding/csv allocates one string per record,
// none per cell). When the text can be read again (a file, even gzip), a first cheap
// pass counts lines so that every column is allocated once at its final size: growing
// by append would leave several times the column in garbage, and the garbage collector
// lets the heap reach twice the live data before it collects.
//
// Types are decided while reading: a column stays numeric until its first cell that
// is not missing and not a number, and is dictionary-encoded from then on. The text of
// the numbers already read is needed for their dictionary entries. Keeping every
// cell's raw text in case a column turns would cost more than the floats themselves,
// so instead the column remembers how many leading rows must be recovered and, after
// the pass, the text is read again for just those rows and columns. Columns that turn
// at their first present cell (the usual string column) need no second look. A stream
// that cannot be read twice falls back to formatting the numbers of such a column, all
// of them, with formatNumber, the form ReadPair also uses; the difference shows only
// in spelling ("1.0" becomes "1"). Streams also skip the line count and grow their
// columns by append.
func readCSV(o opener, opts Options) (*Table, error) {
	ctx, limits := opts.ctx(), opts.Limits.WithDefaults()
	unbounded := o
	o = o.bounded(ctx, limits)
	capRows := 0
	var scan csvScan
	if o.reopen {
		r, err := o.open()
		if err != nil {
			return nil, err
		}
		scan, err = scanCSV(r)
		if err != nil {
			return nil, o.readErr(err)
		}
		// Lines bound the records from above (a quoted cell may span lines), so the
		// count only sizes the columns; the limits apply to the records read.
		capRows = int(min(int64(max(scan.lines-1, 0)), limits.MaxRows))
	}
	r, err := o.open()
	if err != nil {
		return nil, err
	}
	cr, err := NewCSVReader(r, o.source, o.gz)
	if err != nil {
		return nil, err
	}
	names, err := cr.Header()
	if errors.Is(err, io.EOF) {
		if cr.Empty() {
			return nil, &DataError{Source: o.source, Msg: "empty file, want a header row"}
		}
		return nil, &DataError{Source: o.source, Msg: "no header row (the file holds only blank lines)"}
	}
	if err != nil {
		return nil, err
	}
	if err := limits.CheckColumns(o.source, len(names)); err != nil {
		return nil, err
	}
	if err := checkHeader(o.source, names); err != nil {
		return nil, err
	}
	sel, err := selectColumns(o.source, names, opts)
	if err != nil {
		return nil, err
	}
	if capRows > 0 {
		capRows = int(min(int64(capRows), limits.MaxMemory/8/int64(max(len(sel), 1))))
	}
	cols := make([]csvColumn, len(sel))
	for i, s := range sel {
		cols[i].selected = s
		if s.kind == kindCategorical {
			cols[i].text = true
			cols[i].codes = make([]int32, 0, capRows)
		} else {
			cols[i].floats = make([]float64, 0, capRows)
		}
	}
	if scan.plain && !o.sequential && scan.bytes >= int64(csvParallelFrom) {
		rows, ok, err := readCSVParallel(ctx, o, opts, limits, len(names), cr.InputOffset(), cols)
		if err != nil {
			return nil, err
		}
		if !ok {
			unbounded.sequential = true
			return readCSV(unbounded, opts)
		}
		return newCSVTable(o.source, rows, cols), nil
	}

	// A big table's record strings are collected every collectEvery bytes of text
	// (see collectEvery); small tables leave the collector alone.
	collect := int64(capRows)*int64(len(cols))*8 >= collectAbove
	var collected int64
	rows := 0
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if rows%1024 == 0 || len(cols) >= 1024 { // a wide row is long work on its own
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if collect && rows%1024 == 0 {
			if off := cr.InputOffset(); off-collected >= collectEvery {
				runtime.GC()
				collected = off
			}
		}
		if err := limits.CheckTableSize(o.source, int64(rows)+1, len(cols)); err != nil {
			return nil, err
		}
		for i := range cols {
			c := &cols[i]
			cell := rec[c.index]
			if len(cell) > limits.MaxCellBytes {
				e := limitError(o.source, fmt.Sprintf("a cell of %d bytes", len(cell)), "maxCellBytes", int64(limits.MaxCellBytes))
				e.Line, e.Column = cr.Line(c.index), c.name
				return nil, e
			}
			if isMissing(cell) {
				if c.text {
					c.codes = append(c.codes, -1)
				} else {
					c.floats = append(c.floats, math.NaN())
				}
				continue
			}
			if !c.text {
				if v, ok := parseNumber(cell); ok {
					c.floats = append(c.floats, v)
					continue
				}
				if c.kind == kindNumeric {
					if opts.Invalid == InvalidIgnore {
						c.floats = append(c.floats, invalidNaN)
						c.invalid++
						continue
					}
					return nil, cr.CellError(c.index, notNumber(cell))
				}
				c.turnText(o.reopen)
			}
			if c.canon {
				if v, ok := parseNumber(cell); ok {
					cell = formatNumber(v)
				}
			}
			c.codes = append(c.codes, c.dict.code(cell))
		}
		rows++
	}
	if err := recoverText(o, cols); err != nil {
		return nil, err
	}
	return newCSVTable(o.source, rows, cols), nil
}

// newCSVTable makes the table of the columns read.
func newCSVTable(source string, rows int, cols []csvColumn) *Table {
	t := &Table{Source: source, Rows: rows, Columns: make([]Column, len(cols))}
	for i := range cols {
		c := &cols[i]
		col := Column{Name: c.name}
		if c.text {
			col.Codes, col.Dict = c.codes, c.dict.dict
			if col.Dict == nil {
				col.Dict = []string{}
			}
		} else {
			col.Float, col.Invalid = c.floats, c.invalid
		}
		if col.Float == nil && col.Codes == nil {
			col.Float = []float64{} // a header-only file: numeric, no rows
		}
		t.Columns[i] = col
	}
	return t
}

// turnText makes a numeric column a string column at its current row. With reopen the
// numbers read so far are left for recoverText; without, they are formatted.
func (c *csvColumn) turnText(reopen bool) {
	c.text = true
	c.codes = make([]int32, len(c.floats), max(cap(c.floats), 1))
	for i, v := range c.floats {
		switch {
		case math.IsNaN(v):
			c.codes[i] = -1
		case reopen:
			c.codes[i] = -1
			c.recover = i + 1
		default:
			c.codes[i] = c.dict.code(formatNumber(v))
			c.canon = true
		}
	}
	c.floats = nil
}

// recoverText reads the text again for the leading rows of columns that turned from
// numbers to strings (see readCSV).
func recoverText(o opener, cols []csvColumn) error {
	need := 0
	for i := range cols {
		need = max(need, cols[i].recover)
	}
	if need == 0 {
		return nil
	}
	r, err := o.open()
	if err != nil {
		return err
	}
	cr, err := NewCSVReader(r, o.source, o.gz)
	if err != nil {
		return err
	}
	if _, err := cr.Header(); err != nil {
		return fmt.Errorf("read %s again: %w", o.source, err)
	}
	for row := range need {
		rec, err := cr.Read()
		if err != nil {
			return fmt.Errorf("read %s again: %w", o.source, err)
		}
		for i := range cols {
			c := &cols[i]
			if row < c.recover && !isMissing(rec[c.index]) {
				c.codes[row] = c.dict.code(rec[c.index])
			}
		}
	}
	for i := range cols {
		if cols[i].recover > 0 {
			cols[i].renumber()
		}
	}
	return nil
}

// renumber re-codes the column so that its dictionary is in order of first appearance
// again, as it is for columns that needed no recovery.
func (c *csvColumn) renumber() {
	old := c.dict.dict
	remap := make([]int32, len(old))
	for i := range remap {
		remap[i] = -1
	}
	var d dictBuilder
	for i, code := range c.codes {
		if code < 0 {
			continue
		}
		if remap[code] < 0 {
			remap[code] = d.code(old[code])
		}
		c.codes[i] = remap[code]
	}
	c.dict = d
}

// CSVReader reads the records of CSV text: a UTF-8 byte order mark (Excel writes one)
// is stripped, and the record slice is reused by the next Read. Its errors are
// *DataError values naming the source and line, or read failures naming the source.
type CSVReader struct {
	cr     *csv.Reader
	source string
	gz     bool // the text is gunzipped: decoding errors are data errors
	names  []string
	empty  bool
}

// NewCSVReader returns a reader of the CSV text r of source; gz says r is gunzipped.
func NewCSVReader(r io.Reader, source string, gz bool) (*CSVReader, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	empty, err := stripBOM(br)
	if err != nil {
		return nil, readError(source, gz, err)
	}
	cr := csv.NewReader(br)
	cr.ReuseRecord = true
	return &CSVReader{cr: cr, source: source, gz: gz, empty: empty}, nil
}

// stripBOM skips a UTF-8 byte order mark at the start of br. empty reports that br
// holds no bytes at all.
func stripBOM(br *bufio.Reader) (empty bool, err error) {
	head, err := br.Peek(len(utf8BOM))
	if err != nil && !errors.Is(err, io.EOF) {
		return false, err
	}
	if bytes.Equal(head, utf8BOM) {
		br.Discard(len(utf8BOM))
	}
	return len(head) == 0, nil
}

// Empty reports that the text holds no bytes at all.
func (c *CSVReader) Empty() bool { return c.empty }

// Header reads the header row and returns the column names (a copy); io.EOF when the
// text has no row. Every record read after it must have as many fields.
func (c *CSVReader) Header() ([]string, error) {
	header, err := c.cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, err
	}
	if err != nil {
		return nil, c.parseErr(err, nil)
	}
	c.names = slices.Clone(header)
	c.cr.FieldsPerRecord = len(header)
	return c.names, nil
}

// Read reads the next record; io.EOF after the last.
func (c *CSVReader) Read() ([]string, error) {
	rec, err := c.cr.Read()
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, c.parseErr(err, rec)
	}
	return rec, err
}

// Line is the line of field i of the record just read.
func (c *CSVReader) Line(i int) int {
	line, _ := c.cr.FieldPos(i)
	return line
}

// CellError is the *DataError of field i of the record just read: msg says what is
// wrong with it, at its line and column.
func (c *CSVReader) CellError(i int, msg string) *DataError {
	return &DataError{Source: c.source, Line: c.Line(i), Column: c.names[i], Msg: msg}
}

// InputOffset is how many bytes of text have been read.
func (c *CSVReader) InputOffset() int64 { return c.cr.InputOffset() }

// checkHeader rejects empty and duplicate column names.
func checkHeader(source string, names []string) error {
	seen := make(map[string]int, len(names))
	var errs []error
	for i, n := range names {
		if n == "" {
			errs = append(errs, &DataError{Source: source, Line: 1, Msg: fmt.Sprintf("header field %d is empty, want a column name", i+1)})
			continue
		}
		if j, dup := seen[n]; dup {
			errs = append(errs, &DataError{Source: source, Line: 1, Column: n,
				Msg: fmt.Sprintf("duplicate column name (header fields %d and %d)", j+1, i+1)})
			continue
		}
		seen[n] = i
	}
	return errors.Join(errs...)
}

// parseErr turns an error of encoding/csv into a DataError naming the line; rec is the
// record read with it.
func (c *CSVReader) parseErr(err error, rec []string) error {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return readError(c.source, c.gz, err)
	}
	switch {
	case errors.Is(pe.Err, csv.ErrFieldCount):
		return &DataError{Source: c.source, Line: pe.StartLine,
			Msg: fmt.Sprintf("row has %d fields, want %d like the header", len(rec), len(c.names))}
	case errors.Is(pe.Err, csv.ErrQuote):
		return &DataError{Source: c.source, Line: pe.StartLine,
			Msg: fmt.Sprintf("quoted field not closed, or text after its closing quote (at line %d, column %d)", pe.Line, pe.Column)}
	case errors.Is(pe.Err, csv.ErrBareQuote):
		return &DataError{Source: c.source, Line: pe.StartLine,
			Msg: fmt.Sprintf("bare \" in an unquoted field (at line %d, column %d); quote the field and double the \"", pe.Line, pe.Column)}
	}
	return &DataError{Source: c.source, Line: pe.StartLine, Msg: "malformed CSV", Err: pe.Err}
}
