// Package datafs reads a policy's data files (datasets, prediction logs) from a root: the
// repository tree at the commit being reconciled, or a directory named by --data-root. One
// rule decides which symbolic links are followed, for the tree, for a directory and for
// modelops validate alike: a relative link that stays inside the root is followed (at most
// MaxLinks of them for one path, through directories too); an absolute link, or one that
// leads out of the root, is refused. These are the rules of os.Root, so a path this package
// resolves is one an os.Root opens, and nothing outside the root is ever read through it.
package datafs

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// MaxLinks bounds the symbolic links followed to resolve one path. It is os.Root's bound.
const MaxLinks = 8

// ErrLink matches every *LinkError: a symbolic link that is not followed.
var ErrLink = errors.New("symbolic link not followed")

// LinkError is a symbolic link on the way to Name that is not followed.
type LinkError struct {
	Name   string // the path asked for
	Link   string // the link, a path inside the root
	Target string // what the link holds
	Why    LinkProblem
	// Where names the root in the message ("the tree of main at 1a2b3c4"); "" is "the root".
	Where string
}

// LinkProblem says why a link is not followed.
type LinkProblem int

// Why a link is not followed.
const (
	LinkAbsolute LinkProblem = iota // its target is an absolute path
	LinkOutside                     // its target climbs out of the root with ".."
	LinkTooMany                     // it is one more than MaxLinks on the way
	LinkEmpty                       // its target is empty
)

func (e *LinkError) Error() string {
	where := e.Where
	if where == "" {
		where = "the root"
	}
	switch e.Why {
	case LinkAbsolute:
		return fmt.Sprintf("%s: symbolic link %s → %s is absolute; only relative links that stay inside %s are followed", e.Name, e.Link, e.Target, where)
	case LinkOutside:
		return fmt.Sprintf("%s: symbolic link %s → %s leads outside %s", e.Name, e.Link, e.Target, where)
	case LinkTooMany:
		return fmt.Sprintf("%s: more than %d symbolic links on the way (the last %s → %s): a loop, or too long a chain", e.Name, MaxLinks, e.Link, e.Target)
	default:
		return fmt.Sprintf("%s: symbolic link %s is empty", e.Name, e.Link)
	}
}

// Is makes errors.Is(err, ErrLink) true.
func (e *LinkError) Is(target error) bool { return target == ErrLink }

// Resolve returns name, a path valid for fs.ValidPath, with every symbolic link on its way
// followed inside fsys, so that the result names no link. A file system that is not an
// fs.ReadLinkFS is taken to have no links. A missing file gives
// an error matching fs.ErrNotExist; a link that is not followed, a *LinkError. A dangling link
// is judged by its target, so an escaping one is a *LinkError even when nothing is there.
func Resolve(fsys fs.FS, name string) (string, error) {
	if !fs.ValidPath(name) {
		return "", &fs.PathError{Op: "resolve", Path: name, Err: fs.ErrInvalid}
	}
	links, ok := fsys.(fs.ReadLinkFS)
	if !ok {
		return name, nil
	}
	// todo are the path elements left to resolve, each with the link whose target it comes
	// from (nil for name's own), which a ".." out of the root is blamed on.
	type element struct {
		name string
		from *LinkError
	}
	var todo []element
	push := func(p string, from *LinkError) {
		parts := strings.Split(p, "/")
		elems := make([]element, len(parts), len(parts)+len(todo))
		for i, part := range parts {
			elems[i] = element{part, from}
		}
		todo = append(elems, todo...)
	}
	push(name, nil)
	var done []string // resolved directories, none of them a link
	hops := 0
	for len(todo) > 0 {
		e := todo[0]
		todo = todo[1:]
		switch e.name {
		case "", ".":
			continue
		case "..":
			// Only a link's target has "..": it leaves the directory resolved so far.
			if len(done) == 0 {
				e.from.Why = LinkOutside
				return "", e.from
			}
			done = done[:len(done)-1]
			continue
		}
		p := path.Join(append(done, e.name)...)
		fi, err := links.Lstat(p)
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			if len(todo) > 0 && !fi.IsDir() {
				return "", &fs.PathError{Op: "resolve", Path: name, Err: fmt.Errorf("%s is not a directory", p)}
			}
			done = append(done, e.name)
			continue
		}
		target, err := links.ReadLink(p)
		if err != nil {
			return "", err
		}
		link := &LinkError{Name: name, Link: p, Target: target}
		hops++
		switch {
		case hops > MaxLinks:
			link.Why = LinkTooMany
		case target == "":
			link.Why = LinkEmpty
		case strings.HasPrefix(target, "/"):
			link.Why = LinkAbsolute
		default:
			push(target, link)
			continue
		}
		return "", link
	}
	if len(done) == 0 {
		return ".", nil
	}
	return path.Join(done...), nil
}

