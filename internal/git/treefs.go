package git

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Tree returns a read-only view of the tree at commit (a 40-hex hash),
// without any checkout. Files are read from the object store when opened;
// every entry's ModTime is the commit's committer time. Symbolic links are
// listed with fs.ModeSymlink and read as their target path (the view follows
// none: datafs.Resolve follows them inside the tree); submodules are left out.
// The view implements fs.ReadFileFS, fs.ReadDirFS, fs.StatFS and
// fs.ReadLinkFS, is safe for concurrent use and stays valid after later
// fetches.
func (r *Repo) Tree(ctx context.Context, commit string) (fs.FS, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := r.commitLocked(commit)
	if err != nil {
		return nil, fmt.Errorf("read tree: %w", err)
	}
	t, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("read tree of %s: %w", commit, err)
	}
	return &treeFS{r: r, root: t, mod: c.Committer.When, dirs: map[string]*object.Tree{".": t}}, nil
}

// BranchTree returns the tip of branch and the tree there. A branch that does not exist yet
// (the status branch before the first cycle) has tip "" and an empty tree.
func (r *Repo) BranchTree(ctx context.Context, branch string) (string, fs.FS, error) {
	tip, err := r.Head(ctx, branch)
	if errors.Is(err, ErrBranchNotFound) {
		return "", emptyFS{}, nil
	}
	if err != nil {
		return "", nil, err
	}
	files, err := r.Tree(ctx, tip)
	if err != nil {
		return "", nil, err
	}
	return tip, files, nil
}

// ReadFile returns the content of the file at path (slash-separated,
// relative to the root) in commit. A missing file gives an error matching
// fs.ErrNotExist.
func (r *Repo) ReadFile(ctx context.Context, commit, path string) ([]byte, error) {
	t, err := r.Tree(ctx, commit)
	if err != nil {
		return nil, err
	}
	b, err := fs.ReadFile(t, path)
	if err != nil {
		return nil, fmt.Errorf("read %s at %s: %w", path, commit, err)
	}
	return b, nil
}

type treeFS struct {
	r    *Repo
	root *object.Tree
	mod  time.Time
	// dirs caches decoded directory trees by path, so reading every file of a directory
	// of n entries decodes it once rather than n times. Guarded by r.mu.
	dirs map[string]*object.Tree
}

// lock takes the store's lock, which also guards root: object.Tree caches
// lookups in maps.
func (t *treeFS) lock() (unlock func()) {
	t.r.mu.Lock()
	return t.r.mu.Unlock
}

var (
	_ fs.ReadFileFS = (*treeFS)(nil)
	_ fs.ReadDirFS  = (*treeFS)(nil)
	_ fs.StatFS     = (*treeFS)(nil)
	_ fs.ReadLinkFS = (*treeFS)(nil)
)

// lookup finds name, returning its entry (nil for the root) and, for a
// directory, its tree. The caller holds r.mu.
func (t *treeFS) lookup(op, name string) (*object.TreeEntry, *object.Tree, error) {
	if !fs.ValidPath(name) {
		return nil, nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	if name == "." {
		return nil, t.root, nil
	}
	parent, err := t.dir(path.Dir(name))
	if err != nil {
		return nil, nil, &fs.PathError{Op: op, Path: name, Err: err}
	}
	e, err := parent.FindEntry(path.Base(name))
	if notFound(err) || (err == nil && e.Mode == filemode.Submodule) {
		return nil, nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	}
	if err != nil {
		return nil, nil, &fs.PathError{Op: op, Path: name, Err: err}
	}
	if e.Mode != filemode.Dir {
		return e, nil, nil
	}
	sub, err := t.dir(name)
	if err != nil {
		return nil, nil, &fs.PathError{Op: op, Path: name, Err: err}
	}
	return e, sub, nil
}

// dir returns the decoded tree of directory p, from the cache when it was decoded before.
// The caller holds r.mu.
func (t *treeFS) dir(p string) (*object.Tree, error) {
	if d, ok := t.dirs[p]; ok {
		return d, nil
	}
	parent, err := t.dir(path.Dir(p))
	if err != nil {
		return nil, err
	}
	e, err := parent.FindEntry(path.Base(p))
	if notFound(err) || (err == nil && e.Mode != filemode.Dir) {
		return nil, fs.ErrNotExist
	}
	if err != nil {
		return nil, err
	}
	sub, err := object.GetTree(t.r.repo.Storer, e.Hash)
	if err != nil {
		return nil, err
	}
	t.dirs[p] = sub
	return sub, nil
}

func (t *treeFS) blob(op, name string, h plumbing.Hash) ([]byte, error) {
	b, err := object.GetBlob(t.r.repo.Storer, h)
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: err}
	}
	rd, err := b.Reader()
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: err}
	}
	defer rd.Close()
	data, err := io.ReadAll(rd)
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: err}
	}
	return data, nil
}

