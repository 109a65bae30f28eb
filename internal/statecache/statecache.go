// Package statecache keeps what one run derived from content-addressed data (the parse of a
// policy blob, the status files of a status tree) in a file of the state directory, so that
// the next process, a one-shot `modelops reconcile` in CI or cron, starts where the last one
// ended instead of reading and parsing everything again.
//
// Its users key every entry by a git blob or tree hash, so an entry can only be used for the
// very bytes it was derived from. This package adds what makes a file of such entries safe to
// trust between processes:
//   - a file written by another format or by another build of modelops (whose parsing,
//     defaults or validation may differ) is ignored;
//   - a file over the size bound is neither written nor read;
//   - a file is replaced atomically (a temporary file renamed over it), so a reader never
//     sees half of one;
//   - a checksum covers the payload, so a damaged or truncated file is ignored.
//
// A file that cannot be used is a miss, never an error for the user: the caller derives the
// data again and stores a good file.
package statecache

import (
	"bufio"
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// magic starts every cache file.
const magic = "modelops-state-cache"

// DefaultMaxSize bounds a cache file when File.MaxSize is 0.
const DefaultMaxSize = 256 << 20

// maxHeader bounds the header line, so that a foreign file is not read whole to find it.
const maxHeader = 1024

// ErrMiss wraps every reason a cache file was not used: absent, foreign, stale or damaged.
var ErrMiss = errors.New("cache miss")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// File is one cache file of the state directory. Its payload is a Go value encoded with
// encoding/gob: plain structs, strings, byte slices and numbers (gob does not tell a nil
// pointer or slice from a pointer to zero or an empty slice, so a payload keeps such values
// encoded, as JSON for example).
type File struct {
	// Path is where the file lives.
	Path string
	// Format names the payload and the version of its encoding, such as "policies/1": a file
	// of another format is ignored. Change it whenever the payload's Go type changes.
	Format string
	// MaxSize bounds the encoded payload in bytes (DefaultMaxSize when 0).
	MaxSize int64
}

func (f File) maxSize() int64 {
	if f.MaxSize > 0 {
		return f.MaxSize
	}
	return DefaultMaxSize
}

// header is the first line of a file: what wrote it, and what must follow.
type header struct {
	format, build string
	size          int64
	sum           uint32
}

func (h header) String() string {
	return fmt.Sprintf("%s %s %s %d %08x\n", magic, h.format, h.build, h.size, h.sum)
}

// Load decodes the file's payload into v when the file was written in f.Format by this very
// build of modelops, whole and undamaged. Otherwise it returns an error wrapping ErrMiss that
// says why (for a debug log); v is then unspecified and must not be used.
func (f File) Load(v any) error {
	build := Build()
	if build == "" {
		return fmt.Errorf("%w: the running program's build is unknown", ErrMiss)
	}
	fh, err := os.Open(f.Path)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrMiss, err)
	}
	defer fh.Close()
	br := bufio.NewReaderSize(fh, 64<<10)
	line, err := br.ReadSlice('\n')
	if err != nil || len(line) > maxHeader {
		return fmt.Errorf("%w: %s: no header", ErrMiss, f.Path)
	}
	h, err := parseHeader(string(line))
	switch {
	case err != nil:
		return fmt.Errorf("%w: %s: %v", ErrMiss, f.Path, err)
	case h.format != f.Format:
		return fmt.Errorf("%w: %s is of format %s, not %s", ErrMiss, f.Path, h.format, f.Format)
	case h.build != build:
		return fmt.Errorf("%w: %s was written by another build of modelops", ErrMiss, f.Path)
	case h.size > f.maxSize():
		return fmt.Errorf("%w: %s holds %d bytes, over the bound of %d", ErrMiss, f.Path, h.size, f.maxSize())
	}
	payload := make([]byte, h.size)
	if _, err := io.ReadFull(br, payload); err != nil {
		return fmt.Errorf("%w: %s is truncated: %v", ErrMiss, f.Path, err)
	}
	if n, _ := br.Read(make([]byte, 1)); n > 0 {
		return fmt.Errorf("%w: %s is longer than its header says", ErrMiss, f.Path)
	}
	if crc32.Checksum(payload, castagnoli) != h.sum {
		return fmt.Errorf("%w: %s is damaged (checksum)", ErrMiss, f.Path)
	}
	if err := gob.NewDecoder(bytes.NewReader(payload)).Decode(v); err != nil {
		return fmt.Errorf("%w: %s: decode: %v", ErrMiss, f.Path, err)
	}
	return nil
}

func parseHeader(line string) (header, error) {
	fields := strings.Fields(line)
	if len(fields) != 5 || fields[0] != magic {
		return header{}, errors.New("not a cache file")
	}
	size, err := strconv.ParseInt(fields[3], 10, 64)
	if err != nil || size < 0 {
		return header{}, errors.New("bad payload size")
	}
	sum, err := strconv.ParseUint(fields[4], 16, 32)
	if err != nil {
		return header{}, errors.New("bad checksum")
	}
	return header{format: fields[1], build: fields[2], size: size, sum: uint32(sum)}, nil
}

// Store encodes v and replaces the file with it atomically, creating the directory if
// needed. A payload over the size bound is not written, and the old file is removed, since
// it no longer describes the data. Without a known build nothing is written.
func (f File) Store(v any) error {
	build := Build()
	if build == "" {
		return errors.New("the running program's build is unknown: nothing cached")
	}
	if strings.ContainsAny(f.Format, " \n") || f.Format == "" {
		return fmt.Errorf("cache format %q: want one word", f.Format)
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(v); err != nil {
		return fmt.Errorf("encode %s: %w", f.Path, err)
	}
	if int64(buf.Len()) > f.maxSize() {
		os.Remove(f.Path)
		return fmt.Errorf("%s: %d bytes to cache, over the bound of %d: not cached", f.Path, buf.Len(), f.maxSize())
	}
	h := header{format: f.Format, build: build, size: int64(buf.Len()), sum: crc32.Checksum(buf.Bytes(), castagnoli)}
	return writeAtomic(f.Path, []byte(h.String()), buf.Bytes())
}

// writeAtomic writes parts to a temporary file beside path and renames it over path.
func writeAtomic(path string, parts ...[]byte) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("cache directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	for _, p := range parts {
		if _, err = tmp.Write(p); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
