package githubfake

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxBody is GitHub's limit on issue, pull request and comment bodies.
const maxBody = 65536

// pull is a pull request. Issues and pull requests share numbers on
// GitHub; the fake has pull requests only.
type pull struct {
	number           int
	id               int64
	title, body      string
	head, base       string // branch names
	headSHA, baseSHA string // tips, refreshed while open
	// forkOwner owns the fork the head branch is in ("" for a branch of
	// this repository); forkGone says the fork was deleted.
	forkOwner           string
	forkGone            bool
	state               string // open or closed
	draft               bool
	maintainerCanModify bool
	merged              bool
	mergeCommitSHA      string
	mergedBy            string
	user                string
	labels              []string
	reviewers, teams    []string
	comments            int
	created, updated    time.Time
	closedAt, mergedAt  *time.Time
}

// PullRequest is the state of a pull request as a test sees it.
type PullRequest struct {
	Number               int
	Title, Body          string
	Head, Base           string
	HeadSHA, BaseSHA     string
	State                string
	Merged               bool
	MergeCommitSHA       string
	User                 string
	Labels               []string
	Reviewers, TeamSlugs []string
}

// PullRequests returns every pull request, by number.
func (s *Server) PullRequests() []PullRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []PullRequest
	for _, p := range s.pulls {
		s.refresh(p)
		out = append(out, PullRequest{
			Number: p.number, Title: p.title, Body: p.body, Head: p.head, Base: p.base,
			HeadSHA: p.headSHA, BaseSHA: p.baseSHA, State: p.state, Merged: p.merged,
			MergeCommitSHA: p.mergeCommitSHA, User: p.user,
			Labels:    slices.Clone(p.labels),
			Reviewers: slices.Clone(p.reviewers), TeamSlugs: slices.Clone(p.teams),
		})
	}
	return out
}

func (s *Server) pullByNumber(raw string) *pull {
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > len(s.pulls) {
		return nil
	}
	return s.pulls[n-1]
}

// refresh reads the tips of an open pull request's branches; a closed one
// keeps the tips it had when it closed, as on GitHub.
func (s *Server) refresh(p *pull) {
	if p.state != "open" {
		return
	}
	if sha := s.refSHA("refs/heads/" + p.head); sha != "" && p.forkOwner == "" {
		p.headSHA = sha
	}
	if sha := s.refSHA("refs/heads/" + p.base); sha != "" {
		p.baseSHA = sha
	}
}

func (s *Server) branchJSON(branch, sha string) map[string]any {
	return map[string]any{
		"label": s.cfg.owner + ":" + branch, "ref": branch, "sha": sha,
		"user": s.userJSON(s.cfg.owner), "repo": s.repoJSON(),
	}
}

// headJSON is the head of p: a branch of this repository, or of a fork,
// whose repo is null once the fork is deleted, as on GitHub.
func (s *Server) headJSON(p *pull) map[string]any {
	out := s.branchJSON(p.head, p.headSHA)
	if p.forkOwner == "" {
		return out
	}
	out["label"], out["user"] = p.forkOwner+":"+p.head, s.userJSON(p.forkOwner)
	if p.forkGone {
		out["repo"] = nil
		return out
	}
	repo := s.repoJSON()
	full := p.forkOwner + "/" + s.cfg.repo
	id := idOf("repo/" + full)
	repo["id"], repo["node_id"], repo["full_name"] = id, nodeID("R", id), full
	repo["owner"], repo["fork"], repo["html_url"] = s.userJSON(p.forkOwner), true, s.html("/%s", full)
	out["repo"] = repo
	return out
}

// headOwner is the owner of the repository p's head branch is in.
func (s *Server) headOwner(p *pull) string {
	if p.forkOwner != "" {
		return p.forkOwner
	}
	return s.cfg.owner
}

// ForkPull is a pull request from a person's fork, which the fake does not
// serve as a repository: its head is a commit of this repository.
type ForkPull struct {
	// Owner owns the fork; Branch is the head branch there.
	Owner, Branch string
	// Base is the branch of this repository it is to merge into.
	Base        string
	Title, Body string
	// HeadSHA is the commit the fork's branch points at.
	HeadSHA string
	// Deleted says the fork was deleted since: GitHub then answers the
	// pull request with head.repo null.
	Deleted bool
	// Closed closes it at once.
	Closed bool
}

