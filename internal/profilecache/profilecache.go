// Package profilecache keeps prepared drift references (drift.Profile: each column
// cleaned and sorted, or counted) on disk between checks, keyed by the reference data's
// content and the options that shape its preparation, so that a check whose reference did
// not change reads and prepares only the current data.
//
// The cache is a directory of files, one per key. A file is written to a temporary name
// and renamed into place, so a reader sees a whole entry or none; it carries its format
// version, its key and a CRC-32C of its bytes, so a damaged, truncated or foreign file is a
// miss (and is removed), never a wrong profile. The directory is bounded in size: after
// each store the entries used longest ago are removed until the rest fit. A hit marks its
// entry as used now.
package profilecache

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/medimind/modelops/internal/dataset"
	"github.com/medimind/modelops/internal/drift"
)

// DefaultMaxBytes bounds a cache directory unless told otherwise: about 25 references of
// 20,000 rows × 1,000 numeric columns (a profile holds 8 bytes a reference value).
const DefaultMaxBytes = 4 << 30

// Files of the cache: entries end in entrySuffix; a store in progress is a temporary file
// starting with tmpPrefix, removed by the next store once older than staleTemp.
const (
	entrySuffix = ".profile"
	tmpPrefix   = ".tmp-"
	staleTemp   = time.Hour
	fileMagic   = "MOPCACHE"
	// fileVersion changes whenever the file layout or drift's profile encoding does.
	fileVersion = 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Cache is a directory of prepared references. It is safe for concurrent use, also by
// several processes sharing the directory.
type Cache struct {
	dir      string
	maxBytes int64
	log      *slog.Logger
	mu       sync.Mutex // serialises eviction within this process

	hits, misses atomic.Int64
}

// Stats returns the hits and misses of Get since Open.
func (c *Cache) Stats() (hits, misses int64) { return c.hits.Load(), c.misses.Load() }

// Open returns the cache in dir, creating the directory. maxBytes <= 0 is
// DefaultMaxBytes; a nil log discards.
func Open(dir string, maxBytes int64, log *slog.Logger) (*Cache, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("profile cache: %w", err)
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Cache{dir: dir, maxBytes: maxBytes, log: log}, nil
}

// Dir is the cache's directory.
func (c *Cache) Dir() string { return c.dir }

// Key names a prepared reference: the digest of its bytes and every option that changes
// what is read from them or how it is prepared.
type Key [sha256.Size]byte

// String is the key in hexadecimal, the entry's file name.
func (k Key) String() string { return hex.EncodeToString(k[:]) }

// Preparation is what shapes a prepared reference besides its bytes: the reading options
// (column selection and kinds, invalid values, limits — a limit that now refuses the file
// must not be hidden by an old entry) and the drift options that classify columns.
type Preparation struct {
	Read    ReadOptions `json:"read"`
	Exclude []string    `json:"exclude,omitempty"`
	// Numeric and Categorical are the drift engine's kind overrides.
	Numeric     []string `json:"numeric,omitempty"`
	Categorical []string `json:"categorical,omitempty"`
}

// ReadOptions are the fields of dataset.Options that change the table read.
type ReadOptions struct {
	Numeric     []string       `json:"numeric,omitempty"`
	Categorical []string       `json:"categorical,omitempty"`
	Exclude     []string       `json:"exclude,omitempty"`
	Columns     []string       `json:"columns,omitempty"`
	Invalid     string         `json:"invalid,omitempty"`
	Limits      dataset.Limits `json:"limits"`
}

// PreparationOf is the Preparation of a reference read with read and compared with opts.
func PreparationOf(read dataset.Options, opts drift.Options) Preparation {
	return Preparation{
		Read: ReadOptions{Numeric: read.Numeric, Categorical: read.Categorical, Exclude: read.Exclude,
			Columns: read.Columns, Invalid: string(read.Invalid), Limits: read.Limits.WithDefaults()},
		Exclude: opts.Exclude, Numeric: opts.Numeric, Categorical: opts.Categorical,
	}
}

// NewKey is the key of the reference whose content digest is digest, prepared as prep.
func NewKey(digest string, prep Preparation) Key {
	b, _ := json.Marshal(prep) // plain strings and numbers: cannot fail
	h := sha256.New()
	fmt.Fprintf(h, "modelops profile cache v%d\n%s\n", fileVersion, digest)
	h.Write(b)
	var k Key
	h.Sum(k[:0])
	return k
}

// BlobHasher is a file system that knows the git blob hash of a file without reading it
// (datafs.FS over a git tree).
type BlobHasher interface {
	BlobHash(name string) (string, error)
}

// Versioned is a file system that names the version of a file's content without reading it:
// an object store's ETag, which changes whenever the object is written again. It returns
// errors.ErrUnsupported when the store gives no such name.
type Versioned interface {
	ContentVersion(name string) (string, error)
}

// BlobDigest is the content key of a file the git blob hash names.
func BlobDigest(hash string) string { return "git-blob:" + hash }

// DigestFile is the SHA-256 of the bytes of the file at path.
func DigestFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	return DigestReader(f, path)
}

