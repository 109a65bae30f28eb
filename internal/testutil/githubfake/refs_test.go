package githubfake

import (
	"net/http"
	"testing"

	"github.com/google/go-github/v62/github"

	"github.com/medimind/modelops/internal/testutil/gitserver"
)

func TestRefsActOnTheRepository(t *testing.T) {
	s := seeded(t)
	gh := s.Client(InstallationToken)
	main := gitOut(t, s, "rev-parse", "refs/heads/main")

	ref, resp, err := gh.Git.CreateRef(ctx, "medimind", "policies", &github.Reference{Ref: github.String("refs/heads/modelops/status"), Object: &github.GitObject{SHA: github.String(main)}})
	if err != nil || resp.StatusCode != http.StatusCreated || ref.GetObject().GetSHA() != main {
		t.Fatalf("create ref: %v status %d", err, status(resp))
	}
	if got := gitOut(t, s, "rev-parse", "refs/heads/modelops/status"); got != main {
		t.Fatalf("created ref in git = %s, want %s", got, main)
	}
	if _, resp, _ := gh.Git.CreateRef(ctx, "medimind", "policies", &github.Reference{Ref: github.String("refs/heads/modelops/status"), Object: &github.GitObject{SHA: github.String(main)}}); status(resp) != http.StatusUnprocessableEntity {
		t.Errorf("create existing ref: status %d, want 422", status(resp))
	}
	got, _, err := gh.Git.GetRef(ctx, "medimind", "policies", "heads/modelops/status")
	if err != nil || got.GetRef() != "refs/heads/modelops/status" || got.GetObject().GetType() != "commit" {
		t.Fatalf("get ref with slashes: %v %+v", err, got)
	}
	matching, _, err := gh.Git.ListMatchingRefs(ctx, "medimind", "policies", &github.ReferenceListOptions{Ref: "heads/modelops/"})
	if err != nil || len(matching) != 1 {
		t.Fatalf("matching refs: %v %d", err, len(matching))
	}

	next := pushBranch(t, s, "feature", "f.txt", "f\n") // a descendant of main
	if _, _, err := gh.Git.UpdateRef(ctx, "medimind", "policies", &github.Reference{Ref: github.String("refs/heads/modelops/status"), Object: &github.GitObject{SHA: github.String(next)}}, false); err != nil {
		t.Fatalf("fast-forward: %v", err)
	}
	_, resp, err = gh.Git.UpdateRef(ctx, "medimind", "policies", &github.Reference{Ref: github.String("refs/heads/modelops/status"), Object: &github.GitObject{SHA: github.String(main)}}, false)
	if status(resp) != http.StatusUnprocessableEntity || errorResponseOf(t, err).Message != "Update is not a fast forward" {
		t.Fatalf("non-fast-forward without force: status %d %v", status(resp), err)
	}
	if _, _, err := gh.Git.UpdateRef(ctx, "medimind", "policies", &github.Reference{Ref: github.String("refs/heads/modelops/status"), Object: &github.GitObject{SHA: github.String(main)}}, true); err != nil {
		t.Fatalf("forced update: %v", err)
	}
	if got := gitOut(t, s, "rev-parse", "refs/heads/modelops/status"); got != main {
		t.Fatalf("after forced update git has %s, want %s", got, main)
	}
	if resp, err := gh.Git.DeleteRef(ctx, "medimind", "policies", "heads/modelops/status"); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete ref: %v", err)
	}
	if _, resp, _ := gh.Git.GetRef(ctx, "medimind", "policies", "heads/modelops/status"); status(resp) != http.StatusNotFound {
		t.Errorf("get deleted ref: status %d, want 404", status(resp))
	}
	if resp, _ := gh.Git.DeleteRef(ctx, "medimind", "policies", "heads/modelops/status"); status(resp) != http.StatusUnprocessableEntity {
		t.Errorf("delete missing ref: status %d, want 422", status(resp))
	}
}

func TestDeletingTheHeadBranchClosesThePullRequest(t *testing.T) {
	s := seeded(t)
	gh := s.Client(InstallationToken)
	pushBranch(t, s, "a", "a.txt", "a\n")
	dir := pushBranchDir(t, s, "b", "b.txt", "b\n")
	for _, h := range []string{"a", "b"} {
		if _, _, err := gh.PullRequests.Create(ctx, "medimind", "policies", &github.NewPullRequest{Title: github.String(h), Head: github.String(h), Base: github.String("main")}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := gh.Git.DeleteRef(ctx, "medimind", "policies", "heads/a"); err != nil {
		t.Fatal(err)
	}
	gitserver.MustGit(t, dir, "push", "-q", "origin", "--delete", "b")
	for n := 1; n <= 2; n++ {
		pr, _, err := gh.PullRequests.Get(ctx, "medimind", "policies", n)
		if err != nil || pr.GetState() != "closed" || pr.GetMerged() {
			t.Errorf("#%d after its head branch was deleted: %v state %q", n, err, pr.GetState())
		}
		if _, resp, _ := gh.PullRequests.Edit(ctx, "medimind", "policies", n, &github.PullRequest{State: github.String("open")}); status(resp) != http.StatusUnprocessableEntity {
			t.Errorf("reopen #%d without its branch: status %d, want 422", n, status(resp))
		}
	}
}

func TestContentsAndRepository(t *testing.T) {
	s := seeded(t)
	gh := s.Client(InstallationToken)
	pushBranch(t, s, "feature", "models/new.yaml", "kind: ModelPolicy\n")

	file, dir, _, err := gh.Repositories.GetContents(ctx, "medimind", "policies", "models/new.yaml", &github.RepositoryContentGetOptions{Ref: "feature"})
	if err != nil || dir != nil {
		t.Fatalf("get file: %v", err)
	}
	content, err := file.GetContent()
	if err != nil || content != "kind: ModelPolicy\n" {
		t.Fatalf("file content %q (%v)", content, err)
	}
	if _, _, resp, _ := gh.Repositories.GetContents(ctx, "medimind", "policies", "models/new.yaml", nil); status(resp) != http.StatusNotFound {
		t.Errorf("file absent on the default branch: status %d, want 404", status(resp))
	}
	_, dir, _, err = gh.Repositories.GetContents(ctx, "medimind", "policies", "models", &github.RepositoryContentGetOptions{Ref: "feature"})
	if err != nil || len(dir) != 2 {
		t.Fatalf("get directory: %v, %d entries", err, len(dir))
	}

	repo, _, err := gh.Repositories.Get(ctx, "medimind", "policies")
	if err != nil || repo.GetDefaultBranch() != "main" || repo.GetFullName() != "medimind/policies" || repo.GetCloneURL() != s.GitURL() {
		t.Fatalf("get repository: %v %+v", err, repo)
	}
}
