package git

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/medimind/modelops/internal/testutil/gitserver"
)

func TestOpenCloneAndReadTreeAtCommit(t *testing.T) {
	ctx := testCtx(t)
	srv, url := seeded(t, gitserver.Options{})
	r := mustOpen(t, url, Options{})

	seed, err := r.Head(ctx, "main")
	if err != nil {
		t.Fatal(err)
	}
	if want := serverRef(t, srv, "refs/heads/main"); seed != want {
		t.Fatalf("Head(main) = %s, server has %s", seed, want)
	}
	tree, err := r.Tree(ctx, seed)
	if err != nil {
		t.Fatal(err)
	}
	if err := fstest.TestFS(tree, "README.md", "models/sepsis-risk.yaml", "models/readmission.yaml", "data/reference.csv"); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/policies/models/sepsis-risk.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.ReadFile(ctx, seed, "models/sepsis-risk.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("ReadFile = %q, want %q", got, want)
	}
	matches, err := fs.Glob(tree, "models/*.yaml")
	if err != nil || len(matches) != 2 {
		t.Fatalf("Glob(models/*.yaml) = %v, %v; want the two policies", matches, err)
	}

	// A person changes a policy; after Fetch the old commit still reads
	// the old content and the new tip the new one.
	h := newHuman(t, url)
	next := h.commit("raise generation", map[string]string{"models/sepsis-risk.yaml": "changed\n"})
	h.push("main")
	if err := r.Fetch(ctx); err != nil {
		t.Fatal(err)
	}
	if tip, _ := r.Head(ctx, "main"); tip != next {
		t.Fatalf("Head after Fetch = %s, want %s", tip, next)
	}
	if got, _ := r.ReadFile(ctx, next, "models/sepsis-risk.yaml"); string(got) != "changed\n" {
		t.Fatalf("new tip reads %q", got)
	}
	if got, _ := r.ReadFile(ctx, seed, "models/sepsis-risk.yaml"); !bytes.Equal(got, want) {
		t.Fatalf("old commit reads %q after fetch", got)
	}
	if err := r.Fetch(ctx); err != nil {
		t.Fatalf("second Fetch (already up to date): %v", err)
	}

	for _, p := range []string{"models/missing.yaml", "nope/x", "README.md/x"} {
		if _, err := r.ReadFile(ctx, seed, p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("ReadFile(%s) error = %v, want fs.ErrNotExist", p, err)
		}
	}
	if _, err := r.Tree(ctx, "main"); err == nil {
		t.Error("Tree(\"main\") accepted a branch name, want an error asking for a hash")
	}
	if _, err := r.Head(ctx, "no-such-branch"); !errors.Is(err, ErrBranchNotFound) {
		t.Errorf("Head(no-such-branch) error = %v, want ErrBranchNotFound", err)
	}
}

func TestOpenRefusesFileURLs(t *testing.T) {
	if _, err := Open(testCtx(t), "file:///tmp/x", Options{}); err == nil {
		t.Fatal("Open(file://) succeeded; go-git would run the git binary")
	}
	if _, err := Open(testCtx(t), t.TempDir(), Options{}); err == nil {
		t.Fatal("Open of an empty directory succeeded, want repository-not-found")
	}
}

