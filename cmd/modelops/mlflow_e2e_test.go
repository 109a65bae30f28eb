package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/medimind/modelops/internal/faultpoint"
	"github.com/medimind/modelops/internal/registry/mlflow"
	routerfile "github.com/medimind/modelops/internal/router/file"
	"github.com/medimind/modelops/internal/testutil/gitserver"
	"github.com/medimind/modelops/internal/testutil/mlflowfake"
	"github.com/medimind/modelops/reconciler"
)

// registryPolicy is the model of the MLflow end-to-end test: production 12, and the canary
// a person adds. Its canary is judged every second on at least 20 labelled predictions a
// version and rolled back after one failed check.
const registryPolicy = `apiVersion: modelops.medimind.io/v1alpha1
kind: ModelPolicy
metadata:
  name: sepsis-risk
spec:
  production: {version: "12", uri: "models:/sepsis-risk@champion"}
%s  metrics:
    predictions: {path: logs/predictions.csv}
  canaryAnalysis:
    steps: [10, 100]
    interval: 1s
    duration: 1h
    minSamples: 20
    rollback: {metric: auc, maxDrop: 0.02, failedChecks: 1}
  registry: {name: sepsis-risk}
`

// mlflowWorld is a policy repository on the embedded git server whose .modelops.yaml names
// the MLflow fake, and the state of the reconciler working on it.
type mlflowWorld struct {
	t                      *testing.T
	fake                   *mlflowfake.Server
	url, work, state, data string
}

func newMLflowWorld(t *testing.T, policy string, opts ...mlflowfake.Option) *mlflowWorld {
	fake := mlflowfake.New(t, opts...)
	fixture := t.TempDir()
	writeFiles(t, fixture, map[string]string{
		".modelops.yaml":          fmt.Sprintf("apiVersion: modelops.medimind.io/v1alpha1\nkind: RepositoryConfig\nspec:\n  mlflow: {trackingURI: %q}\n", fake.URL()),
		"models/sepsis-risk.yaml": policy,
	})
	srv := gitserver.New(t, gitserver.Options{})
	w := &mlflowWorld{t: t, fake: fake, url: srv.Seed(t, "policies.git", "main", fixture),
		work: filepath.Join(t.TempDir(), "work"), state: filepath.Join(t.TempDir(), "state"), data: t.TempDir()}
	gitserver.MustGit(t, filepath.Dir(w.work), "clone", "-q", w.url, w.work)
	for _, k := range []string{mlflow.EnvTrackingURI, mlflow.EnvTrackingToken, mlflow.EnvTrackingUsername, mlflow.EnvTrackingPassword} {
		t.Setenv(k, "")
	}
	return w
}

// reconcile runs `modelops reconcile --once -o json`; an action that failed fails the test.
func (w *mlflowWorld) reconcile() *reconciler.CycleResult {
	w.t.Helper()
	code, out, errOut := runCLI(w.t, "reconcile", "--once", "-o", "json", "--repo", w.url, "--state-dir", w.state, "--data-root", w.data)
	var res reconciler.CycleResult
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != 0 {
		w.t.Fatalf("modelops reconcile: exit %d, %v\n%s%s", code, err, out, errOut)
	}
	for _, a := range res.Actions {
		if a.Error != "" || a.Skipped {
			w.t.Fatalf("action %s: skipped %v, error %q", a.Action.Key, a.Skipped, a.Error)
		}
	}
	return &res
}

// commitPolicy commits the policy as a person.
func (w *mlflowWorld) commitPolicy(policy, message string) {
	w.t.Helper()
	gitserver.MustGit(w.t, w.work, "pull", "-q", "--ff-only")
	writeFiles(w.t, w.work, map[string]string{"models/sepsis-risk.yaml": policy})
	gitserver.MustGit(w.t, w.work, "-c", "user.name=Dr Person", "-c", "user.email=person@example.org", "commit", "-q", "-am", message)
	gitserver.MustGit(w.t, w.work, "push", "-q", "origin", "main")
}

// condition returns the model's condition of type ct from `modelops status -o json`.
func (w *mlflowWorld) condition(ct string) reconciler.Condition {
	w.t.Helper()
	code, out, errOut := runCLI(w.t, "status", "--repo", w.url, "--state-dir", w.state, "-o", "json")
	var got statusOutput
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != 0 {
		w.t.Fatalf("status -o json: exit %d, %v\n%s", code, err, errOut)
	}
	for _, m := range got.Models {
		for _, c := range m.Conditions {
			if m.Model == "sepsis-risk" && c.Type == ct {
				return c
			}
		}
	}
	return reconciler.Condition{}
}

