package git

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/medimind/modelops/internal/testutil/gitserver"
)

func TestMergeCreatesTwoParentCommitAndDetectsConflicts(t *testing.T) {
	ctx := testCtx(t)
	srv, url := seeded(t, gitserver.Options{})
	r := mustOpen(t, url, Options{})
	const proposal = "modelops/sepsis-risk/retrain"
	base, _ := r.Head(ctx, "main")
	seedReadmission, _ := r.ReadFile(ctx, base, "models/readmission.yaml")

	// The proposal raises the generation; a person meanwhile edits another
	// model on main and makes the same README change as the proposal.
	if err := r.ResetBranch(ctx, proposal, base); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Commit(ctx, proposal, Change{Files: map[string][]byte{
		"models/sepsis-risk.yaml": []byte("generation: 7\n"),
		"README.md":               []byte("same\n"),
		"data/reference.csv":      nil,
	}, Message: "Retrain sepsis-risk", Author: bot}); err != nil {
		t.Fatal(err)
	}
	if err := r.Push(ctx, proposal, true); err != nil {
		t.Fatal(err)
	}
	h := newHuman(t, url)
	human := h.commit("person edits readmission", map[string]string{"models/readmission.yaml": "person\n", "README.md": "same\n"})
	h.push("main")
	if err := r.Fetch(ctx); err != nil {
		t.Fatal(err)
	}
	theirs, _ := r.Head(ctx, proposal)

	person := Signature{Name: "Reviewer", Email: "reviewer@example.com"}
	m, err := r.Merge(ctx, "main", proposal, "Merge retrain proposal for sepsis-risk", person)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := r.ReadCommit(ctx, m)
	if !reflect.DeepEqual(info.Parents, []string{human, theirs}) {
		t.Fatalf("merge parents = %v, want [%s %s]", info.Parents, human, theirs)
	}
	want := map[string]string{
		"models/sepsis-risk.yaml": "generation: 7\n", // from the proposal
		"models/readmission.yaml": "person\n",        // from main
		"README.md":               "same\n",          // same on both sides
	}
	for p, w := range want {
		if got, err := r.ReadFile(ctx, m, p); err != nil || string(got) != w {
			t.Errorf("merged %s = %q, %v; want %q", p, got, err, w)
		}
	}
	if _, err := r.ReadFile(ctx, m, "data/reference.csv"); err == nil {
		t.Error("file deleted on the proposal survived the merge")
	}
	if err := r.Push(ctx, "main", false); err != nil {
		t.Fatal(err)
	}
	if got := serverRef(t, srv, "refs/heads/main"); got != m {
		t.Fatalf("server main = %s, want merge %s", got, m)
	}
	gitserver.MustGit(t, srv.Dir(repoName), "fsck", "--strict")

	if _, err := r.Merge(ctx, "main", proposal, "again", person); !errors.Is(err, ErrNoChange) {
		t.Fatalf("second Merge error = %v, want ErrNoChange", err)
	}

	// A new proposal and a person's edit both change readmission.yaml:
	// conflict, and main does not move.
	const promote = "modelops/readmission/promote"
	if err := r.ResetBranch(ctx, promote, base); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Commit(ctx, promote, Change{Files: map[string][]byte{
		"models/readmission.yaml": []byte("canary: 4\n"),
		"models/sepsis-risk.yaml": nil,
	}, Message: "Promote readmission", Author: bot}); err != nil {
		t.Fatal(err)
	}
	_, err = r.Merge(ctx, "main", promote, "Merge promote", person)
	var ce *ConflictError
	if !errors.Is(err, ErrConflict) || !errors.As(err, &ce) {
		t.Fatalf("Merge error = %v, want a *ConflictError", err)
	}
	// readmission.yaml changed on both sides; sepsis-risk.yaml was changed
	// on main and deleted on the proposal.
	if wantPaths := []string{"models/readmission.yaml", "models/sepsis-risk.yaml"}; !reflect.DeepEqual(ce.Paths, wantPaths) {
		t.Fatalf("conflict paths = %v, want %v", ce.Paths, wantPaths)
	}
	if got, _ := r.Head(ctx, "main"); got != m {
		t.Fatalf("main moved to %s after a conflict", got)
	}
	if got, _ := r.ReadFile(ctx, base, "models/readmission.yaml"); string(got) != string(seedReadmission) {
		t.Fatal("seed commit changed")
	}
}

