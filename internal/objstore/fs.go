//go:build !lite

package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/medimind/modelops/internal/dataset"
)

// bucketFS is a bucket as a read-only file system seen with one context. Objects are files;
// a prefix followed by "/" is a directory, which exists while some object is below it.
//
// gocloud.dev's Bucket implements fs.FS too, but its files stream the whole object from
// their opening (no ReadAt, so Parquet would be read whole) and its context is set once
// per bucket, where each drift check needs its own.
type bucketFS struct {
	ctx            context.Context
	b              *blob.Bucket
	scheme, bucket string
	stall          time.Duration
}

var (
	_ fs.StatFS    = (*bucketFS)(nil)
	_ fs.ReadDirFS = (*bucketFS)(nil)
)

func (f *bucketFS) url(name string) string {
	if name == "." {
		return f.scheme + "://" + f.bucket
	}
	return f.scheme + "://" + f.bucket + "/" + name
}

// Open implements fs.FS.
func (f *bucketFS) Open(name string) (fs.File, error) {
	fi, err := f.Stat(name)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return &dir{fs: f, name: name, info: fi}, nil
	}
	o := &object{fs: f, key: name, info: fi.(*info)}
	o.ranges = &rangeReader{size: o.info.size, fetch: o.fetch}
	return o, nil
}

// ContentVersion names the version of an object's content by the store's ETag (with the
// object's URL and size), so a cache keyed by it is never served a rewritten object's
// profile and needs no read of the object; errors.ErrUnsupported when the store sends none.
func (f *bucketFS) ContentVersion(name string) (string, error) {
	var attrs *blob.Attributes
	err := f.watch(name, func(ctx context.Context, _ func()) (err error) {
		attrs, err = f.b.Attributes(ctx, name)
		return err
	})
	if err != nil {
		return "", err
	}
	if attrs.ETag == "" {
		return "", errors.ErrUnsupported
	}
	return fmt.Sprintf("etag:%s:%d:%s", f.url(name), attrs.Size, attrs.ETag), nil
}

// Stat implements fs.StatFS: an object's attributes, else whether the prefix name + "/"
// holds anything.
func (f *bucketFS) Stat(name string) (fs.FileInfo, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrInvalid}
	}
	if name == "." {
		return &info{name: ".", dir: true}, nil
	}
	var attrs *blob.Attributes
	err := f.watch(name, func(ctx context.Context, _ func()) (err error) {
		attrs, err = f.b.Attributes(ctx, name)
		return err
	})
	if err == nil {
		return &info{name: path.Base(name), size: attrs.Size, mod: attrs.ModTime}, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	entries, lerr := f.list(name, 1)
	if lerr != nil {
		return nil, lerr
	}
	if len(entries) == 0 {
		return nil, err
	}
	return &info{name: path.Base(name), dir: true}, nil
}

// ReadDir implements fs.ReadDirFS: the objects and prefixes just below name, sorted.
func (f *bucketFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrInvalid}
	}
	entries, err := f.list(name, 0)
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 && name != "." {
		return nil, &fs.PathError{Op: "readdir", Path: f.url(name), Err: fmt.Errorf("no such prefix: %w", fs.ErrNotExist)}
	}
	return entries, nil
}

// list lists what is just below the prefix name + "/", at most limit entries (0: all).
func (f *bucketFS) list(name string, limit int) ([]fs.DirEntry, error) {
	prefix := name + "/"
	if name == "." {
		prefix = ""
	}
	var entries []fs.DirEntry
	err := f.watch(name, func(ctx context.Context, progress func()) error {
		it := f.b.List(&blob.ListOptions{Prefix: prefix, Delimiter: "/"})
		for limit == 0 || len(entries) < limit {
			obj, err := it.Next(ctx)
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			progress()
			base := path.Base(obj.Key) // a prefix's key ends in "/", which Base drops
			entries = append(entries, &info{name: base, size: obj.Size, mod: obj.ModTime, dir: obj.IsDir})
		}
		return nil
	})
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return entries, err
}

// watch runs call, one request (or a series of pages) about name, under f's context and
// a stall watchdog: the request fails with a *StallError when call goes f.stall without
// calling progress (which it does on each answer). Errors are explained (explain).
func (f *bucketFS) watch(name string, call func(ctx context.Context, progress func()) error) error {
	ctx, cancel := context.WithCancelCause(f.ctx)
	defer cancel(nil)
	stalled := &StallError{URL: f.url(name), Stall: f.stall}
	timer := time.AfterFunc(f.stall, func() { cancel(stalled) })
	defer timer.Stop()
	err := call(ctx, func() { timer.Reset(f.stall) })
	if err == nil {
		return nil
	}
	if context.Cause(ctx) == stalled {
		return stalled
	}
	if f.ctx.Err() != nil {
		return f.ctx.Err()
	}
	return explain(f.url(name), f.scheme, err)
}

// info describes an object or a prefix; it is both fs.FileInfo and fs.DirEntry.
type info struct {
	name string
	size int64
	mod  time.Time
	dir  bool
}

func (i *info) Name() string { return i.name }
func (i *info) Size() int64  { return i.size }
func (i *info) Mode() fs.FileMode {
	if i.dir {
		return fs.ModeDir | 0o555
	}
	return 0o444
}
func (i *info) Type() fs.FileMode          { return i.Mode().Type() }
func (i *info) ModTime() time.Time         { return i.mod }
func (i *info) IsDir() bool                { return i.dir }
func (i *info) Sys() any                   { return nil }
func (i *info) Info() (fs.FileInfo, error) { return i, nil }

