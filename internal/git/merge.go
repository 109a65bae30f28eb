package git

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"

	gogit "github.com/go-git/go-git/v5"
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
//
// In a local repository whose worktree has into checked out, Merge updates the index and
// the files as git merge does, so that the checkout shows the merge (and a person's next
// commit does not silently revert it). When the checkout has changes of its own — staged or
// not, or an untracked file where the merge writes one — Merge returns a *DirtyError
// (errors.Is ErrDirtyWorktree) and writes nothing: a person's uncommitted work is never
// touched.
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
	checkout, err := r.checkoutOfLocked(into)
	if err != nil {
		return "", fmt.Errorf("merge %s into %s: %w", from, into, err)
	}
	if checkout != nil {
		if err := checkout.clean(changes); err != nil {
			return "", fmt.Errorf("merge %s into %s: %w", from, into, err)
		}
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
	if checkout != nil {
		// The checkout was clean: take the index and the files it holds to the merge.
		if err := checkout.wt.Reset(&gogit.ResetOptions{Commit: h, Mode: gogit.MergeReset}); err != nil {
			return h.String(), fmt.Errorf("merge %s into %s: merged as %s, but the checkout %s still shows %s: %w; it had no changes of its own, so `git reset --hard` there brings it to the merge",
				from, into, h, r.path, oursH, err)
		}
	}
	return h.String(), nil
}

// checkout is the worktree of a local repository that has a branch checked out.
type checkout struct {
	wt   *gogit.Worktree
	path string
}

// checkoutOfLocked returns the worktree that has branch checked out, or nil: a remote's
// mirror, a bare repository, or another branch checked out.
func (r *Repo) checkoutOfLocked(branch string) (*checkout, error) {
	if !r.local {
		return nil, nil
	}
	head, err := r.repo.Storer.Reference(plumbing.HEAD)
	if err != nil || head.Type() != plumbing.SymbolicReference || head.Target() != plumbing.NewBranchReferenceName(branch) {
		return nil, nil
	}
	wt, err := r.repo.Worktree()
	if errors.Is(err, gogit.ErrIsBareRepository) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open the worktree of %s: %w", r.path, err)
	}
	return &checkout{wt: wt, path: r.path}, nil
}

// clean returns a *DirtyError unless the checkout's index and files equal its HEAD, apart
// from untracked files at paths the merge does not write (changes).
func (c *checkout) clean(changes map[string]*treeEntry) error {
	st, err := c.wt.Status()
	if err != nil {
		return fmt.Errorf("read the status of %s: %w", c.path, err)
	}
	var dirty []string
	for p, fs := range st {
		untracked := fs.Staging == gogit.Untracked && fs.Worktree == gogit.Untracked
		_, written := changes[p]
		if untracked && !written || !untracked && fs.Staging == gogit.Unmodified && fs.Worktree == gogit.Unmodified {
			continue
		}
		dirty = append(dirty, p)
	}
	if len(dirty) == 0 {
		return nil
	}
	sort.Strings(dirty)
	return &DirtyError{Path: c.path, Files: dirty}
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
