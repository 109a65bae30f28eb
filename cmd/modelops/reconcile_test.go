package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/medimind/modelops/internal/testutil/gitserver"
)

// TestReconcileOnceExitsOnFailedTrainingAndInvalidPolicies: a training run that fails is
// reported by the cycle that finds it (with its last log lines) and makes it exit 1, once;
// an invalid policy makes every cycle exit 2 after the valid model was reconciled.
func TestReconcileOnceExitsOnFailedTrainingAndInvalidPolicies(t *testing.T) {
	repo := runRepo(t, 6)
	failing := strings.Replace(runPolicy, `"true"`, `"echo loading train.py; echo train.py: no module named torch; exit 1"`, 1)
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(repo, "models", name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("sepsis-risk.yaml", strings.Replace(failing, "%d", "6", 1))
	write("broken.yaml", "apiVersion: modelops.medimind.io/v1alpha1\nkind: ModelPolicy\nmetadata: {name: broken}\nspec:\n  canary: {version: \"2\", weight: 150}\n")
	gitserver.MustGit(t, repo, "add", "-A")
	gitserver.MustGit(t, repo, "commit", "-q", "-m", "a failing job and a broken policy")
	state := filepath.Join(t.TempDir(), "state")
	reconcile := func() (int, string) {
		t.Helper()
		code, out, _ := runCLI(t, "reconcile", "--once", "--repo", repo, "--state-dir", state)
		return code, out
	}

	if code, out := reconcile(); code != 2 || !strings.Contains(out, "invalid, left alone: models/broken.yaml") {
		t.Fatalf("with an invalid policy: exit %d, want 2\n%s", code, out)
	}
	write("sepsis-risk.yaml", strings.Replace(failing, "%d", "7", 1))
	gitserver.MustGit(t, repo, "commit", "-q", "-am", "Raise to generation 7")
	if code, out := reconcile(); code != 2 || !strings.Contains(out, "launch-training") {
		t.Fatalf("after the raise: exit %d, want 2 with the launch\n%s", code, out)
	}
	waitFile(t, filepath.Join(state, "runs", "sepsis-risk", "gen-7", "exit"), 10*time.Second)

	code, out := reconcile()
	if code != 1 || !strings.Contains(out, "1 training run(s) failed") ||
		!strings.Contains(out, "training FAILED: sepsis-risk generation 7") || !strings.Contains(out, "no module named torch") {
		t.Fatalf("after the run failed: exit %d, want 1 and the failure with its log\n%s", code, out)
	}
	if code, out := reconcile(); code != 2 || strings.Contains(out, "training FAILED") {
		t.Fatalf("the next cycle: exit %d, want 2 without reporting the failure again\n%s", code, out)
	}
}
