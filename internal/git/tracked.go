package git

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"
)

// Tracked is a Repo seen through one branch, the tracked branch: what the
// reconciler reads desired state from. It satisfies reconciler.Repo.
type Tracked struct {
	Repo   *Repo
	Branch string
	// Author signs the commits of CommitEdit.
	Author Signature
}

// CommitEdit commits edit's change of file to the tracked branch and pushes
// it without force, through UpdateBranch: when a person pushed meanwhile it
// starts again from the new tip and calls edit again on the file there. An
// error from edit stops it, wrapped. It returns the commit pushed, or the
// tip when edit changes nothing.
func (t Tracked) CommitEdit(ctx context.Context, file string, edit func(content []byte) ([]byte, error), message string, trailers map[string]string) (string, error) {
	tr := TrailersFrom(trailers)
	h, err := t.Repo.UpdateBranch(ctx, t.Branch, func(_ string, files fs.FS) (Change, error) {
		old, err := fs.ReadFile(files, file)
		if err != nil {
			return Change{}, err
		}
		edited, err := edit(old)
		if err != nil {
			return Change{}, err
		}
		if bytes.Equal(edited, old) {
			return Change{}, ErrNoChange
		}
		return Change{Files: map[string][]byte{file: edited}, Message: message, Trailers: tr, Author: t.Author}, nil
	})
	if errors.Is(err, ErrNoChange) {
		return t.Repo.Head(ctx, t.Branch)
	}
	return h, err
}

// Sync fetches the remote (a no-op for a local repository) and returns the
// commit at the tip of the tracked branch. Idempotent; ErrBranchNotFound
// when the branch does not exist, ErrAuth when credentials are refused.
func (t Tracked) Sync(ctx context.Context) (string, error) {
	if err := t.Repo.Fetch(ctx); err != nil {
		return "", fmt.Errorf("sync %s: %w", t.Branch, err)
	}
	return t.Repo.Head(ctx, t.Branch)
}

// TrackedBranch names the tracked branch, for messages such as "not in the tree of main at
// 1a2b3c4".
func (t Tracked) TrackedBranch() string { return t.Branch }

// Tree returns the read-only view of the tree at commit (see Repo.Tree).
func (t Tracked) Tree(ctx context.Context, commit string) (fs.FS, error) {
	return t.Repo.Tree(ctx, commit)
}

// CommitTime returns the committer time of commit.
func (t Tracked) CommitTime(ctx context.Context, commit string) (time.Time, error) {
	c, err := t.Repo.ReadCommit(ctx, commit)
	if err != nil {
		return time.Time{}, err
	}
	return c.Committer.When, nil
}

// maxIntroducedWalk bounds the first-parent commits Introduced looks at.
const maxIntroducedWalk = 10000

// Introduced returns the commit that made path satisfy holds: walking back from tip along
// first parents (the mainline), the oldest commit of the unbroken run at which holds is
// true. For a merged pull request that is the merge commit, not the commit on the merged
// branch. When holds is false at tip, it returns tip.
func (t Tracked) Introduced(ctx context.Context, tip, path string, holds func(content []byte) bool) (string, error) {
	found, commit := tip, tip
	var lastHash string
	for range maxIntroducedWalk {
		tree, err := t.Repo.Tree(ctx, commit)
		if err != nil {
			return "", err
		}
		h, err := tree.(*treeFS).FileHash(path)
		if errors.Is(err, fs.ErrNotExist) {
			return found, nil
		}
		if err != nil {
			return "", err
		}
		// Unchanged content needs no new look: holds gave the same answer a commit later.
		if h != lastHash {
			b, err := fs.ReadFile(tree, path)
			if err != nil {
				return "", err
			}
			if !holds(b) {
				return found, nil
			}
			lastHash = h
		}
		found = commit
		c, err := t.Repo.ReadCommit(ctx, commit)
		if err != nil {
			return "", err
		}
		if len(c.Parents) == 0 {
			return found, nil
		}
		commit = c.Parents[0]
	}
	return found, nil
}

// MainlineFiles walks the tracked branch's mainline (first parents) from tip back to stop,
// newest first, stop itself left out, and calls visit with each commit and the content of
// the files it added or changed against its first parent (for the root commit, all of its
// files) whose names end in one of suffixes; a commit that changed none is visited with an
// empty map. An empty stop, or one not on the mainline (history rewritten), walks to the
// root. It reports whether it met stop. Trees whose hashes are equal are not read, so each
// commit costs the trees along the paths it changed. It reads through a History of the
// repository, so objects fetched while it walks may not be readable by it: walk from a tip
// fetched before.
func (t Tracked) MainlineFiles(ctx context.Context, tip, stop string, suffixes []string, visit func(commit string, files map[string][]byte) error) (met bool, err error) {
	// A History keeps the pack files open for the walk, and decodes each tree once along
	// the chain.
	h, err := t.Repo.OpenHistory(ctx)
	if err != nil {
		return false, err
	}
	defer func() {
		if cerr := h.Close(); err == nil {
			err = cerr
		}
	}()
	for commit := tip; commit != ""; {
		if commit == stop {
			return true, nil
		}
		c, err := h.ReadCommit(ctx, commit)
		if err != nil {
			return false, fmt.Errorf("walk the mainline of %s: %w", t.Branch, err)
		}
		parent := ""
		if len(c.Parents) > 0 {
			parent = c.Parents[0]
		}
		changed, err := h.ChangedFiles(ctx, parent, commit)
		if err != nil {
			return false, fmt.Errorf("walk the mainline of %s: %w", t.Branch, err)
		}
		files := map[string][]byte{}
		for _, f := range changed {
			if f.To == "" || !hasSuffix(f.Path, suffixes) {
				continue
			}
			if files[f.Path], err = h.ReadBlob(ctx, f.To); err != nil {
				return false, fmt.Errorf("walk the mainline of %s: %s at %s: %w", t.Branch, f.Path, commit, err)
			}
		}
		if err := visit(commit, files); err != nil {
			return false, err
		}
		commit = parent
	}
	return stop == "", nil
}

func hasSuffix(path string, suffixes []string) bool {
	for _, s := range suffixes {
		if strings.HasSuffix(path, s) {
			return true
		}
	}
	return false
}
