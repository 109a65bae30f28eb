package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/medimind/modelops/internal/testutil/gitserver"
	"github.com/medimind/modelops/reconciler"
)

// failedTrainingRepo makes a local repository with a broken policy and a model whose job
// fails, and reconciles it until generation 7's run has failed (not yet observed). It checks
// that each cycle exits 2 for the invalid policy after reconciling the valid model.
func failedTrainingRepo(t *testing.T) (repo, state string) {
	t.Helper()
	repo = runRepo(t, 6)
	failing := strings.Replace(runPolicy, `"true"`, `"echo loading train.py; echo train.py: no module named torch; exit 1"`, 1)
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(repo, "models", name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("sepsis-risk.yaml", fmt.Sprintf(failing, 6))
	write("broken.yaml", "apiVersion: modelops.medimind.io/v1alpha1\nkind: ModelPolicy\nmetadata: {name: broken}\nspec:\n  canary: {version: \"2\", weight: 150}\n")
	gitserver.MustGit(t, repo, "add", "-A")
	gitserver.MustGit(t, repo, "commit", "-q", "-m", "a failing job and a broken policy")
	state = filepath.Join(t.TempDir(), "state")

	if code, out, _ := runCLI(t, "reconcile", "--once", "--repo", repo, "--state-dir", state); code != 2 || !strings.Contains(out, "invalid, left alone: models/broken.yaml") {
		t.Fatalf("with an invalid policy: exit %d, want 2\n%s", code, out)
	}
	write("sepsis-risk.yaml", fmt.Sprintf(failing, 7))
	gitserver.MustGit(t, repo, "commit", "-q", "-am", "Raise to generation 7")
	if code, out, _ := runCLI(t, "reconcile", "--once", "--repo", repo, "--state-dir", state); code != 2 || !strings.Contains(out, "launch-training") {
		t.Fatalf("after the raise: exit %d, want 2 with the launch\n%s", code, out)
	}
	waitFile(t, filepath.Join(state, "runs", "sepsis-risk", "gen-7", "exit"), 10*time.Second)
	return repo, state
}

// TestReconcileOnceExitsOnFailedTrainingAndInvalidPolicies: a training run that fails is
// reported by the cycle that finds it (with its last log lines) and makes it exit 1, once;
// an invalid policy makes every cycle exit 2 after the valid model was reconciled.
func TestReconcileOnceExitsOnFailedTrainingAndInvalidPolicies(t *testing.T) {
	repo, state := failedTrainingRepo(t)
	reconcile := func() (int, string) {
		t.Helper()
		code, out, _ := runCLI(t, "reconcile", "--once", "--repo", repo, "--state-dir", state)
		return code, out
	}
	code, out := reconcile()
	if code != 1 || !strings.Contains(out, "1 training run(s) failed") ||
		!strings.Contains(out, "training FAILED: sepsis-risk generation 7") || !strings.Contains(out, "no module named torch") {
		t.Fatalf("after the run failed: exit %d, want 1 and the failure with its log\n%s", code, out)
	}
	if code, out := reconcile(); code != 2 || strings.Contains(out, "training FAILED") {
		t.Fatalf("the next cycle: exit %d, want 2 without reporting the failure again\n%s", code, out)
	}
}

// TestStatusShowsEveryModelAtAGlance reads the state a few cycles left: the failed run, the
// Ready condition with its reason, the invalid policy, and an open proposal with its link.
func TestStatusShowsEveryModelAtAGlance(t *testing.T) {
	repo, state := failedTrainingRepo(t)
	runCLI(t, "reconcile", "--once", "--repo", repo, "--state-dir", state)
	if code, out, errOut := runCLI(t, "retrain", "sepsis-risk", "--reason", "fix the image", "--repo", repo, "--state-dir", state); code != 0 {
		t.Fatalf("retrain: exit %d\n%s%s", code, out, errOut)
	}
	statusBefore := gitserver.MustGit(t, repo, "rev-parse", "modelops/status")

	code, out, errOut := runCLI(t, "status", "--repo", repo, "--state-dir", state, "-o", "json")
	if code != 0 {
		t.Fatalf("status -o json: exit %d\n%s", code, errOut)
	}
	var got statusOutput
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("status -o json: %v\n%s", err, out)
	}
	if len(got.Models) != 2 || got.Models[0].Model != "broken" || len(got.Models[0].Errors) == 0 {
		t.Fatalf("models %+v, want broken (with its errors) and sepsis-risk", got.Models)
	}
	m := got.Models[1]
	ready, _ := findReady(m.Conditions)
	if m.Generation != 7 || m.LaunchedGeneration != 7 || m.LastRun == nil || m.LastRun.Phase != reconciler.RunFailed ||
		ready.Reason != reconciler.TrainingFailedReason || m.Traffic == nil || m.Traffic.Production != "12" ||
		len(m.Proposals) != 1 || m.Proposals[0].Kind != reconciler.ProposalRetrain || m.Proposals[0].Where() == "" {
		t.Fatalf("sepsis-risk = %+v, want generation 7 failed (Ready False TrainingFailed), production 12, the retrain proposal", m)
	}

	_, table, _ := runCLI(t, "status", "--repo", repo, "--state-dir", state, "-o", "wide")
	for _, want := range []string{"MODEL", "sepsis-risk", "False (TrainingFailed)", "gen 7 Failed", "7 (launched 7)", "retrain", m.Proposals[0].Where(), "False (InvalidPolicy)"} {
		if !strings.Contains(table, want) {
			t.Errorf("status -o wide lacks %q:\n%s", want, table)
		}
	}
	_, detail, _ := runCLI(t, "status", "sepsis-risk", "--repo", repo, "--state-dir", state)
	for _, want := range []string{"Model:         sepsis-risk", "no module named torch", "Ready  ", "TrainingFailed", "sepsis-risk/retrain"} {
		if !strings.Contains(detail, want) {
			t.Errorf("status sepsis-risk lacks %q:\n%s", want, detail)
		}
	}
	if code, _, errOut := runCLI(t, "status", "nope", "--repo", repo, "--state-dir", state); code != 2 || !strings.Contains(errOut, `no model "nope"`) {
		t.Errorf("status of an unknown model: exit %d, %s", code, errOut)
	}
	if after := gitserver.MustGit(t, repo, "rev-parse", "modelops/status"); after != statusBefore {
		t.Errorf("status wrote to the status branch: %s → %s", statusBefore, after)
	}
}

