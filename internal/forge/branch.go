// Package forge holds what the proposal forges (forge/local, forge/github) share: the branch
// a proposal lives on and how that branch is built from the tracked branch.
package forge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/medimind/modelops/internal/git"
	"github.com/medimind/modelops/policies"
	"github.com/medimind/modelops/reconciler"
)

// ErrNothingToPropose is returned by PushBranch when the base commit already holds the change.
var ErrNothingToPropose = errors.New("the tracked branch already holds the change")

// BranchName is the branch of the proposal of (model, kind).
func BranchName(model string, kind reconciler.ProposalKind) string {
	return fmt.Sprintf("modelops/%s/%s", model, kind)
}

// PushBranch builds the proposal's branch from req.Base: req.Edits applied to req.File as
// files (the tree at req.Base) holds it, one commit by author carrying req.Trailers, then a
// force-push (which internal/git allows on modelops/ branches only). It returns the branch's
// head, or ErrNothingToPropose (wrapped) when the edits change nothing.
func PushBranch(ctx context.Context, repo *git.Repo, files fs.FS, req reconciler.ProposalRequest, author git.Signature) (string, error) {
	branch := BranchName(req.Model, req.Kind)
	src, err := fs.ReadFile(files, req.File)
	if err != nil {
		return "", fmt.Errorf("read %s at %s: %w", req.File, req.Base, err)
	}
	edited, err := policies.Apply(src, req.Model, req.Edits...)
	if err != nil {
		return "", fmt.Errorf("edit %s: %w", req.File, err)
	}
	if bytes.Equal(edited, src) {
		return "", fmt.Errorf("propose %s: %w", describeEdits(req.Edits), ErrNothingToPropose)
	}
	if err := repo.ResetBranch(ctx, branch, req.Base); err != nil {
		return "", err
	}
	head, err := repo.Commit(ctx, branch, git.Change{
		Files:    map[string][]byte{req.File: edited},
		Message:  req.Title + "\n\n" + describeEdits(req.Edits),
		Trailers: git.TrailersFrom(req.Trailers),
		Author:   author,
	})
	if err != nil {
		return "", fmt.Errorf("commit proposal %s: %w", branch, err)
	}
	if err := repo.Push(ctx, branch, true); err != nil {
		return "", fmt.Errorf("push proposal %s: %w", branch, err)
	}
	return head, nil
}

// describeEdits lists the edits for a commit message, one "- " line each.
func describeEdits(edits []policies.Edit) string {
	lines := make([]string, 0, len(edits))
	for _, e := range edits {
		lines = append(lines, "- "+e.Describe())
	}
	return strings.Join(lines, "\n")
}