// DigestReader is the SHA-256 of the bytes of r, the file name.
func DigestReader(r io.Reader, name string) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", fmt.Errorf("digest %s: %w", name, err)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// Entry is a prepared reference: the schema of the reference table (each column's name
// and whether it holds numbers, no values) and its profile.
type Entry struct {
	// Schema has the reference's columns, in order, each with an empty Float (numeric) or
	// empty Codes and Dict (text): what reading and aligning the current data needs of the
	// reference (dataset.CurrentOptions, dataset.Align).
	Schema  *dataset.Table
	Profile *drift.Profile
}

// Schema is the value-less copy of ref that an Entry keeps.
func Schema(ref *dataset.Table) *dataset.Table {
	t := &dataset.Table{Source: ref.Source, Rows: ref.Rows, Columns: make([]dataset.Column, len(ref.Columns))}
	for i := range ref.Columns {
		t.Columns[i] = schemaColumn(ref.Columns[i].Name, ref.Columns[i].IsNumeric())
	}
	return t
}

func schemaColumn(name string, numeric bool) dataset.Column {
	if numeric {
		return dataset.Column{Name: name, Float: []float64{}}
	}
	return dataset.Column{Name: name, Codes: []int32{}, Dict: []string{}}
}

func (c *Cache) path(k Key) string { return filepath.Join(c.dir, k.String()+entrySuffix) }

// Get returns the entry of k, its profile comparing under opts and naming source in
// errors, and whether there was one. A file that cannot be read as an entry of this
// version is removed and counts as a miss.
func (c *Cache) Get(ctx context.Context, k Key, source string, opts drift.Options) (*Entry, bool) {
	e, ok := c.get(ctx, k, source, opts)
	if ok {
		c.hits.Add(1)
	} else {
		c.misses.Add(1)
	}
	return e, ok
}

func (c *Cache) get(ctx context.Context, k Key, source string, opts drift.Options) (*Entry, bool) {
	path := c.path(k)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false
	}
	if err != nil {
		c.log.Warn("profile cache: cannot open an entry", "file", path, "error", err)
		return nil, false
	}
	e, err := readEntry(ctx, f, k, source, opts)
	f.Close()
	if err != nil {
		if ctx.Err() == nil {
			c.log.Warn("profile cache: entry unreadable, removed", "file", path, "error", err)
			os.Remove(path)
		}
		return nil, false
	}
	now := time.Now()
	_ = os.Chtimes(path, now, now) // used now: evicted last
	return e, true
}

// errCorrupt marks an entry whose bytes are not what was written.
var errCorrupt = errors.New("damaged entry")

func readEntry(ctx context.Context, f *os.File, k Key, source string, opts drift.Options) (*Entry, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	if size < int64(len(fileMagic)+4+len(k)+4) {
		return nil, fmt.Errorf("%d bytes: %w", size, errCorrupt)
	}
	var trailer [4]byte
	if _, err := f.ReadAt(trailer[:], size-4); err != nil {
		return nil, err
	}
	// The checksum is verified before anything is decoded, so that no length read from
	// a damaged file sizes an allocation; a second read of a file just read comes from
	// the page cache.
	crc := crc32.New(castagnoli)
	if _, err := io.Copy(crc, io.NewSectionReader(f, 0, size-4)); err != nil {
		return nil, err
	}
	if crc.Sum32() != binary.LittleEndian.Uint32(trailer[:]) {
		return nil, fmt.Errorf("checksum mismatch: %w", errCorrupt)
	}
	r := bufio.NewReaderSize(io.NewSectionReader(f, 0, size-4), 1<<16)
	head := make([]byte, len(fileMagic)+4+len(k))
	if _, err := io.ReadFull(r, head); err != nil {
		return nil, err
	}
	if string(head[:len(fileMagic)]) != fileMagic {
		return nil, fmt.Errorf("not a profile cache entry: %w", errCorrupt)
	}
	if v := binary.LittleEndian.Uint32(head[len(fileMagic):]); v != fileVersion {
		return nil, fmt.Errorf("format version %d, want %d: %w", v, fileVersion, errCorrupt)
	}
	if string(head[len(fileMagic)+4:]) != string(k[:]) {
		return nil, fmt.Errorf("the entry of another key: %w", errCorrupt)
	}
	schema, err := readSchema(r, size)
	if err != nil {
		return nil, err
	}
	schema.Source = source
	// No column holds more values than the file has bytes for.
	maxValues := int(min(int64(max(schema.Rows, len(schema.Columns), 1<<20)), size))
	p, err := drift.DecodeProfile(ctx, r, source, opts, maxValues)
	if err != nil {
		return nil, err
	}
	return &Entry{Schema: schema, Profile: p}, nil
}

