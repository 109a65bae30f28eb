package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medimind/modelops/internal/testutil/gitserver"
)

// modelopsIn runs the CLI against the local repository repo and returns its exit status.
func modelopsIn(t *testing.T, repo string, args ...string) int {
	t.Helper()
	state := filepath.Join(filepath.Dir(repo), "state")
	return execute(context.Background(), append(args, "--repo", repo, "--state-dir", state))
}

func TestRetrainRefusesControlCharactersAndKeepsTheRepositoryClean(t *testing.T) {
	repo := runRepo(t, 6)
	refs := gitserver.MustGit(t, repo, "for-each-ref")
	for _, args := range [][]string{
		{"retrain", "sepsis-risk", "--reason", "drift\x00\x1b[2Jhidden"},
		{"retrain", "sepsis-risk", "--reason", "drift", "--by", "ana\nModelops-Action: launch"},
	} {
		if code := modelopsIn(t, repo, args...); code != 2 {
			t.Fatalf("%q exits %d, want 2", args, code)
		}
		if got := gitserver.MustGit(t, repo, "for-each-ref"); got != refs {
			t.Fatalf("a refused retrain wrote to the repository:\n%s", got)
		}
	}
	if code := modelopsIn(t, repo, "retrain", "sepsis-risk", "--reason", "new cohort\n\tfrom ward 4", "--by", "ana"); code != 0 {
		t.Fatalf("retrain exits %d", code)
	}
	if out, err := gitserver.Git(repo, "fsck", "--strict", "--no-dangling"); err != nil || out != "" {
		t.Fatalf("git fsck: %v\n%s", err, out)
	}
	if log := gitserver.MustGit(t, repo, "log", "--format=%B", "modelops/sepsis-risk/retrain"); !strings.Contains(log, "Modelops-Action: propose-retrain") {
		t.Fatalf("the retrain proposal's commit:\n%s", log)
	}
}

// TestProposalsMergeInACheckoutKeepsItInStep merges a proposal into a normal checkout with
// main checked out, as a person reviewing on their own clone does: the checkout shows the
// merge, and the person's next commit keeps it. A checkout with changes is refused.
func TestProposalsMergeInACheckoutKeepsItInStep(t *testing.T) {
	repo := runRepo(t, 6)
	if code := modelopsIn(t, repo, "retrain", "sepsis-risk", "--reason", "new cohort"); code != 0 {
		t.Fatalf("retrain exits %d", code)
	}

	// Refused while the person has an edit of their own; nothing changes.
	policy := filepath.Join(repo, "models", "sepsis-risk.yaml")
	mine := []byte(fmt.Sprintf(runPolicy, 6) + "# half-written note\n")
	if err := os.WriteFile(policy, mine, 0o644); err != nil {
		t.Fatal(err)
	}
	head := gitserver.MustGit(t, repo, "rev-parse", "main")
	if code := modelopsIn(t, repo, "proposals", "merge", "sepsis-risk/retrain", "--by", "Ana", "--email", "ana@example.com"); code != 1 {
		t.Fatalf("merge into a dirty checkout exits %d, want 1", code)
	}
	if got, _ := os.ReadFile(policy); gitserver.MustGit(t, repo, "rev-parse", "main") != head || string(got) != string(mine) {
		t.Fatal("a refused merge changed the checkout")
	}
	gitserver.MustGit(t, repo, "checkout", "--", ".")

	if code := modelopsIn(t, repo, "proposals", "merge", "sepsis-risk/retrain", "--by", "Ana", "--email", "ana@example.com"); code != 0 {
		t.Fatalf("merge exits %d", code)
	}
	if got := gitserver.MustGit(t, repo, "status", "--porcelain"); got != "" {
		t.Fatalf("git status after the merge:\n%s", got)
	}
	if err := os.WriteFile(filepath.Join(repo, "NOTES.md"), []byte("retrained for the new cohort\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitserver.MustGit(t, repo, "add", "-A")
	gitserver.MustGit(t, repo, "commit", "-q", "-m", "Add notes")
	if got := gitserver.MustGit(t, repo, "show", "HEAD:models/sepsis-risk.yaml"); !strings.Contains(got, "generation: 7") {
		t.Fatalf("the person's next commit reverted the merge:\n%s", got)
	}
}