// OpenForkPullRequest adds a pull request from a fork, as a person would
// open it on GitHub, and returns its number.
func (s *Server) OpenForkPullRequest(f ForkPull) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	p := &pull{
		number: len(s.pulls) + 1, id: s.newIDLocked(), title: f.Title, body: f.Body,
		head: f.Branch, base: f.Base, headSHA: f.HeadSHA, baseSHA: s.refSHA("refs/heads/" + f.Base),
		forkOwner: f.Owner, forkGone: f.Deleted, state: "open", user: f.Owner, created: now, updated: now,
	}
	if f.Closed {
		p.state, p.closedAt = "closed", &now
	}
	s.pulls = append(s.pulls, p)
	return p.number
}

// pullJSON is a pull-request-simple, or with full a pull-request.
func (s *Server) pullJSON(p *pull, full bool) map[string]any {
	s.refresh(p)
	self := s.api("/repos/%s/pulls/%d", s.fullName(), p.number)
	issue := s.api("/repos/%s/issues/%d", s.fullName(), p.number)
	html := s.html("/%s/pull/%d", s.fullName(), p.number)
	statuses := s.api("/repos/%s/statuses/%s", s.fullName(), p.headSHA)
	labels := []any{}
	for _, name := range p.labels {
		if l := s.labels[strings.ToLower(name)]; l != nil {
			labels = append(labels, s.labelJSON(l))
		}
	}
	users, teams := []any{}, []any{}
	for _, r := range p.reviewers {
		users = append(users, s.userJSON(r))
	}
	for _, t := range p.teams {
		teams = append(teams, s.teamJSON(t))
	}
	href := func(u string) map[string]any { return map[string]any{"href": u} }
	var mergeSHA any
	if p.mergeCommitSHA != "" {
		mergeSHA = p.mergeCommitSHA
	}
	out := map[string]any{
		"url": self, "id": p.id, "node_id": nodeID("PR", p.id), "html_url": html,
		"diff_url": html + ".diff", "patch_url": html + ".patch", "issue_url": issue,
		"commits_url": self + "/commits", "review_comments_url": self + "/comments",
		"review_comment_url": s.api("/repos/%s/pulls/comments{/number}", s.fullName()),
		"comments_url":       issue + "/comments", "statuses_url": statuses,
		"number": p.number, "state": p.state, "locked": false, "title": p.title, "body": nullIfEmpty(p.body),
		"user": s.userJSON(p.user), "labels": labels, "milestone": nil, "active_lock_reason": nil,
		"created_at": stamp(p.created), "updated_at": stamp(p.updated),
		"closed_at": stampOrNil(p.closedAt), "merged_at": stampOrNil(p.mergedAt), "merge_commit_sha": mergeSHA,
		"assignee": nil, "assignees": []any{}, "requested_reviewers": users, "requested_teams": teams,
		"head": s.headJSON(p), "base": s.branchJSON(p.base, p.baseSHA),
		"_links": map[string]any{
			"self": href(self), "html": href(html), "issue": href(issue), "comments": href(issue + "/comments"),
			"review_comments": href(self + "/comments"),
			"review_comment":  href(s.api("/repos/%s/pulls/comments{/number}", s.fullName())),
			"commits":         href(self + "/commits"), "statuses": href(statuses),
		},
		"author_association": "CONTRIBUTOR", "auto_merge": nil, "draft": p.draft,
	}
	if !full {
		return out
	}
	commits, additions, deletions, files := s.diffStats(p.baseSHA, p.headSHA)
	var mergeable any
	state := "unknown"
	if p.state == "open" {
		_, ok, err := s.mergeTree(p.baseSHA, p.headSHA)
		if err == nil {
			mergeable = ok
			state = map[bool]string{true: "clean", false: "dirty"}[ok]
		}
	}
	var mergedBy any
	if p.mergedBy != "" {
		mergedBy = s.userJSON(p.mergedBy)
	}
	out["merged"] = p.merged
	out["mergeable"] = mergeable
	out["rebaseable"] = mergeable
	out["mergeable_state"] = state
	out["merged_by"] = mergedBy
	out["comments"] = p.comments
	out["review_comments"] = 0
	out["maintainer_can_modify"] = p.maintainerCanModify
	out["commits"] = commits
	out["additions"] = additions
	out["deletions"] = deletions
	out["changed_files"] = files
	return out
}