func kindsOf(res *reconciler.CycleResult) []string {
	var out []string
	for _, a := range res.Actions {
		out = append(out, string(a.Action.Kind))
	}
	return out
}

// writePredictions writes the serving log: n labelled predictions a version since since,
// production separating the classes perfectly and the canary inverting them.
func (w *mlflowWorld) writePredictions(since time.Time, n int) {
	w.t.Helper()
	var b strings.Builder
	b.WriteString("timestamp,model_version,score,label\n")
	step := time.Since(since) / time.Duration(2*n+2)
	at := since.Add(step)
	for i := range n {
		label := i % 2
		for _, v := range []struct {
			version string
			score   float64
		}{{"12", 0.1 + 0.8*float64(label)}, {"14", 0.9 - 0.8*float64(label)}} {
			fmt.Fprintf(&b, "%s,%s,%g,%d\n", at.UTC().Format(time.RFC3339Nano), v.version, v.score, label)
			at = at.Add(step)
		}
	}
	writeFiles(w.t, w.data, map[string]string{"logs/predictions.csv": b.String()})
}

// TestMLflowRegistryFollowsGit drives the registry story through `modelops reconcile --once`
// on the embedded git server and the MLflow fake, which checks every request and response
// against its contract: the champion alias follows production 12 once the router serves it;
// a canary of 14 committed on the tip gets 10 % of the traffic and then the challenger
// alias, in the same cycle; a person moving champion in the "UI" has it set back and
// reported (RegistryDrift), across processes; the failing canary is rolled back by a commit,
// and the next cycle takes its traffic and deletes challenger, champion still on 12 and 14
// tagged with why it was rolled back. With enforce: false a person's move is only reported.
func TestMLflowRegistryFollowsGit(t *testing.T) {
	w := newMLflowWorld(t, fmt.Sprintf(registryPolicy, ""))
	for range 14 {
		w.fake.CreateVersion("sepsis-risk", mlflowfake.VersionSpec{Source: "models:/m"})
	}

	res := w.reconcile()
	if got := w.fake.Aliases("sepsis-risk"); got["champion"] != "12" || len(got) != 1 {
		t.Fatalf("aliases after the first cycle = %v (actions %v), want champion → 12", got, kindsOf(res))
	}
	if tags := w.fake.VersionTags("sepsis-risk", "12"); tags[mlflow.TagCommit] != res.Commit {
		t.Errorf("version 12 tags %v, want modelops.commit %s", tags, res.Commit)
	}
	if res := w.reconcile(); len(res.Actions) != 0 {
		t.Fatalf("a converged cycle planned %v", kindsOf(res))
	}

	w.commitPolicy(fmt.Sprintf(registryPolicy, "  canary: {version: \"14\", uri: \"models:/sepsis-risk@challenger\", weight: 10}\n"), "Canary 14 at 10%")
	canaryStart := time.Now()
	res = w.reconcile()
	if got := strings.Join(kindsOf(res), " "); got != "apply-traffic set-alias" {
		t.Fatalf("canary cycle actions = %q, want apply-traffic then set-alias", got)
	}
	if tr, err := routerfile.Read(filepath.Join(w.state, "traffic"), "sepsis-risk"); err != nil || tr.Canary != "14" || tr.Weight != 10 || tr.Production != "12" {
		t.Fatalf("router serves %+v (%v), want 12 with canary 14 at 10", tr, err)
	}
	if got := w.fake.Aliases("sepsis-risk"); got["champion"] != "12" || got["challenger"] != "14" {
		t.Fatalf("aliases after the canary cycle = %v, want champion → 12, challenger → 14", got)
	}

	// A person moves champion in MLflow's UI: set back, reported.
	w.fake.MoveAlias("sepsis-risk", "champion", "13")
	code, out, errOut := runCLI(t, "plan", "-o", "json", "--repo", w.url, "--state-dir", w.state, "--data-root", w.data)
	var plan planOutput
	if err := json.Unmarshal([]byte(out), &plan); err != nil || code != 0 || len(plan.Actions) != 1 ||
		plan.Actions[0].Key != "set-alias/sepsis-risk/champion/12/from-13" {
		t.Fatalf("modelops plan: exit %d, %v, %+v\n%s", code, err, plan.Actions, errOut)
	}
	res = w.reconcile()
	if len(res.Actions) != 1 || res.Actions[0].Action.Key != plan.Actions[0].Key || !res.Actions[0].Action.Registry.Drift {
		t.Fatalf("after the person's move the cycle planned %v, want one set-alias marked as drift", kindsOf(res))
	}
	if got := w.fake.Aliases("sepsis-risk"); got["champion"] != "12" {
		t.Fatalf("champion = %s after the set-back, want 12", got["champion"])
	}
	if c := w.condition(reconciler.ConditionRegistryDrift); c.Status != reconciler.ConditionTrue || c.Reason != reconciler.AliasSetBackReason ||
		!strings.Contains(c.Message, "moved outside git to version 13") {
		t.Fatalf("RegistryDrift = %+v, want True AliasSetBack naming version 13", c)
	}

	// The canary fails its check: modelops commits the rollback, then takes the traffic
	// back and deletes challenger.
	for time.Since(canaryStart) < 1500*time.Millisecond {
		time.Sleep(100 * time.Millisecond)
	}
	w.writePredictions(canaryStart, 30)
	res = w.reconcile()
	if !strings.Contains(strings.Join(kindsOf(res), " "), "rollback") {
		t.Fatalf("the failing canary's cycle did %v, want a rollback", kindsOf(res))
	}
	res = w.reconcile()
	if got := strings.Join(kindsOf(res), " "); got != "apply-traffic delete-alias" {
		t.Fatalf("after the rollback commit the cycle did %q, want apply-traffic then delete-alias", got)
	}
	if got := w.fake.Aliases("sepsis-risk"); got["champion"] != "12" || len(got) != 1 {
		t.Fatalf("aliases after the rollback = %v, want champion → 12 alone", got)
	}
	if tags := w.fake.VersionTags("sepsis-risk", "14"); !strings.Contains(tags[reconciler.TagRolledBack], "rollback") {
		t.Fatalf("version 14 tags %v, want modelops.rolled-back with the reason", tags)
	}
	if c := w.condition(reconciler.ConditionRegistryDrift); c.Status != reconciler.ConditionFalse {
		t.Errorf("RegistryDrift after the aliases are back = %+v, want False", c)
	}
	// The rollback commit says which registry calls it leads to; `modelops audit` shows it;
	// the status branch records the calls as made.
	gitserver.MustGit(t, w.work, "pull", "-q", "--ff-only")
	rollback := strings.TrimSpace(gitserver.MustGit(t, w.work, "log", "-1", "--format=%H", "--grep=^Modelops-Action: rollback"))
	trailer := "Modelops-Registry: delete alias challenger of sepsis-risk (version 14), once the router serves the rollback"
	if msg := gitserver.MustGit(t, w.work, "log", "-1", "--format=%B", rollback); !strings.Contains(msg, trailer) {
		t.Errorf("the rollback commit's message lacks %q:\n%s", trailer, msg)
	}
	if code, out, errOut := runCLI(t, "audit", "sepsis-risk", "--repo", w.url, "-o", "json"); code != 0 || !strings.Contains(out, "delete alias challenger of sepsis-risk (version 14)") {
		t.Errorf("modelops audit: exit %d, the registry calls of the rollback not shown\n%s%s", code, out, errOut)
	}
	gitserver.MustGit(t, w.work, "fetch", "-q", "origin", "modelops/status")
	var ms reconciler.ModelStatus
	if err := json.Unmarshal([]byte(gitserver.MustGit(t, w.work, "show", "FETCH_HEAD:models/sepsis-risk.json")), &ms); err != nil {
		t.Fatal(err)
	}
	var calls []string
	for _, c := range ms.RegistryCalls {
		calls = append(calls, fmt.Sprintf("%s %s %s %v", c.Action, c.Alias, c.Version, c.Commit == rollback))
		if c.Action == reconciler.ActionRollback && !strings.Contains(c.Tags[reconciler.TagRolledBack], rollback) {
			t.Errorf("the rollback's tag call %+v does not name the rollback commit", c)
		}
	}
	if want := "set-alias champion 12 false; set-alias challenger 14 false; set-alias champion 12 false; rollback  14 true; delete-alias challenger 14 true"; strings.Join(calls, "; ") != want {
		t.Errorf("the status branch records the registry calls\n%s\nwant\n%s", strings.Join(calls, "; "), want)
	}

	// With enforce: false a person's move is only reported, and stays.
	w.commitPolicy(strings.Replace(fmt.Sprintf(registryPolicy, ""), "{name: sepsis-risk}", "{name: sepsis-risk, enforce: false}", 1), "Registry: report only")
	w.fake.MoveAlias("sepsis-risk", "champion", "13")
	res = w.reconcile()
	if got := strings.Join(kindsOf(res), " "); got != "report-registry-drift" {
		t.Fatalf("with enforce false the cycle did %q, want report-registry-drift", got)
	}
	if got := w.fake.Aliases("sepsis-risk"); got["champion"] != "13" {
		t.Fatalf("with enforce false champion = %s, want 13 where the person put it", got["champion"])
	}
	if c := w.condition(reconciler.ConditionRegistryDrift); c.Status != reconciler.ConditionTrue || c.Reason != reconciler.AliasMovedOutsideGitReason {
		t.Fatalf("RegistryDrift with enforce false = %+v, want True AliasMovedOutsideGit", c)
	}
}

