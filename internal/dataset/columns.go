package dataset

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"time"

	"github.com/parquet-go/parquet-go"
)

// ColumnFile is a data file opened to be read a batch of columns at a time, so that a
// table wider than memory is never held whole: the columns the options select and an
// upper bound of the rows are known once it is open, and Read reads just the columns it
// is given. A Parquet file is read from a footer parsed once, only the named columns'
// chunks; a CSV file is read in one pass over its text for each Read, keeping only the
// named fields (so k batches read the text k times: the price of holding 1/k of it).
type ColumnFile struct {
	// Source names the file in errors.
	Source string
	// Names are the columns the options select (Columns, Exclude), in file order.
	Names []string
	// Rows is the number of data rows (Parquet: the footer's), or at most (CSV: its
	// lines after the header; a quoted cell may span lines).
	Rows int64

	read  func(Options) (*Table, error)
	close func()
}

// Read reads the columns names (some of Names) with opts, as Read reads a file with
// opts.Columns set to names. The limits of opts apply to the batch's table.
func (c *ColumnFile) Read(names []string, opts Options) (*Table, error) {
	opts.Columns = slices.Clone(names)
	if len(opts.Columns) == 0 {
		return &Table{Source: c.Source, Rows: int(c.Rows)}, nil
	}
	return c.read(opts)
}

// Close releases the file.
func (c *ColumnFile) Close() {
	if c.close != nil {
		c.close()
	}
}

// OpenColumns opens the file at path to be read a batch of columns at a time.
func OpenColumns(path string, opts Options) (*ColumnFile, error) {
	return openColumns(path, func() (fs.File, error) { return os.Open(path) }, opts)
}

// OpenColumnsFS opens the file name of fsys as OpenColumns does. A file of the operating
// system is read in place, any other (a git tree's) from memory, as ReadFS reads them.
func OpenColumnsFS(fsys fs.FS, name string, opts Options) (*ColumnFile, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	if osf, ok := f.(*os.File); ok {
		full := osf.Name()
		osf.Close()
		return openColumns(full, func() (fs.File, error) { return fsys.Open(name) }, opts)
	}
	defer f.Close()
	limits := opts.Limits.WithDefaults()
	b, err := io.ReadAll(io.LimitReader(f, limits.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if int64(len(b)) > limits.MaxBytes {
		return nil, limitError(name, fmt.Sprintf("more than %d bytes", limits.MaxBytes), "maxBytes", limits.MaxBytes)
	}
	return openColumns(name, func() (fs.File, error) { return bytesFile{bytes.NewReader(b), int64(len(b))}, nil }, opts)
}

// bytesFile is a file held in memory, as an fs.File that reads at offsets.
type bytesFile struct {
	*bytes.Reader
	size int64
}

func (b bytesFile) Stat() (fs.FileInfo, error) { return bytesInfo(b.size), nil }
func (bytesFile) Close() error                 { return nil }

type bytesInfo int64

func (bytesInfo) Name() string       { return "" }
func (i bytesInfo) Size() int64      { return int64(i) }
func (bytesInfo) Mode() fs.FileMode  { return 0o444 }
func (bytesInfo) ModTime() time.Time { return time.Time{} }
func (bytesInfo) IsDir() bool        { return false }
func (bytesInfo) Sys() any           { return nil }

func openColumns(name string, open func() (fs.File, error), opts Options) (cf *ColumnFile, err error) {
	limits := opts.Limits.WithDefaults()
	f, err := open()
	if err != nil {
		return nil, openError(name, err)
	}
	file, err := Sniff(f, name)
	if err != nil {
		f.Close()
		return nil, err
	}
	if file.Format == FormatParquet {
		defer func() {
			if err != nil {
				f.Close()
			}
		}()
		defer RecoverParquet(name, &err)
		ra, err := file.ReaderAt(limits)
		if err != nil {
			return nil, err
		}
		pf, err := OpenParquet(ra, file.Size, name, limits)
		if err != nil {
			return nil, err
		}
		names, err := parquetSelection(name, pf, opts)
		if err != nil {
			return nil, err
		}
		return &ColumnFile{Source: name, Names: names, Rows: pf.NumRows(),
			read:  func(o Options) (*Table, error) { return readOpenParquet(ra, file.Size, name, pf, o) },
			close: func() { f.Close() }}, nil
	}
	f.Close()
	o, closeLast := reopener(name, open, file.Format == FormatGzipCSV)
	names, rows, err := csvShape(o, opts, limits)
	if err != nil {
		closeLast()
		return nil, err
	}
	return &ColumnFile{Source: name, Names: names, Rows: rows,
		read:  func(opts Options) (*Table, error) { return readCSV(o, opts) },
		close: closeLast}, nil
}

// parquetSelection is the names of the columns of pf that opts selects, in file order.
func parquetSelection(source string, pf *parquet.File, opts Options) ([]string, error) {
	sel, err := selectParquet(source, pf, opts)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(sel))
	for i, s := range sel {
		out[i] = s.name
	}
	return out, nil
}

// selectParquet checks the names of pf's leaf columns and selects those opts asks for.
func selectParquet(source string, pf *parquet.File, opts Options) ([]selected, error) {
	leaves := pf.Root().Columns()
	names := make([]string, len(leaves))
	for i, c := range leaves {
		names[i] = c.Name()
	}
	if err := checkParquetNames(source, names); err != nil {
		return nil, err
	}
	return selectColumns(source, names, opts)
}

// csvShape reads the header of a CSV text and counts its lines: the columns opts selects
// and at most how many rows there are.
func csvShape(o opener, opts Options, limits Limits) ([]string, int64, error) {
	o = o.bounded(opts.ctx(), limits)
	r, err := o.open()
	if err != nil {
		return nil, 0, err
	}
	cr, err := NewCSVReader(r, o.source, o.gz)
	if err != nil {
		return nil, 0, err
	}
	names, err := cr.Header()
	if errors.Is(err, io.EOF) {
		if cr.Empty() {
			return nil, 0, &DataError{Source: o.source, Msg: "empty file, want a header row"}
		}
		return nil, 0, &DataError{Source: o.source, Msg: "no header row (the file holds only blank lines)"}
	}
	if err != nil {
		return nil, 0, err
	}
	if err := limits.CheckColumns(o.source, len(names)); err != nil {
		return nil, 0, err
	}
	if err := checkHeader(o.source, names); err != nil {
		return nil, 0, err
	}
	sel, err := selectColumns(o.source, names, opts)
	if err != nil {
		return nil, 0, err
	}
	out := make([]string, len(sel))
	for i, s := range sel {
		out[i] = s.name
	}
	r, err = o.open()
	if err != nil {
		return nil, 0, err
	}
	scan, err := scanCSV(r)
	if err != nil {
		return nil, 0, o.readErr(err)
	}
	return out, int64(max(scan.lines-1, 0)), nil
}
