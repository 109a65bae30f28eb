package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/medimind/modelops/internal/faultpoint"
	"github.com/medimind/modelops/internal/testutil/gitserver"
	"github.com/medimind/modelops/reconciler"
)

// beCLI makes the test binary act as the modelops binary, so tests can run (and kill) real
// modelops processes without building one.
const beCLI = "MODELOPS_TEST_BE_CLI"

func TestMain(m *testing.M) {
	if os.Getenv(beCLI) == "1" {
		os.Exit(runMain(os.Args[1:]))
	}
	os.Exit(m.Run())
}

const crashPolicy = `apiVersion: modelops.medimind.io/v1alpha1
kind: ModelPolicy
metadata:
  name: sepsis-risk
spec:
  production: {version: "12", uri: "models:/sepsis-risk/12"}
  data:
    reference: {path: data/reference.csv}
    current: {path: data/current.csv}
  drift:
    interval: 1h    # one check in the test: the first
  retrain:
    generation: 6   # raised by the retrain proposal
    schedule: ""
    onDrift: {share: 1, of: 1}
    onPerformanceDrop: {disabled: true}
    job:
      command: [sh, -c, 'echo run >> "$CRASH_RUNS_LOG"; printf "{\"version\":\"13\",\"uri\":\"models:/sepsis-risk/13\",\"metrics\":{\"auc\":0.9,\"samples\":100}}" > "$MODELOPS_OUTPUT/result.json"']
      gpus: 0
`

// crashWorld is one policy repository with its state directory, driven by real modelops
// processes.
type crashWorld struct {
	t       *testing.T
	repo    string
	state   string
	runsLog string
}

func newCrashWorld(t *testing.T) *crashWorld {
	t.Helper()
	dir := t.TempDir()
	w := &crashWorld{t: t, repo: filepath.Join(dir, "repo"), state: filepath.Join(dir, "state"), runsLog: filepath.Join(dir, "runs.log")}
	var ref, cur strings.Builder
	ref.WriteString("lactate,age\n")
	cur.WriteString("lactate,age\n")
	for i := 0; i < 200; i++ {
		fmt.Fprintf(&ref, "%d,%d\n", i, 40+i%30)
		fmt.Fprintf(&cur, "%d,%d\n", i+120, 40+i%30) // lactate shifted: drift
	}
	files := map[string]string{
		"models/sepsis-risk.yaml": crashPolicy,
		"data/reference.csv":      ref.String(),
		"data/current.csv":        cur.String(),
	}
	for p, content := range files {
		full := filepath.Join(w.repo, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gitserver.MustGit(t, w.repo, "init", "-q", "-b", "main")
	gitserver.MustGit(t, w.repo, "add", "-A")
	gitserver.MustGit(t, w.repo, "commit", "-q", "-m", "Add the sepsis-risk policy")
	return w
}

// modelops runs one modelops process. With a fault point it must die by SIGKILL there; the
// test fails if the process never reached it.
func (w *crashWorld) modelops(fault string, args ...string) {
	w.t.Helper()
	args = append(args, "--repo", w.repo, "--state-dir", w.state)
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), beCLI+"=1", "CRASH_RUNS_LOG="+w.runsLog, "GIT_AUTHOR_NAME=Ana Reviewer", "GIT_AUTHOR_EMAIL=ana@hospital.example")
	if fault != "" {
		cmd.Env = append(cmd.Env, faultpoint.EnvVar+"="+fault)
	}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	killed := errors.As(err, &exit) && exit.Sys().(syscall.WaitStatus).Signaled() && exit.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL
	switch {
	case fault != "" && !killed:
		w.t.Fatalf("modelops %v never reached fault point %s (err %v):\n%s", args[:2], fault, err, out)
	case fault == "" && err != nil:
		w.t.Fatalf("modelops %v: %v\n%s", args[:2], err, out)
	}
}

// waitRun waits for the training job to write its result.
func (w *crashWorld) waitRun() {
	w.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		matches, _ := filepath.Glob(filepath.Join(w.state, "runs", "sepsis-risk", "gen-7", "exit"))
		if len(matches) == 1 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	w.t.Fatal("the training run did not finish in 30s")
}

