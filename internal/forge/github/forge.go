package github

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	gh "github.com/google/go-github/v62/github"

	"github.com/medimind/modelops/internal/forge"
	"github.com/medimind/modelops/internal/git"
	"github.com/medimind/modelops/policies"
	"github.com/medimind/modelops/reconciler"
)

var (
	_ reconciler.Proposals         = (*Forge)(nil)
	_ reconciler.ProposalCommenter = (*Forge)(nil)
)

var (
	// ErrPRLimit is returned by Ensure when opening a pull request would exceed the
	// repository's prConcurrentLimit or prHourlyLimit. Nothing was written; the reconciler
	// waits and tries again later, as it does for ErrRateLimited.
	ErrPRLimit = fmt.Errorf("pull request %w", reconciler.ErrLimited)
	// ErrNothingToPropose is returned by Ensure when the base commit already holds the
	// change.
	ErrNothingToPropose = forge.ErrNothingToPropose
)

// Options configures a Forge.
type Options struct {
	// Owner and Repo name the GitHub repository; Tracked is its branch the proposals merge
	// into.
	Owner, Repo, Tracked string
	// StatusBranch keeps the full text of a body too long for GitHub (default
	// modelops/status).
	StatusBranch string
	// HTMLURL is the repository's web address, for links (default
	// https://github.com/<owner>/<repo>).
	HTMLURL string
	// Bot signs the proposal commits.
	Bot git.Signature
	// Now is the clock of the hourly limit (default time.Now).
	Now func() time.Time
	// ClosedPages bounds the pages of 100 recently updated closed pull requests List reads
	// to find declined proposals (default 3).
	ClosedPages int
}

// Forge keeps proposals as pull requests of a GitHub repository, with their branches in
// repo, the same repository over git.
type Forge struct {
	client *gh.Client
	repo   *git.Repo
	opts   Options

	mu sync.Mutex // serialises writes of proposal branches and pull requests
}