// dir is an open prefix.
type dir struct {
	fs      *bucketFS
	name    string
	info    fs.FileInfo
	entries []fs.DirEntry
	read    bool
}

func (d *dir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *dir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.fs.url(d.name), Err: errors.New("is a directory")}
}
func (d *dir) Close() error { return nil }

// ReadDir implements fs.ReadDirFile.
func (d *dir) ReadDir(n int) ([]fs.DirEntry, error) {
	if !d.read {
		entries, err := d.fs.list(d.name, 0)
		if err != nil {
			return nil, err
		}
		d.entries, d.read = entries, true
	}
	if n <= 0 {
		all := d.entries
		d.entries = nil
		return all, nil
	}
	if len(d.entries) == 0 {
		return nil, io.EOF
	}
	k := min(n, len(d.entries))
	out := d.entries[:k]
	d.entries = d.entries[k:]
	return out, nil
}

// object is an open object: Read streams it from the current offset (one request, opened
// on the first Read), ReadAt reads ranges through a read-ahead cache.
type object struct {
	fs     *bucketFS
	key    string
	info   *info
	ranges *rangeReader

	stream *stream // the body being read by Read, nil before the first Read
	off    int64   // Read's offset
}

var _ dataset.InPlace = (*object)(nil)

func (o *object) Stat() (fs.FileInfo, error) { return o.info, nil }

// ReadInPlace implements dataset.InPlace.
func (o *object) ReadInPlace() {}

// ReadAt implements io.ReaderAt.
func (o *object) ReadAt(p []byte, off int64) (int, error) { return o.ranges.ReadAt(p, off) }

// Read implements io.Reader: the object streamed from its start, one request for all of it.
func (o *object) Read(p []byte) (int, error) {
	if o.off >= o.info.size {
		return 0, io.EOF
	}
	if o.stream == nil {
		s, err := o.openStream(o.off, -1)
		if err != nil {
			return 0, err
		}
		o.stream = s
	}
	n, err := o.stream.Read(p)
	o.off += int64(n)
	if err == io.EOF && o.off < o.info.size || errors.Is(err, io.ErrUnexpectedEOF) {
		err = o.truncated(o.off)
	}
	return n, err
}

// Close implements fs.File.
func (o *object) Close() error {
	if o.stream != nil {
		o.stream.Close()
		o.stream = nil
	}
	return nil
}

// truncated is the error of a body that ended at byte at, before the object's size. It is
// not bad data (the object may be whole, the transfer was cut), so no *dataset.DataError.
func (o *object) truncated(at int64) error {
	return fmt.Errorf("%s: the object ended at byte %d of the %d it announced (cut short in transfer, or replaced while read): %w",
		o.fs.url(o.key), at, o.info.size, ErrTruncated)
}

// fetch reads the n bytes at off with one range request.
func (o *object) fetch(off int64, n int) ([]byte, error) {
	s, err := o.openStream(off, int64(n))
	if err != nil {
		return nil, err
	}
	defer s.Close()
	buf := make([]byte, n)
	k, err := io.ReadFull(s, buf)
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return nil, o.truncated(off + int64(k))
	}
	return buf, err
}

// stream is one request's body under the stall watchdog: each Read must receive a byte
// within the stall bound.
type stream struct {
	o      *object
	r      *blob.Reader
	cancel context.CancelCauseFunc
	timer  *time.Timer
	ctx    context.Context
	err    *StallError
}

// openStream requests length bytes (-1: to the end) of the object from off.
func (o *object) openStream(off, length int64) (*stream, error) {
	f := o.fs
	ctx, cancel := context.WithCancelCause(f.ctx)
	s := &stream{o: o, cancel: cancel, ctx: ctx, err: &StallError{URL: f.url(o.key), Stall: f.stall}}
	s.timer = time.AfterFunc(f.stall, func() { cancel(s.err) })
	r, err := f.b.NewRangeReader(ctx, o.key, off, length, nil)
	s.timer.Stop()
	if err != nil {
		cancel(nil)
		return nil, s.explain(err)
	}
	s.r = r
	return s, nil
}

func (s *stream) Read(p []byte) (int, error) {
	s.timer.Reset(s.o.fs.stall)
	n, err := s.r.Read(p)
	s.timer.Stop()
	if err != nil && err != io.EOF {
		return n, s.explain(err)
	}
	return n, err
}

func (s *stream) Close() {
	s.timer.Stop()
	if s.r != nil {
		s.r.Close()
	}
	s.cancel(nil)
}

// explain names what went wrong with the stream's request.
func (s *stream) explain(err error) error {
	f := s.o.fs
	switch {
	case context.Cause(s.ctx) == s.err:
		return s.err
	case f.ctx.Err() != nil:
		return f.ctx.Err()
	case gcerrors.Code(err) == gcerrors.NotFound:
		// Gone since it was opened: as missing as if it never was.
		return explain(f.url(s.o.key), f.scheme, err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return io.ErrUnexpectedEOF // the caller knows where: object.truncated
	}
	return explain(f.url(s.o.key), f.scheme, err)
}