func TestOpenMirrorDirIsReusedAndKeepsNoCredentials(t *testing.T) {
	ctx := testCtx(t)
	const password = "hunter2-token"
	srv, _ := seeded(t, gitserver.Options{Username: "bot", Password: password})
	dir := filepath.Join(t.TempDir(), "mirror")

	// Credentials given in the URL are used but never stored.
	r := mustOpen(t, srv.URLWithCredentials(repoName), Options{Dir: dir})
	if strings.Contains(r.URL(), password) {
		t.Fatalf("URL() = %s contains the password", r.URL())
	}
	tip, err := r.Head(ctx, "main")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(filepath.Join(dir, "config"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(cfg), password) || !strings.Contains(string(cfg), srv.URL(repoName)) {
		t.Fatalf("mirror config should name the URL without the password:\n%s", cfg)
	}

	again := mustOpen(t, srv.URL(repoName), Options{Dir: dir, Auth: Auth{Username: "bot", Password: password}})
	if got, _ := again.Head(ctx, "main"); got != tip {
		t.Fatalf("reopened mirror Head = %s, want %s", got, tip)
	}
	other := gitserver.New(t, gitserver.Options{})
	otherURL := other.Seed(t, "other.git", "main", "testdata/policies")
	if _, err := Open(ctx, otherURL, Options{Dir: dir}); err == nil {
		t.Fatal("Open reused a mirror of another URL")
	}
}

func TestOpenWithWrongPasswordFailsClearly(t *testing.T) {
	ctx := testCtx(t)
	srv, url := seeded(t, gitserver.Options{Username: "bot", Password: "right-password"})

	const wrong = "wrong-Pa55word"
	for name, tc := range map[string]struct {
		url  string
		auth Auth
	}{
		"password in Auth": {url: url, auth: Auth{Username: "bot", Password: wrong}},
		"token in Auth":    {url: url, auth: Auth{Password: wrong}},
		"password in URL":  {url: strings.Replace(srv.URLWithCredentials(repoName), "right-password", wrong, 1)},
		"no credentials":   {url: url},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Open(ctx, tc.url, Options{Auth: tc.auth})
			if err == nil {
				t.Fatal("Open succeeded with bad credentials")
			}
			if !errors.Is(err, ErrAuth) {
				t.Errorf("error %q does not match ErrAuth", err)
			}
			if strings.Contains(err.Error(), wrong) {
				t.Errorf("error %q contains the password", err)
			}
			if !strings.Contains(err.Error(), srv.URL(repoName)) {
				t.Errorf("error %q does not name the repository", err)
			}
		})
	}
	r := mustOpen(t, url, Options{Auth: Auth{Username: "bot", Password: "right-password"}})
	if _, err := r.Head(ctx, "main"); err != nil {
		t.Fatal(err)
	}
}

func TestLocalRepositoryIsWrittenInPlace(t *testing.T) {
	ctx := testCtx(t)
	_, url := seeded(t, gitserver.Options{})
	h := newHuman(t, url)
	// A bare copy, as the embedded default keeps it: nothing is checked
	// out, so moving the branch cannot leave a worktree behind.
	bare := filepath.Join(t.TempDir(), "local.git")
	gitserver.MustGit(t, h.dir, "clone", "-q", "--bare", h.dir, bare)

	r := mustOpen(t, bare, Options{})
	if err := r.Fetch(ctx); err != nil {
		t.Fatalf("Fetch on a local repository: %v", err)
	}
	h2, err := r.Commit(ctx, "main", Change{Files: map[string][]byte{"models/new.yaml": []byte("x: 1\n")}, Message: "add", Author: bot})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Push(ctx, "main", false); err != nil {
		t.Fatalf("Push on a local repository: %v", err)
	}
	if got := strings.TrimSpace(gitserver.MustGit(t, bare, "rev-parse", "main")); got != h2 {
		t.Fatalf("git sees main at %s, want %s", got, h2)
	}
	if got := gitserver.MustGit(t, bare, "show", "main:models/new.yaml"); got != "x: 1\n" {
		t.Fatalf("git reads %q", got)
	}
	gitserver.MustGit(t, bare, "fsck", "--strict")
}

// TestOpenLocalSaysWhatThePathIs: go-git calls a directory that is not a repository one that
// "does not exist"; Open says what it is.
func TestOpenLocalSaysWhatThePathIs(t *testing.T) {
	dir := t.TempDir()
	notGit := filepath.Join(dir, "notgit")
	file := filepath.Join(dir, "file")
	if err := os.Mkdir(notGit, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		notGit:                        notGit + " is not a git repository",
		file:                          file + " is a file, not a git repository",
		filepath.Join(dir, "missing"): filepath.Join(dir, "missing") + ": no such directory",
	} {
		_, err := Open(testCtx(t), path, Options{})
		if err == nil || err.Error() != want {
			t.Errorf("Open(%s) = %v, want %q", path, err, want)
		}
	}
}
