package status

import (
	"context"
	"errors"
	"io/fs"
	"reflect"
	"testing"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/medimind/modelops/internal/git"
	"github.com/medimind/modelops/internal/testutil/gitserver"
	"github.com/medimind/modelops/reconciler"
)

var bot = git.Signature{Name: "modelops[bot]", Email: "bot@example.com"}

func open(t *testing.T, url string) *Store {
	t.Helper()
	repo, err := git.Open(context.Background(), url, git.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return New(repo, "", bot)
}

func serverRef(t *testing.T, srv *gitserver.Server, ref string) string {
	t.Helper()
	r, err := gogit.PlainOpen(srv.Dir("policies.git"))
	if err != nil {
		t.Fatal(err)
	}
	h, err := r.Reference(plumbing.ReferenceName(ref), true)
	if err != nil {
		return ""
	}
	return h.Hash().String()
}

func sample() *reconciler.Status {
	at := time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC)
	st := reconciler.NewStatus()
	ms := st.Model("sepsis-risk")
	ms.FirstSeen = at.Add(-6 * time.Hour)
	ms.LaunchedGeneration = 6
	ms.AddDrift(reconciler.DriftRecord{At: at, Commit: "abc", Drifted: true, Share: 0.6, DriftedColumns: 6, Columns: 10, Report: "reports/sepsis-risk/drift-20260302T060000Z.json"})
	auc := 0.91
	ms.SetRun(reconciler.TrainingRun{Generation: 6, Commit: "abc", ID: "r6", Phase: reconciler.RunSucceeded, Started: at, Finished: at.Add(time.Hour),
		Result: &reconciler.RunResult{Version: "13", Metrics: reconciler.TrainingMetrics{AUC: &auc, Samples: 12000}}})
	return st
}

func TestSaveLoadRoundTripsThroughAFreshClone(t *testing.T) {
	srv := gitserver.New(t, gitserver.Options{})
	url := srv.Seed(t, "policies.git", "main", "testdata/repo")
	ctx := context.Background()

	s := open(t, url)
	empty, err := s.Load(ctx)
	if err != nil || len(empty.Models) != 0 {
		t.Fatalf("Load of a repository without a status branch = %+v, %v; want empty", empty, err)
	}
	want := sample()
	report := []byte(`{"drifted":true}` + "\n")
	if err := s.Save(ctx, want, map[string][]byte{"reports/sepsis-risk/drift-20260302T060000Z.json": report}, "modelops: status"); err != nil {
		t.Fatal(err)
	}
	tip := serverRef(t, srv, "refs/heads/modelops/status")
	if tip == "" {
		t.Fatal("the status branch was not pushed")
	}

	// A restarted reconciler, with a fresh clone, reads back exactly what was saved.
	got, err := open(t, url).Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Models["sepsis-risk"], want.Models["sepsis-risk"]) {
		t.Fatalf("loaded %+v\nwant %+v", got.Models["sepsis-risk"], want.Models["sepsis-risk"])
	}
	b, err := s.repo.ReadFile(ctx, tip, "reports/sepsis-risk/drift-20260302T060000Z.json")
	if err != nil || string(b) != string(report) {
		t.Fatalf("report on the status branch = %q, %v", b, err)
	}
	// The fresh clone reads the report back through the store, and no report that is not.
	if b, err := open(t, url).ReadFile(ctx, "reports/sepsis-risk/drift-20260302T060000Z.json"); err != nil || string(b) != string(report) {
		t.Fatalf("ReadFile of the report = %q, %v", b, err)
	}
	if _, err := s.ReadFile(ctx, "reports/sepsis-risk/none.md"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("ReadFile of a missing report: %v, want fs.ErrNotExist", err)
	}

	// Saving the same status makes no commit.
	if err := s.Save(ctx, got, nil, "modelops: status"); err != nil {
		t.Fatal(err)
	}
	if now := serverRef(t, srv, "refs/heads/modelops/status"); now != tip {
		t.Fatalf("an unchanged Save committed: %s → %s", tip, now)
	}
}

