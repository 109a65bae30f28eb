package git

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/medimind/modelops/internal/testutil/gitserver"
)

func TestFileHashIsTheBlobHashAndChangesWithTheContent(t *testing.T) {
	dir := t.TempDir()
	gitserver.MustGit(t, dir, "init", "-q", "-b", "main")
	ctx := context.Background()
	repo, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	gitserver.MustGit(t, dir, "commit", "-q", "--allow-empty", "-m", "root")
	c1, err := repo.Commit(ctx, "main", Change{Files: map[string][]byte{"models/a.yaml": []byte("a: 1\n"), "models/b.yaml": []byte("b: 1\n")}, Message: "one", Author: bot})
	if err != nil {
		t.Fatal(err)
	}
	c2, err := repo.Commit(ctx, "main", Change{Files: map[string][]byte{"models/b.yaml": []byte("b: 2\n")}, Message: "two", Author: bot})
	if err != nil {
		t.Fatal(err)
	}
	hash := func(commit, name string) string {
		t.Helper()
		tree, err := repo.Tree(ctx, commit)
		if err != nil {
			t.Fatal(err)
		}
		h, err := tree.(interface{ FileHash(string) (string, error) }).FileHash(name)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	// The blob hash of "a: 1\n" as git computes it (git hash-object).
	want := gitserver.MustGit(t, dir, "rev-parse", c1+":models/a.yaml")
	if got := hash(c1, "models/a.yaml"); got != strings.TrimSpace(want) {
		t.Fatalf("FileHash = %s, git says %s", got, want)
	}
	if hash(c1, "models/a.yaml") != hash(c2, "models/a.yaml") {
		t.Fatal("an unchanged file has a new hash")
	}
	if hash(c1, "models/b.yaml") == hash(c2, "models/b.yaml") {
		t.Fatal("a changed file kept its hash")
	}
	tree, _ := repo.Tree(ctx, c2)
	if _, err := tree.(interface{ FileHash(string) (string, error) }).FileHash("models"); err == nil {
		t.Fatal("FileHash of a directory did not fail")
	}
	if _, err := tree.(interface{ FileHash(string) (string, error) }).FileHash("nope.yaml"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("FileHash of a missing file = %v, want fs.ErrNotExist", err)
	}
}
