package githubfake

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-github/v62/github"
)

func TestPullRequestLifecycleMakesRealMergeCommit(t *testing.T) {
	s := seeded(t)
	gh := s.Client(InstallationToken)
	mainBefore := gitOut(t, s, "rev-parse", "refs/heads/main")
	head := pushBranch(t, s, "modelops/sepsis-risk/retrain", "models/sepsis-risk.yaml", "generation: 6\n")

	pr, resp, err := gh.PullRequests.Create(ctx, "medimind", "policies", &github.NewPullRequest{
		Title: github.String("Retrain sepsis-risk"), Head: github.String("modelops/sepsis-risk/retrain"),
		Base: github.String("main"), Body: github.String("drift in 6 of 10 reports"),
	})
	if err != nil {
		t.Fatalf("create pull request: %v", err)
	}
	if resp.StatusCode != http.StatusCreated || pr.GetNumber() != 1 || pr.GetState() != "open" {
		t.Fatalf("create: status %d, number %d, state %q", resp.StatusCode, pr.GetNumber(), pr.GetState())
	}
	if pr.GetHead().GetSHA() != head || pr.GetBase().GetSHA() != mainBefore || pr.GetUser().GetLogin() != "modelops[bot]" {
		t.Fatalf("create: head %s base %s user %s, want %s %s modelops[bot]", pr.GetHead().GetSHA(), pr.GetBase().GetSHA(), pr.GetUser().GetLogin(), head, mainBefore)
	}
	if pr.GetCommits() != 1 || pr.GetChangedFiles() != 1 || !pr.GetMergeable() {
		t.Errorf("create: commits %d changed files %d mergeable %v, want 1 1 true", pr.GetCommits(), pr.GetChangedFiles(), pr.GetMergeable())
	}

	pr, _, err = gh.PullRequests.Edit(ctx, "medimind", "policies", 1, &github.PullRequest{Title: github.String("Retrain sepsis-risk (generation 6)")})
	if err != nil || pr.GetTitle() != "Retrain sepsis-risk (generation 6)" || pr.GetBody() != "drift in 6 of 10 reports" {
		t.Fatalf("edit title: %v, title %q body %q", err, pr.GetTitle(), pr.GetBody())
	}

	// The branch moves: the open pull request follows it.
	head2 := pushBranch(t, s, "other", "x.txt", "x\n") // an unrelated branch from main
	_ = head2
	list, _, err := gh.PullRequests.List(ctx, "medimind", "policies", &github.PullRequestListOptions{Head: "medimind:modelops/sepsis-risk/retrain"})
	if err != nil || len(list) != 1 || list[0].GetNumber() != 1 {
		t.Fatalf("list by head: %v, %d pull requests", err, len(list))
	}

	merge, resp, err := gh.PullRequests.Merge(ctx, "medimind", "policies", 1, "", &github.PullRequestOptions{SHA: head})
	if err != nil || resp.StatusCode != http.StatusOK || !merge.GetMerged() {
		t.Fatalf("merge: %v status %d merged %v", err, status(resp), merge.GetMerged())
	}
	mainAfter := gitOut(t, s, "rev-parse", "refs/heads/main")
	if mainAfter != merge.GetSHA() {
		t.Fatalf("main is %s after merge, merge answered %s", mainAfter, merge.GetSHA())
	}
	if parents := gitOut(t, s, "log", "-1", "--format=%P", mainAfter); parents != mainBefore+" "+head {
		t.Errorf("merge commit parents %q, want %q", parents, mainBefore+" "+head)
	}
	msg := gitOut(t, s, "log", "-1", "--format=%B", mainAfter)
	if want := "Merge pull request #1 from medimind/modelops/sepsis-risk/retrain\n\nRetrain sepsis-risk (generation 6)"; msg != want {
		t.Errorf("merge commit message %q, want %q", msg, want)
	}
	if c := gitOut(t, s, "log", "-1", "--format=%cn <%ce>", mainAfter); c != "GitHub <noreply@github.com>" {
		t.Errorf("merge committer %q", c)
	}
	if got := gitOut(t, s, "show", mainAfter+":models/sepsis-risk.yaml"); got != "generation: 6" {
		t.Errorf("merged file %q", got)
	}

	pr, _, err = gh.PullRequests.Get(ctx, "medimind", "policies", 1)
	if err != nil || pr.GetState() != "closed" || !pr.GetMerged() || pr.GetMergeCommitSHA() != mainAfter || pr.GetMergedBy().GetLogin() != "modelops[bot]" {
		t.Fatalf("after merge: %v state %q merged %v sha %s", err, pr.GetState(), pr.GetMerged(), pr.GetMergeCommitSHA())
	}
	if merged, _, err := gh.PullRequests.IsMerged(ctx, "medimind", "policies", 1); err != nil || !merged {
		t.Errorf("is merged: %v %v", merged, err)
	}
	// Merging again is refused like GitHub refuses it.
	_, resp, err = gh.PullRequests.Merge(ctx, "medimind", "policies", 1, "", nil)
	if status(resp) != http.StatusMethodNotAllowed || err == nil {
		t.Errorf("second merge: status %d err %v, want 405", status(resp), err)
	}
	open, _, err := gh.PullRequests.List(ctx, "medimind", "policies", nil)
	if err != nil || len(open) != 0 {
		t.Errorf("open pull requests after merge: %d (%v)", len(open), err)
	}
}