func TestManualRequestsSurviveAConcurrentSaveUntilALaunchServesThem(t *testing.T) {
	srv := gitserver.New(t, gitserver.Options{})
	url := srv.Seed(t, "policies.git", "main", "testdata/repo")
	ctx := context.Background()
	rec := open(t, url) // the reconciler
	cli := open(t, url) // `modelops retrain`, another process

	if err := rec.Save(ctx, sample(), nil, "first"); err != nil {
		t.Fatal(err)
	}
	loaded, err := rec.Load(ctx) // the reconciler's cycle starts
	if err != nil {
		t.Fatal(err)
	}
	asked := time.Date(2026, 3, 2, 7, 0, 0, 0, time.UTC)
	if err := cli.AddRequest(ctx, "sepsis-risk", reconciler.ManualRequest{At: asked, Reason: "new cohort", By: "ana"}); err != nil {
		t.Fatal(err)
	}
	// The cycle saves the status it loaded before the request existed.
	loaded.Model("sepsis-risk").Conditions = []reconciler.Condition{{Type: "Ready", Status: reconciler.ConditionTrue, Reason: "Reconciled"}}
	if err := rec.Save(ctx, loaded, nil, "cycle"); err != nil {
		t.Fatal(err)
	}
	after, err := open(t, url).Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m := after.Models["sepsis-risk"].Manual
	if len(m) != 1 || m[0].Reason != "new cohort" || !m[0].At.Equal(asked) {
		t.Fatalf("manual requests after a concurrent save = %+v, want the request kept", m)
	}

	// A launch after the request serves it: the next save deletes the request file.
	after.Model("sepsis-risk").LastLaunch = asked.Add(time.Hour)
	after.Model("sepsis-risk").Manual = nil
	if err := rec.Save(ctx, after, nil, "launched"); err != nil {
		t.Fatal(err)
	}
	final, err := open(t, url).Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(final.Models["sepsis-risk"].Manual); n != 0 {
		t.Fatalf("%d served requests remain", n)
	}
}

// personDeletes deletes the status branch on the server with the git CLI, as a person would.
func personDeletes(t *testing.T, url string) {
	t.Helper()
	dir := t.TempDir()
	gitserver.MustGit(t, dir, "clone", "-q", url, "clone")
	gitserver.MustGit(t, dir+"/clone", "push", "-q", "origin", "--delete", "modelops/status")
}

func TestAStatusBranchDeletedOnTheRemoteIsRestoredFromTheBackup(t *testing.T) {
	srv := gitserver.New(t, gitserver.Options{})
	url := srv.Seed(t, "policies.git", "main", "testdata/repo")
	ctx := context.Background()
	s := open(t, url)
	if err := s.Save(ctx, sample(), map[string][]byte{"reports/r.json": []byte("{}\n")}, "modelops: status"); err != nil {
		t.Fatal(err)
	}
	tip := serverRef(t, srv, "refs/heads/modelops/status")

	personDeletes(t, url)
	if err := s.repo.Fetch(ctx); err != nil { // the cycle's sync, which prunes the deleted branch
		t.Fatal(err)
	}
	got, err := s.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.Restored != tip || !reflect.DeepEqual(got.Models["sepsis-risk"], sample().Models["sepsis-risk"]) {
		t.Fatalf("Load after the deletion: restored %q, model %+v; want %s and the saved status", got.Restored, got.Models["sepsis-risk"], tip)
	}
	if now := serverRef(t, srv, "refs/heads/modelops/status"); now != tip {
		t.Fatalf("the status branch on the server is %q, want it pushed back at %s", now, tip)
	}
	if again, err := s.Load(ctx); err != nil || again.Restored != "" {
		t.Fatalf("a second Load restored again: %q, %v", again.Restored, err)
	}

	// Deleted between a cycle's Load and its Save: the save continues the old history.
	personDeletes(t, url)
	next := sample()
	next.Model("sepsis-risk").LaunchedGeneration = 7
	if err := s.Save(ctx, next, nil, "modelops: status"); err != nil {
		t.Fatal(err)
	}
	saved := serverRef(t, srv, "refs/heads/modelops/status")
	c, err := s.repo.ReadCommit(ctx, saved)
	if err != nil || len(c.Parents) != 1 || c.Parents[0] != tip {
		t.Fatalf("the save after a deletion made %+v (%v), want a child of %s", c.Parents, err, tip)
	}
	if b, err := s.repo.ReadFile(ctx, saved, "reports/r.json"); err != nil || string(b) != "{}\n" {
		t.Fatalf("the report saved before the deletion = %q, %v", b, err)
	}
}
