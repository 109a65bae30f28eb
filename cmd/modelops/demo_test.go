package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/medimind/modelops/internal/demo"
	"github.com/medimind/modelops/internal/drift"
	forgelocal "github.com/medimind/modelops/internal/forge/local"
	"github.com/medimind/modelops/reconciler"
)

// TestDemoTrainJob is the training job of TestDemo's policies: the local runner starts this
// test binary with -test.run=^TestDemoTrainJob$ and the job environment, and it then does
// what `modelops demo train` does. Under go test, without that environment, it is skipped.
func TestDemoTrainJob(t *testing.T) {
	if os.Getenv("MODELOPS_OUTPUT") == "" || os.Getenv("MODELOPS_MODEL") == "" {
		t.Skip("runs only as the training job started by TestDemo")
	}
	os.Exit(execute(context.Background(), []string{"demo", "train"}))
}

func TestDemo(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var out bytes.Buffer
	err = runDemo(t.Context(), demoOptions{
		dir: dir, stdout: &out,
		trainCommand: []string{exe, "-test.run=^TestDemoTrainJob$"},
		log:          slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	repoDir := filepath.Join(dir, "policy-repo")
	repo, err := gogit.PlainOpen(repoDir)
	if err != nil {
		t.Fatal(err)
	}

	// The tracked branch has exactly one merge commit: the reviewer merging the retrain
	// proposal, which raised the generation to 7.
	mainRef, err := repo.Reference(plumbing.NewBranchReferenceName("main"), true)
	if err != nil {
		t.Fatal(err)
	}
	commits, err := repo.Log(&gogit.LogOptions{From: mainRef.Hash()})
	if err != nil {
		t.Fatal(err)
	}
	var merges []*object.Commit
	if err := commits.ForEach(func(c *object.Commit) error {
		if c.NumParents() > 1 {
			merges = append(merges, c)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(merges) != 1 {
		t.Fatalf("main has %d merge commits, want exactly 1", len(merges))
	}
	m := merges[0]
	if !strings.HasPrefix(m.Message, "Merge proposal sepsis-risk/retrain") || m.Author.Email != "ana@hospital.example" {
		t.Errorf("merge commit %s by %s: %q", m.Hash, m.Author.Email, m.Message)
	}
	if !strings.Contains(out.String(), m.Hash.String()[:10]) {
		t.Errorf("the story does not name the merge commit %s", m.Hash)
	}
	tip, err := repo.CommitObject(mainRef.Hash())
	if err != nil {
		t.Fatal(err)
	}
	policy := fileAt(t, tip, "models/sepsis-risk.yaml")
	if !strings.Contains(policy, "\n    generation: 7\n") {
		t.Errorf("the policy at the tip of main does not read generation 7:\n%s", policy)
	}

	statusRef, err := repo.Reference(plumbing.NewBranchReferenceName("modelops/status"), true)
	if err != nil {
		t.Fatal(err)
	}
	status, err := repo.CommitObject(statusRef.Hash())
	if err != nil {
		t.Fatal(err)
	}

	// Exactly one training run of sepsis-risk, generation 7, succeeded with a real AUC.
	var ms reconciler.ModelStatus
	if err := json.Unmarshal([]byte(fileAt(t, status, "models/sepsis-risk.json")), &ms); err != nil {
		t.Fatal(err)
	}
	if len(ms.Runs) != 1 {
		t.Fatalf("status records %d runs of sepsis-risk, want 1: %+v", len(ms.Runs), ms.Runs)
	}
	run := ms.Runs[0]
	if run.Generation != 7 || run.Phase != reconciler.RunSucceeded || run.Commit != m.Hash.String() {
		t.Errorf("run = generation %d, phase %s, commit %s; want 7, Succeeded, the merge %s (%s)", run.Generation, run.Phase, run.Commit, m.Hash, run.Message)
	}
	if run.Result == nil || run.Result.Metrics.AUC == nil {
		t.Fatalf("the run has no AUC: %+v", run.Result)
	}
	if auc := *run.Result.Metrics.AUC; !(auc > 0.5 && auc <= 1) {
		t.Errorf("AUC = %v, want a number in (0.5, 1]", auc)
	}
	if run.Result.Version != "gen-7" || run.Result.Metrics.Samples <= 0 {
		t.Errorf("result = %+v", run.Result)
	}
	if ms.LaunchedGeneration != 7 {
		t.Errorf("launched generation = %d, want 7", ms.LaunchedGeneration)
	}
	// The runner started one job for the model, and it was the demo trainer.
	gens, err := os.ReadDir(filepath.Join(dir, "state", "runs", "sepsis-risk"))
	if err != nil || len(gens) != 1 || gens[0].Name() != "gen-7" {
		t.Errorf("runs of sepsis-risk = %v (%v), want only gen-7", gens, err)
	}
	var model demo.ModelFile
	b, err := os.ReadFile(filepath.Join(dir, "state", "runs", "sepsis-risk", "gen-7", "output", "model.json"))
	if err == nil {
		err = json.Unmarshal(b, &model)
	}
	if err != nil || len(model.Features) < 60 || model.Logistic == nil {
		t.Errorf("model.json: %v, %d features", err, len(model.Features))
	}

	// The planted drift was found in the omics group of every sepsis report and nowhere in
	// readmission-30d.
	reports := func(model string) []drift.Report {
		t.Helper()
		var reps []drift.Report
		tree, err := status.Tree()
		if err != nil {
			t.Fatal(err)
		}
		sub, err := tree.Tree("reports/" + model)
		if err != nil {
			t.Fatalf("no reports of %s: %v", model, err)
		}
		for _, e := range sub.Entries {
			var r drift.Report
			if err := json.Unmarshal([]byte(fileAt(t, status, "reports/"+model+"/"+e.Name)), &r); err != nil {
				t.Fatal(err)
			}
			reps = append(reps, r)
		}
		return reps
	}
	sepsis := reports("sepsis-risk")
	if len(sepsis) < 5 {
		t.Errorf("%d sepsis reports, want at least the 5 the drift trigger needs", len(sepsis))
	}
	for i, r := range sepsis {
		groups := map[string]bool{}
		for _, g := range r.Groups {
			groups[g.Name] = g.Drifted
		}
		if !r.Drifted || !groups["omics"] || groups["clinical"] {
			t.Errorf("sepsis report %d: drifted %v, groups %v; want drift in omics only", i, r.Drifted, groups)
		}
	}
	readmission := reports("readmission-30d")
	if len(readmission) != len(sepsis) {
		t.Errorf("%d readmission reports, %d sepsis reports: want one each per cycle", len(readmission), len(sepsis))
	}
	for i, r := range readmission {
		for _, c := range r.Columns {
			if c.Drifted {
				t.Errorf("readmission report %d: column %s drifted", i, c.Name)
			}
		}
		if r.Drifted {
			t.Errorf("readmission report %d drifted", i)
		}
	}

	// One retrain proposal for sepsis-risk: merged, updated in place once (schedule, then
	// drift evidence), never opened a second time.
	tree, err := status.Tree()
	if err != nil {
		t.Fatal(err)
	}
	props, err := tree.Tree("proposals/sepsis-risk")
	if err != nil {
		t.Fatal(err)
	}
	if len(props.Entries) != 1 || props.Entries[0].Name != "retrain.json" {
		t.Fatalf("sepsis-risk proposals = %v, want only retrain.json", props.Entries)
	}
	var rec forgelocal.Record
	if err := json.Unmarshal([]byte(fileAt(t, status, "proposals/sepsis-risk/retrain.json")), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.State != forgelocal.StateMerged || rec.Merge != m.Hash.String() || rec.Key != "generation-7" {
		t.Errorf("proposal record: state %s, merge %s, key %s", rec.State, rec.Merge, rec.Key)
	}
	opened := 0
	if err := walkLog(repo, statusRef.Hash(), func(c *object.Commit) {
		if strings.HasPrefix(c.Message, "modelops: open proposal sepsis-risk/retrain") {
			opened++
		}
	}); err != nil {
		t.Fatal(err)
	}
	if opened != 1 {
		t.Errorf("the status branch opened the sepsis-risk retrain proposal %d times, want 1", opened)
	}

	// The working tree shows the merged state: nothing is left modified.
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	if st, err := wt.Status(); err != nil || !st.IsClean() {
		t.Errorf("the working tree is not clean after the demo: %v %v", st, err)
	}

	// The directory now holds the demo: a second run there is refused.
	err = runDemo(t.Context(), demoOptions{dir: dir, stdout: &bytes.Buffer{}, trainCommand: []string{exe}, log: slog.New(slog.DiscardHandler)})
	if err == nil || !strings.Contains(err.Error(), "is not empty") {
		t.Errorf("second demo into the same directory: err = %v", err)
	}
}

func fileAt(t *testing.T, c *object.Commit, path string) string {
	t.Helper()
	f, err := c.File(path)
	if err != nil {
		t.Fatalf("%s at %s: %v", path, c.Hash, err)
	}
	s, err := f.Contents()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func walkLog(repo *gogit.Repository, from plumbing.Hash, f func(*object.Commit)) error {
	it, err := repo.Log(&gogit.LogOptions{From: from})
	if err != nil {
		return err
	}
	return it.ForEach(func(c *object.Commit) error { f(c); return nil })
}
