package dataset

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
)

// Limits bound what reading one file may cost, whatever the file claims about itself
// (a Parquet footer's row count, a gzip stream's size). A Go program cannot recover from
// running out of memory, so a file over a limit is refused with a *DataError wrapping
// ErrLimit before its data is allocated. A zero field takes its default (DefaultLimits).
type Limits struct {
	// MaxRows is the most data rows a file may have.
	MaxRows int64
	// MaxColumns is the most columns a file may have (CSV header fields, Parquet leaves).
	MaxColumns int
	// MaxBytes is the most bytes of text a CSV file may hold once decompressed, and the
	// largest Parquet file (and the most bytes its column chunks may decompress to).
	MaxBytes int64
	// MaxCellBytes is the longest CSV cell or Parquet string value.
	MaxCellBytes int
	// MaxMemory bounds the memory of a table's columns, counted as 8 bytes a cell
	// (rows × selected columns × 8).
	MaxMemory int64
}

// DefaultLimits suit a machine with 24 GiB of memory comparing a reference and a current
// table: each may take 6 GiB of cells (20,000 omics columns × 37,500 rows, or 5 million
// rows × 150 columns), which leaves room for the second table and the drift engine's
// sorted copy of the reference.
func DefaultLimits() Limits {
	return Limits{
		MaxRows:      100_000_000,
		MaxColumns:   100_000,
		MaxBytes:     16 << 30,
		MaxCellBytes: 1 << 20,
		MaxMemory:    6 << 30,
	}
}

// WithDefaults returns l with its zero fields taken from DefaultLimits.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits()
	if l.MaxRows <= 0 {
		l.MaxRows = d.MaxRows
	}
	if l.MaxColumns <= 0 {
		l.MaxColumns = d.MaxColumns
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxCellBytes <= 0 {
		l.MaxCellBytes = d.MaxCellBytes
	}
	if l.MaxMemory <= 0 {
		l.MaxMemory = d.MaxMemory
	}
	return l
}

// maxLine is the longest line of CSV text: encoding/csv holds a whole record in memory
// (twice, as bytes and as strings), so a line may hold at most maxColumns cells of
// maxCellBytes and at most a quarter of maxMemory.
func (l Limits) maxLine() int64 {
	return min(int64(l.MaxColumns)*int64(l.MaxCellBytes+3), l.MaxMemory/4)
}

// ErrLimit is wrapped by the errors of files over one of the Limits.
var ErrLimit = errors.New("over a data limit (spec.data.limits)")

// limitError is the DataError of a file over a limit: what it has, and the limit by the
// name the policy gives it.
func limitError(source, what, limit string, value int64) *DataError {
	return &DataError{Source: source, Msg: fmt.Sprintf("%s, more than the limit %s = %d", what, limit, value), Err: ErrLimit}
}

// CheckTableSize refuses a table of rows × cols cells over the row or memory limit.
func (l Limits) CheckTableSize(source string, rows int64, cols int) error {
	if rows > l.MaxRows {
		return limitError(source, fmt.Sprintf("%d rows", rows), "maxRows", l.MaxRows)
	}
	if cols > 0 && rows > l.MaxMemory/8/int64(cols) {
		return limitError(source, fmt.Sprintf("%d rows × %d columns (8 bytes a cell)", rows, cols), "maxMemory", l.MaxMemory)
	}
	return nil
}

// CheckBytes refuses a file of size bytes over the byte limit.
func (l Limits) CheckBytes(source string, size int64) error {
	if size > l.MaxBytes {
		return limitError(source, fmt.Sprintf("%d bytes", size), "maxBytes", l.MaxBytes)
	}
	return nil
}

// CheckColumns refuses a file with more columns than the limit.
func (l Limits) CheckColumns(source string, cols int) error {
	if cols > l.MaxColumns {
		return limitError(source, fmt.Sprintf("%d columns", cols), "maxColumns", int64(l.MaxColumns))
	}
	return nil
}

// BoundReader returns a reader of r that fails once it has read more than
// limits.MaxBytes bytes or a line longer than a record may be, with a *DataError naming
// source and the limit, and once ctx is cancelled. limits must have its defaults
// (WithDefaults).
func BoundReader(ctx context.Context, r io.Reader, source string, limits Limits) io.Reader {
	return &boundedReader{r: r, ctx: ctx, source: source, limits: limits}
}

// boundedReader reads at most max bytes of (decompressed) text and lines of at most
// maxLine bytes; past either it fails with a limit error, so that a gzip bomb or a file
// without line breaks stops early instead of filling memory. It also stops when ctx is
// cancelled.
type boundedReader struct {
	r       io.Reader
	ctx     context.Context
	source  string
	limits  Limits
	read    int64
	lineLen int64
	line    int
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if err := b.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := b.r.Read(p)
	b.read += int64(n)
	if b.read > b.limits.MaxBytes {
		return 0, limitError(b.source, fmt.Sprintf("more than %d bytes of text", b.limits.MaxBytes), "maxBytes", b.limits.MaxBytes)
	}
	if i := bytes.LastIndexByte(p[:n], '\n'); i >= 0 {
		b.line += bytes.Count(p[:i+1], []byte{'\n'})
		b.lineLen = int64(n - i - 1)
	} else {
		b.lineLen += int64(n)
	}
	// Lines are measured at the end of each read, which is exact enough: the CSV reader
	// reads 64 KiB at a time.
	if maxLine := b.limits.maxLine(); b.lineLen > maxLine {
		e := limitError(b.source, fmt.Sprintf("a line of more than %d bytes", maxLine), "maxColumns × maxCellBytes (at most maxMemory / 4)", maxLine)
		e.Line = b.line + 1
		return 0, e
	}
	return n, err
}
