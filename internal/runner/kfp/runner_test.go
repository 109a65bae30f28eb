package kfp_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medimind/modelops/internal/runner/kfp"
	"github.com/medimind/modelops/internal/testutil/kfpfake"
	"github.com/medimind/modelops/policies"
	"github.com/medimind/modelops/reconciler"
	"go.yaml.in/yaml/v3"
)

const commit = "0123456789abcdef0123456789abcdef01234567"

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func setup(t *testing.T) (*kfpfake.Server, *kfp.Runner, *clock) {
	t.Helper()
	fake := kfpfake.New(t)
	fake.Token = "s3cret"
	fake.Namespace = "ml-team"
	clk := &clock{t: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}
	fake.SetClock(clk.now)
	r, err := kfp.New(kfp.Config{Host: fake.URL, Namespace: "ml-team", Now: clk.now,
		Token: func() (string, error) { return "s3cret", nil }, MinPoll: time.Minute, MaxPoll: 4 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return fake, r, clk
}

func request(gen int64) reconciler.JobRequest {
	return reconciler.JobRequest{Model: "sepsis-risk", Generation: gen, Commit: commit, PolicyFile: "models/sepsis.yaml",
		Pipeline: &policies.PipelineSpec{PipelineID: "p1", VersionID: "v1", Parameters: map[string]any{"epochs": 5},
			Timeout: policies.Duration{Duration: time.Hour}}}
}

func count(reqs []string, prefix string) int {
	n := 0
	for _, r := range reqs {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

func TestStartCreatesOneRunWithTheModelopsParameters(t *testing.T) {
	fake, r, _ := setup(t)
	ctx := context.Background()
	run, err := r.Start(ctx, request(3))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Start(ctx, request(3)); err != nil {
		t.Fatal(err)
	}
	runs := fake.Runs()
	if len(runs) != 1 {
		t.Fatalf("%d runs, want 1", len(runs))
	}
	got := runs[0]
	if got.DisplayName != "modelops-sepsis-risk-g3-0123456" || got.RunID != run.ID || run.Phase != reconciler.RunRunning || run.Commit != commit {
		t.Errorf("run %+v, training run %+v", got, run)
	}
	p := got.RuntimeConfig.Parameters
	if p["modelops_model"] != "sepsis-risk" || p["modelops_generation"] != float64(3) || p["modelops_commit"] != commit || p["epochs"] != float64(5) {
		t.Errorf("parameters = %v", p)
	}
	if ref := got.PipelineVersionReference; ref.PipelineID != "p1" || ref.PipelineVersionID != "v1" {
		t.Errorf("pipeline = %+v", ref)
	}
}

func TestStartFindsTheRunARestartedReconcilerMade(t *testing.T) {
	fake, first, _ := setup(t)
	ctx := context.Background()
	if _, err := first.Start(ctx, request(3)); err != nil {
		t.Fatal(err)
	}
	// A new process: nothing in memory, the run exists in KFP.
	again, _ := kfp.New(kfp.Config{Host: fake.URL, Namespace: "ml-team", Token: func() (string, error) { return "s3cret", nil }})
	run, err := again.Start(ctx, request(3))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(fake.Runs()); n != 1 || run.ID != fake.Runs()[0].RunID {
		t.Fatalf("%d runs after a restart, want the first one (%s)", n, run.ID)
	}
	if got, err := again.Get(ctx, "sepsis-risk", 3); err != nil || got.ID != run.ID {
		t.Fatalf("Get = %+v, %v", got, err)
	}
}

func TestGetFindsOnlyItsOwnRun(t *testing.T) {
	fake, r, _ := setup(t)
	ctx := context.Background()
	// Model "sepsis-risk-g3" generation 1's name contains "modelops-sepsis-risk-g3-"; and a
	// person's run with the right name but no modelops parameters is not ours either.
	other := request(1)
	other.Model = "sepsis-risk-g3"
	if _, err := r.Start(ctx, other); err != nil {
		t.Fatal(err)
	}
	fake.AddRun(kfp.Run{DisplayName: "modelops-sepsis-risk-g3-abcdef0", PipelineVersionReference: &kfp.PipelineVersionReference{PipelineID: "p1", PipelineVersionID: "v1"}})
	if _, err := r.Get(ctx, "sepsis-risk", 3); !errors.Is(err, reconciler.ErrRunNotFound) {
		t.Fatalf("Get = %v, want ErrRunNotFound", err)
	}
}

func TestStateMappingAndPolling(t *testing.T) {
	fake, r, clk := setup(t)
	ctx := context.Background()
	run, err := r.Start(ctx, request(3))
	if err != nil {
		t.Fatal(err)
	}
	before := count(fake.Requests(), "GET /apis/v2beta1/runs/")
	fake.Run(run.ID)
	if got, _ := r.Get(ctx, "sepsis-risk", 3); !strings.Contains(got.Message, "pending") {
		t.Errorf("within the poll interval Get answers from memory, got %q", got.Message)
	}
	if n := count(fake.Requests(), "GET /apis/v2beta1/runs/"); n != before {
		t.Fatalf("%d polls within the interval, want none", n-before)
	}
	clk.add(time.Minute)
	got, _ := r.Get(ctx, "sepsis-risk", 3)
	if got.Phase != reconciler.RunRunning || !strings.Contains(got.Message, fake.URL+"/#/runs/details/"+run.ID) {
		t.Errorf("running: %+v", got)
	}
	fake.Pause(run.ID)
	clk.add(time.Minute)
	if got, _ = r.Get(ctx, "sepsis-risk", 3); got.Phase != reconciler.RunRunning || !strings.Contains(got.Message, "paused") {
		t.Errorf("paused: %+v", got)
	}
	// Unchanged state: the interval doubles (1m, then 2m).
	polls := count(fake.Requests(), "GET /apis/v2beta1/runs/")
	clk.add(time.Minute)
	r.Get(ctx, "sepsis-risk", 3)
	clk.add(time.Minute)
	r.Get(ctx, "sepsis-risk", 3)
	if n := count(fake.Requests(), "GET /apis/v2beta1/runs/") - polls; n != 1 {
		t.Errorf("%d polls in 2m of an unchanged run polled every 1m then 2m, want 1", n)
	}
	fake.Succeed(run.ID)
	clk.add(4 * time.Minute)
	if got, _ = r.Get(ctx, "sepsis-risk", 3); got.Phase != reconciler.RunSucceeded || got.Finished.IsZero() {
		t.Errorf("succeeded: %+v", got)
	}
	polls = count(fake.Requests(), "GET /apis/v2beta1/runs/")
	clk.add(time.Hour)
	r.Get(ctx, "sepsis-risk", 3)
	if n := count(fake.Requests(), "GET /apis/v2beta1/runs/"); n != polls {
		t.Errorf("a finished run was polled again")
	}
}

func TestAFailedTaskIsNamed(t *testing.T) {
	fake, r, clk := setup(t)
	ctx := context.Background()
	run, _ := r.Start(ctx, request(3))
	fake.Run(run.ID)
	fake.FailTask(run.ID, "train", "CUDA out of memory")
	clk.add(time.Minute)
	got, err := r.Get(ctx, "sepsis-risk", 3)
	if err != nil {
		t.Fatal(err)
	}
	if got.Phase != reconciler.RunFailed || !strings.Contains(got.Message, `task "train" failed: CUDA out of memory`) || !strings.Contains(got.Message, "ended FAILED") {
		t.Errorf("failed: %+v", got)
	}
}

func TestTimeoutTerminates(t *testing.T) {
	fake, r, clk := setup(t)
	ctx := context.Background()
	run, _ := r.Start(ctx, request(3))
	fake.Run(run.ID)
	clk.add(61 * time.Minute)
	got, err := r.Get(ctx, "sepsis-risk", 3)
	if err != nil {
		t.Fatal(err)
	}
	if got.Phase != reconciler.RunFailed || !strings.Contains(got.Message, "timeout of 1h0m0s") {
		t.Errorf("timed out: %+v", got)
	}
	if n := count(fake.Requests(), "POST /apis/v2beta1/runs/"+run.ID+":terminate"); n != 1 {
		t.Errorf("%d terminate requests, want 1", n)
	}
	if st := fake.Runs()[0].State; st != kfp.StateCanceling {
		t.Errorf("KFP state %s, want CANCELING", st)
	}
}

func TestCancelTerminatesARunningRunOnly(t *testing.T) {
	fake, r, clk := setup(t)
	ctx := context.Background()
	run, _ := r.Start(ctx, request(3))
	fake.Run(run.ID)
	if err := r.Cancel(ctx, "sepsis-risk", 3); err != nil {
		t.Fatal(err)
	}
	clk.add(time.Minute)
	got, err := r.Get(ctx, "sepsis-risk", 3)
	if err != nil || got.Phase != reconciler.RunFailed || !strings.Contains(got.Message, "CANCELED") {
		t.Fatalf("after cancel: %+v, %v", got, err)
	}
	if err := r.Cancel(ctx, "sepsis-risk", 3); err != nil {
		t.Fatal(err)
	}
	if err := r.Cancel(ctx, "sepsis-risk", 9); err != nil {
		t.Fatalf("cancel of an unknown run: %v", err)
	}
	if n := count(fake.Requests(), "POST /apis/v2beta1/runs/"+run.ID+":terminate"); n != 1 {
		t.Errorf("%d terminate requests, want 1", n)
	}
}

func TestAPIErrorsAreReported(t *testing.T) {
	fake, r, _ := setup(t)
	ctx := context.Background()
	req := request(3)
	req.Pipeline.VersionID = "nope"
	if _, err := r.Start(ctx, req); err == nil || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "pipeline version nope of pipeline p1 not found") {
		t.Errorf("unknown version: %v", err)
	}
	bad, _ := kfp.New(kfp.Config{Host: fake.URL, Namespace: "ml-team", Token: func() (string, error) { return "wrong", nil }})
	_, err := bad.Start(ctx, request(3))
	if err == nil || !strings.Contains(err.Error(), "401") || strings.Contains(err.Error(), "wrong") {
		t.Errorf("bad token: %v", err)
	}
	noNS, _ := kfp.New(kfp.Config{Host: fake.URL, Token: func() (string, error) { return "s3cret", nil }})
	if _, err := noNS.Get(ctx, "sepsis-risk", 3); err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), "multi-user") {
		t.Errorf("no namespace: %v", err)
	}
}

// TestTheExamplePipelineFollowsTheContract: the example IR has the fields KFP requires of a
// pipeline spec and declares the modelops_* inputs; the example policy is valid.
func TestTheExamplePipelineFollowsTheContract(t *testing.T) {
	b, err := os.ReadFile("../../../examples/kubeflow/sepsis-train.pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		PipelineInfo struct{ Name string } `yaml:"pipelineInfo"`
		Root         struct {
			Dag              struct{ Tasks map[string]any }
			InputDefinitions struct {
				Parameters map[string]struct {
					ParameterType string `yaml:"parameterType"`
				}
			} `yaml:"inputDefinitions"`
		}
		Components     map[string]any
		DeploymentSpec struct{ Executors map[string]any } `yaml:"deploymentSpec"`
		SchemaVersion  string                             `yaml:"schemaVersion"`
	}
	if err := yaml.NewDecoder(bytes.NewReader(b)).Decode(&spec); err != nil {
		t.Fatal(err)
	}
	if spec.PipelineInfo.Name == "" || len(spec.Root.Dag.Tasks) == 0 || len(spec.Components) == 0 || len(spec.DeploymentSpec.Executors) == 0 || spec.SchemaVersion == "" {
		t.Fatalf("the example lacks fields KFP requires: %+v", spec)
	}
	for name, typ := range map[string]string{kfp.ParamModel: "STRING", kfp.ParamGeneration: "NUMBER_INTEGER", kfp.ParamCommit: "STRING"} {
		if got := spec.Root.InputDefinitions.Parameters[name].ParameterType; got != typ {
			t.Errorf("input %s has type %q, want %s", name, got, typ)
		}
	}
	pb, err := os.ReadFile("../../../examples/kubeflow/sepsis-risk.policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ps, err := policies.Parse("sepsis-risk.policy.yaml", pb)
	if err != nil || ps[0].Spec.Retrain.Pipeline == nil {
		t.Fatalf("example policy: %v", err)
	}
}

// TestFindPagesThroughTheRuns: the run is found past the first page of runs whose names
// match (reruns a person made by hand carry the name but not the parameters).
func TestFindPagesThroughTheRuns(t *testing.T) {
	fake, r, _ := setup(t)
	for range 150 {
		fake.AddRun(kfp.Run{DisplayName: "modelops-sepsis-risk-g3-0123456", PipelineVersionReference: &kfp.PipelineVersionReference{PipelineID: "p1", PipelineVersionID: "v1"}})
	}
	ours := fake.AddRun(kfp.Run{DisplayName: "modelops-sepsis-risk-g3-0123456", PipelineVersionReference: &kfp.PipelineVersionReference{PipelineID: "p1", PipelineVersionID: "v1"},
		RuntimeConfig: &kfp.RuntimeConfig{Parameters: map[string]any{kfp.ParamModel: "sepsis-risk", kfp.ParamGeneration: 3, kfp.ParamCommit: commit}}})
	run, err := r.Start(context.Background(), request(3))
	if err != nil {
		t.Fatal(err)
	}
	if run.ID != ours || len(fake.Runs()) != 151 {
		t.Fatalf("Start = %s with %d runs, want %s and no new run", run.ID, len(fake.Runs()), ours)
	}
	if n := count(fake.Requests(), "GET /apis/v2beta1/runs"); n != 2 {
		t.Errorf("%d list requests, want 2 pages", n)
	}
}

// results is a registry that finds nothing until it is given a result.
type results struct {
	mu  sync.Mutex
	res *reconciler.RunResult
}

func (r *results) Result(_ context.Context, model string, generation int64, run *kfp.Run) (*reconciler.RunResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.res == nil {
		return nil, errors.New("no version tagged modelops.model=" + model)
	}
	return r.res, nil
}

// TestASucceededRunTakesItsResultFromTheReader: while the registry has no version the run
// stays running, then succeeds with the version; a version that never comes fails the run
// after ResultGrace instead of leaving it running for good.
func TestASucceededRunTakesItsResultFromTheReader(t *testing.T) {
	fake, _, clk := setup(t)
	reg := &results{}
	r, err := kfp.New(kfp.Config{Host: fake.URL, Namespace: "ml-team", Now: clk.now, Results: reg,
		Token: func() (string, error) { return "s3cret", nil }, MinPoll: time.Minute, MaxPoll: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	run, _ := r.Start(ctx, request(3))
	fake.Run(run.ID)
	fake.Succeed(run.ID)
	clk.add(time.Minute)
	if got, _ := r.Get(ctx, "sepsis-risk", 3); got.Phase != reconciler.RunRunning || !strings.Contains(got.Message, "reading its result") {
		t.Fatalf("before the registry has it: %+v", got)
	}
	auc := 0.91
	reg.mu.Lock()
	reg.res = &reconciler.RunResult{Version: "13", URI: "models:/sepsis-risk/13", Metrics: reconciler.TrainingMetrics{AUC: &auc}}
	reg.mu.Unlock()
	clk.add(time.Minute)
	if got, _ := r.Get(ctx, "sepsis-risk", 3); got.Phase != reconciler.RunSucceeded || got.Result == nil || got.Result.Version != "13" {
		t.Fatalf("with the registry's version: %+v", got)
	}

	run4, _ := r.Start(ctx, request(4))
	fake.Run(run4.ID)
	reg.mu.Lock()
	reg.res = nil
	reg.mu.Unlock()
	fake.Succeed(run4.ID)
	clk.add(kfp.ResultGrace + 2*time.Minute)
	if got, _ := r.Get(ctx, "sepsis-risk", 4); got.Phase != reconciler.RunFailed || !strings.Contains(got.Message, "result was not found within 1h0m0s") {
		t.Fatalf("a result that never comes: %+v", got)
	}
}

// TestAPipelineByNameRunsItsLatestVersionAsResolvedAtLaunch: a name and latest are resolved
// when the run is created, the run references the IDs, the record says what they were, and a
// version uploaded after the launch changes nothing for that run.
func TestAPipelineByNameRunsItsLatestVersionAsResolvedAtLaunch(t *testing.T) {
	fake, r, _ := setup(t)
	fake.AddVersion("p1", "sepsis-train", "v2", "2026-12-01", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), "extract", "train")
	req := request(7)
	req.Pipeline = &policies.PipelineSpec{PipelineName: "sepsis-train", VersionID: kfp.LatestVersion, Experiment: "sepsis", Timeout: policies.Duration{Duration: time.Hour}}
	run, err := r.Start(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	runs := fake.Runs()
	if len(runs) != 1 || runs[0].PipelineVersionReference == nil || *runs[0].PipelineVersionReference != (kfp.PipelineVersionReference{PipelineID: "p1", PipelineVersionID: "v2"}) {
		t.Fatalf("runs = %+v, want one of p1's newest version v2", runs)
	}
	exps := fake.Experiments()
	if len(exps) != 1 || exps[0].DisplayName != "sepsis" || exps[0].Namespace != "ml-team" || runs[0].ExperimentID != exps[0].ExperimentID {
		t.Fatalf("experiments = %+v, run's = %q: want sepsis created in ml-team and used", exps, runs[0].ExperimentID)
	}
	if want := `pipeline p1 version v2 (pipeline "sepsis-train", latest version "2026-12-01" at launch)`; run.Source != want {
		t.Errorf("source = %q, want %q", run.Source, want)
	}

	// A restarted reconciler reads the same record back; a newer upload does not move it.
	fake.AddVersion("p1", "sepsis-train", "v3", "2026-12-06", time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC), "train")
	r2, err := kfp.New(kfp.Config{Host: fake.URL, Namespace: "ml-team", Token: func() (string, error) { return "s3cret", nil }})
	if err != nil {
		t.Fatal(err)
	}
	again, err := r2.Get(context.Background(), "sepsis-risk", 7)
	if err != nil || again.Source != run.Source || len(fake.Runs()) != 1 {
		t.Fatalf("after a restart: %+v, %v (%d runs)", again, err, len(fake.Runs()))
	}
	// The experiment exists now: a second generation uses it without creating another.
	req.Generation = 8
	if _, err := r.Start(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if exps := fake.Experiments(); len(exps) != 1 {
		t.Errorf("experiments = %+v, want the one", exps)
	}
	if runs := fake.Runs(); runs[1].PipelineVersionReference.PipelineVersionID != "v3" {
		t.Errorf("generation 8 ran %+v, want v3, the latest at its launch", runs[1].PipelineVersionReference)
	}
}

func TestAnUnknownPipelineNameFailsTheLaunchWithTheName(t *testing.T) {
	fake, r, _ := setup(t)
	req := request(7)
	req.Pipeline = &policies.PipelineSpec{PipelineName: "no-such", VersionID: "latest"}
	_, err := r.Start(context.Background(), req)
	if err == nil || !strings.Contains(err.Error(), `models/sepsis.yaml: spec.retrain.pipeline: find pipeline "no-such": `) || !strings.Contains(err.Error(), "404") {
		t.Fatalf("err = %v", err)
	}
	if len(fake.Runs()) != 0 {
		t.Error("a run was created")
	}
}

// TestAnInlineSpecIsSubmittedWithTheRun: the compiled pipeline committed in the repository
// goes with the run, caching overridden on every task, and the record names its digest.
func TestAnInlineSpecIsSubmittedWithTheRun(t *testing.T) {
	fake, r, _ := setup(t)
	ir, err := os.ReadFile("../../../examples/kubeflow/sepsis-train.pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	off := false
	req := request(7)
	req.Pipeline = &policies.PipelineSpec{Spec: "pipelines/sepsis-train.yaml", CachingEnabled: &off, Parameters: map[string]any{"epochs": 5}}
	req.PipelineIR = ir
	run, err := r.Start(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	runs := fake.Runs()
	if len(runs) != 1 || runs[0].PipelineVersionReference != nil || runs[0].PipelineSpec == nil {
		t.Fatalf("runs = %+v, want one with the spec inline", runs)
	}
	// The example has a platform spec document: the two go side by side.
	spec, ok := runs[0].PipelineSpec["pipeline_spec"].(map[string]any)
	if _, platform := runs[0].PipelineSpec["platform_spec"]; !ok || !platform {
		t.Fatalf("pipeline_spec = %v, want the pipeline spec beside the platform spec", runs[0].PipelineSpec)
	}
	tasks := spec["root"].(map[string]any)["dag"].(map[string]any)["tasks"].(map[string]any)
	if len(tasks) == 0 {
		t.Fatal("no tasks")
	}
	for name, task := range tasks {
		if c := task.(map[string]any)["cachingOptions"].(map[string]any)["enableCache"]; c != false {
			t.Errorf("task %s: enableCache = %v, want false", name, c)
		}
	}
	if !strings.HasPrefix(run.Source, "spec pipelines/sepsis-train.yaml@0123456 sha256:") {
		t.Errorf("source = %q", run.Source)
	}
}

func TestAnInlineSpecMissingWhatKFPNeedsIsRefusedAtItsLine(t *testing.T) {
	ir := []byte("pipelineInfo:\n  name: x\nroot:\n  dag:\n    tasks: {}\n  inputDefinitions:\n    parameters:\n      modelops_model: {parameterType: STRING}\n")
	_, err := kfp.InlineSpec(ir, "pipelines/x.yaml", nil, []string{"epochs"})
	for _, want := range []string{
		"pipelines/x.yaml:1: schemaVersion is missing",
		"pipelines/x.yaml:1: deploymentSpec is missing",
		"pipelines/x.yaml:8: root.inputDefinitions.parameters: the pipeline does not declare modelops_generation",
		"does not declare epochs",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v\nwant it to say %q", err, want)
		}
	}
	if _, err := kfp.InlineSpec([]byte("a: [\n"), "pipelines/x.yaml", nil, nil); err == nil || !strings.Contains(err.Error(), "pipelines/x.yaml: not YAML") {
		t.Errorf("bad YAML: %v", err)
	}
}

func TestTheUserHeaderIsSentToAnInstallationThatTrustsOne(t *testing.T) {
	fake := kfpfake.New(t)
	fake.User, fake.UserHeader = "modelops@medimind.example", "x-auth-user"
	r, err := kfp.New(kfp.Config{Host: fake.URL, User: "modelops@medimind.example", UserHeader: "x-auth-user"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Start(context.Background(), request(7)); err != nil {
		t.Fatal(err)
	}
	r, _ = kfp.New(kfp.Config{Host: fake.URL})
	if _, err := r.Start(context.Background(), request(8)); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("without the header: %v, want 401", err)
	}
}
