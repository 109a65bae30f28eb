package git

import (
	"context"
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
