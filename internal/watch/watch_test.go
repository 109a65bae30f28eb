package watch

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func gitCmd(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// TestRefsNotifiesOnACommitAndANewBranch drives a real git repository with the git CLI, as
// a person would, and expects a notification for each change.
func TestRefsNotifiesOnACommitAndANewBranch(t *testing.T) {
	dir := t.TempDir()
	gitCmd(t, dir, "init", "-q", "-b", "main")
	gitCmd(t, dir, "commit", "-q", "--allow-empty", "-m", "first")
	gd, err := GitDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	notify := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() { done <- Refs(ctx, gd, notify) }()
	time.Sleep(100 * time.Millisecond) // let the watches be added

	expect := func(what string) {
		t.Helper()
		select {
		case <-notify:
		case err := <-done:
			t.Fatalf("watcher stopped: %v", err)
		case <-time.After(5 * time.Second):
			t.Fatalf("no notification after %s", what)
		}
	}
	gitCmd(t, dir, "commit", "-q", "--allow-empty", "-m", "second")
	expect("a commit on main")
	gitCmd(t, dir, "branch", "modelops/sepsis/retrain")
	expect("a new branch in a new directory")
	time.Sleep(2 * Debounce)
	gitCmd(t, dir, "update-ref", "refs/heads/modelops/sepsis/retrain", "HEAD~1")
	expect("a change of a branch in a directory created after the start")
	gitCmd(t, dir, "pack-refs", "--all")
	expect("packing refs")

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Refs returned %v after cancel, want nil", err)
	}
}

func TestGitDirOfBareAndWorkingRepositories(t *testing.T) {
	work, bare := t.TempDir(), t.TempDir()
	gitCmd(t, work, "init", "-q")
	gitCmd(t, bare, "init", "-q", "--bare")
	if got, err := GitDir(work); err != nil || got != filepath.Join(work, ".git") {
		t.Fatalf("GitDir(work) = %q, %v", got, err)
	}
	if got, err := GitDir(bare); err != nil || got != bare {
		t.Fatalf("GitDir(bare) = %q, %v", got, err)
	}
	if _, err := GitDir(t.TempDir()); err == nil {
		t.Fatal("GitDir of a plain directory did not fail")
	}
}