func TestSquashMergeAndClose(t *testing.T) {
	s := seeded(t)
	gh := s.Client(InstallationToken)
	base := gitOut(t, s, "rev-parse", "refs/heads/main")
	pushBranch(t, s, "a", "a.txt", "a\n")
	pushBranch(t, s, "b", "b.txt", "b\n")
	for _, h := range []string{"a", "b"} {
		if _, _, err := gh.PullRequests.Create(ctx, "medimind", "policies", &github.NewPullRequest{Title: github.String("add " + h), Head: github.String(h), Base: github.String("main")}); err != nil {
			t.Fatalf("create %s: %v", h, err)
		}
	}
	res, _, err := gh.PullRequests.Merge(ctx, "medimind", "policies", 1, "", &github.PullRequestOptions{MergeMethod: "squash"})
	if err != nil {
		t.Fatalf("squash: %v", err)
	}
	if parents := gitOut(t, s, "log", "-1", "--format=%P", res.GetSHA()); parents != base {
		t.Errorf("squash commit parents %q, want only %s", parents, base)
	}
	if subj := gitOut(t, s, "log", "-1", "--format=%s", res.GetSHA()); subj != "add a (#1)" {
		t.Errorf("squash subject %q", subj)
	}

	pr, _, err := gh.PullRequests.Edit(ctx, "medimind", "policies", 2, &github.PullRequest{State: github.String("closed")})
	if err != nil || pr.GetState() != "closed" || pr.GetMerged() || pr.ClosedAt == nil {
		t.Fatalf("close: %v state %q merged %v", err, pr.GetState(), pr.GetMerged())
	}
	_, resp, err := gh.PullRequests.Merge(ctx, "medimind", "policies", 2, "", nil)
	if status(resp) != http.StatusMethodNotAllowed {
		t.Errorf("merge closed: status %d (%v), want 405", status(resp), err)
	}
	pr, _, err = gh.PullRequests.Edit(ctx, "medimind", "policies", 2, &github.PullRequest{State: github.String("open")})
	if err != nil || pr.GetState() != "open" {
		t.Fatalf("reopen: %v state %q", err, pr.GetState())
	}
	all, _, err := gh.PullRequests.List(ctx, "medimind", "policies", &github.PullRequestListOptions{State: "all"})
	if err != nil || len(all) != 2 {
		t.Errorf("list all: %d (%v)", len(all), err)
	}
}

