package git

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// Push sends the local branch to the remote branch of the same name with a
// full refspec (refs/heads/x:refs/heads/x; go-git silently skips symbolic
// sources such as HEAD). Without force the remote accepts only a
// fast-forward, and a rejection is ErrNonFastForward. force is allowed
// only for branches under ForcePrefix: for any other branch Push returns
// ErrForceNotAllowed without contacting the remote. Pushing a branch the
// remote already has at the same commit is a no-op, so Push is idempotent.
// For a local repository it does nothing: commits are already in place.
func (r *Repo) Push(ctx context.Context, branch string, force bool) error {
	if force && !strings.HasPrefix(branch, ForcePrefix) {
		return fmt.Errorf("push %s: %w: only branches under %s may be force-pushed", branch, ErrForceNotAllowed, ForcePrefix)
	}
	name, err := branchRef(branch)
	if err != nil {
		return fmt.Errorf("push: %w", err)
	}
	if r.local {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pushLocked(ctx, branch, name, force)
}

// ForcePush force-pushes branch, which must be under ForcePrefix, when the remote still has
// it at lease ("" when the branch must not exist there): the head the caller read and chose
// to replace. When a person pushed to the branch since, it returns ErrNonFastForward and
// pushes nothing, so their commit is not lost. (The remote's head is read just before the
// push; the remote itself checks that it did not move in between.) For a local repository
// it does nothing, as Push.
func (r *Repo) ForcePush(ctx context.Context, branch, lease string) error {
	if !strings.HasPrefix(branch, ForcePrefix) {
		return fmt.Errorf("push %s: %w: only branches under %s may be force-pushed", branch, ErrForceNotAllowed, ForcePrefix)
	}
	name, err := branchRef(branch)
	if err != nil {
		return fmt.Errorf("push: %w", err)
	}
	if r.local {
		return nil
	}
	want := plumbing.ZeroHash
	if lease != "" {
		want = hashOf(lease)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	remote, err := r.repo.Remote(remoteName)
	if err != nil {
		return fmt.Errorf("push %s: %w", branch, err)
	}
	lctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	refs, err := remote.ListContext(lctx, &gogit.ListOptions{Auth: r.auth})
	cancel()
	if err != nil && !errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return fmt.Errorf("push %s: read the remote's branches: %w", branch, classifyNetErr(err))
	}
	got := plumbing.ZeroHash
	for _, ref := range refs {
		if ref.Name() == name {
			got = ref.Hash()
		}
	}
	if got != want {
		return fmt.Errorf("push %s to %s: %w: the branch is at %s there, not at %s as read", branch, r.url, ErrNonFastForward, shortHash(got), shortHash(want))
	}
	return r.pushLocked(ctx, branch, name, true)
}

// shortHash names a commit in messages; "none" for the zero hash (no branch).
func shortHash(h plumbing.Hash) string {
	if h.IsZero() {
		return "none"
	}
	return h.String()[:7]
}

func (r *Repo) pushLocked(ctx context.Context, branch string, name plumbing.ReferenceName, force bool) error {
	spec := config.RefSpec(name.String() + ":" + name.String())
	if force {
		spec = "+" + spec
	}
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	if _, err := r.headLocked(branch); err != nil {
		return fmt.Errorf("push: %w", err)
	}
	err := r.repo.PushContext(ctx, &gogit.PushOptions{
		RemoteName: remoteName,
		RefSpecs:   []config.RefSpec{spec},
		Auth:       r.auth,
	})
	if err == nil || errors.Is(err, gogit.NoErrAlreadyUpToDate) {
		return nil
	}
	return fmt.Errorf("push %s to %s: %w", branch, r.url, classifyPushErr(err))
}

// EditFunc computes a change from the files at tip, the current tip of the
// branch. It is called again on every retry with the new tip, so it must
// derive its edit from files rather than from a result computed earlier.
// Returning an error (ErrNoChange when there is nothing to do, or a
// conflict of the caller's own) stops UpdateBranch with that error.
type EditFunc func(tip string, files fs.FS) (Change, error)

// UpdateBranch is the safe write loop for the tracked branch: fetch, read
// the tip, call edit, commit on exactly that tip, push without force. When
// the branch moved meanwhile (a person pushed), the push is rejected with
// ErrNonFastForward and the loop starts again from the new tip after a
// jittered, exponentially growing delay, at most Options.MaxAttempts times;
// then the last ErrNonFastForward is returned. It never forces, so no commit
// on the remote is ever lost. It returns the pushed commit's hash, or
// ErrNoChange when the edit changes nothing. Network errors and ctx's end
// stop the loop.
func (r *Repo) UpdateBranch(ctx context.Context, branch string, edit EditFunc) (string, error) {
	delays := &backoff.ExponentialBackOff{InitialInterval: r.opts.Backoff, Multiplier: 2, RandomizationFactor: 0.5, MaxInterval: maxBackoff}
	var last error
	for attempt := 1; attempt <= r.opts.MaxAttempts; attempt++ {
		h, err := r.updateOnce(ctx, branch, edit)
		if !errors.Is(err, ErrNonFastForward) {
			return h, err
		}
		last = err
		if attempt == r.opts.MaxAttempts {
			break
		}
		t := time.NewTimer(delays.NextBackOff())
		select {
		case <-ctx.Done():
			t.Stop()
			return "", fmt.Errorf("update %s: %w (last attempt: %w)", branch, ctx.Err(), last)
		case <-t.C:
		}
	}
	return "", fmt.Errorf("update %s: gave up after %d attempts: %w", branch, r.opts.MaxAttempts, last)
}

func (r *Repo) updateOnce(ctx context.Context, branch string, edit EditFunc) (string, error) {
	if err := r.Fetch(ctx); err != nil {
		return "", fmt.Errorf("update %s: %w", branch, err)
	}
	tip, err := r.Head(ctx, branch)
	var files fs.FS
	switch {
	case errors.Is(err, ErrBranchNotFound) && strings.HasPrefix(branch, ForcePrefix):
		// The reconciler's own branches (the status branch) start empty, without history.
		tip, files = plumbing.ZeroHash.String(), emptyFS{}
	case err != nil:
		return "", fmt.Errorf("update %s: %w", branch, err)
	default:
		if files, err = r.Tree(ctx, tip); err != nil {
			return "", fmt.Errorf("update %s: %w", branch, err)
		}
	}
	change, err := edit(tip, files)
	if err != nil {
		return "", fmt.Errorf("update %s at %s: %w", branch, tip, err)
	}
	// Commit and push under one lock: a Fetch from another goroutine in
	// between would reset the branch to the remote's and the push would
	// then find nothing to send.
	r.mu.Lock()
	defer r.mu.Unlock()
	h, err := r.commitOnLocked(branch, hashOf(tip), change)
	if err != nil {
		return "", fmt.Errorf("update %s at %s: %w", branch, tip, err)
	}
	if r.local {
		return h.String(), nil
	}
	name, err := branchRef(branch)
	if err != nil {
		return "", err
	}
	if err := r.pushLocked(ctx, branch, name, false); err != nil {
		return "", fmt.Errorf("update %s: %w", branch, err)
	}
	return h.String(), nil
}

// emptyFS is the tree of a branch that does not exist yet.
type emptyFS struct{}

func (emptyFS) Open(name string) (fs.File, error) {
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

// DeleteBranch deletes branch locally and on the remote, as when a
// proposal is closed. Only branches under ForcePrefix may be deleted;
// others get ErrForceNotAllowed without contacting the remote. Deleting a
// branch that does not exist is a no-op, so it is idempotent.
func (r *Repo) DeleteBranch(ctx context.Context, branch string) error {
	if !strings.HasPrefix(branch, ForcePrefix) {
		return fmt.Errorf("delete %s: %w: only branches under %s may be deleted", branch, ErrForceNotAllowed, ForcePrefix)
	}
	name, err := branchRef(branch)
	if err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.repo.Storer.RemoveReference(name); err != nil {
		return fmt.Errorf("delete %s: %w", branch, err)
	}
	if r.local {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	err = r.repo.PushContext(ctx, &gogit.PushOptions{
		RemoteName: remoteName,
		RefSpecs:   []config.RefSpec{config.RefSpec(":" + name.String())},
		Auth:       r.auth,
	})
	if err == nil || errors.Is(err, gogit.NoErrAlreadyUpToDate) {
		return nil
	}
	return fmt.Errorf("delete %s on %s: %w", branch, r.url, classifyNetErr(err))
}
