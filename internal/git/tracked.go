package git

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
)

// Tracked is a Repo seen through one branch, the tracked branch: what the
// reconciler reads desired state from. It satisfies reconciler.Repo.
type Tracked struct {
	Repo   *Repo
	Branch string
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

// Tree returns the read-only view of the tree at commit (see Repo.Tree).
func (t Tracked) Tree(ctx context.Context, commit string) (fs.FS, error) {
	return t.Repo.Tree(ctx, commit)
}

// Introduced returns the commit that made path satisfy holds: walking back from tip
// through the commits that changed path, the oldest of the unbroken run of commits at which
// holds is true. For a merged pull request that is the merge commit. When holds is false
// at tip, it returns tip.
func (t Tracked) Introduced(ctx context.Context, tip, path string, holds func(content []byte) bool) (string, error) {
	commits, err := t.Repo.Log(ctx, "", tip, path)
	if err != nil {
		return "", err
	}
	found := tip
	for _, c := range commits {
		b, err := t.Repo.ReadFile(ctx, c.Hash, path)
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if err != nil {
			return "", err
		}
		if !holds(b) {
			break
		}
		found = c.Hash
	}
	return found, nil
}