// Open reads a file whole while holding the store's lock, so the returned
// fs.File never touches the store again.
func (t *treeFS) Open(name string) (fs.File, error) {
	defer t.lock()()
	e, sub, err := t.lookup("open", name)
	if err != nil {
		return nil, err
	}
	if sub != nil {
		entries, err := t.dirEntries(sub)
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		return &dirFile{info: t.dirInfo(name), entries: entries}, nil
	}
	data, err := t.blob("open", name, e.Hash)
	if err != nil {
		return nil, err
	}
	return &file{info: t.fileInfo(base(name), e.Mode, int64(len(data))), Reader: bytes.NewReader(data)}, nil
}

// FileHash returns the git blob hash of the file name without reading the file, so that a
// caller can tell an unchanged file by its hash (policies.LoadCached does).
func (t *treeFS) FileHash(name string) (string, error) {
	defer t.lock()()
	e, sub, err := t.lookup("hash", name)
	if err != nil {
		return "", err
	}
	if sub != nil {
		return "", &fs.PathError{Op: "hash", Path: name, Err: errors.New("is a directory")}
	}
	return e.Hash.String(), nil
}

// ReadFile implements fs.ReadFileFS.
func (t *treeFS) ReadFile(name string) ([]byte, error) {
	defer t.lock()()
	e, sub, err := t.lookup("read", name)
	if err != nil {
		return nil, err
	}
	if sub != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: errIsDir}
	}
	return t.blob("read", name, e.Hash)
}

// ReadDir implements fs.ReadDirFS.
func (t *treeFS) ReadDir(name string) ([]fs.DirEntry, error) {
	defer t.lock()()
	_, sub, err := t.lookup("readdir", name)
	if err != nil {
		return nil, err
	}
	if sub == nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errNotDir}
	}
	entries, err := t.dirEntries(sub)
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: err}
	}
	return entries, nil
}

// Stat implements fs.StatFS.
func (t *treeFS) Stat(name string) (fs.FileInfo, error) {
	defer t.lock()()
	e, sub, err := t.lookup("stat", name)
	if err != nil {
		return nil, err
	}
	if sub != nil {
		return t.dirInfo(name), nil
	}
	size, err := t.r.repo.Storer.EncodedObjectSize(e.Hash)
	if err != nil {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: err}
	}
	return t.fileInfo(base(name), e.Mode, size), nil
}

// Lstat implements fs.ReadLinkFS. It is Stat: the view follows no link.
func (t *treeFS) Lstat(name string) (fs.FileInfo, error) { return t.Stat(name) }

// ReadLink implements fs.ReadLinkFS: the target a symbolic link holds, as git stores it.
func (t *treeFS) ReadLink(name string) (string, error) {
	defer t.lock()()
	e, sub, err := t.lookup("readlink", name)
	if err != nil {
		return "", err
	}
	if sub != nil || e.Mode != filemode.Symlink {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: errNotLink}
	}
	target, err := t.blob("readlink", name, e.Hash)
	return string(target), err
}

