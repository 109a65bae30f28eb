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

// ErrPeoplesCommits is returned (wrapped) by PushBranch when people added commits to the
// proposal's branch and the edits do not apply on top of them: the branch is left as it is.
var ErrPeoplesCommits = errors.New("people added commits to the proposal branch")

// Branch is what PushBranch left on a proposal's branch.
type Branch struct {
	// Head is the branch's head.
	Head string
	// People are the commits people added to the branch, newest first. The branch of an
	// open proposal is then never rebuilt: the edits go on top of these commits.
	People []git.CommitInfo
	// SetAside names the branch where People were kept, when they were left on the branch
	// of a finished proposal (merged or closed) and this proposal was built afresh.
	SetAside string
}

// PushBranch builds the proposal's branch from req.Base: req.Edits applied to req.File as
// files (the tree at req.Base) holds it, one commit by author carrying req.Trailers, then a
// force-push (which internal/git allows on modelops/ branches only) that fails when the
// branch moved since it was read. It returns ErrNothingToPropose (wrapped) when the edits
// change nothing at req.Base.
//
// People's work on the branch (commits not authored by author, or without the
// Modelops-Action trailer) is never forced over. When the proposal is open, such a branch
// is not rebuilt: the edits are committed on top of it and pushed without force, or, when
// it holds them already, the branch is left as it is; when the edits no longer apply there,
// PushBranch returns ErrPeoplesCommits (wrapped) and leaves the branch alone. When the
// proposal is not open (the commits belong to a finished one), they are first kept on a
// branch of their own (Branch.SetAside), then the proposal is built afresh.
func PushBranch(ctx context.Context, repo *git.Repo, files fs.FS, req reconciler.ProposalRequest, author git.Signature, open bool) (Branch, error) {
	branch := BranchName(req.Model, req.Kind)
	src, err := fs.ReadFile(files, req.File)
	if err != nil {
		return Branch{}, fmt.Errorf("read %s at %s: %w", req.File, req.Base, err)
	}
	edited, err := policies.Apply(src, req.Model, req.Edits...)
	if err != nil {
		return Branch{}, fmt.Errorf("edit %s: %w", req.File, err)
	}
	if bytes.Equal(edited, src) {
		return Branch{}, fmt.Errorf("propose %s: %w", describeEdits(req.Edits), ErrNothingToPropose)
	}
	old, people, err := peoplesCommits(ctx, repo, branch, req.Base, author)
	if err != nil {
		return Branch{}, err
	}
	var aside string
	switch {
	case len(people) > 0 && open:
		return commitOnTop(ctx, repo, old, people, req, author)
	case len(people) > 0:
		if aside, err = setAside(ctx, repo, branch, old); err != nil {
			return Branch{}, err
		}
	}
	if err := repo.ResetBranch(ctx, branch, req.Base); err != nil {
		return Branch{}, err
	}
	head, err := repo.Commit(ctx, branch, proposalCommit(req, edited, author))
	if err != nil {
		return Branch{}, fmt.Errorf("commit proposal %s: %w", branch, err)
	}
	if err := repo.ForcePush(ctx, branch, old); err != nil {
		return Branch{}, fmt.Errorf("push proposal %s: %w", branch, err)
	}
	return Branch{Head: head, People: people, SetAside: aside}, nil
}

// setAside keeps head, the branch of a finished proposal with people's commits, on a
// branch of its own named after it, and returns that name.
func setAside(ctx context.Context, repo *git.Repo, branch, head string) (string, error) {
	aside := branch + "-kept-" + head[:12]
	if err := repo.ResetBranch(ctx, aside, head); err != nil {
		return "", err
	}
	if err := repo.Push(ctx, aside, false); err != nil {
		return "", fmt.Errorf("keep the commits people added to %s on %s: %w", branch, aside, err)
	}
	return aside, nil
}