func bodyTooLong(body string) *FieldError {
	if utf8.RuneCountInString(body) <= maxBody {
		return nil
	}
	return &FieldError{Resource: "Issue", Field: "body", Code: "custom",
		Message: fmt.Sprintf("body is too long (maximum is %d characters)", maxBody)}
}

// splitHead accepts "branch" or "owner:branch" as GitHub does; the owner
// defaults to the repository's.
func (s *Server) splitHead(head string) (owner, branch string) {
	owner, branch, ok := strings.Cut(head, ":")
	if !ok {
		return s.cfg.owner, head
	}
	return owner, branch
}

func listPulls(s *Server, rq *request) *response {
	state := rq.query.Get("state")
	if state == "" {
		state = "open"
	}
	var headOwner, head string
	if h := rq.query.Get("head"); h != "" {
		headOwner, head = s.splitHead(h)
	}
	base := rq.query.Get("base")
	var sel []*pull
	for _, p := range s.pulls {
		if (state != "all" && p.state != state) || (base != "" && p.base != base) ||
			(head != "" && (p.head != head || !strings.EqualFold(s.headOwner(p), headOwner))) {
			continue
		}
		sel = append(sel, p)
	}
	// GitHub's default direction is desc for sort=created (the default
	// sort) and asc otherwise.
	sortKey, dir := rq.query.Get("sort"), rq.query.Get("direction")
	desc := dir == "desc" || (dir == "" && (sortKey == "" || sortKey == "created"))
	sort.SliceStable(sel, func(i, j int) bool {
		a, b := sel[i], sel[j]
		less := a.number < b.number
		if sortKey == "updated" {
			less = a.updated.Before(b.updated) || (a.updated.Equal(b.updated) && a.number < b.number)
		}
		if desc {
			return !less
		}
		return less
	})
	rs := &response{status: http.StatusOK}
	out := []any{}
	for _, p := range paginate(s, rq, rs, sel) {
		out = append(out, s.pullJSON(p, false))
	}
	rs.body = out
	return rs
}

func createPull(s *Server, rq *request) *response {
	var in struct {
		Title               *string `json:"title"`
		Head                string  `json:"head"`
		Base                string  `json:"base"`
		Body                string  `json:"body"`
		Draft               bool    `json:"draft"`
		MaintainerCanModify *bool   `json:"maintainer_can_modify"`
		Issue               *int    `json:"issue"`
	}
	if err := rq.decode(&in); err != nil {
		return problemsParsingJSON(rq)
	}
	if in.Title == nil || *in.Title == "" {
		return validationFailed(rq, FieldError{Resource: "PullRequest", Field: "title", Code: "missing_field"})
	}
	if fe := bodyTooLong(in.Body); fe != nil {
		return validationFailed(rq, *fe)
	}
	owner, head := s.splitHead(in.Head)
	headSHA := s.refSHA("refs/heads/" + head)
	if !strings.EqualFold(owner, s.cfg.owner) || headSHA == "" {
		return validationFailed(rq, FieldError{Resource: "PullRequest", Field: "head", Code: "invalid"})
	}
	baseSHA := s.refSHA("refs/heads/" + in.Base)
	if baseSHA == "" {
		return validationFailed(rq, FieldError{Resource: "PullRequest", Field: "base", Code: "invalid"})
	}
	for _, p := range s.pulls {
		if p.state == "open" && p.forkOwner == "" && p.head == head && p.base == in.Base {
			return validationFailed(rq, FieldError{Resource: "PullRequest", Code: "custom",
				Message: fmt.Sprintf("A pull request already exists for %s:%s.", s.cfg.owner, head)})
		}
	}
	if contained, err := s.isAncestor(headSHA, baseSHA); err != nil {
		s.tb.Errorf("githubfake: create pull request: %v", err)
		return errorResponse(rq, http.StatusInternalServerError, "Server Error")
	} else if contained {
		return validationFailed(rq, FieldError{Resource: "PullRequest", Code: "custom",
			Message: fmt.Sprintf("No commits between %s and %s", in.Base, head)})
	}
	now := s.now()
	p := &pull{
		number: len(s.pulls) + 1, id: s.newIDLocked(), title: *in.Title, body: in.Body,
		head: head, base: in.Base, headSHA: headSHA, baseSHA: baseSHA, state: "open", draft: in.Draft,
		maintainerCanModify: in.MaintainerCanModify == nil || *in.MaintainerCanModify,
		user:                rq.token.Login, created: now, updated: now,
	}
	s.pulls = append(s.pulls, p)
	body := s.pullJSON(p, true)
	s.pullEvent("opened", p, rq.token.Login, nil)
	rs := &response{status: http.StatusCreated, body: body}
	rs.setHeader("Location", body["url"].(string))
	return rs
}

