package git

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/medimind/modelops/internal/testutil/gitserver"
)

// changesRepo builds a local repository whose commits change files in every way a tree
// can: nested additions, edits, a removed directory, a mode change, a file replaced by a
// directory, a file replaced by a symbolic link, a submodule (gitlink) added and moved, a
// rename and an empty commit. It returns the directory and the commits, oldest first.
func changesRepo(t *testing.T) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	git := func(args ...string) string { return strings.TrimSpace(gitserver.MustGit(t, dir, args...)) }
	write := func(name, content string) {
		t.Helper()
		if err := writeFile(filepath.Join(dir, filepath.FromSlash(name)), content); err != nil {
			t.Fatal(err)
		}
	}
	remove := func(name string) {
		t.Helper()
		if err := os.RemoveAll(filepath.Join(dir, filepath.FromSlash(name))); err != nil {
			t.Fatal(err)
		}
	}
	var commits []string
	commit := func(msg string) {
		t.Helper()
		git("add", "-A")
		git("commit", "-q", "--allow-empty", "-m", msg)
		commits = append(commits, git("rev-parse", "HEAD"))
	}
	git("init", "-q", "-b", "main")
	write("a.yaml", "a: 1\n")
	write("models/x.yaml", "x: 1\n")
	write("models/deep/y.yaml", "y: 1\n")
	write("thing", "a file\n")
	write("data/big.txt", "data\n")
	commit("root")

	write("models/x.yaml", "x: 2\n")
	remove("models/deep")
	write("models/z.yml", "z: 1\n")
	commit("edit, remove a directory, add")

	if err := os.Chmod(filepath.Join(dir, "models", "x.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}
	commit("mode only")

	remove("thing")
	write("thing/inside.yaml", "i: 1\n")
	remove("a.yaml")
	if err := os.Symlink("models/x.yaml", filepath.Join(dir, "a.yaml")); err != nil {
		t.Fatal(err)
	}
	commit("file to directory, file to symlink")

	// An empty directory stands for the submodule's checkout, so that add -A keeps the gitlink.
	if err := os.MkdirAll(filepath.Join(dir, "vendor", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	git("update-index", "--add", "--cacheinfo", "160000,"+commits[0]+",vendor/sub")
	write("data/big.txt", "more data\n")
	commit("add a submodule")

	if err := os.MkdirAll(filepath.Join(dir, "models", "clinical"), 0o755); err != nil {
		t.Fatal(err)
	}
	git("mv", "models/x.yaml", "models/clinical/x.yaml")
	git("update-index", "--cacheinfo", "160000,"+commits[1]+",vendor/sub")
	commit("rename, move the submodule")

	commit("empty")
	return dir, commits
}

// gitDiffTree is what `git diff-tree -r` reports between from and to (from "" is the root
// commit's own files), in FileChange's terms: submodule sides left out.
func gitDiffTree(t *testing.T, dir, from, to string) []FileChange {
	t.Helper()
	args := []string{"diff-tree", "-r", "-z", "--raw", "--no-renames", "--no-commit-id", "--abbrev=40"}
	if from == "" {
		args = append(args, "--root", to)
	} else {
		args = append(args, from, to)
	}
	out := gitserver.MustGit(t, dir, args...)
	fields := strings.Split(strings.TrimSuffix(out, "\x00"), "\x00")
	var changes []FileChange
	for i := 0; i+1 < len(fields); i += 2 {
		// :100644 100644 <old> <new> M
		meta := strings.Fields(strings.TrimPrefix(fields[i], ":"))
		if len(meta) != 5 {
			t.Fatalf("diff-tree record %q", fields[i])
		}
		fc := FileChange{Path: fields[i+1]}
		if meta[0] != "000000" && meta[0] != "160000" {
			fc.From = meta[2]
		}
		if meta[1] != "000000" && meta[1] != "160000" {
			fc.To = meta[3]
		}
		if fc.From != "" || fc.To != "" {
			changes = append(changes, fc)
		}
	}
	return changes
}

func TestChangedFilesAgreesWithGitDiffTree(t *testing.T) {
	ctx := testCtx(t)
	dir, commits := changesRepo(t)
	repo, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	hist, err := repo.OpenHistory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer hist.Close()

	// Along the chain (as an audit calls it, reusing the previous call's trees), then two
	// calls that skip commits.
	type pair struct{ from, to string }
	var pairs []pair
	for i, c := range commits {
		from := ""
		if i > 0 {
			from = commits[i-1]
		}
		pairs = append(pairs, pair{from, c})
	}
	pairs = append(pairs, pair{commits[0], commits[5]}, pair{commits[5], commits[1]})
	sawEmpty, sawSubmoduleOnly := false, false
	for _, p := range pairs {
		want := gitDiffTree(t, dir, p.from, p.to)
		for name, changed := range map[string]interface {
			ChangedFiles(context.Context, string, string) ([]FileChange, error)
		}{"Repo": repo, "History": hist} {
			got, err := changed.ChangedFiles(ctx, p.from, p.to)
			if err != nil {
				t.Fatalf("%s.ChangedFiles(%.7s, %.7s): %v", name, p.from, p.to, err)
			}
			if len(got) == 0 && len(want) == 0 {
				continue
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s.ChangedFiles(%.7s, %.7s):\n got %v\nwant %v", name, p.from, p.to, got, want)
			}
		}
		sawEmpty = sawEmpty || len(want) == 0
		for _, c := range want {
			sawSubmoduleOnly = sawSubmoduleOnly || strings.HasPrefix(c.Path, "vendor/")
		}
	}
	if !sawEmpty || sawSubmoduleOnly {
		t.Errorf("fixture: an empty diff seen %v, a submodule reported %v", sawEmpty, sawSubmoduleOnly)
	}

	if _, err := repo.ChangedFiles(ctx, commits[0], "not-a-hash"); err == nil {
		t.Error("ChangedFiles with a bad hash: no error")
	}
}

func TestHistoryReadsWhatRepoReads(t *testing.T) {
	ctx := testCtx(t)
	dir, commits := changesRepo(t)
	// Half the objects packed, half loose: a History reads both.
	gitserver.MustGit(t, dir, "gc", "-q")
	gitserver.MustGit(t, dir, "commit", "-q", "--allow-empty", "-m", "loose")
	repo, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	hist, err := repo.OpenHistory(ctx)
	if err != nil {
		t.Fatal(err)
	}

	head, err := repo.Head(ctx, "main")
	if err != nil {
		t.Fatal(err)
	}
	if h, err := hist.Head(ctx, "main"); err != nil || h != head {
		t.Errorf("History.Head = %s, %v; Repo.Head = %s", h, err, head)
	}
	if _, err := hist.Head(ctx, "nope"); !errors.Is(err, ErrBranchNotFound) {
		t.Errorf("History.Head(nope) = %v, want ErrBranchNotFound", err)
	}
	want, err := repo.Log(ctx, "", head, "models")
	if err != nil {
		t.Fatal(err)
	}
	got, err := hist.Log(ctx, "", head, "models")
	if err != nil || !reflect.DeepEqual(got, want) || len(got) != 4 {
		t.Errorf("History.Log = %d commits (%v), Repo.Log = %d", len(got), err, len(want))
	}
	for _, c := range append(commits, head) {
		rc, err1 := repo.ReadCommit(ctx, c)
		hc, err2 := hist.ReadCommit(ctx, c)
		if err1 != nil || err2 != nil || !reflect.DeepEqual(rc, hc) {
			t.Errorf("ReadCommit(%.7s): %v / %v", c, err1, err2)
		}
	}

	tree, err := hist.Tree(ctx, commits[5])
	if err != nil {
		t.Fatal(err)
	}
	data, err := fs.ReadFile(tree, "models/clinical/x.yaml")
	if err != nil || string(data) != "x: 2\n" {
		t.Fatalf("read through History.Tree: %q, %v", data, err)
	}
	blob, err := tree.(interface{ FileHash(string) (string, error) }).FileHash("models/clinical/x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]interface {
		ReadBlob(context.Context, string) ([]byte, error)
	}{"Repo": repo, "History": hist} {
		if b, err := r.ReadBlob(ctx, blob); err != nil || string(b) != "x: 2\n" {
			t.Errorf("%s.ReadBlob = %q, %v", name, b, err)
		}
		if _, err := r.ReadBlob(ctx, strings.Repeat("0", 40)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s.ReadBlob(missing) = %v, want fs.ErrNotExist", name, err)
		}
		if _, err := r.ReadBlob(ctx, "x.yaml"); err == nil || !strings.Contains(err.Error(), "40-character") {
			t.Errorf("%s.ReadBlob(bad hash) = %v", name, err)
		}
	}

	// The History keeps its pack file open until Close.
	before := openFiles(t)
	hist2, err := repo.OpenHistory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hist2.ReadCommit(ctx, commits[0]); err != nil {
		t.Fatal(err)
	}
	if during := openFiles(t); during <= before {
		t.Errorf("open files: %d before a History read, %d after; want the pack kept open", before, during)
	}
	if err := hist2.Close(); err != nil {
		t.Fatal(err)
	}
	if after := openFiles(t); after > before {
		t.Errorf("open files: %d before, %d after Close", before, after)
	}
	if err := hist.Close(); err != nil {
		t.Fatal(err)
	}
}

// openFiles counts this process's open file descriptors.
func openFiles(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count open files: %v", err)
	}
	return len(entries)
}

// A remote mirrored in memory has no files to keep open: its History reads through the
// Repo, and sees what the Repo sees.
func TestHistoryOfAnInMemoryMirror(t *testing.T) {
	ctx := testCtx(t)
	_, url := seeded(t, gitserver.Options{})
	repo := mustOpen(t, url, Options{})
	seed, err := repo.Head(ctx, "main")
	if err != nil {
		t.Fatal(err)
	}
	hist, err := repo.OpenHistory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer hist.Close()
	changes, err := hist.ChangedFiles(ctx, "", seed)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := repo.Tree(ctx, seed)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	err = fs.WalkDir(tree, ".", func(name string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, name)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, c := range changes {
		if c.From != "" || c.To == "" {
			t.Errorf("root commit change %+v: want an addition", c)
		}
		paths = append(paths, c.Path)
	}
	slices.Sort(files) // WalkDir lists "a/b" before "a.yaml"; changes are in byte order
	if len(files) == 0 || !reflect.DeepEqual(paths, files) {
		t.Errorf("root commit's changes %q, its files %q", paths, files)
	}
}