// retrainPolicy is the model of TestMLflowRegisteredCandidateIsJudged at a generation: its
// training job registers the candidate in MLflow and reports only the registry version.
const retrainPolicy = `apiVersion: modelops.medimind.io/v1alpha1
kind: ModelPolicy
metadata:
  name: sepsis-risk
spec:
  production: {version: "12", uri: "models:/sepsis-risk/12"}
  retrain:
    generation: %d
    schedule: ""
    onDrift: {disabled: true}
    onPerformanceDrop: {disabled: true}
    job:
      command: [%q, "-test.run=^TestMLflowE2ETrainJob$"]
      gpus: 0
      timeout: 10m
  promotion:
    minImprovement: {auc: 0}
    minSamples: 1000
  registry: {name: sepsis-risk}
`

// mlflowJobEnv marks the environment of TestMLflowRegisteredCandidateIsJudged's jobs.
const mlflowJobEnv = "MODELOPS_TEST_MLFLOW_JOB"

// TestMLflowE2ETrainJob is the training job of TestMLflowRegisteredCandidateIsJudged: it
// reports the version "it registered", 13 + its generation, as a registry reference. Under
// go test it is skipped.
func TestMLflowE2ETrainJob(t *testing.T) {
	out := os.Getenv("MODELOPS_OUTPUT")
	gen, err := strconv.Atoi(os.Getenv("MODELOPS_GENERATION"))
	mode := os.Getenv("MLFLOW_E2E_JOB")
	if out == "" || err != nil || (mode != "1" && mode != "noresult") {
		t.Skip("runs only as the training job started by TestMLflowRegisteredCandidateIsJudged")
	}
	if mode == "noresult" {
		os.Exit(0) // registered its version (the test does it for the job) and reported nothing
	}
	result := fmt.Sprintf(`{"registry": {"name": "sepsis-risk", "version": "%d"}}`, 13+gen)
	if err := os.WriteFile(filepath.Join(out, "result.json"), []byte(result), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// TestMLflowRegisteredCandidateIsJudged: a training job reports {"registry": {"name",
// "version"}}; while the version is PENDING_REGISTRATION the candidate waits, once READY its
// run's metrics (runs/get) are judged by the promotion gate and the version is tagged with
// the verdict, its generation and the commit that launched it; a version whose registration
// failed fails the run with MLflow's reason.
func TestMLflowRegisteredCandidateIsJudged(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	clock := time.Now()
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	advance := func() { mu.Lock(); defer mu.Unlock(); clock = clock.Add(2 * time.Hour) }
	policy := func(gen int) string { return fmt.Sprintf(retrainPolicy, gen, exe) }
	w := newMLflowWorld(t, policy(1), mlflowfake.WithClock(now), mlflowfake.WithReadyAfter(time.Hour))
	t.Setenv("MLFLOW_E2E_JOB", "1")
	for range 14 {
		w.fake.CreateVersion("sepsis-risk", mlflowfake.VersionSpec{Source: "models:/m"})
	}
	advance() // 1 to 14 are READY
	w.reconcile()

	w.commitPolicy(policy(2), "Retrain: generation 2")
	launch := strings.TrimSpace(gitserver.MustGit(t, w.work, "rev-parse", "HEAD"))
	if got := kindsOf(w.reconcile()); !slices.Contains(got, "launch-training") {
		t.Fatalf("after the raise the cycle did %v, want launch-training", got)
	}
	waitFile(t, filepath.Join(w.state, "runs", "sepsis-risk", "gen-2", "exit"), 30*time.Second)
	// The job registered version 15 with its run; MLflow is still registering it.
	w.fake.AddRun(mlflowfake.RunSpec{ID: "run15", Metrics: map[string]float64{"auc": 0.91, "precision": 0.8, "recall": 0.77, "samples": 5000, "latencyMs": 40, "coverage": 1}})
	if v := w.fake.CreateVersion("sepsis-risk", mlflowfake.VersionSpec{Source: "runs:/run15/model", RunID: "run15"}); v != "15" {
		t.Fatalf("created version %s, want 15", v)
	}
	if res := w.reconcile(); len(res.Actions) != 0 {
		t.Fatalf("with version 15 PENDING_REGISTRATION the cycle did %v, want nothing (the candidate waits)", kindsOf(res))
	}
	advance()
	res := w.reconcile()
	var verdict *reconciler.ActionResult
	for i, a := range res.Actions {
		if a.Action.Promotion != nil {
			verdict = &res.Actions[i]
		}
	}
	// The run's figures pass every minimum; only the improvement over production, whose
	// figure modelops has not observed, is not judged: the figures came from runs/get.
	if verdict == nil || verdict.Action.Promotion.Canary.Version != "15" || verdict.Action.Promotion.Canary.URI != "models:/sepsis-risk/15" ||
		!slices.Equal(verdict.Action.Promotion.Verdict.Failed(), []string{"auc improvement"}) {
		t.Fatalf("the cycle after READY did %v (%+v), want version 15 judged on its run's metrics", kindsOf(res), verdict)
	}
	tags := w.fake.VersionTags("sepsis-risk", "15")
	if !strings.HasPrefix(tags[reconciler.TagGate], "failed ") || len(tags[reconciler.TagGate]) != len("failed ")+16 ||
		tags[reconciler.TagGeneration] != "2" || tags[reconciler.TagCommit] != launch {
		t.Fatalf("version 15 tags %v, want gate failed with the evaluation digest, generation 2, commit %s", tags, launch)
	}

	// Generation 3 registers version 16, whose registration fails: the run fails with why.
	w.commitPolicy(policy(3), "Retrain: generation 3")
	w.reconcile()
	waitFile(t, filepath.Join(w.state, "runs", "sepsis-risk", "gen-3", "exit"), 30*time.Second)
	w.fake.CreateVersion("sepsis-risk", mlflowfake.VersionSpec{Source: "runs:/run16/model", Failure: "artifact upload to s3 failed"})
	advance()
	code, out, errOut := runCLI(t, "reconcile", "--once", "--repo", w.url, "--state-dir", w.state)
	if code != 1 || !strings.Contains(out+errOut, "sepsis-risk version 16 failed its registration in the model registry: artifact upload to s3 failed") {
		t.Fatalf("with version 16 FAILED_REGISTRATION: exit %d, want 1 naming the reason\n%s%s", code, out, errOut)
	}
}

// TestMLflowAliasConvergesAfterAKillBetweenTrafficAndAlias: a reconciler killed (SIGKILL)
// after the router took the canary's traffic and before the challenger alias was set leaves
// the alias behind the traffic; the next process sets it, without touching the traffic.
func TestMLflowAliasConvergesAfterAKillBetweenTrafficAndAlias(t *testing.T) {
	w := newMLflowWorld(t, fmt.Sprintf(registryPolicy, ""))
	for range 14 {
		w.fake.CreateVersion("sepsis-risk", mlflowfake.VersionSpec{Source: "models:/m"})
	}
	w.reconcile()
	w.commitPolicy(fmt.Sprintf(registryPolicy, "  canary: {version: \"14\", uri: \"models:/sepsis-risk@challenger\", weight: 10}\n"), "Canary 14 at 10%")

	cmd := exec.Command(os.Args[0], "reconcile", "--once", "--repo", w.url, "--state-dir", w.state, "--data-root", w.data)
	cmd.Env = append(os.Environ(), beCLI+"=1", faultpoint.EnvVar+"=after-"+string(reconciler.ActionApplyTraffic))
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || !exit.Sys().(syscall.WaitStatus).Signaled() || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("modelops reconcile never reached the fault point after apply-traffic (err %v):\n%s", err, out)
	}
	if tr, err := routerfile.Read(filepath.Join(w.state, "traffic"), "sepsis-risk"); err != nil || tr.Canary != "14" || tr.Weight != 10 {
		t.Fatalf("after the kill the router serves %+v (%v), want canary 14 at 10", tr, err)
	}
	if got := w.fake.Aliases("sepsis-risk"); got["challenger"] != "" {
		t.Fatalf("the killed process set challenger → %s; the kill came too late to test anything", got["challenger"])
	}
	if got := strings.Join(kindsOf(w.reconcile()), " "); got != "set-alias" {
		t.Fatalf("the cycle after the kill did %q, want set-alias alone", got)
	}
	if got := w.fake.Aliases("sepsis-risk"); got["champion"] != "12" || got["challenger"] != "14" {
		t.Fatalf("aliases after the kill and a cycle = %v, want champion → 12, challenger → 14", got)
	}
}

// TestMLflowJobWithoutResultIsFoundByItsTags: a training job that registered its version,
// tagged modelops.model and modelops.generation as its MODELOPS_* say, but wrote no result,
// has its candidate found by model-versions/search and judged, once READY; a job whose
// generation tagged no version stays failed and says what was looked for.
func TestMLflowJobWithoutResultIsFoundByItsTags(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	policy := func(gen int) string { return fmt.Sprintf(retrainPolicy, gen, exe) }
	w := newMLflowWorld(t, policy(1), mlflowfake.WithReadyAfter(0))
	t.Setenv("MLFLOW_E2E_JOB", "noresult")
	for range 14 {
		w.fake.CreateVersion("sepsis-risk", mlflowfake.VersionSpec{Source: "models:/m"})
	}
	w.reconcile()

	w.commitPolicy(policy(2), "Retrain: generation 2")
	w.reconcile()
	waitFile(t, filepath.Join(w.state, "runs", "sepsis-risk", "gen-2", "exit"), 30*time.Second)
	w.fake.AddRun(mlflowfake.RunSpec{ID: "run15", Metrics: map[string]float64{"auc": 0.91, "precision": 0.8, "recall": 0.77, "samples": 5000, "latencyMs": 40, "coverage": 1}})
	// A version of another generation, and one of another model, must not be taken.
	w.fake.CreateVersion("sepsis-risk", mlflowfake.VersionSpec{Source: "runs:/run0/model", Tags: map[string]string{"modelops.model": "sepsis-risk", "modelops.generation": "1"}})
	w.fake.CreateVersion("sepsis-risk", mlflowfake.VersionSpec{Source: "runs:/run15/model", RunID: "run15", Tags: map[string]string{"modelops.model": "sepsis-risk", "modelops.generation": "2"}})
	w.fake.CreateVersion("sepsis-risk", mlflowfake.VersionSpec{Source: "runs:/runX/model", Tags: map[string]string{"modelops.model": "readmission", "modelops.generation": "2"}})
	res := w.reconcile()
	var verdict *reconciler.PromotionPlan
	for _, a := range res.Actions {
		if a.Action.Promotion != nil {
			verdict = a.Action.Promotion
		}
	}
	if verdict == nil || verdict.Canary.Version != "16" || verdict.Canary.URI != "models:/sepsis-risk/16" {
		t.Fatalf("after the job without a result the cycle did %v (%+v), want version 16, tagged generation 2, judged", kindsOf(res), verdict)
	}
	var searched bool
	for _, c := range w.fake.Calls() {
		searched = searched || (c.Endpoint == "model-versions/search" && strings.Contains(c.Query, "modelops.generation"))
	}
	if !searched {
		t.Errorf("no model-versions/search by the job's tags among the calls")
	}

	w.commitPolicy(policy(3), "Retrain: generation 3")
	w.reconcile()
	waitFile(t, filepath.Join(w.state, "runs", "sepsis-risk", "gen-3", "exit"), 30*time.Second)
	code, out, errOut := runCLI(t, "reconcile", "--once", "--repo", w.url, "--state-dir", w.state)
	if code != 1 || !strings.Contains(out+errOut, "no version of sepsis-risk in the model registry is tagged modelops.model=sepsis-risk and modelops.generation=3 either") {
		t.Fatalf("a job of generation 3 without result or version: exit %d, want 1 saying what was looked for\n%s%s", code, out, errOut)
	}
}
