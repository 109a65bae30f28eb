package dataset

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// InPlace is implemented by the files that ReadFS reads where they are, by ranges, rather
// than into memory: objects in object storage. A Parquet file is then read by its footer
// and the column chunks selected; CSV text is streamed, once per pass.
type InPlace interface {
	io.ReaderAt
	ReadInPlace()
}

// ReadFS reads the table in the file name of fsys, as Read does. A file of the operating
// system (os.DirFS, os.Root's FS) or an InPlace file is read in place, opened again
// through fsys when needed; any other file system, such as a git tree, is read into
// memory first.
func ReadFS(fsys fs.FS, name string, opts Options) (*Table, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err // an *fs.PathError, naming the file
	}
	if osf, ok := f.(*os.File); ok {
		// Reopened through fsys, not by its path: an os.Root's FS keeps every opening inside.
		full := osf.Name()
		osf.Close()
		return readFile(full, func() (fs.File, error) { return fsys.Open(name) }, opts)
	}
	if _, ok := f.(InPlace); ok {
		f.Close()
		return readFile(name, func() (fs.File, error) { return fsys.Open(name) }, opts)
	}
	defer f.Close()
	limits := opts.Limits.WithDefaults()
	if st, err := f.Stat(); err == nil {
		if err := limits.CheckBytes(name, st.Size()); err != nil {
			return nil, err
		}
	}
	b, err := io.ReadAll(io.LimitReader(f, limits.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if int64(len(b)) > limits.MaxBytes {
		return nil, limitError(name, fmt.Sprintf("more than %d bytes", limits.MaxBytes), "maxBytes", limits.MaxBytes)
	}
	return ReadBytes(b, name, opts)
}

// ReadBytes reads a table held in memory; source names it in errors. The format is found
// as Read finds it: by content first, then by the extension of source.
func ReadBytes(b []byte, source string, opts Options) (*Table, error) {
	if len(b) == 0 {
		return nil, errEmptyFile(source)
	}
	switch SniffFormat(b, source) {
	case FormatParquet:
		return ReadParquet(bytes.NewReader(b), int64(len(b)), source, opts)
	case FormatGzipCSV:
		// The text is gunzipped as it is read, once per pass, never held whole: a small
		// file may inflate to far more than memory.
		return readCSV(opener{source: source, gz: true, reopen: true, open: func() (io.Reader, error) {
			return Gunzip(bytes.NewReader(b), source)
		}}, opts)
	default:
		return ReadCSV(bytes.NewReader(b), source, opts)
	}
}