func findReady(conds []reconciler.Condition) (reconciler.Condition, bool) {
	for _, c := range conds {
		if c.Type == reconciler.ConditionReady {
			return c, true
		}
	}
	return reconciler.Condition{}, false
}

// TestADeletedStatusBranchLosesNoMergedRaise: a person deletes the status branch in the same
// atomic push that raises the generation. The reconciler restores the status from its mirror
// and trains the raise, exactly once, instead of adopting it as already trained.
func TestADeletedStatusBranchLosesNoMergedRaise(t *testing.T) {
	fixture := t.TempDir()
	if err := os.MkdirAll(filepath.Join(fixture, "models"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(fixture, "models", "sepsis-risk.yaml"), fmt.Appendf(nil, runPolicy, 6), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := gitserver.New(t, gitserver.Options{})
	url := srv.Seed(t, "policies.git", "main", fixture)
	state := filepath.Join(t.TempDir(), "state")
	reconcile := func() string {
		t.Helper()
		code, out, errOut := runCLI(t, "reconcile", "--once", "--repo", url, "--state-dir", state)
		if code != 0 {
			t.Fatalf("reconcile exit %d\n%s%s", code, out, errOut)
		}
		return out
	}
	reconcile() // generation 6 is adopted; the status branch is created

	person := filepath.Join(t.TempDir(), "clone")
	gitserver.MustGit(t, filepath.Dir(person), "clone", "-q", url, person)
	raise(t, person, 7)
	gitserver.MustGit(t, person, "push", "-q", "--atomic", "origin", "main", ":modelops/status")

	out := reconcile()
	if !strings.Contains(out, "status branch lost: restored") || strings.Count(out, "launch-training") != 1 {
		t.Fatalf("after the atomic push: want the status restored and generation 7 launched\n%s", out)
	}
	waitFile(t, filepath.Join(state, "runs", "sepsis-risk", "gen-7", "exit"), 10*time.Second)
	// The job writes no result, so the run fails (exit 1); what matters is that it ran once.
	code, out, _ := runCLI(t, "reconcile", "--once", "--repo", url, "--state-dir", state)
	if code != 1 || strings.Contains(out, "launch-training") || strings.Contains(out, "restored") {
		t.Fatalf("the next cycle: exit %d, want 1 (the run's failure) without launching or restoring again\n%s", code, out)
	}
	raw := gitserver.MustGit(t, srv.Dir("policies.git"), "show", "modelops/status:models/sepsis-risk.json")
	var ms reconciler.ModelStatus
	if err := json.Unmarshal([]byte(raw), &ms); err != nil {
		t.Fatal(err)
	}
	if run, ok := ms.Run(7); ms.LaunchedGeneration != 7 || !ok || run.Phase != reconciler.RunFailed {
		t.Fatalf("status on the server: launched %d, run 7 %+v; want generation 7 trained", ms.LaunchedGeneration, run)
	}
	if n := strings.Count(gitserver.MustGit(t, srv.Dir("policies.git"), "log", "--format=%s", "modelops/status"), "\n"); n < 3 {
		t.Fatalf("the status branch has %d commits: its history before the deletion was not restored", n)
	}
}

// TestAnUndecidedGenerationIsAdoptedByAPerson: a fresh reconciler (no status branch, no
// mirror) meets a generation raised in history: it launches nothing and says so, until
// modelops adopt takes the generation as trained.
func TestAnUndecidedGenerationIsAdoptedByAPerson(t *testing.T) {
	repo := runRepo(t, 6)
	raise(t, repo, 7)
	state := filepath.Join(t.TempDir(), "state")
	if code, out, errOut := runCLI(t, "reconcile", "--once", "--repo", repo, "--state-dir", state); code != 0 || strings.Contains(out, "launch-training") {
		t.Fatalf("reconcile: exit %d\n%s%s", code, out, errOut)
	}
	raw := gitserver.MustGit(t, repo, "show", "modelops/status:models/sepsis-risk.json")
	if !strings.Contains(raw, `"reason": "GenerationUndecided"`) || !strings.Contains(raw, "modelops adopt sepsis-risk") {
		t.Fatalf("status of the undecided model:\n%s", raw)
	}
	// A reason with control characters is refused before anything is recorded.
	if code, _, errOut := runCLI(t, "adopt", "sepsis-risk", "--reason", "trained\x00\x1b[2J", "--repo", repo, "--state-dir", state); code != 2 || !strings.Contains(errOut, "control character") {
		t.Fatalf("adopt with a control character: exit %d, %s", code, errOut)
	}
	if raw := gitserver.MustGit(t, repo, "show", "modelops/status:models/sepsis-risk.json"); !strings.Contains(raw, `"reason": "GenerationUndecided"`) {
		t.Fatalf("a refused adopt changed the status:\n%s", raw)
	}
	code, out, errOut := runCLI(t, "adopt", "sepsis-risk", "--reason", "trained before the status was lost", "--repo", repo, "--state-dir", state)
	if code != 0 || !strings.Contains(out, "Generation 7 of sepsis-risk") {
		t.Fatalf("adopt: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ := runCLI(t, "reconcile", "--once", "--repo", repo, "--state-dir", state); code != 0 || strings.Contains(out, "launch-training") {
		t.Fatalf("reconcile after adopting: exit %d\n%s", code, out)
	}
	var ms reconciler.ModelStatus
	if err := json.Unmarshal([]byte(gitserver.MustGit(t, repo, "show", "modelops/status:models/sepsis-risk.json")), &ms); err != nil {
		t.Fatal(err)
	}
	if ms.LaunchedGeneration != 7 || ms.Undecided != nil {
		t.Fatalf("after adopting: launched %d, undecided %+v", ms.LaunchedGeneration, ms.Undecided)
	}
	if code, _, errOut := runCLI(t, "adopt", "sepsis-risk", "--reason", "again", "--repo", repo, "--state-dir", state); code != 2 || !strings.Contains(errOut, "nothing to adopt") {
		t.Fatalf("adopt with nothing undecided: exit %d, %s", code, errOut)
	}
}

// TestAScheduleAddedToAPolicyIsFirstDueAPeriodAfterItsCommit runs the reconciler on a real
// repository on a simulated clock: a weekly schedule committed (by a person, with the git
// CLI) two weeks after the model arrived is not due on the next cycle, but on the first
// Monday 02:00 after its commit.
func TestAScheduleAddedToAPolicyIsFirstDueAPeriodAfterItsCommit(t *testing.T) {
	start := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC) // a Monday
	repo := runRepo(t, 6)
	now := start
	s, err := openStack(t.Context(), &repoOptions{repo: repo, branch: "main", stateDir: filepath.Join(t.TempDir(), "state"),
		authorName: "modelops[bot]", authorEmail: "bot@example.com", now: func() time.Time { return now }}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	cycle := func() []string {
		t.Helper()
		res, err := s.reconciler.Cycle(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, a := range res.Actions {
			kinds = append(kinds, string(a.Action.Kind)+" "+a.Action.Reason)
		}
		return kinds
	}
	cycle()

	now = start.Add(14 * 24 * time.Hour)
	weekly := strings.Replace(fmt.Sprintf(runPolicy, 6), `schedule: ""`, `schedule: "0 2 * * 1"`, 1)
	if err := os.WriteFile(filepath.Join(repo, "models", "sepsis-risk.yaml"), []byte(weekly), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GIT_COMMITTER_DATE", now.Format(time.RFC3339))
	gitserver.MustGit(t, repo, "commit", "-q", "-am", "Retrain weekly")

	now = now.Add(time.Hour)
	if got := cycle(); len(got) != 0 {
		t.Fatalf("the cycle after the schedule's commit acted: %v", got)
	}
	now = time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC) // the first Monday 02:00 after it
	got := cycle()
	if len(got) != 1 || !strings.HasPrefix(got[0], "propose-retrain schedule trigger") {
		t.Fatalf("a week after the schedule's commit: %v, want one schedule retrain proposal", got)
	}
}

// TestAStatusBranchDeletedInALocalRepositoryIsRestored: on a local repository the backup
// lives beside the branch, and `git branch -D` loses nothing either.
func TestAStatusBranchDeletedInALocalRepositoryIsRestored(t *testing.T) {
	repo := runRepo(t, 6)
	state := filepath.Join(t.TempDir(), "state")
	runCLI(t, "reconcile", "--once", "--repo", repo, "--state-dir", state)
	before := gitserver.MustGit(t, repo, "rev-parse", "modelops/status")
	gitserver.MustGit(t, repo, "branch", "-q", "-D", "modelops/status")
	raise(t, repo, 7)

	code, out, _ := runCLI(t, "reconcile", "--once", "--repo", repo, "--state-dir", state)
	if code != 0 || !strings.Contains(out, "status branch lost: restored") || !strings.Contains(out, "launch-training") {
		t.Fatalf("after git branch -D: exit %d, want the status restored and generation 7 launched\n%s", code, out)
	}
	if log := gitserver.MustGit(t, repo, "log", "--format=%H", "modelops/status"); !strings.Contains(log, strings.TrimSpace(before)) {
		t.Fatalf("the restored status branch does not continue from %s:\n%s", before, log)
	}
}
