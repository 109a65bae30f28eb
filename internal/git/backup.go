package git

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
)

// backupRef is where the last known commit of a bot branch is kept: outside refs/heads, so a
// fetch that prunes a branch deleted on the remote keeps it, and never pushed.
func backupRef(branch string) plumbing.ReferenceName {
	return plumbing.ReferenceName("refs/modelops-backup/heads/" + branch)
}

// Backup records commit as the last known tip of branch, in this clone only. It keeps the
// commit and its history reachable, so a branch deleted on the remote can be restored.
func (r *Repo) Backup(ctx context.Context, branch, commit string) error {
	if _, err := branchRef(branch); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := r.commitLocked(commit)
	if err != nil {
		return fmt.Errorf("back up %s: %w", branch, err)
	}
	if err := r.repo.Storer.SetReference(plumbing.NewHashReference(backupRef(branch), c.Hash)); err != nil {
		return fmt.Errorf("back up %s: %w", branch, err)
	}
	return nil
}

// BackedUp returns the commit Backup last recorded for branch, or ErrBranchNotFound.
func (r *Repo) BackedUp(ctx context.Context, branch string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ref, err := r.repo.Reference(backupRef(branch), true)
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return "", fmt.Errorf("backup of %s: %w", branch, ErrBranchNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("backup of %s: %w", branch, err)
	}
	return ref.Hash().String(), nil
}

// Restore recreates branch at commit, here and on the remote, without force: when the
// remote has the branch again meanwhile, the push is refused (ErrNonFastForward or similar)
// and nothing there is overwritten. Only branches under ForcePrefix (the bot's) are restored.
func (r *Repo) Restore(ctx context.Context, branch, commit string) error {
	if err := r.ResetBranch(ctx, branch, commit); err != nil {
		return err
	}
	if err := r.Push(ctx, branch, false); err != nil {
		return fmt.Errorf("restore %s: %w", branch, err)
	}
	return nil
}