var (
	errNotLink = errors.New("not a symbolic link")
	errIsDir   = errors.New("is a directory")
	errNotDir  = errors.New("not a directory")
)

// dirEntries lists a tree sorted by name, with sizes, while the caller
// holds the lock.
func (t *treeFS) dirEntries(tree *object.Tree) ([]fs.DirEntry, error) {
	out := make([]fs.DirEntry, 0, len(tree.Entries))
	for _, e := range tree.Entries {
		switch e.Mode {
		case filemode.Submodule:
			continue
		case filemode.Dir:
			out = append(out, fs.FileInfoToDirEntry(t.dirInfo(e.Name)))
		default:
			out = append(out, &lazyEntry{t: t, entry: e})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out, nil
}

func (t *treeFS) dirInfo(name string) fileInfo {
	return fileInfo{name: base(name), mode: fs.ModeDir | 0o555, mod: t.mod}
}

func (t *treeFS) fileInfo(name string, m filemode.FileMode, size int64) fileInfo {
	mode := fs.FileMode(0o444)
	switch m {
	case filemode.Executable:
		mode = 0o555
	case filemode.Symlink:
		mode = fs.ModeSymlink | 0o777
	}
	return fileInfo{name: name, size: size, mode: mode, mod: t.mod}
}

func base(name string) string {
	if name == "." {
		return "."
	}
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '/' {
			return name[i+1:]
		}
	}
	return name
}

type fileInfo struct {
	name string
	size int64
	mode fs.FileMode
	mod  time.Time
}

func (fi fileInfo) Name() string       { return fi.name }
func (fi fileInfo) Size() int64        { return fi.size }
func (fi fileInfo) Mode() fs.FileMode  { return fi.mode }
func (fi fileInfo) ModTime() time.Time { return fi.mod }
func (fi fileInfo) IsDir() bool        { return fi.mode.IsDir() }
func (fi fileInfo) Sys() any           { return nil }

type file struct {
	info fileInfo
	*bytes.Reader
}

func (f *file) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *file) Close() error               { return nil }

type dirFile struct {
	info    fileInfo
	entries []fs.DirEntry
	off     int
}

func (d *dirFile) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *dirFile) Close() error               { return nil }
func (d *dirFile) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.info.name, Err: errIsDir}
}

// ReadDir implements fs.ReadDirFile.
func (d *dirFile) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.entries[d.off:]
	if n <= 0 {
		d.off = len(d.entries)
		return rest, nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	if n > len(rest) {
		n = len(rest)
	}
	d.off += n
	return rest[:n], nil
}

// notFound reports whether a tree lookup failed because the path is absent;
// a path through a file ("a.yaml/x") fails with ErrObjectNotFound.
func notFound(err error) bool {
	return errors.Is(err, object.ErrEntryNotFound) || errors.Is(err, object.ErrDirectoryNotFound) ||
		errors.Is(err, plumbing.ErrObjectNotFound)
}

// lazyEntry is a file's directory entry. Its size, which costs an object read, is looked up
// only when Info is called: walking a tree of thousands of files reads no file.
type lazyEntry struct {
	t     *treeFS
	entry object.TreeEntry
}

func (d *lazyEntry) Name() string { return d.entry.Name }
func (d *lazyEntry) IsDir() bool  { return false }
func (d *lazyEntry) Type() fs.FileMode {
	return d.t.fileInfo(d.entry.Name, d.entry.Mode, 0).Mode().Type()
}

// Info reads the file's size from the object store.
func (d *lazyEntry) Info() (fs.FileInfo, error) {
	defer d.t.lock()()
	size, err := d.t.r.repo.Storer.EncodedObjectSize(d.entry.Hash)
	if err != nil {
		return nil, &fs.PathError{Op: "stat", Path: d.entry.Name, Err: err}
	}
	return d.t.fileInfo(d.entry.Name, d.entry.Mode, size), nil
}
