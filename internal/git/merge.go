package git

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Merge creates a merge commit of branch from into branch into, as a person
// merging a pull request would: two parents (into's tip first), even when a
// fast-forward was possible, message msg, author also the committer. The
// tree is a three-way merge at file level against the merge base: a file
// changed on one side only takes that side; a file changed on both sides
// to different content (or mode, or deleted on one side) is a conflict, and
// Merge returns a *ConflictError (errors.Is ErrConflict) listing every such
// path without writing anything. When from is already contained in into it
// returns ErrNoChange, so repeating a merge is harmless. ErrNonFastForward
// when into moved while merging. With several merge bases the first one is
// used. The merge is local until Push(into).
func (r *Repo) Merge(ctx context.Context, into, from, msg string, author Signature) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	oursH, err := r.headLocked(into)
	if err != nil {
		return "", fmt.Errorf("merge %s into %s: %w", from, into, err)
	}
	theirsH, err := r.headLocked(from)
	if err != nil {
		return "", fmt.Errorf("merge %s into %s: %w", from, into, err)
	}
	formatted, err := formatMessage(msg, nil)
	if err != nil {
		return "", fmt.Errorf("merge %s into %s: %w", from, into, err)
	}
	if err := author.check(); err != nil {
		return "", fmt.Errorf("merge %s into %s: %w", from, into, err)
	}
	ours, err := object.GetCommit(r.repo.Storer, oursH)
	if err != nil {
		return "", fmt.Errorf("merge %s into %s: read %s: %w", from, into, oursH, err)
	}
	theirs, err := object.GetCommit(r.repo.Storer, theirsH)
	if err != nil {
		return "", fmt.Errorf("merge %s into %s: read %s: %w", from, into, theirsH, err)
	}
	contained, err := theirs.IsAncestor(ours)
	if err != nil {
		return "", fmt.Errorf("merge %s into %s: %w", from, into, err)
	}
	if oursH == theirsH || contained {
		return "", fmt.Errorf("merge %s into %s: %w: already merged", from, into, ErrNoChange)
	}
	bases, err := ours.MergeBase(theirs)
	if err != nil {
		return "", fmt.Errorf("merge %s into %s: find merge base: %w", from, into, err)
	}
	var baseFiles map[string]treeEntry
	if len(bases) > 0 {
		if baseFiles, err = r.flatten(bases[0]); err != nil {
			return "", fmt.Errorf("merge %s into %s: %w", from, into, err)
		}
	}
	oursFiles, err := r.flatten(ours)
	if err != nil {
		return "", fmt.Errorf("merge %s into %s: %w", from, into, err)
	}
	theirsFiles, err := r.flatten(theirs)
	if err != nil {
		return "", fmt.Errorf("merge %s into %s: %w", from, into, err)
	}
	changes, conflicts := mergeFiles(baseFiles, oursFiles, theirsFiles)
	if len(conflicts) > 0 {
		return "", &ConflictError{Into: into, From: from, Paths: conflicts}
	}
	oursTree, err := ours.Tree()
	if err != nil {
		return "", fmt.Errorf("merge %s into %s: %w", from, into, err)
	}
	tree, err := r.applyChanges(oursTree, changes)
	if err != nil {
		return "", fmt.Errorf("merge %s into %s: %w", from, into, err)
	}
	h, err := r.writeCommitLocked(into, oursH, tree, []plumbing.Hash{oursH, theirsH}, formatted, author)
	if err != nil {
		return "", fmt.Errorf("merge %s into %s: %w", from, into, err)
	}
	return h.String(), nil
}

// mergeFiles decides each path of a three-way merge. It returns the changes
// to apply to ours and the sorted conflicting paths.
func mergeFiles(base, ours, theirs map[string]treeEntry) (map[string]*treeEntry, []string) {
	paths := map[string]bool{}
	for _, m := range []map[string]treeEntry{base, ours, theirs} {
		for p := range m {
			paths[p] = true
		}
	}
	changes := map[string]*treeEntry{}
	var conflicts []string
	for p := range paths {
		b, inB := base[p]
		o, inO := ours[p]
		t, inT := theirs[p]
		same := func(x treeEntry, inX bool, y treeEntry, inY bool) bool { return inX == inY && x == y }
		switch {
		case same(o, inO, t, inT), same(t, inT, b, inB):
			// Both sides agree, or only ours changed: keep ours.
		case same(o, inO, b, inB):
			if inT {
				e := t
				changes[p] = &e
			} else {
				changes[p] = nil
			}
		default:
			conflicts = append(conflicts, p)
		}
	}
	sort.Strings(conflicts)
	return changes, conflicts
}

// flatten lists every file (not directory or submodule) of c's tree.
func (r *Repo) flatten(c *object.Commit) (map[string]treeEntry, error) {
	t, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("read tree of %s: %w", c.Hash, err)
	}
	w := object.NewTreeWalker(t, true, nil)
	defer w.Close()
	out := map[string]treeEntry{}
	for {
		name, e, err := w.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("walk tree of %s: %w", c.Hash, err)
		}
		if e.Mode == filemode.Dir || e.Mode == filemode.Submodule {
			continue
		}
		out[name] = treeEntry{hash: e.Hash, mode: e.Mode}
	}
}