func getPull(s *Server, rq *request) *response {
	p := s.pullByNumber(rq.params["pull_number"])
	if p == nil {
		return notFound(rq)
	}
	return &response{status: http.StatusOK, body: s.pullJSON(p, true)}
}

func updatePull(s *Server, rq *request) *response {
	p := s.pullByNumber(rq.params["pull_number"])
	if p == nil {
		return notFound(rq)
	}
	var in struct {
		Title               *string `json:"title"`
		Body                *string `json:"body"`
		State               *string `json:"state"`
		Base                *string `json:"base"`
		MaintainerCanModify *bool   `json:"maintainer_can_modify"`
	}
	if err := rq.decode(&in); err != nil {
		return problemsParsingJSON(rq)
	}
	if in.Body != nil {
		if fe := bodyTooLong(*in.Body); fe != nil {
			return validationFailed(rq, *fe)
		}
	}
	if in.Base != nil && s.refSHA("refs/heads/"+*in.Base) == "" {
		return validationFailed(rq, FieldError{Resource: "PullRequest", Field: "base", Code: "invalid"})
	}
	action := "edited"
	if in.State != nil && *in.State != p.state {
		switch {
		case p.merged:
			return validationFailed(rq, FieldError{Resource: "PullRequest", Field: "state", Code: "custom",
				Message: "state cannot be changed. The pull request has been merged."})
		case *in.State == "closed":
			s.refresh(p)
			now := s.now()
			p.state, p.closedAt, action = "closed", &now, "closed"
		default:
			if s.refSHA("refs/heads/"+p.head) == "" {
				return validationFailed(rq, FieldError{Resource: "PullRequest", Field: "state", Code: "custom",
					Message: "state cannot be changed. The " + p.head + " branch has been deleted."})
			}
			for _, o := range s.pulls {
				if o != p && o.state == "open" && o.forkOwner == p.forkOwner && o.head == p.head && o.base == p.base {
					return validationFailed(rq, FieldError{Resource: "PullRequest", Field: "state", Code: "custom",
						Message: fmt.Sprintf("state cannot be changed. There is already an open pull request from %s to %s.", p.head, p.base)})
				}
			}
			p.state, p.closedAt, action = "open", nil, "reopened"
		}
	}
	// changes is what an "edited" event reports: the previous values.
	changes := map[string]any{}
	if in.Title != nil && *in.Title != p.title {
		changes["title"] = map[string]any{"from": p.title}
		p.title = *in.Title
	}
	if in.Body != nil && *in.Body != p.body {
		changes["body"] = map[string]any{"from": p.body}
		p.body = *in.Body
	}
	if in.Base != nil && *in.Base != p.base {
		changes["base"] = map[string]any{"ref": map[string]any{"from": p.base}, "sha": map[string]any{"from": p.baseSHA}}
		p.base = *in.Base
	}
	if in.MaintainerCanModify != nil {
		p.maintainerCanModify = *in.MaintainerCanModify
	}
	p.updated = s.now()
	switch {
	case action != "edited":
		s.pullEvent(action, p, rq.token.Login, nil)
	case len(changes) > 0:
		s.pullEvent(action, p, rq.token.Login, map[string]any{"changes": changes})
	}
	return &response{status: http.StatusOK, body: s.pullJSON(p, true)}
}