func TestCreatePullRequestValidation(t *testing.T) {
	s := seeded(t)
	gh := s.Client(InstallationToken)
	pushBranch(t, s, "feature", "f.txt", "f\n")
	tests := []struct {
		name          string
		pr            github.NewPullRequest
		wantField     string
		wantCode      string
		wantMessageIn string
	}{
		{name: "a head branch that does not exist is invalid",
			pr: github.NewPullRequest{Title: github.String("t"), Head: github.String("nope"), Base: github.String("main")}, wantField: "head", wantCode: "invalid"},
		{name: "a base branch that does not exist is invalid",
			pr: github.NewPullRequest{Title: github.String("t"), Head: github.String("feature"), Base: github.String("nope")}, wantField: "base", wantCode: "invalid"},
		{name: "a body over 65536 characters is too long",
			pr:        github.NewPullRequest{Title: github.String("t"), Head: github.String("feature"), Base: github.String("main"), Body: github.String(strings.Repeat("é", 65537))},
			wantField: "body", wantCode: "custom", wantMessageIn: "maximum is 65536"},
		{name: "no commits between base and head",
			pr: github.NewPullRequest{Title: github.String("t"), Head: github.String("main"), Base: github.String("main")}, wantCode: "custom", wantMessageIn: "No commits between main and main"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, resp, err := gh.PullRequests.Create(ctx, "medimind", "policies", &tc.pr)
			if status(resp) != http.StatusUnprocessableEntity {
				t.Fatalf("status %d (%v), want 422", status(resp), err)
			}
			er := errorResponseOf(t, err)
			if er.Message != "Validation Failed" || len(er.Errors) != 1 || er.DocumentationURL == "" {
				t.Fatalf("error body %+v", er)
			}
			e := er.Errors[0]
			if e.Field != tc.wantField || e.Code != tc.wantCode || !strings.Contains(e.Message, tc.wantMessageIn) || e.Resource == "" {
				t.Errorf("error %+v, want field %q code %q message containing %q", e, tc.wantField, tc.wantCode, tc.wantMessageIn)
			}
		})
	}
	// Exactly 65536 characters is accepted.
	if _, _, err := gh.PullRequests.Create(ctx, "medimind", "policies", &github.NewPullRequest{Title: github.String("t"), Head: github.String("feature"), Base: github.String("main"), Body: github.String(strings.Repeat("é", 65536))}); err != nil {
		t.Fatalf("body of 65536 characters: %v", err)
	}
	_, resp, err := gh.PullRequests.Create(ctx, "medimind", "policies", &github.NewPullRequest{Title: github.String("again"), Head: github.String("medimind:feature"), Base: github.String("main")})
	if status(resp) != http.StatusUnprocessableEntity {
		t.Fatalf("duplicate: status %d (%v)", status(resp), err)
	}
	if er := errorResponseOf(t, err); len(er.Errors) != 1 || er.Errors[0].Message != "A pull request already exists for medimind:feature." {
		t.Errorf("duplicate error %+v", er.Errors)
	}
	if _, resp, _ := gh.PullRequests.Get(ctx, "medimind", "policies", 99); status(resp) != http.StatusNotFound {
		t.Errorf("unknown pull request: status %d, want 404", status(resp))
	}
	if _, resp, _ := gh.PullRequests.Get(ctx, "medimind", "other", 1); status(resp) != http.StatusNotFound {
		t.Errorf("unknown repository: status %d, want 404", status(resp))
	}
}

