package git

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage"
)

// Signature is the author or committer of a commit. A zero When means now.
type Signature struct {
	Name, Email string
	When        time.Time
}

// check refuses a signature git could not read back: a missing name or email, a control
// character, or an angle bracket (which would end the name or the email early).
func (s Signature) check() error {
	if s.Name == "" || s.Email == "" {
		return errors.New("author: expected a name and an email")
	}
	for field, v := range map[string]string{"author name": s.Name, "author email": s.Email} {
		if err := CheckLine(field, v); err != nil {
			return err
		}
		if strings.ContainsAny(v, "<>\t") {
			return fmt.Errorf("%s %q: must not contain <, > or a tab", field, v)
		}
	}
	return nil
}

func (s Signature) object() object.Signature {
	when := s.When
	if when.IsZero() {
		when = time.Now()
	}
	return object.Signature{Name: s.Name, Email: s.Email, When: when}
}

// Change is one commit's worth of file edits.
type Change struct {
	// Files maps slash-separated paths relative to the repository root to
	// their new content; a nil value deletes the file (deleting a missing
	// file is not an error). A changed file keeps its executable bit; a
	// new one is a regular file. Directories left empty disappear.
	Files map[string][]byte
	// Message is the commit message; Trailers are appended to it as the
	// last paragraph ("Key: value" lines).
	Message  string
	Trailers []Trailer
	// Author is also the committer.
	Author Signature
}

// Commit writes c as a new commit on top of the tip of branch and moves the
// branch to it, without a worktree: only the changed blobs and the trees
// above them are written. It returns the new commit's hash, or ErrNoChange
// when the resulting tree equals the tip's (no empty commits), or
// ErrNonFastForward when the branch moved while the commit was built.
// The commit is local until Push.
func (r *Repo) Commit(ctx context.Context, branch string, c Change) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	tip, err := r.headLocked(branch)
	if err != nil {
		return "", fmt.Errorf("commit to %s: %w", branch, err)
	}
	h, err := r.commitOnLocked(branch, tip, c)
	if err != nil {
		return "", fmt.Errorf("commit to %s: %w", branch, err)
	}
	return h.String(), nil
}

// commitOnLocked commits c on parent and moves branch from parent to the
// new commit (compare-and-swap).
func (r *Repo) commitOnLocked(branch string, parent plumbing.Hash, c Change) (plumbing.Hash, error) {
	msg, err := formatMessage(c.Message, c.Trailers)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if err := c.Author.check(); err != nil {
		return plumbing.ZeroHash, err
	}
	changes := make(map[string]*treeEntry, len(c.Files))
	for p, data := range c.Files {
		if err := validPath(p); err != nil {
			return plumbing.ZeroHash, err
		}
		if data == nil {
			changes[p] = nil
			continue
		}
		h, err := r.writeBlob(data)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("write %s: %w", p, err)
		}
		changes[p] = &treeEntry{hash: h}
	}
	if parent.IsZero() {
		// The first commit of a new branch: no parent, no base tree.
		tree, err := r.applyChanges(nil, changes)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		return r.writeCommitLocked(branch, parent, tree, nil, msg, c.Author)
	}
	pc, err := object.GetCommit(r.repo.Storer, parent)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("read commit %s: %w", parent, err)
	}
	pt, err := pc.Tree()
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("read tree of %s: %w", parent, err)
	}
	tree, err := r.applyChanges(pt, changes)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if tree == pt.Hash {
		return plumbing.ZeroHash, ErrNoChange
	}
	return r.writeCommitLocked(branch, parent, tree, []plumbing.Hash{parent}, msg, c.Author)
}

// writeCommitLocked stores a commit and moves branch from old to it.
func (r *Repo) writeCommitLocked(branch string, old, tree plumbing.Hash, parents []plumbing.Hash, msg string, author Signature) (plumbing.Hash, error) {
	if author.When.IsZero() && r.opts.Now != nil {
		author.When = r.opts.Now()
	}
	sig := author.object()
	commit := &object.Commit{Author: sig, Committer: sig, Message: msg, TreeHash: tree, ParentHashes: parents}
	obj := r.repo.Storer.NewEncodedObject()
	if err := commit.Encode(obj); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("encode commit: %w", err)
	}
	h, err := r.repo.Storer.SetEncodedObject(obj)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("write commit: %w", err)
	}
	name, err := branchRef(branch)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	var expect *plumbing.Reference // nil: the branch is new
	if !old.IsZero() {
		expect = plumbing.NewHashReference(name, old)
	} else if _, err := r.repo.Storer.Reference(name); err == nil {
		return plumbing.ZeroHash, fmt.Errorf("create %s: %w: it exists already", branch, ErrNonFastForward)
	}
	err = r.repo.Storer.CheckAndSetReference(plumbing.NewHashReference(name, h), expect)
	if errors.Is(err, storage.ErrReferenceHasChanged) {
		return plumbing.ZeroHash, fmt.Errorf("move %s: %w: %w", branch, ErrNonFastForward, err)
	}
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("move %s: %w", branch, err)
	}
	return h, nil
}

