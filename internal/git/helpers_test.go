package git

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/medimind/modelops/internal/testutil/gitserver"
)

const repoName = "policies.git"

var bot = Signature{Name: "modelops", Email: "modelops@example.com"}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// seeded starts a server with the policies fixture on branch main.
func seeded(t *testing.T, opts gitserver.Options) (*gitserver.Server, string) {
	t.Helper()
	srv := gitserver.New(t, opts)
	return srv, srv.Seed(t, repoName, "main", "testdata/policies")
}

func mustOpen(t *testing.T, url string, opts Options) *Repo {
	t.Helper()
	r, err := Open(testCtx(t), url, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return r
}

// serverRef returns the hash of ref in the server's bare repository, or ""
// when the ref does not exist.
func serverRef(t *testing.T, srv *gitserver.Server, ref string) string {
	t.Helper()
	repo, err := gogit.PlainOpen(srv.Dir(repoName))
	if err != nil {
		t.Fatal(err)
	}
	r, err := repo.Reference(plumbing.ReferenceName(ref), true)
	if err != nil {
		return ""
	}
	return r.Hash().String()
}

// isAncestor reports, on the server's repository, whether a is an ancestor
// of (or equal to) b.
func isAncestor(t *testing.T, srv *gitserver.Server, a, b string) bool {
	t.Helper()
	repo, err := gogit.PlainOpen(srv.Dir(repoName))
	if err != nil {
		t.Fatal(err)
	}
	ca, err := repo.CommitObject(plumbing.NewHash(a))
	if err != nil {
		t.Fatalf("read %s: %v", a, err)
	}
	cb, err := repo.CommitObject(plumbing.NewHash(b))
	if err != nil {
		t.Fatalf("read %s: %v", b, err)
	}
	ok, err := ca.IsAncestor(cb)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// human is a person with a clone made by the git command-line client.
type human struct {
	t   *testing.T
	dir string
}

func newHuman(t *testing.T, url string) *human {
	t.Helper()
	parent := t.TempDir()
	gitserver.MustGit(t, parent, "clone", "-q", "-b", "main", url, "work")
	return &human{t: t, dir: filepath.Join(parent, "work")}
}

// commit writes files (nil deletes) and commits them, returning the hash.
func (h *human) commit(msg string, files map[string]string) string {
	h.t.Helper()
	for p, content := range files {
		full := filepath.Join(h.dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			h.t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			h.t.Fatal(err)
		}
	}
	gitserver.MustGit(h.t, h.dir, "add", "-A")
	gitserver.MustGit(h.t, h.dir, "commit", "-q", "-m", msg)
	return h.rev("HEAD")
}

func (h *human) rev(rev string) string {
	h.t.Helper()
	return strings.TrimSpace(gitserver.MustGit(h.t, h.dir, "rev-parse", rev))
}

func (h *human) push(branch string) {
	h.t.Helper()
	gitserver.MustGit(h.t, h.dir, "push", "-q", "origin", branch)
}

func writeFile(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(content), 0o644)
}