// New returns the forge of the repository opts names. repo is the same repository opened
// over git (its branches are pushed there).
func New(client *gh.Client, repo *git.Repo, opts Options) *Forge {
	if opts.StatusBranch == "" {
		opts.StatusBranch = "modelops/status"
	}
	if opts.HTMLURL == "" {
		opts.HTMLURL = "https://github.com/" + opts.Owner + "/" + opts.Repo
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ClosedPages <= 0 {
		opts.ClosedPages = 3
	}
	return &Forge{client: client, repo: repo, opts: opts}
}

// pull is a pull request that carries a proposal marker.
type pull struct {
	pr *gh.PullRequest
	m  marker
}

// pullRequest is p's pull request; nil for none.
func (p *pull) pullRequest() *gh.PullRequest {
	if p == nil {
		return nil
	}
	return p.pr
}

func (p pull) proposal(state reconciler.ProposalState) reconciler.Proposal {
	return reconciler.Proposal{
		Model: p.m.Model, Kind: p.m.Kind, State: state, Key: p.m.Key, Target: p.m.Target, Digest: p.m.Digest,
		Title: p.pr.GetTitle(), Branch: p.pr.GetHead().GetRef(), URL: p.pr.GetHTMLURL(),
	}
}

// ours reports whether pr's head branch is in this repository: a pull request from a fork,
// even one copying a proposal's branch name and marker, is a person's, and so is one whose
// fork was deleted (GitHub answers it with head.repo null).
func (f *Forge) ours(pr *gh.PullRequest) bool {
	return strings.EqualFold(pr.GetHead().GetRepo().GetFullName(), f.opts.Owner+"/"+f.opts.Repo)
}

// listPulls returns the proposal pull requests in state (open or closed) into the tracked
// branch, reading at most pages pages. The requests are conditional (Transport), so an
// unchanged list costs no rate limit while the token lasts.
func (f *Forge) listPulls(ctx context.Context, state string, pages int) ([]pull, error) {
	opts := &gh.PullRequestListOptions{State: state, Base: f.opts.Tracked, ListOptions: gh.ListOptions{PerPage: 100}}
	if state == "closed" {
		opts.Sort, opts.Direction = "updated", "desc"
	}
	var out []pull
	for page := 0; page < pages; page++ {
		prs, resp, err := f.client.PullRequests.List(ctx, f.opts.Owner, f.opts.Repo, opts)
		if err != nil {
			return nil, fmt.Errorf("list %s pull requests of %s/%s: %w", state, f.opts.Owner, f.opts.Repo, err)
		}
		for _, pr := range prs {
			if pr.GetState() != state || pr.GetBase().GetRef() != f.opts.Tracked ||
				!strings.HasPrefix(pr.GetHead().GetRef(), git.ForcePrefix) || !f.ours(pr) {
				continue // a person's pull request, or one from a fork
			}
			m, ok := parseMarker(pr.GetBody())
			if !ok || pr.GetHead().GetRef() != forge.BranchName(m.Model, m.Kind) {
				continue
			}
			out = append(out, pull{pr: pr, m: m})
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	return out, nil
}

func (f *Forge) openPulls(ctx context.Context) ([]pull, error) {
	return f.listPulls(ctx, "open", 1<<20)
}

// openPullOf returns the open pull request of (model, kind): the one from its branch in
// this repository into the tracked branch, found by GitHub's head filter rather than by
// listing every open pull request. One whose marker a person removed is found all the same,
// with the marker of (model, kind) and nothing else, so that Ensure puts it back.
func (f *Forge) openPullOf(ctx context.Context, model string, kind reconciler.ProposalKind) (*pull, error) {
	branch := forge.BranchName(model, kind)
	prs, _, err := f.client.PullRequests.List(ctx, f.opts.Owner, f.opts.Repo, &gh.PullRequestListOptions{
		State: "open", Head: f.opts.Owner + ":" + branch, Base: f.opts.Tracked, ListOptions: gh.ListOptions{PerPage: 100},
	})
	if err != nil {
		return nil, fmt.Errorf("find the pull request of %s: %w", branch, err)
	}
	for _, pr := range prs {
		if pr.GetState() != "open" || pr.GetHead().GetRef() != branch || pr.GetBase().GetRef() != f.opts.Tracked || !f.ours(pr) {
			continue
		}
		m, ok := parseMarker(pr.GetBody())
		if !ok || m.Model != model || m.Kind != kind {
			m = marker{Model: model, Kind: kind}
		}
		return &pull{pr: pr, m: m}, nil
	}
	return nil, nil
}

// List returns the open proposals, and for each (model, kind) without one the latest
// closed pull request when a person closed it without merging (declined). Merged pull
// requests and those modelops closed itself are not listed. Declined ones are looked for
// among the Options.ClosedPages×100 most recently updated closed pull requests.
func (f *Forge) List(ctx context.Context) ([]reconciler.Proposal, error) {
	open, err := f.openPulls(ctx)
	if err != nil {
		return nil, err
	}
	closed, err := f.listPulls(ctx, "closed", f.opts.ClosedPages)
	if err != nil {
		return nil, err
	}
	var out []reconciler.Proposal
	seen := map[string]bool{}
	for _, p := range open {
		out = append(out, p.proposal(reconciler.ProposalOpen))
		seen[p.m.Model+"/"+string(p.m.Kind)] = true
	}
	// The latest closed pull request of each (model, kind) decides: a later merge or a
	// close by modelops supersedes an earlier decline.
	sort.SliceStable(closed, func(i, j int) bool {
		return closed[i].pr.GetClosedAt().After(closed[j].pr.GetClosedAt().Time)
	})
	for _, p := range closed {
		id := p.m.Model + "/" + string(p.m.Kind)
		if seen[id] {
			continue
		}
		seen[id] = true
		if p.pr.MergedAt == nil && !p.m.Closed {
			out = append(out, p.proposal(reconciler.ProposalDeclined))
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Model != out[j].Model {
			return out[i].Model < out[j].Model
		}
		return out[i].Kind < out[j].Kind
	})
	return out, nil
}

// Ensure builds the proposal branch from req.Base with req.Edits applied to req.File
// (force-pushing it) and opens its pull request, or updates the open one in place (branch,
// title, body) when its key, digest, base or title differ. An open pull request with the
// same ones is left as it is: no write at all. Opening one more pull request beyond the
// repository's limits gives ErrPRLimit; a base that already holds the change gives
// ErrNothingToPropose.
func (f *Forge) Ensure(ctx context.Context, req reconciler.ProposalRequest) (reconciler.Proposal, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	req.Title = git.EscapeControl(req.Title)
	branch := forge.BranchName(req.Model, req.Kind)
	want := marker{Model: req.Model, Kind: req.Kind, Key: req.Key, Target: req.Target, Digest: req.Digest, Base: req.Base}
	cur, err := f.openPullOf(ctx, req.Model, req.Kind)
	if err != nil {
		return reconciler.Proposal{}, err
	}
	if cur != nil && cur.m == want && cur.pr.GetTitle() == req.Title {
		return cur.proposal(reconciler.ProposalOpen), nil
	}

	files, err := f.repo.Tree(ctx, req.Base)
	if err != nil {
		return reconciler.Proposal{}, fmt.Errorf("read %s: %w", req.Base, err)
	}
	cfg, err := policies.LoadRepositoryConfig(files)
	if err != nil {
		return reconciler.Proposal{}, fmt.Errorf("read repository config at %s: %w", req.Base, err)
	}
	if cur == nil {
		if err := f.checkLimits(ctx, cfg, branch); err != nil {
			return reconciler.Proposal{}, err
		}
	}
	pushed, err := forge.PushBranch(ctx, f.repo, files, req, f.opts.Bot, cur != nil)
	if errors.Is(err, forge.ErrPeoplesCommits) && cur != nil {
		// The branch stays as people left it; the pull request says why it is not updated.
		if cerr := f.commentOnce(ctx, cur.pr.GetNumber(), err.Error()); cerr != nil {
			return reconciler.Proposal{}, errors.Join(err, cerr)
		}
	}
	if err != nil {
		return reconciler.Proposal{}, err
	}
	body, err := f.body(ctx, want, req)
	if err != nil {
		return reconciler.Proposal{}, err
	}

	if cur == nil {
		pr, err := f.create(ctx, req, body, cfg)
		if err == nil {
			return pull{pr: pr, m: want}.proposal(reconciler.ProposalOpen), f.noteKept(ctx, pr.GetNumber(), pushed)
		}
		if !alreadyExists(err) {
			return reconciler.Proposal{}, err
		}
		// Another replica opened it meanwhile: update that one.
		if cur, err = f.openPullOf(ctx, req.Model, req.Kind); err != nil {
			return reconciler.Proposal{}, err
		}
		if cur == nil {
			return reconciler.Proposal{}, fmt.Errorf("open pull request for %s: GitHub says one exists, but none is listed", branch)
		}
	}
	pr, _, err := f.client.PullRequests.Edit(idempotentWrite(ctx), f.opts.Owner, f.opts.Repo, cur.pr.GetNumber(),
		&gh.PullRequest{Title: gh.String(req.Title), Body: gh.String(body)})
	if err != nil {
		return reconciler.Proposal{}, fmt.Errorf("update pull request #%d (%s): %w", cur.pr.GetNumber(), branch, err)
	}
	return pull{pr: pr, m: want}.proposal(reconciler.ProposalOpen), f.noteKept(ctx, pr.GetNumber(), pushed)
}

// noteKept says on pull request n, once, that its branch holds commits people added, which
// modelops keeps.
func (f *Forge) noteKept(ctx context.Context, n int, b forge.Branch) error {
	if len(b.People) == 0 {
		return nil
	}
	return f.commentOnce(ctx, n, forge.KeptNote(b))
}

// checkLimits returns ErrPRLimit when one more pull request would exceed cfg's limits.
func (f *Forge) checkLimits(ctx context.Context, cfg *policies.RepositoryConfig, branch string) error {
	concurrent, hourly := policies.LimitOf(cfg.Spec.PRConcurrentLimit), policies.LimitOf(cfg.Spec.PRHourlyLimit)
	if concurrent == 0 && hourly == 0 {
		return nil
	}
	open, err := f.openPulls(ctx)
	if err != nil {
		return err
	}
	if concurrent > 0 && len(open) >= concurrent {
		return fmt.Errorf("open pull request for %s: %w: %d open, prConcurrentLimit is %d", branch, ErrPRLimit, len(open), concurrent)
	}
	if hourly == 0 {
		return nil
	}
	closed, err := f.listPulls(ctx, "closed", 1)
	if err != nil {
		return err
	}
	since := f.opts.Now().Add(-time.Hour)
	n := 0
	for _, p := range append(closed, open...) {
		if p.pr.GetCreatedAt().After(since) {
			n++
		}
	}
	if n >= hourly {
		return fmt.Errorf("open pull request for %s: %w: %d opened in the last hour, prHourlyLimit is %d", branch, ErrPRLimit, n, hourly)
	}
	return nil
}

// body renders the pull request's body. A body over GitHub's limit is cut, and its full
// text is kept on the status branch, which the cut body links to.
func (f *Forge) body(ctx context.Context, m marker, req reconciler.ProposalRequest) (string, error) {
	path := fmt.Sprintf("proposals/%s/%s.md", req.Model, req.Kind)
	link := f.opts.HTMLURL + "/blob/" + f.opts.StatusBranch + "/" + path
	body := proposalBody(m, req.Body, link)
	if body == m.String()+"\n"+req.Body {
		return body, nil
	}
	_, err := f.repo.UpdateBranch(ctx, f.opts.StatusBranch, func(string, fs.FS) (git.Change, error) {
		return git.Change{
			Files:    map[string][]byte{path: []byte(req.Body)},
			Message:  fmt.Sprintf("modelops: full description of proposal %s/%s", req.Model, req.Kind),
			Trailers: git.Trailers{Action: "proposal-report", Model: req.Model}.List(),
			Author:   f.opts.Bot,
		}, nil
	})
	if err != nil && !errors.Is(err, git.ErrNoChange) {
		return "", fmt.Errorf("keep the full description of %s/%s: %w", req.Model, req.Kind, err)
	}
	return body, nil
}

// create opens the pull request of req, then labels it and asks for reviews as cfg says.
// After a 5xx it looks for the pull request before opening it again.
func (f *Forge) create(ctx context.Context, req reconciler.ProposalRequest, body string, cfg *policies.RepositoryConfig) (*gh.PullRequest, error) {
	branch := forge.BranchName(req.Model, req.Kind)
	var pr *gh.PullRequest
	sent := false
	err := untilSettled(func() error {
		if sent {
			found, err := f.openPullOf(ctx, req.Model, req.Kind)
			if err != nil || found != nil {
				pr = found.pullRequest()
				return err
			}
		}
		sent = true
		var err error
		pr, _, err = f.client.PullRequests.Create(ctx, f.opts.Owner, f.opts.Repo, &gh.NewPullRequest{
			Title: gh.String(req.Title), Head: gh.String(branch), Base: gh.String(f.opts.Tracked), Body: gh.String(body),
		})
		return unsettled(err)
	})
	if err != nil {
		return nil, fmt.Errorf("open pull request for %s: %w", branch, err)
	}
	// Adding labels and reviewers already there changes nothing: safe to send again.
	ctx = idempotentWrite(ctx)
	n := pr.GetNumber()
	if labels := cfg.Spec.Labels; len(labels) > 0 {
		if _, _, err := f.client.Issues.AddLabelsToIssue(ctx, f.opts.Owner, f.opts.Repo, n, labels); err != nil {
			return pr, fmt.Errorf("label pull request #%d: %w", n, err)
		}
	}
	if len(cfg.Spec.Reviewers) > 0 || len(cfg.Spec.TeamReviewers) > 0 {
		if _, _, err := f.client.PullRequests.RequestReviewers(ctx, f.opts.Owner, f.opts.Repo, n, gh.ReviewersRequest{
			Reviewers: cfg.Spec.Reviewers, TeamReviewers: cfg.Spec.TeamReviewers,
		}); err != nil {
			return pr, fmt.Errorf("request reviews of pull request #%d: %w", n, err)
		}
	}
	return pr, nil
}

// alreadyExists reports whether GitHub refused to open a pull request because one is open
// for the same branch.
func alreadyExists(err error) bool {
	var er *gh.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil || er.Response.StatusCode != http.StatusUnprocessableEntity {
		return false
	}
	for _, e := range er.Errors {
		if strings.Contains(e.Message, "already exists") {
			return true
		}
	}
	return strings.Contains(er.Message, "already exists")
}

// Close comments reason on the open pull request of (model, kind), then closes it, marking
// it closed by modelops so that List does not take it for declined. Without an open one it
// does nothing. A comment already made (a close interrupted after commenting) is not made
// again.
func (f *Forge) Close(ctx context.Context, model string, kind reconciler.ProposalKind, reason string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	cur, err := f.openPullOf(ctx, model, kind)
	if err != nil || cur == nil {
		return err
	}
	n := cur.pr.GetNumber()
	if err := f.commentOnce(ctx, n, "Closed by modelops: "+reason); err != nil {
		return err
	}
	m := cur.m
	m.Closed = true
	if _, _, err := f.client.PullRequests.Edit(idempotentWrite(ctx), f.opts.Owner, f.opts.Repo, n, &gh.PullRequest{
		State: gh.String("closed"), Body: gh.String(withMarker(cur.pr.GetBody(), m)),
	}); err != nil {
		return fmt.Errorf("close pull request #%d: %w", n, err)
	}
	return nil
}

// CommentOnMerge comments text on the pull request whose merge made commit, unless it
// already carries that comment. ErrNoProposal when no merged pull request made it (a
// person committed directly, or GitHub does not know the commit).
func (f *Forge) CommentOnMerge(ctx context.Context, commit, text string) error {
	opts := &gh.ListOptions{PerPage: 100}
	var target *gh.PullRequest
	for target == nil {
		prs, resp, err := f.client.PullRequests.ListPullRequestsWithCommit(ctx, f.opts.Owner, f.opts.Repo, commit, opts)
		if status(err) == http.StatusNotFound || status(err) == http.StatusUnprocessableEntity {
			return fmt.Errorf("find the pull request of %s: %w", commit, reconciler.ErrNoProposal)
		}
		if err != nil {
			return fmt.Errorf("find the pull request of %s: %w", commit, err)
		}
		for _, pr := range prs {
			if pr.MergedAt != nil && pr.GetMergeCommitSHA() == commit {
				target = pr
				break
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	if target == nil {
		return fmt.Errorf("find the pull request of %s: %w", commit, reconciler.ErrNoProposal)
	}
	return f.commentOnce(ctx, target.GetNumber(), text)
}

// commentOnce adds text as a comment on pull request n unless one with that text exists
// (looking again after a 5xx, which may hide a comment made).
func (f *Forge) commentOnce(ctx context.Context, n int, text string) error {
	text = truncate(text, MaxBody-1, "*(cut to fit GitHub's limit)*")
	return untilSettled(func() error {
		found, err := f.hasComment(ctx, n, text)
		if err != nil || found {
			return err
		}
		if _, _, err := f.client.Issues.CreateComment(ctx, f.opts.Owner, f.opts.Repo, n, &gh.IssueComment{Body: gh.String(text)}); err != nil {
			return unsettled(fmt.Errorf("comment on #%d: %w", n, err))
		}
		return nil
	})
}

// hasComment reports whether pull request n has a comment reading text.
func (f *Forge) hasComment(ctx context.Context, n int, text string) (bool, error) {
	opts := &gh.IssueListCommentsOptions{ListOptions: gh.ListOptions{PerPage: 100}}
	for {
		comments, resp, err := f.client.Issues.ListComments(ctx, f.opts.Owner, f.opts.Repo, n, opts)
		if err != nil {
			return false, fmt.Errorf("list comments of #%d: %w", n, err)
		}
		for _, c := range comments {
			if c.GetBody() == text {
				return true, nil
			}
		}
		if resp.NextPage == 0 {
			return false, nil
		}
		opts.Page = resp.NextPage
	}
}

// status is the HTTP status of a GitHub error answer, or 0.
func status(err error) int {
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode
	}
	return 0
}
