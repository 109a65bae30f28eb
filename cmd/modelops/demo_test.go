package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

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
	// Newest first: the promotion merge, then the retrain merge.
	if len(merges) != 2 {
		t.Fatalf("main has %d merge commits, want 2 (retrain, then promotion)", len(merges))
	}
	m := merges[1]
	for i, want := range []string{"Merge proposal sepsis-risk/promote", "Merge proposal sepsis-risk/retrain"} {
		m := merges[i]
		if !strings.HasPrefix(m.Message, want) || m.Author.Email != "ana@hospital.example" {
			t.Errorf("merge commit %s by %s: %q, want %q by the reviewer", m.Hash, m.Author.Email, m.Message, want)
		}
	}
	if !strings.Contains(out.String(), merges[1].Hash.String()[:10]) {
		t.Errorf("the story does not name the retrain merge commit %s", merges[1].Hash)
	}
	// The tip is the reconciler's rollback: it removes exactly the canary the promotion set.
	tip, err := repo.CommitObject(mainRef.Hash())
	if err != nil {
		t.Fatal(err)
	}
	if tip.Author.Name != "modelops[bot]" || !strings.Contains(tip.Message, "\nModelops-Action: rollback\n") ||
		!strings.Contains(tip.Message, "Modelops-Evidence: reports/sepsis-risk/canary-13-") {
		t.Fatalf("the tip of main is not the rollback commit: %s by %s\n%s", tip.Hash, tip.Author.Name, tip.Message)
	}
	before, err := tip.Parent(0)
	if err != nil {
		t.Fatal(err)
	}
	policy := fileAt(t, tip, "models/sepsis-risk.yaml")
	if !strings.Contains(policy, "\n    generation: 7\n") || strings.Contains(policy, "canary:") {
		t.Errorf("the policy at the tip of main does not read generation 7 without a canary:\n%s", policy)
	}
	if was := fileAt(t, before, "models/sepsis-risk.yaml"); !strings.Contains(was, "\n  canary:\n    version: \"13\"\n") {
		t.Errorf("before the rollback the policy did not hold canary 13:\n%s", was)
	}
	// The router serves production alone again.
	var traffic struct {
		Production struct{ Version string } `json:"production"`
		Canary     *struct{}                `json:"canary"`
	}
	if b, err := os.ReadFile(filepath.Join(dir, "state", "traffic", "sepsis-risk.json")); err != nil {
		t.Error(err)
	} else if err := json.Unmarshal(b, &traffic); err != nil || traffic.Production.Version != "12" || traffic.Canary != nil {
		t.Errorf("router file after the rollback = %s (%v), want production 12 alone", b, err)
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
	// The candidate is named as the registry would: production 12, so 13.
	if run.Result.Version != "13" || run.Result.Metrics.Samples <= 0 {
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
			if !strings.HasPrefix(e.Name, "drift-") {
				continue // canary check evidence
			}
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

	// The promotion proposal is merged as the promotion merge, with the rollback's comment.
	var rec forgelocal.Record
	if err := json.Unmarshal([]byte(fileAt(t, status, "proposals/sepsis-risk/promote.json")), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.State != forgelocal.StateMerged || rec.Merge != merges[0].Hash.String() || rec.Key != "version-13" {
		t.Errorf("promotion record: state %s, merge %s, key %s", rec.State, rec.Merge, rec.Key)
	}
	if c := rec.Comments[len(rec.Comments)-1]; !strings.Contains(c.Text, "rolled back canary `13`") {
		t.Errorf("the promotion proposal's last comment is %q, want the rollback's", c.Text)
	}
	// The generation-7 retrain proposal was opened once and merged; the drift that goes on
	// during the canary opens the generation-8 one, once.
	opened := map[string]int{}
	if err := walkLog(repo, statusRef.Hash(), func(c *object.Commit) {
		if strings.HasPrefix(c.Message, "modelops: open proposal sepsis-risk/retrain") {
			opened[keyOf(t, fileAt(t, c, "proposals/sepsis-risk/retrain.json"))]++
		}
	}); err != nil {
		t.Fatal(err)
	}
	if opened["generation-7"] != 1 || opened["generation-8"] > 1 {
		t.Errorf("the status branch opened the sepsis-risk retrain proposals %v times, want generation-7 once", opened)
	}

	// The working tree shows the merged state: nothing is left modified.
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	if st, err := wt.Status(); err != nil || !st.IsClean() {
		t.Errorf("the working tree is not clean after the demo: %v %v", st, err)
	}

	// The training command is the copy of the binary in the demo directory, not a path that
	// a `go run` deletes when it exits.
	if want := "command: [" + filepath.Join(dir, "bin", "modelops") + ","; !strings.Contains(policy, want) {
		t.Errorf("the job command does not run the demo's copy of the binary (%s):\n%s", want, policy)
	}
	// Every commit of the story carries the simulated time, from the setup an hour before the
	// first cycle to the rollback days later.
	from, to := demo.DefaultStart.Add(-time.Hour), demo.DefaultStart.AddDate(0, 0, 30)
	for _, ref := range []plumbing.Hash{mainRef.Hash(), statusRef.Hash()} {
		if err := walkLog(repo, ref, func(c *object.Commit) {
			for _, when := range []time.Time{c.Author.When, c.Committer.When} {
				if when.Before(from) || when.After(to) {
					t.Errorf("commit %s %q dated %s, outside the story's simulated %s to %s", c.Hash, demoFirstLine(c.Message), when, from, to)
				}
			}
		}); err != nil {
			t.Fatal(err)
		}
	}
	// The commands the story prints work once it is over, and audit tells it in its dates.
	for _, sub := range []string{" audit sepsis-risk --repo ", " proposals list --all --repo "} {
		var line string
		for _, l := range strings.Split(out.String(), "\n") {
			if strings.Contains(l, sub) {
				line = l
			}
		}
		f := strings.Fields(line)
		i := slices.IndexFunc(f, func(w string) bool { return strings.HasPrefix(w, dir) })
		if i < 0 {
			t.Errorf("the story prints no command with%q", sub)
			continue
		}
		cmd := exec.Command(f[i], f[i+1:]...)
		cmd.Env = append(os.Environ(), beCLI+"=1")
		b, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(b), "2026-03-0") {
			t.Errorf("%s: %v\n%s", strings.Join(f[i:], " "), err, b)
		}
	}

	// The directory now holds the demo: a second run there is refused.
	err = runDemo(t.Context(), demoOptions{dir: dir, stdout: &bytes.Buffer{}, trainCommand: []string{exe}, log: slog.New(slog.DiscardHandler)})
	if err == nil || !strings.Contains(err.Error(), "is not empty") {
		t.Errorf("second demo into the same directory: err = %v", err)
	}
}

func demoFirstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
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

func keyOf(t *testing.T, record string) string {
	t.Helper()
	var rec forgelocal.Record
	if err := json.Unmarshal([]byte(record), &rec); err != nil {
		t.Fatal(err)
	}
	return rec.Key
}
