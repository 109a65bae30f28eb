package git

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medimind/modelops/internal/testutil/gitserver"
)

// TestIntroducedFindsTheMergeThatMadeTheChange builds a history with the git CLI, as people
// would: a change on a branch merged with a merge commit, then an unrelated edit of the
// same file on top.
func TestIntroducedFindsTheMergeThatMadeTheChange(t *testing.T) {
	dir := t.TempDir()
	git := func(args ...string) string { return strings.TrimSpace(gitserver.MustGit(t, dir, args...)) }
	write := func(content string) {
		t.Helper()
		if err := writeFile(filepath.Join(dir, "models", "m.yaml"), content); err != nil {
			t.Fatal(err)
		}
	}
	git("init", "-q", "-b", "main")
	write("generation: 6\n")
	git("add", "-A")
	git("commit", "-q", "-m", "start at 6")
	git("checkout", "-q", "-b", "modelops/m/retrain")
	write("generation: 7\n")
	git("commit", "-q", "-am", "raise to 7")
	git("checkout", "-q", "main")
	git("merge", "-q", "--no-ff", "-m", "Merge retrain", "modelops/m/retrain")
	merge := git("rev-parse", "HEAD")
	write("# owned by critical care\ngeneration: 7\n")
	git("commit", "-q", "-am", "comment")
	tip := git("rev-parse", "HEAD")

	ctx := context.Background()
	repo, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tr := Tracked{Repo: repo, Branch: "main"}
	is7 := func(b []byte) bool { return bytes.Contains(b, []byte("generation: 7")) }
	got, err := tr.Introduced(ctx, tip, "models/m.yaml", is7)
	if err != nil {
		t.Fatal(err)
	}
	if got != merge {
		t.Fatalf("Introduced = %s, want the merge %s", got, merge)
	}
	is8 := func(b []byte) bool { return bytes.Contains(b, []byte("generation: 8")) }
	if got, _ := tr.Introduced(ctx, tip, "models/m.yaml", is8); got != tip {
		t.Fatalf("Introduced of a condition false at the tip = %s, want the tip %s", got, tip)
	}
}
