package dataset

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// Read reads the table in the file at path. The format comes from the content first
// ("PAR1" starts a Parquet file, 0x1f 0x8b a gzip stream holding CSV), then from the
// extension (.parquet or .pq: Parquet; .gz: gzip CSV); anything else is read as CSV.
func Read(path string, opts Options) (*Table, error) {
	return readFile(path, func() (fs.File, error) { return os.Open(path) }, opts)
}

// readFile reads the file that open opens, and opens again when the CSV reader needs
// another pass; name is the file in errors.
func readFile(name string, open func() (fs.File, error), opts Options) (*Table, error) {
	f, err := open()
	if err != nil {
		return nil, openError(name, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", name, err)
	}
	if st.Size() == 0 {
		return nil, &DataError{Source: name, Msg: "empty file, want a header row (CSV) or a Parquet file"}
	}
	var magic [4]byte
	n, err := io.ReadFull(f, magic[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	head := magic[:n]
	ext := strings.ToLower(path.Ext(name))
	switch {
	case bytes.Equal(head, []byte("PAR1")) || ext == ".parquet" || ext == ".pq":
		if err := opts.Limits.WithDefaults().CheckBytes(name, st.Size()); err != nil {
			return nil, err
		}
		ra, ok := f.(io.ReaderAt)
		if !ok {
			data, err := readAll(open)
			if err != nil {
				return nil, fmt.Errorf("read %s: %w", name, err)
			}
			ra = bytes.NewReader(data)
		}
		return ReadParquet(ra, st.Size(), name, opts)
	default:
		gz := bytes.HasPrefix(head, []byte{0x1f, 0x8b}) || ext == ".gz"
		o, closeLast := reopener(name, open, gz)
		defer closeLast()
		return readCSV(o, opts)
	}
}

// openError names the file that did not open, once: an *fs.PathError of the same file
// already reads "open NAME: ...".
func openError(name string, err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok && pe.Path == name {
		return err
	}
	return fmt.Errorf("open %s: %w", name, err)
}

// readAll reads a whole file.
func readAll(open func() (fs.File, error)) ([]byte, error) {
	f, err := open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// reopener gives the CSV text of a file from its start, each time opening the file
// anew (and gunzipping it when gz is set); closeLast closes the last one opened.
func reopener(name string, open func() (fs.File, error), gz bool) (o opener, closeLast func()) {
	var last fs.File
	closeLast = func() {
		if last != nil {
			last.Close()
			last = nil
		}
	}
	return opener{source: name, gz: gz, reopen: true, open: func() (io.Reader, error) {
		closeLast()
		f, err := open()
		if err != nil {
			return nil, openError(name, err)
		}
		last = f
		if !gz {
			return f, nil
		}
		zr, err := gzip.NewReader(bufio.NewReaderSize(f, 1<<16))
		if err != nil {
			return nil, &DataError{Source: name, Msg: "not a valid gzip file", Err: err}
		}
		return zr, nil
	}}, closeLast
}