// readSchema reads rows:u64 columns:u32, then per column name (len:u32, bytes) and
// numeric:u8. size bounds every length.
func readSchema(r *bufio.Reader, size int64) (*dataset.Table, error) {
	var b [12]byte
	if _, err := io.ReadFull(r, b[:12]); err != nil {
		return nil, err
	}
	rows, ncols := binary.LittleEndian.Uint64(b[:8]), int64(binary.LittleEndian.Uint32(b[8:12]))
	if rows > 1<<40 || ncols > size {
		return nil, fmt.Errorf("a schema of %d rows and %d columns: %w", rows, ncols, errCorrupt)
	}
	t := &dataset.Table{Rows: int(rows), Columns: make([]dataset.Column, 0, min(ncols, 1<<16))}
	for range ncols {
		if _, err := io.ReadFull(r, b[:4]); err != nil {
			return nil, err
		}
		n := int64(binary.LittleEndian.Uint32(b[:4]))
		if n > size {
			return nil, fmt.Errorf("a column name of %d bytes: %w", n, errCorrupt)
		}
		name := make([]byte, n+1)
		if _, err := io.ReadFull(r, name); err != nil {
			return nil, err
		}
		t.Columns = append(t.Columns, schemaColumn(string(name[:n]), name[n] == 1))
	}
	return t, nil
}

// Put stores the prepared reference ref (the table it was prepared from, for its schema)
// under k, then evicts the entries used longest ago while the cache is over its bound. A
// failure is logged and leaves no entry: the cache only ever saves work.
func (c *Cache) Put(k Key, ref *dataset.Table, p *drift.Profile) {
	if err := c.put(k, ref, p); err != nil {
		c.log.Warn("profile cache: cannot store a reference profile", "dir", c.dir, "error", err)
	}
	c.evict()
}

func (c *Cache) put(k Key, ref *dataset.Table, p *drift.Profile) (err error) {
	tmp, err := os.CreateTemp(c.dir, tmpPrefix+"*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	crc := crc32.New(castagnoli)
	w := bufio.NewWriterSize(io.MultiWriter(tmp, crc), 1<<16)
	if err := writeHead(w, k, ref); err != nil {
		return err
	}
	if err := drift.EncodeProfile(w, p); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := binary.Write(tmp, binary.LittleEndian, crc.Sum32()); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), c.path(k))
}

func writeHead(w io.Writer, k Key, ref *dataset.Table) error {
	var b []byte
	b = append(b, fileMagic...)
	b = binary.LittleEndian.AppendUint32(b, fileVersion)
	b = append(b, k[:]...)
	b = binary.LittleEndian.AppendUint64(b, uint64(ref.Rows))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(ref.Columns)))
	for i := range ref.Columns {
		col := &ref.Columns[i]
		b = binary.LittleEndian.AppendUint32(b, uint32(len(col.Name)))
		b = append(b, col.Name...)
		numeric := byte(0)
		if col.IsNumeric() {
			numeric = 1
		}
		b = append(b, numeric)
	}
	_, err := w.Write(b)
	return err
}

// evict removes the entries used longest ago until the rest fit in maxBytes, and
// temporary files left by stores that did not finish.
func (c *Cache) evict() {
	c.mu.Lock()
	defer c.mu.Unlock()
	entries, err := os.ReadDir(c.dir)
	if err != nil {
		c.log.Warn("profile cache: cannot list", "dir", c.dir, "error", err)
		return
	}
	type file struct {
		name string
		size int64
		used time.Time
	}
	var files []file
	var total int64
	for _, de := range entries {
		info, err := de.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		name := de.Name()
		switch {
		case strings.HasPrefix(name, tmpPrefix):
			if time.Since(info.ModTime()) > staleTemp {
				os.Remove(filepath.Join(c.dir, name))
			}
		case strings.HasSuffix(name, entrySuffix):
			files = append(files, file{name, info.Size(), info.ModTime()})
			total += info.Size()
		}
	}
	slices.SortFunc(files, func(a, b file) int { return a.used.Compare(b.used) })
	for _, f := range files {
		if total <= c.maxBytes {
			break
		}
		if err := os.Remove(filepath.Join(c.dir, f.name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			c.log.Warn("profile cache: cannot evict", "file", f.name, "error", err)
			continue
		}
		total -= f.size
	}
}