// The steps of a full retrain cycle, as separate processes: each may be killed at a fault
// point and is then simply run again, as a restarted reconciler (or a person retrying a
// merge) would.
var crashSteps = []struct {
	name string
	args []string
}{
	{"drift check and retrain proposal", []string{"reconcile", "--once"}},
	{"a person merges the proposal", []string{"proposals", "merge", "sepsis-risk/retrain"}},
	{"launch of generation 7", []string{"reconcile", "--once"}},
	{"result of the run recorded", []string{"reconcile", "--once"}},
}

func TestCrashAtEveryBoundaryLosesNothingAndRepeatsNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("runs dozens of modelops processes")
	}
	points := []struct {
		step  int
		fault string
	}{
		{0, "after-check-drift"},
		{0, "forge-after-branch-push"},
		{0, "after-propose-retrain"},
		{0, "before-status-save"},
		{0, "after-status-save"},
		{1, "forge-after-merge-push"},
		{2, "runner-before-start"},
		{2, "after-launch-training"},
		{2, "before-status-save"},
		{2, "after-status-save"},
		{3, "before-status-save"},
		{3, "after-status-save"},
	}
	for _, p := range points {
		t.Run(fmt.Sprintf("%s during %s", p.fault, crashSteps[p.step].name), func(t *testing.T) {
			w := newCrashWorld(t)
			for i, step := range crashSteps {
				if i == 3 {
					w.waitRun()
				}
				if i == p.step {
					w.modelops(p.fault, step.args...)
				}
				w.modelops("", step.args...)
			}
			w.modelops("", "reconcile", "--once") // and once more: nothing may repeat
			w.assertOneOfEverything()
		})
	}
}

func (w *crashWorld) assertOneOfEverything() {
	t := w.t
	t.Helper()
	runs, err := os.ReadFile(w.runsLog)
	if err != nil {
		t.Fatalf("the training job never ran: %v", err)
	}
	if n := strings.Count(string(runs), "run\n"); n != 1 {
		t.Fatalf("the training job ran %d times, want exactly once", n)
	}

	// Exactly one merge on the tracked branch, and one proposal opened.
	merges := gitserver.MustGit(t, w.repo, "log", "--merges", "--format=%H %an", "main")
	if lines := strings.Split(strings.TrimSpace(merges), "\n"); len(lines) != 1 || !strings.HasSuffix(lines[0], "Ana Reviewer") {
		t.Fatalf("merges on main = %q, want exactly one by Ana Reviewer", merges)
	}
	// A drift check redone after a crash carries a new report, so the open proposal may be
	// updated in place with it; it is never opened twice.
	opens := gitserver.MustGit(t, w.repo, "log", "--format=%s", "--grep=^Modelops-Action: proposal-open", "modelops/status")
	if n := strings.Count(opens, "modelops: open proposal sepsis-risk/retrain"); n != 1 {
		t.Fatalf("proposal records opened %d times, want 1:\n%s", n, opens)
	}
	branch := gitserver.MustGit(t, w.repo, "rev-list", "--count", "main..modelops/sepsis-risk/retrain")
	if strings.TrimSpace(branch) != "0" {
		t.Fatalf("the proposal branch has %s commits not in main, want 0 after the merge", branch)
	}

	// The status records the run of generation 7 with its result, and the drift report.
	raw := gitserver.MustGit(t, w.repo, "show", "modelops/status:models/sepsis-risk.json")
	var ms reconciler.ModelStatus
	if err := json.Unmarshal([]byte(raw), &ms); err != nil {
		t.Fatal(err)
	}
	run, ok := ms.Run(7)
	if ms.LaunchedGeneration != 7 || !ok || run.Phase != reconciler.RunSucceeded || run.Result == nil || run.Result.Version != "13" {
		t.Fatalf("status: launched %d, run %+v; want generation 7 Succeeded with version 13", ms.LaunchedGeneration, run)
	}
	if merge := strings.Fields(merges)[0]; run.Commit != merge {
		t.Fatalf("the run is recorded on %s, want the merge commit %s", run.Commit, merge)
	}
	if len(ms.Drift) == 0 || !ms.Drift[0].Drifted {
		t.Fatalf("drift records %+v, want the drifted report kept", ms.Drift)
	}
	report := gitserver.MustGit(t, w.repo, "show", "modelops/status:"+ms.Drift[0].Report)
	if !strings.Contains(report, `"name": "lactate"`) {
		t.Fatalf("the drift report %s is missing or wrong:\n%.300s", ms.Drift[0].Report, report)
	}
}
