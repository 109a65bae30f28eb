package dataset

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
)

// This file is the reading layer shared with the streaming readers of other packages
// (the prediction logs of internal/metrics): telling a file's format, opening its CSV
// text or its Parquet bytes. csv.go adds CSVReader, parquet.go OpenParquet and the
// conversions of Parquet times.

// Format is the format of a data file.
type Format int

// The formats of data files.
const (
	FormatCSV Format = iota
	FormatGzipCSV
	FormatParquet
)

// SniffFormat tells the format of a file from its first bytes head (four are enough),
// then from the extension of name: "PAR1" starts a Parquet file, 0x1f 0x8b a gzip
// stream holding CSV; else .parquet or .pq is Parquet and .gz gzip CSV; anything else
// is CSV.
func SniffFormat(head []byte, name string) Format {
	ext := strings.ToLower(path.Ext(name))
	switch {
	case bytes.HasPrefix(head, []byte("PAR1")) || ext == ".parquet" || ext == ".pq":
		return FormatParquet
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}) || ext == ".gz":
		return FormatGzipCSV
	}
	return FormatCSV
}

// errEmptyFile is the error of a file of no bytes.
func errEmptyFile(source string) error {
	return &DataError{Source: source, Msg: "empty file, want a header row (CSV) or a Parquet file"}
}

// File is an open data file whose format Sniff told.
type File struct {
	Name   string
	Size   int64
	Format Format
	f      fs.File
	head   []byte // the bytes of f that Sniff read, unless it read them at an offset
}

// Sniff stats the open file f, named name in errors, refuses it when empty and tells
// its format (SniffFormat). f must be at its start; the caller still closes it.
func Sniff(f fs.File, name string) (*File, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", name, err)
	}
	if st.Size() == 0 {
		return nil, errEmptyFile(name)
	}
	var magic [4]byte
	if ra, ok := f.(io.ReaderAt); ok {
		// Read at an offset, f stays at its start: an object in object storage then
		// fetches these four bytes alone instead of starting a stream of the whole file.
		n, err := ra.ReadAt(magic[:], 0)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		return &File{Name: name, Size: st.Size(), Format: SniffFormat(magic[:n], name), f: f}, nil
	}
	n, err := io.ReadFull(f, magic[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	head := magic[:n]
	return &File{Name: name, Size: st.Size(), Format: SniffFormat(head, name), f: f, head: head}, nil
}

// ReaderAt returns the bytes of a Parquet file for OpenParquet, once its size is
// within limits (which must have its defaults): the file itself when it reads at
// offsets, else its content read into memory.
func (d *File) ReaderAt(limits Limits) (io.ReaderAt, error) {
	if err := limits.CheckBytes(d.Name, d.Size); err != nil {
		return nil, err
	}
	if ra, ok := d.f.(io.ReaderAt); ok {
		return ra, nil
	}
	data, err := io.ReadAll(io.MultiReader(bytes.NewReader(d.head), d.f))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", d.Name, err)
	}
	return bytes.NewReader(data), nil
}

// Text returns the CSV text of the file from its start, read once: gunzipped for
// FormatGzipCSV.
func (d *File) Text() (io.Reader, error) {
	r := io.MultiReader(bytes.NewReader(d.head), d.f)
	if d.Format == FormatGzipCSV {
		return Gunzip(r, d.Name)
	}
	return r, nil
}

// Gunzip returns the text of the gzip stream r; a stream that is not gzip is a
// *DataError naming source. Errors met later are classified by CSVReader.
func Gunzip(r io.Reader, source string) (io.Reader, error) {
	zr, err := gzip.NewReader(bufio.NewReaderSize(r, 1<<16))
	if err != nil {
		return nil, &DataError{Source: source, Msg: "not a valid gzip file", Err: err}
	}
	return zr, nil
}
