package dataset

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
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
	file, err := Sniff(f, name)
	if err != nil {
		return nil, err
	}
	if file.Format == FormatParquet {
		ra, err := file.ReaderAt(opts.Limits.WithDefaults())
		if err != nil {
			return nil, err
		}
		return ReadParquet(ra, file.Size, name, opts)
	}
	o, closeLast := reopener(name, open, file.Format == FormatGzipCSV)
	defer closeLast()
	return readCSV(o, opts)
}

// openError names the file that did not open, once: an *fs.PathError of the same file
// already reads "open NAME: ...".
func openError(name string, err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok && pe.Path == name {
		return err
	}
	return fmt.Errorf("open %s: %w", name, err)
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
		return Gunzip(f, name)
	}}, closeLast
}