// checkoutWithProposal makes a normal (non-bare) repository with main checked out and a
// proposal branch raising the generation, as the embedded forge leaves it, and opens it in
// place.
func checkoutWithProposal(t *testing.T) (*Repo, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "policies")
	for p, content := range map[string]string{"models/sepsis-risk.yaml": "generation: 14\n", "README.md": "policies\n"} {
		if err := writeFile(filepath.Join(dir, p), content); err != nil {
			t.Fatal(err)
		}
	}
	gitserver.MustGit(t, dir, "init", "-q", "-b", "main")
	gitserver.MustGit(t, dir, "add", "-A")
	gitserver.MustGit(t, dir, "commit", "-q", "-m", "policies")
	r := mustOpen(t, dir, Options{})
	ctx := testCtx(t)
	base, _ := r.Head(ctx, "main")
	if err := r.ResetBranch(ctx, "modelops/sepsis-risk/retrain", base); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Commit(ctx, "modelops/sepsis-risk/retrain", Change{Files: map[string][]byte{"models/sepsis-risk.yaml": []byte("generation: 15\n")}, Message: "Retrain", Author: bot}); err != nil {
		t.Fatal(err)
	}
	return r, dir
}

func TestMergeIntoACheckedOutBranchUpdatesTheCheckout(t *testing.T) {
	ctx := testCtx(t)
	r, dir := checkoutWithProposal(t)
	// An untracked file elsewhere is no reason to refuse, as with git merge.
	if err := writeFile(filepath.Join(dir, "notes.txt"), "mine\n"); err != nil {
		t.Fatal(err)
	}
	m, err := r.Merge(ctx, "main", "modelops/sepsis-risk/retrain", "Merge proposal", Signature{Name: "Ana", Email: "ana@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if got := gitserver.MustGit(t, dir, "status", "--porcelain"); got != "?? notes.txt\n" {
		t.Fatalf("git status after the merge:\n%s\nwant only the untracked notes.txt", got)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "models/sepsis-risk.yaml")); string(b) != "generation: 15\n" {
		t.Fatalf("the checkout's file is %q, want the merged generation 15", b)
	}
	// The person's next, unrelated commit keeps the merged generation.
	if err := writeFile(filepath.Join(dir, "README.md"), "policies, edited\n"); err != nil {
		t.Fatal(err)
	}
	gitserver.MustGit(t, dir, "commit", "-q", "-am", "Edit the README")
	if got := gitserver.MustGit(t, dir, "show", "HEAD:models/sepsis-risk.yaml"); got != "generation: 15\n" {
		t.Fatalf("the person's next commit holds %q, want generation 15", got)
	}
	if parent := strings.TrimSpace(gitserver.MustGit(t, dir, "rev-parse", "HEAD^")); parent != m {
		t.Fatalf("the person's commit sits on %s, want the merge %s", parent, m)
	}
}

func TestMergeIntoADirtyCheckoutIsRefusedAndChangesNothing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		dirty func(t *testing.T, dir string)
		file  string
	}{
		{"unstaged edit", func(t *testing.T, dir string) {
			if err := writeFile(filepath.Join(dir, "README.md"), "half-written\n"); err != nil {
				t.Fatal(err)
			}
		}, "README.md"},
		{"staged edit", func(t *testing.T, dir string) {
			if err := writeFile(filepath.Join(dir, "models/sepsis-risk.yaml"), "generation: 14 # staged\n"); err != nil {
				t.Fatal(err)
			}
			gitserver.MustGit(t, dir, "add", "models/sepsis-risk.yaml")
		}, "models/sepsis-risk.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			r, dir := checkoutWithProposal(t)
			tc.dirty(t, dir)
			head, _ := r.Head(ctx, "main")
			status := gitserver.MustGit(t, dir, "status", "--porcelain")
			_, err := r.Merge(ctx, "main", "modelops/sepsis-risk/retrain", "Merge proposal", Signature{Name: "Ana", Email: "ana@example.com"})
			var de *DirtyError
			if !errors.Is(err, ErrDirtyWorktree) || !errors.As(err, &de) || !slices.Equal(de.Files, []string{tc.file}) ||
				!strings.Contains(err.Error(), "commit or stash them") {
				t.Fatalf("Merge = %v, want a DirtyError naming %s", err, tc.file)
			}
			if got, _ := r.Head(ctx, "main"); got != head {
				t.Fatalf("main moved to %s", got)
			}
			if got := gitserver.MustGit(t, dir, "status", "--porcelain"); got != status {
				t.Fatalf("the checkout changed:\n%s\nwant\n%s", got, status)
			}
		})
	}
}
