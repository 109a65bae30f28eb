package git

import (
	"context"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medimind/modelops/internal/testutil/gitserver"
)

// TestLocalRepositorySeesCommitsPackedByAPersonsGC: a person commits in the local repository
// the reconciler watches and runs `git gc`, which moves every object into a new pack and
// deletes the loose ones. After Fetch the new commit and its files must be readable.
func TestLocalRepositorySeesCommitsPackedByAPersonsGC(t *testing.T) {
	dir := t.TempDir()
	git := func(args ...string) string { return strings.TrimSpace(gitserver.MustGit(t, dir, args...)) }
	git("init", "-q", "-b", "main")
	if err := writeFile(filepath.Join(dir, "models", "a.yaml"), "generation: 1\n"); err != nil {
		t.Fatal(err)
	}
	git("add", "-A")
	git("commit", "-q", "-m", "one")
	git("gc", "-q")

	ctx := context.Background()
	repo, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tr := Tracked{Repo: repo, Branch: "main"}
	first, err := tr.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := repo.ReadFile(ctx, first, "models/a.yaml"); err != nil {
		t.Fatal(err)
	}

	for i, content := range []string{"generation: 2\n", "generation: 3\n"} {
		if err := writeFile(filepath.Join(dir, "models", "a.yaml"), content); err != nil {
			t.Fatal(err)
		}
		git("commit", "-q", "-am", "raise")
		git("gc", "-q", "--prune=now")
		tip, err := tr.Sync(ctx)
		if err != nil {
			t.Fatalf("sync after gc %d: %v", i, err)
		}
		if want := git("rev-parse", "HEAD"); tip != want {
			t.Fatalf("tip %s, want %s", tip, want)
		}
		tree, err := tr.Tree(ctx, tip)
		if err != nil {
			t.Fatalf("tree after gc %d: %v", i, err)
		}
		b, err := fs.ReadFile(tree, "models/a.yaml")
		if err != nil || string(b) != content {
			t.Fatalf("after gc %d read %q, %v; want %q", i, b, err, content)
		}
	}
}
