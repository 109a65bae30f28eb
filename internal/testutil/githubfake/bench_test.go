package githubfake

import (
	"testing"

	"github.com/google/go-github/v62/github"
)

// BenchmarkGetPullRequest measures one validated round trip of the call a
// forge makes most, GET pulls/{n}; the handler reads the branch tips,
// diff figures and mergeability from git.
func BenchmarkGetPullRequest(b *testing.B) {
	s := New(b)
	s.Seed(b, "main", "testdata/seed")
	gh := s.Client(InstallationToken)
	pushBranchB(b, s)
	if _, _, err := gh.PullRequests.Create(ctx, "medimind", "policies", &github.NewPullRequest{Title: github.String("t"), Head: github.String("feature"), Base: github.String("main")}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, err := gh.PullRequests.Get(ctx, "medimind", "policies", 1); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCreateStatus measures a validated write that touches git once.
func BenchmarkCreateStatus(b *testing.B) {
	s := New(b)
	s.Seed(b, "main", "testdata/seed")
	gh := s.Client(InstallationToken)
	sha, err := s.commitOf("main")
	if err != nil {
		b.Fatal(err)
	}
	st := &github.RepoStatus{State: github.String("success"), Context: github.String("modelops/drift")}
	for b.Loop() {
		if _, _, err := gh.Repositories.CreateStatus(ctx, "medimind", "policies", sha, st); err != nil {
			b.Fatal(err)
		}
	}
}

func pushBranchB(b *testing.B, s *Server) {
	b.Helper()
	main, err := s.commitOf("main")
	if err != nil {
		b.Fatal(err)
	}
	tree, err := s.git1("rev-parse", main+"^{tree}")
	if err != nil {
		b.Fatal(err)
	}
	// An empty commit on top of main is enough for a pull request.
	sha, err := s.commitTree(tree, []string{main}, "feature\n", identity{"Test Person", "person@example.com"})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.updateRef("refs/heads/feature", sha, "", "benchmark"); err != nil {
		b.Fatal(err)
	}
}