// commitLocked parses a full hash and loads its commit.
func (r *Repo) commitLocked(commit string) (*object.Commit, error) {
	if len(commit) != 40 || !plumbing.IsHash(commit) {
		return nil, fmt.Errorf("commit %q: expected a 40-character hex hash", commit)
	}
	c, err := object.GetCommit(r.repo.Storer, plumbing.NewHash(commit))
	if err != nil {
		return nil, fmt.Errorf("read commit %s: %w", commit, err)
	}
	return c, nil
}

func (r *Repo) writeBlob(data []byte) (plumbing.Hash, error) {
	obj := r.repo.Storer.NewEncodedObject()
	obj.SetType(plumbing.BlobObject)
	obj.SetSize(int64(len(data)))
	w, err := obj.Writer()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if _, err := w.Write(data); err != nil {
		w.Close()
		return plumbing.ZeroHash, err
	}
	if err := w.Close(); err != nil {
		return plumbing.ZeroHash, err
	}
	return r.repo.Storer.SetEncodedObject(obj)
}

// treeEntry is the new state of one file path; mode 0 keeps the existing
// file's mode (or makes a regular file).
type treeEntry struct {
	hash plumbing.Hash
	mode filemode.FileMode
}

// validPath accepts slash-separated relative paths without "." or ".."
// elements that do not reach into .git.
func validPath(p string) error {
	if p == "." || !fs.ValidPath(p) || strings.Contains(p, `\`) {
		return fmt.Errorf("path %q: expected a slash-separated path relative to the repository root", p)
	}
	for _, el := range strings.Split(p, "/") {
		if strings.EqualFold(el, ".git") {
			return fmt.Errorf("path %q: must not contain .git", p)
		}
	}
	return nil
}

// applyChanges writes the tree that results from base (nil for none) with
// changes applied and returns its hash. Subtrees without changes keep their
// hash and are not rewritten.
func (r *Repo) applyChanges(base *object.Tree, changes map[string]*treeEntry) (plumbing.Hash, error) {
	h, _, err := r.applyChangesAt("", base, changes)
	return h, err
}

func (r *Repo) applyChangesAt(dir string, base *object.Tree, changes map[string]*treeEntry) (h plumbing.Hash, empty bool, err error) {
	entries := map[string]object.TreeEntry{}
	if base != nil {
		for _, e := range base.Entries {
			entries[e.Name] = e
		}
	}
	direct := map[string]*treeEntry{}
	nested := map[string]map[string]*treeEntry{}
	for p, ch := range changes {
		first, rest, ok := strings.Cut(p, "/")
		if !ok {
			direct[first] = ch
			continue
		}
		if nested[first] == nil {
			nested[first] = map[string]*treeEntry{}
		}
		nested[first][rest] = ch
	}
	for name, ch := range direct {
		old, exists := entries[name]
		if exists && old.Mode == filemode.Dir {
			return plumbing.ZeroHash, false, fmt.Errorf("path %q: is a directory", dir+name)
		}
		if ch == nil {
			delete(entries, name)
			continue
		}
		mode := ch.mode
		if mode == 0 {
			mode = filemode.Regular
			if exists && old.Mode == filemode.Executable {
				mode = filemode.Executable
			}
		}
		entries[name] = object.TreeEntry{Name: name, Mode: mode, Hash: ch.hash}
	}
	for name, sub := range nested {
		var subBase *object.Tree
		if old, exists := entries[name]; exists {
			if old.Mode != filemode.Dir {
				return plumbing.ZeroHash, false, fmt.Errorf("path %q: is a file, not a directory", dir+name)
			}
			if subBase, err = object.GetTree(r.repo.Storer, old.Hash); err != nil {
				return plumbing.ZeroHash, false, fmt.Errorf("read tree %s: %w", dir+name, err)
			}
		}
		h, empty, err := r.applyChangesAt(dir+name+"/", subBase, sub)
		if err != nil {
			return plumbing.ZeroHash, false, err
		}
		if empty {
			delete(entries, name)
		} else {
			entries[name] = object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: h}
		}
	}
	if len(entries) == 0 && dir != "" {
		return plumbing.ZeroHash, true, nil
	}
	t := &object.Tree{Entries: make([]object.TreeEntry, 0, len(entries))}
	for _, e := range entries {
		t.Entries = append(t.Entries, e)
	}
	// git orders entries by name, comparing a directory as if its name
	// ended in "/".
	key := func(e object.TreeEntry) string {
		if e.Mode == filemode.Dir {
			return e.Name + "/"
		}
		return e.Name
	}
	sort.Slice(t.Entries, func(i, j int) bool { return key(t.Entries[i]) < key(t.Entries[j]) })
	obj := r.repo.Storer.NewEncodedObject()
	if err := t.Encode(obj); err != nil {
		return plumbing.ZeroHash, false, fmt.Errorf("encode tree %s: %w", dir, err)
	}
	h, err = r.repo.Storer.SetEncodedObject(obj)
	if err != nil {
		return plumbing.ZeroHash, false, fmt.Errorf("write tree %s: %w", dir, err)
	}
	return h, false, nil
}

// hashOf converts a hash this package produced; it is never user input.
func hashOf(s string) plumbing.Hash { return plumbing.NewHash(s) }