// FS is a root's files as policies' data paths see them: every name is resolved with
// Resolve before it is opened, and an error says where the file was looked for.
type FS struct {
	fsys  fs.FS
	where string
	hint  string
}

var (
	_ fs.ReadFileFS = (*FS)(nil)
	_ fs.StatFS     = (*FS)(nil)
)

// New returns the data view of fsys. where names the root in errors ("the tree of main at
// 1a2b3c4", "--data-root /srv/data"); hint, when not empty, follows the error of a missing
// file ("pass --data-root for untracked files"). For a directory, fsys should be an os.Root's
// FS, so that the opening too stays inside.
func New(fsys fs.FS, where, hint string) *FS {
	return &FS{fsys: fsys, where: where, hint: hint}
}

// Where names the root, as in errors.
func (d *FS) Where() string { return d.where }

// Open implements fs.FS.
func (d *FS) Open(name string) (fs.File, error) {
	real, err := d.resolve(name)
	if err != nil {
		return nil, err
	}
	f, err := d.fsys.Open(real)
	return f, d.explain(name, err)
}

// ReadFile implements fs.ReadFileFS.
func (d *FS) ReadFile(name string) ([]byte, error) {
	real, err := d.resolve(name)
	if err != nil {
		return nil, err
	}
	b, err := fs.ReadFile(d.fsys, real)
	return b, d.explain(name, err)
}

// Stat implements fs.StatFS.
func (d *FS) Stat(name string) (fs.FileInfo, error) {
	real, err := d.resolve(name)
	if err != nil {
		return nil, err
	}
	fi, err := fs.Stat(d.fsys, real)
	return fi, d.explain(name, err)
}

// BlobHash returns the git blob hash of the file name, resolved as Open resolves it,
// without reading the file, when the root is a git tree (whose file system has FileHash);
// for other roots it returns an error matching errors.ErrUnsupported. A cache keyed by
// content (the drift profile cache) uses it to skip reading a file it knows.
func (d *FS) BlobHash(name string) (string, error) {
	h, ok := d.fsys.(interface{ FileHash(string) (string, error) })
	if !ok {
		return "", errors.ErrUnsupported
	}
	real, err := d.resolve(name)
	if err != nil {
		return "", err
	}
	sum, err := h.FileHash(real)
	return sum, d.explain(name, err)
}

func (d *FS) resolve(name string) (string, error) {
	real, err := Resolve(d.fsys, name)
	return real, d.explain(name, err)
}

// explain rewrites an error of name's lookup to say where it looked.
func (d *FS) explain(name string, err error) error {
	var le *LinkError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &le):
		named := *le
		named.Where = d.where
		return &named
	case errors.Is(err, fs.ErrNotExist):
		return &NotFoundError{Name: name, Where: d.where, Hint: d.hint}
	}
	return err
}

// NotFoundError is a data file missing from its root. It matches fs.ErrNotExist.
type NotFoundError struct {
	Name, Where, Hint string
}

func (e *NotFoundError) Error() string {
	msg := fmt.Sprintf("%s: not in %s", e.Name, e.Where)
	if e.Hint != "" {
		msg += " (" + e.Hint + ")"
	}
	return msg
}

// Is makes errors.Is(err, fs.ErrNotExist) true.
func (e *NotFoundError) Is(target error) bool { return target == fs.ErrNotExist }