func TestReviewersCommentsLabels(t *testing.T) {
	s := seeded(t)
	gh := s.Client(InstallationToken)
	pushBranch(t, s, "feature", "f.txt", "f\n")
	if _, _, err := gh.PullRequests.Create(ctx, "medimind", "policies", &github.NewPullRequest{Title: github.String("t"), Head: github.String("feature"), Base: github.String("main")}); err != nil {
		t.Fatal(err)
	}
	pr, resp, err := gh.PullRequests.RequestReviewers(ctx, "medimind", "policies", 1, github.ReviewersRequest{Reviewers: []string{"alice", "bob"}, TeamReviewers: []string{"ml-oncall"}})
	if err != nil || resp.StatusCode != http.StatusCreated || len(pr.RequestedReviewers) != 2 || len(pr.RequestedTeams) != 1 {
		t.Fatalf("request reviewers: %v status %d, %d users %d teams", err, status(resp), len(pr.RequestedReviewers), len(pr.RequestedTeams))
	}
	if _, err := gh.PullRequests.RemoveReviewers(ctx, "medimind", "policies", 1, github.ReviewersRequest{Reviewers: []string{"bob"}}); err != nil {
		t.Fatalf("remove reviewer: %v", err)
	}
	rv, _, err := gh.PullRequests.ListReviewers(ctx, "medimind", "policies", 1, nil)
	if err != nil || len(rv.Users) != 1 || rv.Users[0].GetLogin() != "alice" || len(rv.Teams) != 1 || rv.Teams[0].GetSlug() != "ml-oncall" {
		t.Fatalf("reviewers after removal: %v %+v", err, rv)
	}
	_, resp, _ = gh.PullRequests.RequestReviewers(ctx, "medimind", "policies", 1, github.ReviewersRequest{Reviewers: []string{"modelops[bot]"}})
	if status(resp) != http.StatusUnprocessableEntity {
		t.Errorf("review from the author: status %d, want 422", status(resp))
	}

	for i := range 3 {
		c, resp, err := gh.Issues.CreateComment(ctx, "medimind", "policies", 1, &github.IssueComment{Body: github.String(strings.Repeat("x", i+1))})
		if err != nil || resp.StatusCode != http.StatusCreated || c.GetUser().GetLogin() != "modelops[bot]" {
			t.Fatalf("comment %d: %v status %d", i, err, status(resp))
		}
	}
	page1, resp, err := gh.Issues.ListComments(ctx, "medimind", "policies", 1, &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 2}})
	if err != nil || len(page1) != 2 || resp.NextPage != 2 || resp.LastPage != 2 {
		t.Fatalf("comments page 1: %v len %d next %d last %d", err, len(page1), resp.NextPage, resp.LastPage)
	}
	page2, resp, err := gh.Issues.ListComments(ctx, "medimind", "policies", 1, &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 2, Page: 2}})
	if err != nil || len(page2) != 1 || page2[0].GetBody() != "xxx" || resp.NextPage != 0 || resp.PrevPage != 1 || resp.FirstPage != 1 {
		t.Fatalf("comments page 2: %v len %d next %d prev %d", err, len(page2), resp.NextPage, resp.PrevPage)
	}
	edited, _, err := gh.Issues.EditComment(ctx, "medimind", "policies", page1[0].GetID(), &github.IssueComment{Body: github.String("updated")})
	if err != nil || edited.GetBody() != "updated" {
		t.Fatalf("edit comment: %v %q", err, edited.GetBody())
	}
	if got := s.Comments(1); len(got) != 3 || got[0].Body != "updated" {
		t.Errorf("Comments(1) = %+v", got)
	}
	_, resp, _ = gh.Issues.CreateComment(ctx, "medimind", "policies", 1, &github.IssueComment{Body: github.String(strings.Repeat("x", 65537))})
	if status(resp) != http.StatusUnprocessableEntity {
		t.Errorf("long comment: status %d, want 422", status(resp))
	}
	if _, resp, _ := gh.Issues.CreateComment(ctx, "medimind", "policies", 7, &github.IssueComment{Body: github.String("x")}); status(resp) != http.StatusNotFound {
		t.Errorf("comment on unknown issue: status %d, want 404", status(resp))
	}

	labels, _, err := gh.Issues.AddLabelsToIssue(ctx, "medimind", "policies", 1, []string{"modelops", "retrain"})
	if err != nil || len(labels) != 2 {
		t.Fatalf("add labels: %v %d", err, len(labels))
	}
	labels, _, err = gh.Issues.AddLabelsToIssue(ctx, "medimind", "policies", 1, []string{"Retrain", "drift"})
	if err != nil || len(labels) != 3 {
		t.Fatalf("add labels again (one differs in case only): %v %d", err, len(labels))
	}
	if _, err := gh.Issues.RemoveLabelForIssue(ctx, "medimind", "policies", 1, "modelops"); err != nil {
		t.Fatalf("remove label: %v", err)
	}
	pr, _, err = gh.PullRequests.Get(ctx, "medimind", "policies", 1)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range pr.Labels {
		names = append(names, l.GetName())
	}
	if strings.Join(names, ",") != "retrain,drift" || pr.GetComments() != 3 {
		t.Errorf("pull request labels %v comments %d", names, pr.GetComments())
	}
}

