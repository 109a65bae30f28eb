package githubfake

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-github/v62/github"

	"github.com/medimind/modelops/internal/testutil/gitserver"
)

// seeded starts a fake with the seed fixture on main.
func seeded(t *testing.T, opts ...Option) *Server {
	t.Helper()
	s := New(t, opts...)
	s.Seed(t, "main", "testdata/seed")
	return s
}

// pushBranch commits content to file on a new branch cut from main and
// pushes it, playing a person or the reconciler; it returns the commit.
func pushBranch(t *testing.T, s *Server, branch, file, content string) string {
	t.Helper()
	dir := pushBranchDir(t, s, branch, file, content)
	return strings.TrimSpace(gitserver.MustGit(t, dir, "rev-parse", "HEAD"))
}

// pushBranchDir is pushBranch returning the work tree it pushed from.
func pushBranchDir(t *testing.T, s *Server, branch, file, content string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "work")
	gitserver.MustGit(t, filepath.Dir(dir), "clone", "-q", s.GitURL(), dir)
	gitserver.MustGit(t, dir, "checkout", "-q", "-b", branch)
	if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, file)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	gitserver.MustGit(t, dir, "add", "-A")
	gitserver.MustGit(t, dir, "commit", "-q", "-m", "change "+file)
	gitserver.MustGit(t, dir, "push", "-q", "origin", branch)
	return dir
}

// gitOut runs git in the backing bare repository.
func gitOut(t *testing.T, s *Server, args ...string) string {
	t.Helper()
	return strings.TrimSpace(gitserver.MustGit(t, s.GitDir(), args...))
}

// errorResponseOf returns go-github's error response, failing the test when
// err is something else.
func errorResponseOf(t *testing.T, err error) *github.ErrorResponse {
	t.Helper()
	var er *github.ErrorResponse
	if !errors.As(err, &er) {
		t.Fatalf("error = %T %v, want *github.ErrorResponse", err, err)
	}
	return er
}

// recordingTB collects what the fake reports through Errorf, so a test can
// prove the fake reports a violation without failing itself.
type recordingTB struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recordingTB) Errors() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errs...)
}

var ctx = context.Background()

func status(resp *github.Response) int {
	if resp == nil {
		return 0
	}
	return resp.StatusCode
}
