package reconciler

import (
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/medimind/modelops/internal/git"
	"github.com/medimind/modelops/internal/testutil/gitserver"
	"github.com/medimind/modelops/policies"
)

// readingDrift records what each check reads as the policy's reference data.
type readingDrift struct{ read []string }

func (d *readingDrift) Check(_ context.Context, p *policies.Policy, data fs.FS, _ time.Time) (DriftResult, error) {
	b, err := fs.ReadFile(data, p.Spec.Data.Reference.Path)
	if err != nil {
		d.read = append(d.read, "error: "+err.Error())
		return DriftResult{}, err
	}
	d.read = append(d.read, string(b))
	return DriftResult{Share: 0, Columns: 1, Report: []byte("{}\n")}, nil
}

const dataPolicyYAML = `apiVersion: modelops.medimind.io/v1alpha1
kind: ModelPolicy
metadata:
  name: sepsis-risk
spec:
  data:
    reference: {path: data/ref.csv}
    current: {path: data/cur.csv}
  drift:
    interval: 6h
`

func TestDriftChecksReadDataFromTheTreeOfTheCommitReconciled(t *testing.T) {
	ctx := t.Context()
	work := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		p := filepath.Join(work, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		os.Remove(p)
		if target, ok := strings.CutPrefix(content, "→ "); ok {
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
		} else if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bare := filepath.Join(t.TempDir(), "policies.git")
	commit := func(msg string) {
		t.Helper()
		gitserver.MustGit(t, work, "add", "-A")
		gitserver.MustGit(t, work, "commit", "-q", "-m", msg)
		gitserver.MustGit(t, work, "push", "-q", bare, "main")
	}
	write("models/sepsis-risk.yaml", dataPolicyYAML)
	write("data/ref.csv", "→ ../snapshots/latest/ref.csv") // a link, through a linked directory
	write("snapshots/latest", "→ v1")
	write("snapshots/v1/ref.csv", "one\n")
	write("data/cur.csv", "x\n")
	gitserver.MustGit(t, work, "init", "-q", "-b", "main")
	gitserver.MustGit(t, t.TempDir(), "init", "-q", "--bare", bare)
	commit("policy and data")

	// The process's working directory has a data/ref.csv of its own, which is never read.
	cwd := t.TempDir()
	if err := os.MkdirAll(filepath.Join(cwd, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cwd, "data", "ref.csv"), []byte("from the working directory\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(cwd)

	repo, err := git.Open(ctx, bare, git.Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := t0
	drift := &readingDrift{}
	r, err := New(Deps{Repo: git.Tracked{Repo: repo, Branch: "main"}, Proposals: newFakeProposals(), Drift: drift, Status: &memStatus{}},
		WithClock(func() time.Time { return now }), WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	cycle := func() string {
		t.Helper()
		res, err := r.Cycle(ctx)
		if err != nil {
			t.Fatal(err)
		}
		now = now.Add(7 * time.Hour) // the next drift check is due
		return short(res.Commit)
	}
	cycle()
	write("snapshots/v2/ref.csv", "two\n")
	write("snapshots/latest", "→ v2")
	commit("a new snapshot")
	cycle()
	write("data/ref.csv", "→ "+filepath.Join(cwd, "data", "ref.csv"))
	commit("a link out of the repository")
	third := cycle()
	want := []string{"one\n", "two\n",
		"error: data/ref.csv: symbolic link data/ref.csv → " + filepath.Join(cwd, "data", "ref.csv") +
			" is absolute; only relative links that stay inside the tree of main at " + third + " are followed"}
	if len(drift.read) != len(want) {
		t.Fatalf("checks read %q, want %q", drift.read, want)
	}
	for i := range want {
		if drift.read[i] != want[i] {
			t.Errorf("check %d read %q, want %q", i+1, drift.read[i], want[i])
		}
	}
}