// proposalCommit is the commit of req's edits, giving file the content edited.
func proposalCommit(req reconciler.ProposalRequest, edited []byte, author git.Signature) git.Change {
	return git.Change{
		Files:    map[string][]byte{req.File: edited},
		Message:  req.Title + "\n\n" + describeEdits(req.Edits),
		Trailers: git.TrailersFrom(req.Trailers),
		Author:   author,
	}
}

// peoplesCommits returns the branch's head ("" when there is no branch) and the commits on
// it, not in base, that bot did not make.
func peoplesCommits(ctx context.Context, repo *git.Repo, branch, base string, bot git.Signature) (string, []git.CommitInfo, error) {
	head, err := repo.Head(ctx, branch)
	if errors.Is(err, git.ErrBranchNotFound) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, err
	}
	commits, err := repo.Log(ctx, base, head, "")
	if err != nil {
		return "", nil, fmt.Errorf("read %s: %w", branch, err)
	}
	var people []git.CommitInfo
	for _, c := range commits {
		_, tagged := git.TrailerValue(c.Trailers, git.TrailerAction)
		if !tagged || c.Author.Name != bot.Name || c.Author.Email != bot.Email {
			people = append(people, c)
		}
	}
	return head, people, nil
}

// commitOnTop commits req's edits on top of head, the branch with people's commits, and
// pushes without force; it changes nothing when head holds them already.
func commitOnTop(ctx context.Context, repo *git.Repo, head string, people []git.CommitInfo, req reconciler.ProposalRequest, author git.Signature) (Branch, error) {
	branch := BranchName(req.Model, req.Kind)
	kept := Branch{Head: head, People: people}
	src, err := repo.ReadFile(ctx, head, req.File)
	if err != nil {
		return kept, fmt.Errorf("read %s on %s: %w", req.File, branch, err)
	}
	edited, err := policies.Apply(src, req.Model, req.Edits...)
	if err != nil {
		return kept, fmt.Errorf("%w %s (%s), and %q does not apply on top of them: %w; modelops leaves the branch as it is: merge or close the proposal, or remove those commits from the branch",
			ErrPeoplesCommits, branch, DescribeCommits(people), strings.Join(editNames(req.Edits), "; "), err)
	}
	if bytes.Equal(edited, src) {
		return kept, nil
	}
	if kept.Head, err = repo.Commit(ctx, branch, proposalCommit(req, edited, author)); err != nil {
		return Branch{}, fmt.Errorf("commit proposal %s: %w", branch, err)
	}
	if err := repo.Push(ctx, branch, false); err != nil {
		return Branch{}, fmt.Errorf("push proposal %s: %w", branch, err)
	}
	return kept, nil
}

// DescribeCommits names commits for a comment: short hash, author and subject of each.
func DescribeCommits(commits []git.CommitInfo) string {
	out := make([]string, 0, len(commits))
	for _, c := range commits {
		subject, _, _ := strings.Cut(c.Message, "\n")
		out = append(out, fmt.Sprintf("%s by %s: %q", c.Hash[:7], c.Author.Name, subject))
	}
	return strings.Join(out, ", ")
}

// KeptNote is the comment a forge leaves on a proposal whose branch held people's commits.
func KeptNote(b Branch) string {
	if b.SetAside != "" {
		return fmt.Sprintf("The branch of this proposal held commits people added after an earlier proposal (%s); modelops kept them on branch %s and built this proposal afresh.", DescribeCommits(b.People), b.SetAside)
	}
	return fmt.Sprintf("modelops found commits people added to this proposal's branch (%s) and keeps them: it no longer rebuilds the branch, and puts its own updates on top of them.", DescribeCommits(b.People))
}

// describeEdits lists the edits for a commit message, one "- " line each.
func describeEdits(edits []policies.Edit) string {
	return "- " + strings.Join(editNames(edits), "\n- ")
}

func editNames(edits []policies.Edit) []string {
	names := make([]string, 0, len(edits))
	for _, e := range edits {
		names = append(names, e.Describe())
	}
	return names
}
