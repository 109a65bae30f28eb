package git

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
)

var (
	// ErrNoChange is returned when a commit or merge would not change the
	// branch: the new tree equals the parent's, or the branch already
	// contains the commits to merge. No empty commit is ever made.
	ErrNoChange = errors.New("no change")

	// ErrNonFastForward is returned when a branch moved under a write: the
	// remote rejected a push that does not descend from its tip, or the
	// local branch changed between reading its tip and updating it.
	ErrNonFastForward = errors.New("non-fast-forward")

	// ErrConflict is returned by Merge when a file changed differently on
	// both sides. errors.As with *ConflictError gives the paths.
	ErrConflict = errors.New("merge conflict")

	// ErrDirtyWorktree is returned by Merge into the branch a local checkout has checked out
	// when that checkout has changes; errors.As with *DirtyError gives the files.
	ErrDirtyWorktree = errors.New("the checkout has uncommitted changes")

	// ErrBranchNotFound is returned when a named branch does not exist.
	ErrBranchNotFound = errors.New("branch not found")

	// ErrForceNotAllowed is returned by Push and ResetBranch for a branch
	// outside ForcePrefix; the remote is not contacted.
	ErrForceNotAllowed = errors.New("force update not allowed")

	// ErrAuth is returned when the remote refuses the credentials.
	ErrAuth = errors.New("authentication failed")

	// ErrUnreachable is returned when the remote cannot be reached or does not answer:
	// a refused or dropped connection, a timeout, a server error (HTTP 5xx).
	ErrUnreachable = errors.New("remote unreachable")
)

// ConflictError lists the paths a Merge could not combine.
type ConflictError struct {
	Into, From string
	Paths      []string
}

// Error implements error.
func (e *ConflictError) Error() string {
	return fmt.Sprintf("merge %s into %s: %s: %s", e.From, e.Into, ErrConflict, strings.Join(e.Paths, ", "))
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// DirtyError lists the files of a checkout that differ from its HEAD.
type DirtyError struct {
	Path  string
	Files []string
}

// Error implements error.
func (e *DirtyError) Error() string {
	return fmt.Sprintf("%s: %s (%s): commit or stash them there, then merge again", e.Path, ErrDirtyWorktree, strings.Join(e.Files, ", "))
}

// Is makes errors.Is(err, ErrDirtyWorktree) true.
func (e *DirtyError) Is(target error) bool { return target == ErrDirtyWorktree }

// classifyNetErr adds ErrAuth to transport errors that mean the credentials
// were refused, so callers need not know go-git's transport errors.
func classifyNetErr(err error) error {
	if errors.Is(err, transport.ErrAuthenticationRequired) || errors.Is(err, transport.ErrAuthorizationFailed) ||
		// golang.org/x/crypto/ssh reports a refused key only in text.
		strings.Contains(err.Error(), "ssh: unable to authenticate") {
		return fmt.Errorf("%w: %w", ErrAuth, err)
	}
	return err
}

// classifyFetchErr adds ErrAuth or ErrUnreachable to a failed fetch's error.
func classifyFetchErr(err error) error {
	if unreachable(err) {
		return fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	return classifyNetErr(err)
}

// unreachable reports whether err means the remote could not be reached or failed on its
// side. go-git wraps transport failures in a plumbing.UnexpectedError without Unwrap.
func unreachable(err error) bool {
	var (
		netErr  net.Error
		httpErr *githttp.Err
		unexp   *plumbing.UnexpectedError
	)
	switch {
	case errors.As(err, &netErr), errors.Is(err, context.DeadlineExceeded):
		return true
	case errors.As(err, &httpErr):
		return httpErr.StatusCode() >= 500
	case errors.As(err, &unexp):
		return unreachable(unexp.Err)
	}
	return false
}

// classifyPushErr maps go-git's push failures to ErrNonFastForward. go-git
// has no sentinel for them: the client-side check returns
// fmt.Errorf("non-fast-forward update: <ref>"), and a server-side rejection
// comes back as "command error on <ref>: <status>", where receive-pack's
// status says the ref moved since it was advertised (the compare-and-swap
// of the old value failed) or the update is not a fast-forward.
func classifyPushErr(err error) error {
	if errors.Is(err, gogit.ErrNonFastForwardUpdate) {
		return fmt.Errorf("%w: %w", ErrNonFastForward, err)
	}
	msg := err.Error()
	for _, s := range []string{
		"non-fast-forward", // client check, or receive.denyNonFastForwards
		"fetch first",      // server: the remote has commits we lack
		"failed to update ref",
		"cannot lock ref", // server: ref changed between advertisement and update
		"stale info",
	} {
		if strings.Contains(msg, s) {
			return fmt.Errorf("%w: %w", ErrNonFastForward, err)
		}
	}
	return classifyNetErr(err)
}
