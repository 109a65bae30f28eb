package gitserver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSeedPushAndReflog(t *testing.T) {
	s := New(t, Options{})
	url := s.Seed(t, "policies.git", "main", "testdata/seed")

	dir := t.TempDir()
	MustGit(t, dir, "clone", "-q", url, "work")
	work := filepath.Join(dir, "work")
	if got := strings.TrimSpace(MustGit(t, work, "rev-parse", "--abbrev-ref", "HEAD")); got != "main" {
		t.Fatalf("default branch of clone = %q, want main", got)
	}
	if _, err := os.Stat(filepath.Join(work, "models", "a.yaml")); err != nil {
		t.Fatalf("seeded file missing from clone: %v", err)
	}
	if out := MustGit(t, work, "ls-remote", "--heads", "origin"); strings.Count(out, "refs/heads/") != 1 {
		t.Fatalf("seeded repository should have only main:\n%s", out)
	}
	seed := strings.TrimSpace(MustGit(t, work, "rev-parse", "HEAD"))

	if err := os.WriteFile(filepath.Join(work, "b.txt"), []byte("b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	MustGit(t, work, "add", "b.txt")
	MustGit(t, work, "commit", "-q", "-m", "add b")
	MustGit(t, work, "push", "-q", "origin", "main")
	second := strings.TrimSpace(MustGit(t, work, "rev-parse", "HEAD"))

	// Rewrite the last commit and force it over: the reflog must show an
	// update whose old value is not the new value's parent.
	MustGit(t, work, "commit", "-q", "--amend", "-m", "add b, amended")
	MustGit(t, work, "push", "-q", "--force", "origin", "main")
	amended := strings.TrimSpace(MustGit(t, work, "rev-parse", "HEAD"))

	ups, err := s.RefUpdates("policies.git", "refs/heads/main")
	if err != nil {
		t.Fatal(err)
	}
	want := []RefUpdate{{Old: strings.Repeat("0", 40), New: seed}, {Old: seed, New: second}, {Old: second, New: amended}}
	if len(ups) != len(want) {
		t.Fatalf("reflog has %d entries %+v, want %d", len(ups), ups, len(want))
	}
	for i := range want {
		if ups[i].Old != want[i].Old || ups[i].New != want[i].New {
			t.Errorf("reflog[%d] = %s..%s, want %s..%s", i, ups[i].Old, ups[i].New, want[i].Old, want[i].New)
		}
	}
}

func TestAuthRequired(t *testing.T) {
	s := New(t, Options{Username: "bot", Password: "s3cret"})
	s.Seed(t, "p.git", "main", "testdata/seed")
	dir := t.TempDir()
	if _, err := Git(dir, "clone", "-q", s.URL("p.git"), "anon"); err == nil {
		t.Fatal("clone without credentials succeeded, want authentication failure")
	}
	if _, err := Git(dir, "clone", "-q", strings.Replace(s.URLWithCredentials("p.git"), "s3cret", "wrong", 1), "wrong"); err == nil {
		t.Fatal("clone with a wrong password succeeded")
	}
	MustGit(t, dir, "clone", "-q", s.URLWithCredentials("p.git"), "authed")
	authed := filepath.Join(dir, "authed")
	MustGit(t, authed, "commit", "-q", "--allow-empty", "-m", "authed push")
	MustGit(t, authed, "push", "-q", "origin", "main")
}