func TestPullRequestsOfACommit(t *testing.T) {
	s := seeded(t)
	gh := s.Client(InstallationToken)
	seed := gitOut(t, s, "rev-parse", "main")
	a := pushBranch(t, s, "a", "a.txt", "a\n")
	pushBranch(t, s, "b", "b.txt", "b\n")
	for _, h := range []string{"a", "b"} {
		if _, _, err := gh.PullRequests.Create(ctx, "medimind", "policies", &github.NewPullRequest{Title: github.String(h), Head: github.String(h), Base: github.String("main")}); err != nil {
			t.Fatal(err)
		}
	}
	numbers := func(commit string) []int {
		t.Helper()
		prs, _, err := gh.PullRequests.ListPullRequestsWithCommit(ctx, "medimind", "policies", commit, nil)
		if err != nil {
			t.Fatalf("pull requests of %s: %v", commit, err)
		}
		var out []int
		for _, p := range prs {
			out = append(out, p.GetNumber())
		}
		return out
	}
	if got := numbers(a); len(got) != 1 || got[0] != 1 {
		t.Errorf("open branch commit: %v, want [1]", got)
	}
	if got := numbers(seed); len(got) != 0 {
		t.Errorf("seed commit: %v, want none", got)
	}
	merged, _, err := gh.PullRequests.Merge(ctx, "medimind", "policies", 1, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{merged.GetSHA(), a} {
		if got := numbers(c); len(got) != 1 || got[0] != 1 {
			t.Errorf("commit %s on main after the merge: %v, want [1]", c, got)
		}
	}
	pr, _, err := gh.PullRequests.Get(ctx, "medimind", "policies", 1)
	if err != nil || pr.GetBase().GetSHA() != seed {
		t.Errorf("merged pull request base sha %s, want the base it merged into %s (%v)", pr.GetBase().GetSHA(), seed, err)
	}
	if _, resp, _ := gh.PullRequests.ListPullRequestsWithCommit(ctx, "medimind", "policies", strings.Repeat("0", 40), nil); status(resp) != http.StatusUnprocessableEntity {
		t.Errorf("unknown commit: status %d, want 422", status(resp))
	}
}

func TestPullRequestsFromForks(t *testing.T) {
	s := seeded(t)
	gh := s.Client(InstallationToken)
	head := pushBranch(t, s, "modelops/x/retrain", "f.txt", "f\n")
	if _, _, err := gh.PullRequests.Create(ctx, "medimind", "policies", &github.NewPullRequest{Title: github.String("ours"), Head: github.String("modelops/x/retrain"), Base: github.String("main")}); err != nil {
		t.Fatal(err)
	}
	live := s.OpenForkPullRequest(ForkPull{Owner: "mallory", Branch: "modelops/x/retrain", Base: "main", Title: "live fork", HeadSHA: head})
	gone := s.OpenForkPullRequest(ForkPull{Owner: "eve", Branch: "modelops/x/retrain", Base: "main", Title: "deleted fork", HeadSHA: head, Deleted: true})

	all, _, err := gh.PullRequests.List(ctx, "medimind", "policies", &github.PullRequestListOptions{State: "open"})
	if err != nil || len(all) != 3 {
		t.Fatalf("list: %v, %d pull requests", err, len(all))
	}
	repos := map[int]string{}
	for _, p := range all {
		repos[p.GetNumber()] = p.GetHead().GetRepo().GetFullName()
	}
	if repos[1] != "medimind/policies" || repos[live] != "mallory/policies" || repos[gone] != "" {
		t.Errorf("head repositories %v", repos)
	}
	if p, _, err := gh.PullRequests.Get(ctx, "medimind", "policies", gone); err != nil || p.GetHead().Repo != nil || p.GetHead().GetLabel() != "eve:modelops/x/retrain" {
		t.Errorf("deleted fork's pull request: %v, head %+v", err, p.GetHead())
	}
	for head, want := range map[string]int{"medimind:modelops/x/retrain": 1, "mallory:modelops/x/retrain": live, "eve:modelops/x/retrain": gone} {
		got, _, err := gh.PullRequests.List(ctx, "medimind", "policies", &github.PullRequestListOptions{State: "all", Head: head})
		if err != nil || len(got) != 1 || got[0].GetNumber() != want {
			t.Errorf("head=%s: %v, %d pull requests", head, err, len(got))
		}
	}
}
