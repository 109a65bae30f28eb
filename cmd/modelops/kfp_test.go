package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	runnerkfp "github.com/medimind/modelops/internal/runner/kfp"
	runnerlocal "github.com/medimind/modelops/internal/runner/local"
	"github.com/medimind/modelops/internal/testutil/gitserver"
	"github.com/medimind/modelops/internal/testutil/kfpfake"
	"github.com/medimind/modelops/internal/testutil/mlflowfake"
	"github.com/medimind/modelops/policies"
	"github.com/medimind/modelops/reconciler"
)

func TestPipelineRunnerSendsPipelinesToKubeflow(t *testing.T) {
	ctx := context.Background()
	fake := kfpfake.New(t)
	fake.Token = "kfp-token"
	t.Setenv(kfpTokenEnv, "kfp-token")
	local, err := runnerlocal.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	req := reconciler.JobRequest{Model: "sepsis-risk", Generation: 2, Commit: "89abcdef0123456789abcdef0123456789abcdef", PolicyFile: "models/sepsis.yaml",
		Pipeline: &policies.PipelineSpec{PipelineID: "p1", VersionID: "v1", Timeout: policies.Duration{Duration: time.Hour}}}

	r := newPipelineRunner(local)
	r.UseRepositoryConfig(policies.DefaultRepositoryConfig())
	if _, err := r.Start(ctx, req); err == nil || !strings.Contains(err.Error(), "set spec.kubeflow.host in .modelops.yaml") {
		t.Fatalf("without an endpoint: %v", err)
	}

	cfg := policies.DefaultRepositoryConfig()
	cfg.Spec.Kubeflow = &policies.KubeflowConfig{Host: fake.URL}
	r.UseRepositoryConfig(cfg)
	run, err := r.Start(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if runs := fake.Runs(); len(runs) != 1 || runs[0].RunID != run.ID {
		t.Fatalf("KFP runs %+v, started %+v", runs, run)
	}

	// A restarted reconciler: a new dispatcher finds the run in Kubeflow, not in the local
	// runner, and cancelling it terminates it there.
	again := newPipelineRunner(local)
	again.UseRepositoryConfig(cfg)
	got, err := again.Get(ctx, "sepsis-risk", 2)
	if err != nil || got.ID != run.ID {
		t.Fatalf("Get after a restart = %+v, %v", got, err)
	}
	if err := again.Cancel(ctx, "sepsis-risk", 2); err != nil {
		t.Fatal(err)
	}
	if st := fake.Runs()[0].State; st != runnerkfp.StateCanceling {
		t.Errorf("KFP state after cancel = %s, want CANCELING", st)
	}
}

const kfpPolicy = `apiVersion: modelops.medimind.io/v1alpha1
kind: ModelPolicy
metadata:
  name: sepsis-risk
spec:
  production: {version: "12"}
  retrain:
    generation: %d
    schedule: ""
    pipeline:
      pipelineID: p1
      versionID: v1
      parameters: {epochs: 5}
`

// kfpRepo makes a local repository whose model trains on the fake's Kubeflow endpoint, at
// generation 1, reconciled once.
func kfpRepo(t *testing.T, fake *kfpfake.Server) (repo, state string) {
	t.Helper()
	repo = filepath.Join(t.TempDir(), "repo")
	if err := os.MkdirAll(filepath.Join(repo, "models"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := "apiVersion: modelops.medimind.io/v1alpha1\nkind: RepositoryConfig\nspec:\n  kubeflow: {host: " + fake.URL + "}\n"
	for name, content := range map[string]string{".modelops.yaml": cfg, "models/sepsis-risk.yaml": fmt.Sprintf(kfpPolicy, 1)} {
		if err := os.WriteFile(filepath.Join(repo, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gitserver.MustGit(t, repo, "init", "-q", "-b", "main")
	gitserver.MustGit(t, repo, "add", "-A")
	gitserver.MustGit(t, repo, "commit", "-q", "-m", "Add sepsis-risk")
	state = filepath.Join(t.TempDir(), "state")
	if code, out, errOut := runCLI(t, "reconcile", "--once", "--repo", repo, "--state-dir", state); code != 0 {
		t.Fatalf("first cycle: exit %d\n%s\n%s", code, out, errOut)
	}
	return repo, state
}

// raiseKFP merges generation gen and returns the merge commit.
func raiseKFP(t *testing.T, repo string, gen int) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(repo, "models", "sepsis-risk.yaml"), []byte(fmt.Sprintf(kfpPolicy, gen)), 0o644); err != nil {
		t.Fatal(err)
	}
	gitserver.MustGit(t, repo, "commit", "-q", "-am", fmt.Sprintf("Raise to generation %d", gen))
	return strings.TrimSpace(gitserver.MustGit(t, repo, "rev-parse", "HEAD"))
}

// TestAMergedRetrainRunsThePipelineOnceAndReportsItsFailedTask: a raise launches one KFP run
// with the modelops parameters of the merge commit; later cycles (new processes) launch no
// second; the failed task is reported with its name and message.
func TestAMergedRetrainRunsThePipelineOnceAndReportsItsFailedTask(t *testing.T) {
	fake := kfpfake.New(t)
	fake.Token = "kfp-token"
	t.Setenv(kfpTokenEnv, "kfp-token")
	repo, state := kfpRepo(t, fake)
	merge := raiseKFP(t, repo, 2)
	reconcile := func() (int, string) {
		t.Helper()
		code, out, errOut := runCLI(t, "reconcile", "--once", "--repo", repo, "--state-dir", state)
		return code, out + errOut
	}
	if code, out := reconcile(); code != 0 || !strings.Contains(out, "launch-training") {
		t.Fatalf("after the raise: exit %d, want the launch\n%s", code, out)
	}
	reconcile()
	runs := fake.Runs()
	if len(runs) != 1 {
		t.Fatalf("%d runs, want 1", len(runs))
	}
	p := runs[0].RuntimeConfig.Parameters
	if runs[0].DisplayName != "modelops-sepsis-risk-g2-"+merge[:7] || p["modelops_model"] != "sepsis-risk" || p["modelops_generation"] != float64(2) || p["modelops_commit"] != merge || p["epochs"] != float64(5) {
		t.Fatalf("run %s with parameters %v", runs[0].DisplayName, p)
	}
	fake.Run(runs[0].RunID)
	fake.FailTask(runs[0].RunID, "train", "CUDA out of memory")
	code, out := reconcile()
	if code != 1 || !strings.Contains(out, "training FAILED: sepsis-risk generation 2") || !strings.Contains(out, `task "train" failed: CUDA out of memory`) {
		t.Fatalf("after the task failed: exit %d, want 1 and the task\n%s", code, out)
	}
	if n := len(fake.Runs()); n != 1 {
		t.Errorf("%d runs after the failure, want 1", n)
	}
}

// TestASucceededPipelineRunIsRecorded: the run's success reaches the status; its candidate
// arrives through the candidates API (examples/kubeflow/README.md), so the run carries none.
func TestASucceededPipelineRunIsRecorded(t *testing.T) {
	fake := kfpfake.New(t)
	repo, state := kfpRepo(t, fake)
	raiseKFP(t, repo, 2)
	if code, out, errOut := runCLI(t, "reconcile", "--once", "--repo", repo, "--state-dir", state); code != 0 {
		t.Fatalf("launch: exit %d\n%s%s", code, out, errOut)
	}
	id := fake.Runs()[0].RunID
	fake.Run(id)
	fake.Succeed(id)
	if code, out, errOut := runCLI(t, "reconcile", "--once", "--repo", repo, "--state-dir", state); code != 0 {
		t.Fatalf("after success: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut := runCLI(t, "status", "--repo", repo, "--state-dir", state, "-o", "json")
	if code != 0 || !strings.Contains(out, `"id": "`+id+`"`) || !strings.Contains(out, `"phase": "Succeeded"`) {
		t.Fatalf("status: exit %d\n%s%s", code, out, errOut)
	}
	if n := len(fake.Runs()); n != 1 {
		t.Errorf("%d runs, want 1", n)
	}
}

// TestARunCreatedBeforeACrashIsAdoptedNotLaunchedAgain: the run exists in Kubeflow (created
// by a reconciler killed before it recorded the launch); the next cycle records that run
// and creates none.
func TestARunCreatedBeforeACrashIsAdoptedNotLaunchedAgain(t *testing.T) {
	fake := kfpfake.New(t)
	repo, state := kfpRepo(t, fake)
	merge := raiseKFP(t, repo, 2)
	id := fake.AddRun(runnerkfp.Run{
		DisplayName:              runnerkfp.DisplayName("sepsis-risk", 2, merge),
		PipelineVersionReference: &runnerkfp.PipelineVersionReference{PipelineID: "p1", PipelineVersionID: "v1"},
		RuntimeConfig: &runnerkfp.RuntimeConfig{Parameters: map[string]any{
			runnerkfp.ParamModel: "sepsis-risk", runnerkfp.ParamGeneration: 2, runnerkfp.ParamCommit: merge, "epochs": 5}},
	})
	code, out, errOut := runCLI(t, "reconcile", "--once", "--repo", repo, "--state-dir", state)
	if code != 0 || strings.Contains(out, "launch-training") {
		t.Fatalf("after the crash: exit %d, want no launch\n%s%s", code, out, errOut)
	}
	if runs := fake.Runs(); len(runs) != 1 {
		t.Fatalf("%d runs, want the one made before the crash", len(runs))
	}
	_, out, _ = runCLI(t, "status", "--repo", repo, "--state-dir", state, "-o", "json")
	if !strings.Contains(out, `"id": "`+id+`"`) {
		t.Fatalf("status does not record run %s:\n%s", id, out)
	}
}

// TestKFPTokenPrefersTheEnvironmentThenTheProjectedToken: MODELOPS_KFP_TOKEN wins; without
// it the projected ServiceAccount token is read at each call (it rotates); without either
// no token is sent.
func TestKFPTokenPrefersTheEnvironmentThenTheProjectedToken(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	old := kfpServiceAccountTokenPath
	kfpServiceAccountTokenPath = path
	t.Cleanup(func() { kfpServiceAccountTokenPath = old })
	t.Setenv(kfpTokenEnv, "")
	t.Setenv(kfpTokenEnv+"_FILE", "")
	if tok, err := kfpToken(); err != nil || tok != "" {
		t.Fatalf("without any: %q, %v", tok, err)
	}
	for _, want := range []string{"sa-token-1", "sa-token-2"} {
		if err := os.WriteFile(path, []byte(want+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if tok, err := kfpToken(); err != nil || tok != want {
			t.Fatalf("projected token: %q, %v; want %q", tok, err, want)
		}
	}
	t.Setenv(kfpTokenEnv, "env-token")
	if tok, err := kfpToken(); err != nil || tok != "env-token" {
		t.Fatalf("with %s: %q, %v", kfpTokenEnv, tok, err)
	}
}

// TestASucceededPipelineTakesItsResultFromMLflow: with an MLflow tracking URI, a succeeded
// run's result is the READY version the pipeline registered, tagged with its model and
// generation, with its run's metrics.
func TestASucceededPipelineTakesItsResultFromMLflow(t *testing.T) {
	ctx := context.Background()
	fake := kfpfake.New(t)
	reg := mlflowfake.New(t)
	local, err := runnerlocal.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := policies.DefaultRepositoryConfig()
	cfg.Spec.Kubeflow = &policies.KubeflowConfig{Host: fake.URL}
	cfg.Spec.MLflow.TrackingURI = reg.URL()
	r := newPipelineRunner(local)
	r.UseRepositoryConfig(cfg)
	req := reconciler.JobRequest{Model: "sepsis-risk", Generation: 2, Commit: "89abcdef0123456789abcdef0123456789abcdef", PolicyFile: "models/sepsis.yaml",
		Pipeline: &policies.PipelineSpec{PipelineID: "p1", VersionID: "v1"}}
	run, err := r.Start(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	fake.Run(run.ID)
	fake.Succeed(run.ID)
	reg.AddRun(mlflowfake.RunSpec{ID: "r-1", Metrics: map[string]float64{"auc": 0.91, "precision": 0.8, "recall": 0.77, "samples": 12000}})
	reg.CreateVersion("sepsis-risk", mlflowfake.VersionSpec{RunID: "r-1", Tags: map[string]string{"modelops.model": "sepsis-risk", "modelops.generation": "1"}})
	v2 := reg.CreateVersion("sepsis-risk", mlflowfake.VersionSpec{RunID: "r-1", Tags: map[string]string{"modelops.model": "sepsis-risk", "modelops.generation": "2"}})

	again := newPipelineRunner(local) // a fresh process polls at once
	again.UseRepositoryConfig(cfg)
	got, err := again.Get(ctx, "sepsis-risk", 2)
	if err != nil {
		t.Fatal(err)
	}
	res := got.Result
	if got.Phase != reconciler.RunSucceeded || res == nil || res.Version != v2 || res.URI != "models:/sepsis-risk/"+v2 ||
		res.Metrics.AUC == nil || *res.Metrics.AUC != 0.91 || res.Metrics.Samples != 12000 {
		t.Fatalf("run %+v with result %+v", got, res)
	}
}

// TestAMergedRetrainOnKubeflowEndsInAPromotionProposal: merged retrain → one pipeline run
// with the modelops parameters → succeeded → the candidate the pipeline registered in
// MLflow → the promotion gate (production's AUC from the prediction log) → a promotion
// proposal.
func TestAMergedRetrainOnKubeflowEndsInAPromotionProposal(t *testing.T) {
	fake := kfpfake.New(t)
	reg := mlflowfake.New(t)
	repo := filepath.Join(t.TempDir(), "repo")
	policy := kfpPolicy + `  metrics:
    predictions: {path: logs/predictions.csv}
  promotion:
    minSamples: 1000
`
	// Production (version 12) has an AUC of 6/9 on its labelled predictions.
	log := "score,label,model_version\n0.9,1,12\n0.5,1,12\n0.3,1,12\n0.7,0,12\n0.4,0,12\n0.2,0,12\n"
	cfg := "apiVersion: modelops.medimind.io/v1alpha1\nkind: RepositoryConfig\nspec:\n  kubeflow: {host: " + fake.URL + "}\n  mlflow: {trackingURI: " + reg.URL() + "}\n"
	for name, content := range map[string]string{".modelops.yaml": cfg, "models/sepsis-risk.yaml": fmt.Sprintf(policy, 1), "logs/predictions.csv": log} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(repo, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(repo, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gitserver.MustGit(t, repo, "init", "-q", "-b", "main")
	gitserver.MustGit(t, repo, "add", "-A")
	gitserver.MustGit(t, repo, "commit", "-q", "-m", "Add sepsis-risk")
	state := filepath.Join(t.TempDir(), "state")
	reconcile := func() (int, string) {
		t.Helper()
		code, out, errOut := runCLI(t, "reconcile", "--once", "--repo", repo, "--state-dir", state)
		return code, out + errOut
	}
	if code, out := reconcile(); code != 0 {
		t.Fatalf("first cycle: exit %d\n%s", code, out)
	}
	if err := os.WriteFile(filepath.Join(repo, "models", "sepsis-risk.yaml"), []byte(fmt.Sprintf(policy, 2)), 0o644); err != nil {
		t.Fatal(err)
	}
	gitserver.MustGit(t, repo, "commit", "-q", "-am", "Raise to generation 2")
	if code, out := reconcile(); code != 0 || !strings.Contains(out, "launch-training") {
		t.Fatalf("after the raise: exit %d\n%s", code, out)
	}
	runs := fake.Runs()
	if len(runs) != 1 || runs[0].RuntimeConfig.Parameters["modelops_generation"] != float64(2) {
		t.Fatalf("runs %+v", runs)
	}
	fake.Run(runs[0].RunID)
	// The pipeline's register step: a version tagged with its model and generation.
	reg.AddRun(mlflowfake.RunSpec{ID: "r-2", Metrics: map[string]float64{"auc": 0.91, "precision": 0.8, "recall": 0.77, "samples": 12000, "latencyMs": 40, "coverage": 1}})
	version := reg.CreateVersion("sepsis-risk", mlflowfake.VersionSpec{RunID: "r-2", Tags: map[string]string{"modelops.model": "sepsis-risk", "modelops.generation": "2"}})
	fake.Succeed(runs[0].RunID)
	code, out := reconcile()
	if code != 0 || !strings.Contains(out, "propose-promotion") {
		t.Fatalf("after the run succeeded: exit %d, want a promotion proposal\n%s", code, out)
	}
	_, list, _ := runCLI(t, "proposals", "list", "--repo", repo, "--state-dir", state)
	if !strings.Contains(list, "promote") || !strings.Contains(list, version) {
		t.Fatalf("proposals:\n%s", list)
	}
	if n := len(fake.Runs()); n != 1 {
		t.Errorf("%d runs, want 1", n)
	}
}

// TestAnInlinePipelineRunsAsCommittedAtTheMerge: a policy naming a compiled pipeline in the
// repository submits it with the run, as the merge commit that raised the generation holds
// it, even when the tip has changed it since; the status records its digest.
func TestAnInlinePipelineRunsAsCommittedAtTheMerge(t *testing.T) {
	fake := kfpfake.New(t)
	repo, state := kfpRepo(t, fake)
	ir, err := os.ReadFile("../../examples/kubeflow/sepsis-train.pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	inline := strings.Replace(fmt.Sprintf(kfpPolicy, 2), "      pipelineID: p1\n      versionID: v1\n", "      spec: pipelines/sepsis-train.yaml\n      cachingEnabled: false\n", 1)
	if err := os.MkdirAll(filepath.Join(repo, "pipelines"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"models/sepsis-risk.yaml": inline, "pipelines/sepsis-train.yaml": string(ir)} {
		if err := os.WriteFile(filepath.Join(repo, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gitserver.MustGit(t, repo, "add", "-A")
	gitserver.MustGit(t, repo, "commit", "-q", "-m", "Train generation 2 with the pipeline in the repository")
	// A later commit renames the pipeline: the run of generation 2 is not affected.
	renamed := strings.Replace(string(ir), "  name: sepsis-train\n", "  name: sepsis-train-next\n", 1)
	if renamed == string(ir) {
		t.Fatal("the example pipeline's name line was not found")
	}
	if err := os.WriteFile(filepath.Join(repo, "pipelines", "sepsis-train.yaml"), []byte(renamed), 0o644); err != nil {
		t.Fatal(err)
	}
	gitserver.MustGit(t, repo, "commit", "-q", "-am", "Rename the pipeline")
	if code, out, errOut := runCLI(t, "reconcile", "--once", "--repo", repo, "--state-dir", state); code != 0 {
		t.Fatalf("launch: exit %d\n%s%s", code, out, errOut)
	}
	runs := fake.Runs()
	if len(runs) != 1 || runs[0].PipelineSpec == nil {
		t.Fatalf("runs = %+v, want one with the spec inline", runs)
	}
	info := runs[0].PipelineSpec["pipeline_spec"].(map[string]any)["pipelineInfo"].(map[string]any)
	if info["name"] != "sepsis-train" {
		t.Errorf("the run's pipeline is %v, want sepsis-train as merged", info["name"])
	}
	code, out, errOut := runCLI(t, "status", "--repo", repo, "--state-dir", state, "-o", "json")
	if code != 0 || !strings.Contains(out, `"source": "spec pipelines/sepsis-train.yaml@`) {
		t.Fatalf("status: exit %d, want the run's source\n%s%s", code, out, errOut)
	}
}

// TestAKillBetweenCreatingTheRunAndRecordingItLaunchesOneRun: a real modelops process is
// killed (SIGKILL) right after Kubeflow created the run, before anything was recorded; the
// next process finds the run by its name and records it instead of creating a second.
func TestAKillBetweenCreatingTheRunAndRecordingItLaunchesOneRun(t *testing.T) {
	fake := kfpfake.New(t)
	repo, state := kfpRepo(t, fake)
	merge := raiseKFP(t, repo, 2)
	w := &crashWorld{t: t, repo: repo, state: state, runsLog: filepath.Join(t.TempDir(), "runs.log")}
	w.modelops("kfp-after-create", "reconcile", "--once")
	if n := len(fake.Runs()); n != 1 {
		t.Fatalf("%d runs after the kill, want the 1 created", n)
	}
	w.modelops("", "reconcile", "--once")
	w.modelops("", "reconcile", "--once")
	runs := fake.Runs()
	if len(runs) != 1 {
		t.Fatalf("%d runs after the restarts, want 1", len(runs))
	}
	code, out, errOut := runCLI(t, "status", "--repo", repo, "--state-dir", state, "-o", "json")
	if code != 0 || !strings.Contains(out, `"id": "`+runs[0].RunID+`"`) || !strings.Contains(out, `"commit": "`+merge+`"`) {
		t.Fatalf("status: exit %d, want the run %s on %s recorded\n%s%s", code, runs[0].RunID, merge, out, errOut)
	}
}