func checkMerged(s *Server, rq *request) *response {
	p := s.pullByNumber(rq.params["pull_number"])
	if p == nil || !p.merged {
		return &response{status: http.StatusNotFound}
	}
	return &response{status: http.StatusNoContent}
}

func notMergeable(rq *request, msg string) *response {
	return &response{status: http.StatusMethodNotAllowed, body: errorBody(msg, docURL(rq.op), http.StatusMethodNotAllowed)}
}

func mergePull(s *Server, rq *request) *response {
	p := s.pullByNumber(rq.params["pull_number"])
	if p == nil {
		return notFound(rq)
	}
	var in struct {
		CommitTitle   *string `json:"commit_title"`
		CommitMessage *string `json:"commit_message"`
		SHA           string  `json:"sha"`
		MergeMethod   string  `json:"merge_method"`
	}
	if len(rq.body) > 0 {
		if err := rq.decode(&in); err != nil {
			return problemsParsingJSON(rq)
		}
	}
	s.refresh(p)
	if p.state != "open" || p.draft || s.refSHA("refs/heads/"+p.head) == "" {
		return notMergeable(rq, "Pull Request is not mergeable")
	}
	if in.SHA != "" && in.SHA != p.headSHA {
		return &response{status: http.StatusConflict, body: errorBody("Head branch was modified. Review and try the merge again.", docURL(rq.op), http.StatusConflict)}
	}
	method := in.MergeMethod
	if method == "" {
		method = "merge"
	}
	if method == "rebase" {
		return notMergeable(rq, "Rebase merges are not allowed on this repository.")
	}
	tree, ok, err := s.mergeTree(p.baseSHA, p.headSHA)
	if err != nil {
		s.tb.Errorf("githubfake: merge pull request #%d: %v", p.number, err)
		return errorResponse(rq, http.StatusInternalServerError, "Server Error")
	}
	if !ok {
		return notMergeable(rq, "Pull Request is not mergeable")
	}
	title, message := fmt.Sprintf("Merge pull request #%d from %s/%s", p.number, s.cfg.owner, p.head), p.title
	parents := []string{p.baseSHA, p.headSHA}
	if method == "squash" {
		title, parents = fmt.Sprintf("%s (#%d)", p.title, p.number), []string{p.baseSHA}
		subjects, _ := s.git1("log", "--reverse", "--format=* %s", p.baseSHA+".."+p.headSHA)
		message = subjects
	}
	if in.CommitTitle != nil {
		title = *in.CommitTitle
	}
	if in.CommitMessage != nil {
		message = *in.CommitMessage
	}
	full := title
	if message != "" {
		full += "\n\n" + message
	}
	login := rq.token.Login
	author := identity{login, fmt.Sprintf("%d+%s@users.noreply.github.com", idOf(login), login)}
	sha, err := s.commitTree(tree, parents, full+"\n", author)
	if err != nil {
		s.tb.Errorf("githubfake: merge pull request #%d: %v", p.number, err)
		return errorResponse(rq, http.StatusInternalServerError, "Server Error")
	}
	if err := s.updateRef("refs/heads/"+p.base, sha, p.baseSHA, "merge pull request #"+strconv.Itoa(p.number)); err != nil {
		// A push moved the base between reading it and the update.
		return &response{status: http.StatusConflict, body: errorBody("Base branch was modified. Review and try the merge again.", docURL(rq.op), http.StatusConflict)}
	}
	before := p.baseSHA
	now := s.now()
	p.state, p.merged, p.mergeCommitSHA, p.mergedBy = "closed", true, sha, login
	p.closedAt, p.mergedAt, p.updated = &now, &now, now
	s.pullEvent("closed", p, login, nil)
	s.pushEvent("refs/heads/"+p.base, before, sha, login)
	return &response{status: http.StatusOK, body: map[string]any{"sha": sha, "merged": true, "message": "Pull Request successfully merged"}}
}

