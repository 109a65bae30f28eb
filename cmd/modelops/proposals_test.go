package main

import (
	"context"
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
