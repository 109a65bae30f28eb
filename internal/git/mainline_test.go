package git

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/medimind/modelops/internal/testutil/gitserver"
)

// TestMainlineFilesVisitsEachMainlineCommitWithTheFilesItChanged builds a history with the
// git CLI: a root commit, a branch merged with a merge commit (its change reaches the
// mainline as the merge's), a moved file and a deleted one. The walk sees every mainline
// commit newest first with the YAML files it added or changed, and stops before a commit
// it has seen.
func TestMainlineFilesVisitsEachMainlineCommitWithTheFilesItChanged(t *testing.T) {
	dir := t.TempDir()
	git := func(args ...string) string { return strings.TrimSpace(gitserver.MustGit(t, dir, args...)) }
	write := func(path, content string) {
		t.Helper()
		if err := writeFile(filepath.Join(dir, path), content); err != nil {
			t.Fatal(err)
		}
	}
	git("init", "-q", "-b", "main")
	write("models/a.yaml", "version: 1\n")
	write("README.md", "policies\n")
	git("add", "-A")
	git("commit", "-q", "-m", "root")
	root := git("rev-parse", "HEAD")
	git("checkout", "-q", "-b", "feature")
	write("models/a.yaml", "version: 2\n")
	git("commit", "-q", "-am", "on the branch")
	git("checkout", "-q", "main")
	git("merge", "-q", "--no-ff", "-m", "merge", "feature")
	merge := git("rev-parse", "HEAD")
	git("mv", "models/a.yaml", "models/b.yml")
	write("models/c.yaml", "version: 3\n")
	git("add", "-A")
	git("commit", "-q", "-m", "move and add")
	moved := git("rev-parse", "HEAD")
	git("rm", "-q", "models/c.yaml")
	git("commit", "-q", "-m", "delete")
	tip := git("rev-parse", "HEAD")

	ctx := context.Background()
	repo, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tr := Tracked{Repo: repo, Branch: "main"}
	type visit struct {
		commit string
		files  []string
	}
	walk := func(stop string) ([]visit, bool) {
		t.Helper()
		var got []visit
		met, err := tr.MainlineFiles(ctx, tip, stop, []string{".yaml", ".yml"}, func(commit string, files map[string][]byte) error {
			var names []string
			for name, content := range files {
				names = append(names, name+"="+strings.TrimSpace(string(content)))
			}
			slices.Sort(names)
			got = append(got, visit{commit, names})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return got, met
	}
	got, met := walk("")
	want := []visit{
		{tip, nil},
		{moved, []string{"models/b.yml=version: 2", "models/c.yaml=version: 3"}},
		{merge, []string{"models/a.yaml=version: 2"}},
		{root, []string{"models/a.yaml=version: 1"}},
	}
	if !met || len(got) != len(want) {
		t.Fatalf("walk to the root = %v (met %v), want %v", got, met, want)
	}
	for i := range want {
		if got[i].commit != want[i].commit || !slices.Equal(got[i].files, want[i].files) {
			t.Errorf("visit %d = %v, want %v", i, got[i], want[i])
		}
	}
	if got, met := walk(merge); !met || len(got) != 2 || got[1].commit != moved {
		t.Errorf("walk down to the merge = %v (met %v), want the two commits above it", got, met)
	}
	if got, met := walk(strings.Repeat("0", 40)); met || len(got) != 4 {
		t.Errorf("walk down to a commit not on the mainline = %d visits (met %v), want the whole mainline, not met", len(got), met)
	}
}
