package git

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/medimind/modelops/internal/testutil/gitserver"
)

func TestTreeListsSymbolicLinksAndReadsTheirTargetsWithoutFollowingThem(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "data", "real"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "data", "real", "ref.csv"), []byte("a\n1\n"), 0o644))
	must(os.Symlink("real/ref.csv", filepath.Join(dir, "data", "ref.csv")))
	must(os.Symlink("/etc/passwd", filepath.Join(dir, "data", "host.csv")))
	gitserver.MustGit(t, dir, "init", "-q", "-b", "main")
	gitserver.MustGit(t, dir, "add", "-A")
	gitserver.MustGit(t, dir, "commit", "-q", "-m", "links")
	ctx := context.Background()
	repo, err := Open(ctx, dir, Options{})
	must(err)
	_, tree, err := repo.BranchTree(ctx, "main")
	must(err)
	links, ok := tree.(fs.ReadLinkFS)
	if !ok {
		t.Fatal("the tree is not an fs.ReadLinkFS")
	}
	for name, want := range map[string]string{"data/ref.csv": "real/ref.csv", "data/host.csv": "/etc/passwd"} {
		if got, err := links.ReadLink(name); err != nil || got != want {
			t.Errorf("ReadLink(%s) = %q, %v; want %q", name, got, err, want)
		}
		if fi, err := links.Lstat(name); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("Lstat(%s) = %v, %v; want a symbolic link", name, fi, err)
		}
	}
	if fi, err := links.Lstat("data/real"); err != nil || !fi.IsDir() {
		t.Errorf("Lstat(data/real) = %v, %v; want a directory", fi, err)
	}
	for _, name := range []string{"data/real/ref.csv", "data/real"} {
		if _, err := links.ReadLink(name); err == nil {
			t.Errorf("ReadLink(%s) of a non-link succeeded", name)
		}
	}
	if _, err := links.ReadLink("data/absent"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadLink(data/absent) = %v, want not found", err)
	}
}