func listReviewers(s *Server, rq *request) *response {
	p := s.pullByNumber(rq.params["pull_number"])
	if p == nil {
		return notFound(rq)
	}
	users, teams := []any{}, []any{}
	for _, r := range p.reviewers {
		users = append(users, s.userJSON(r))
	}
	for _, t := range p.teams {
		teams = append(teams, s.teamJSON(t))
	}
	return &response{status: http.StatusOK, body: map[string]any{"users": users, "teams": teams}}
}

type reviewersInput struct {
	Reviewers     []string `json:"reviewers"`
	TeamReviewers []string `json:"team_reviewers"`
}

func requestReviewers(s *Server, rq *request) *response {
	p := s.pullByNumber(rq.params["pull_number"])
	if p == nil {
		return notFound(rq)
	}
	var in reviewersInput
	if err := rq.decode(&in); err != nil {
		return problemsParsingJSON(rq)
	}
	for _, r := range in.Reviewers {
		if strings.EqualFold(r, p.user) {
			return unprocessable(rq, "Review cannot be requested from pull request author.")
		}
	}
	for _, r := range in.Reviewers {
		if !slices.Contains(p.reviewers, r) {
			p.reviewers = append(p.reviewers, r)
		}
	}
	for _, t := range in.TeamReviewers {
		if !slices.Contains(p.teams, t) {
			p.teams = append(p.teams, t)
		}
	}
	p.updated = s.now()
	return &response{status: http.StatusCreated, body: s.pullJSON(p, false)}
}

func removeReviewers(s *Server, rq *request) *response {
	p := s.pullByNumber(rq.params["pull_number"])
	if p == nil {
		return notFound(rq)
	}
	var in reviewersInput
	if err := rq.decode(&in); err != nil {
		return problemsParsingJSON(rq)
	}
	p.reviewers = slices.DeleteFunc(p.reviewers, func(r string) bool { return slices.Contains(in.Reviewers, r) })
	p.teams = slices.DeleteFunc(p.teams, func(t string) bool { return slices.Contains(in.TeamReviewers, t) })
	p.updated = s.now()
	return &response{status: http.StatusOK, body: s.pullJSON(p, false)}
}

// closeHeadless closes the open pull requests whose head branch was
// deleted, as GitHub does. The caller holds s.mu.
func (s *Server) closeHeadless(branch, sender string) {
	for _, p := range s.pulls {
		if p.state == "open" && p.forkOwner == "" && p.head == branch {
			now := s.now()
			p.state, p.closedAt, p.updated = "closed", &now, now
			s.pullEvent("closed", p, sender, nil)
		}
	}
}

// commitIn reports whether commit is one of the pull request's own
// commits (reachable from its head, not from the base it was opened on) or
// its merge commit.
func (s *Server) commitIn(p *pull, commit string) bool {
	if p.mergeCommitSHA == commit {
		return true
	}
	inHead, err := s.isAncestor(commit, p.headSHA)
	if err != nil || !inHead {
		return false
	}
	inBase, err := s.isAncestor(commit, p.baseSHA)
	return err == nil && !inBase
}

// pullsForCommit lists, like GitHub, the merged pull request that brought
// a commit of the default branch into it, or for a commit outside the
// default branch the merged and open pull requests containing it.
func pullsForCommit(s *Server, rq *request) *response {
	sha, err := s.commitOf(rq.params["commit_sha"])
	if err != nil {
		return unprocessable(rq, "No commit found for SHA: "+rq.params["commit_sha"])
	}
	onDefault := false
	if tip := s.refSHA("refs/heads/" + s.defaultRef); tip != "" {
		onDefault, _ = s.isAncestor(sha, tip)
	}
	var sel []*pull
	for _, p := range s.pulls {
		s.refresh(p)
		if (p.merged || (!onDefault && p.state == "open")) && s.commitIn(p, sha) {
			sel = append(sel, p)
		}
	}
	rs := &response{status: http.StatusOK}
	out := []any{}
	for _, p := range paginate(s, rq, rs, sel) {
		out = append(out, s.pullJSON(p, false))
	}
	rs.body = out
	return rs
}
