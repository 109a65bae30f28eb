package reconciler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/medimind/modelops/policies"
)

// The fakes below implement the reconciler's small interfaces in memory. They count every
// side effect so tests can prove that repeating a cycle repeats nothing.

type fakeRepo struct {
	mu      sync.Mutex
	commit  string
	files   fstest.MapFS
	history []change // every set, oldest first
	// times are the commit times setAt gave; other commits have none (zero).
	times map[string]time.Time
}

func (f *fakeRepo) CommitTime(_ context.Context, commit string) (time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.times[commit], nil
}

// setAt is set with the commit made at at.
func (f *fakeRepo) setAt(path, content, commit string, at time.Time) {
	f.set(path, content, commit)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.times == nil {
		f.times = map[string]time.Time{}
	}
	f.times[commit] = at
}

func (f *fakeRepo) Sync(context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.commit, nil
}

func (f *fakeRepo) Tree(context.Context, string) (fs.FS, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.files), nil
}

// Introduced walks the fake's history of file contents from tip, newest first.
func (f *fakeRepo) Introduced(_ context.Context, tip, path string, holds func([]byte) bool) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	found := tip
	start := len(f.history) - 1
	for start >= 0 && f.history[start].commit != tip {
		start--
	}
	if start < 0 {
		start = len(f.history) - 1 // tip set without history
	}
	for i := start; i >= 0; i-- {
		h := f.history[i]
		if h.path != path {
			continue
		}
		if !holds(h.content) {
			break
		}
		found = h.commit
	}
	return found, nil
}

// set replaces a file and moves the tip, as a merged change would.
func (f *fakeRepo) set(path, content, commit string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.files[path] = &fstest.MapFile{Data: []byte(content)}
	f.commit = commit
	f.history = append(f.history, change{commit: commit, path: path, content: []byte(content)})
}

type change struct {
	commit, path string
	content      []byte
}

type fakeProposals struct {
	mu      sync.Mutex
	open    map[string]Proposal // by model/kind
	opened  int
	updated int
	closed  []string
	bodies  map[string]string
	reqs    map[string]ProposalRequest // the last request, by model/kind
	// ensureErr, when set, fails every Ensure.
	ensureErr error
}

func newFakeProposals() *fakeProposals {
	return &fakeProposals{open: map[string]Proposal{}, bodies: map[string]string{}, reqs: map[string]ProposalRequest{}}
}

func (f *fakeProposals) List(context.Context) ([]Proposal, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Proposal
	for _, p := range f.open {
		out = append(out, p)
	}
	return out, nil
}

func (f *fakeProposals) Ensure(_ context.Context, req ProposalRequest) (Proposal, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ensureErr != nil {
		return Proposal{}, f.ensureErr
	}
	id := req.Model + "/" + string(req.Kind)
	p := Proposal{Model: req.Model, Kind: req.Kind, State: ProposalOpen, Key: req.Key, Target: req.Target, Digest: req.Digest, Title: req.Title, Branch: "modelops/" + id}
	if _, ok := f.open[id]; ok {
		f.updated++
	} else {
		f.opened++
	}
	f.open[id] = p
	f.bodies[id] = req.Body
	f.reqs[id] = req
	return p, nil
}

func (f *fakeProposals) Close(_ context.Context, model string, kind ProposalKind, reason string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := model + "/" + string(kind)
	if _, ok := f.open[id]; ok {
		delete(f.open, id)
		f.closed = append(f.closed, id+": "+reason)
	}
	return nil
}

type fakeRunner struct {
	mu      sync.Mutex
	runs    map[string]TrainingRun
	started int
	now     func() time.Time
	asked   []JobRequest // every Start's request
}

func (f *fakeRunner) key(model string, gen int64) string { return fmt.Sprintf("%s/%d", model, gen) }

func (f *fakeRunner) Start(_ context.Context, req JobRequest) (TrainingRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, req)
	k := f.key(req.Model, req.Generation)
	if r, ok := f.runs[k]; ok {
		return r, nil
	}
	f.started++
	r := TrainingRun{Generation: req.Generation, Commit: req.Commit, ID: k, Phase: RunRunning, Started: f.now()}
	f.runs[k] = r
	return r, nil
}

func (f *fakeRunner) Get(_ context.Context, model string, gen int64) (TrainingRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.runs[f.key(model, gen)]
	if !ok {
		return TrainingRun{}, ErrRunNotFound
	}
	return r, nil
}

func (f *fakeRunner) Cancel(_ context.Context, model string, gen int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.runs[f.key(model, gen)]; ok && !r.Phase.Finished() {
		r.Phase = RunCancelled
		f.runs[f.key(model, gen)] = r
	}
	return nil
}

// fail ends the run of (model, gen) as a job that exited 1 would.
func (f *fakeRunner) fail(model string, gen int64, at time.Time, message string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.runs[f.key(model, gen)]
	r.Phase, r.Finished, r.Message = RunFailed, at, message
	f.runs[f.key(model, gen)] = r
}

func (f *fakeRunner) finish(model string, gen int64, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.runs[f.key(model, gen)]
	r.Phase, r.Finished = RunSucceeded, at
	f.runs[f.key(model, gen)] = r
}

// finishWith ends the run of (model, gen) successfully with the job's result.
func (f *fakeRunner) finishWith(model string, gen int64, at time.Time, res RunResult) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.runs[f.key(model, gen)]
	r.Phase, r.Finished, r.Result = RunSucceeded, at, &res
	f.runs[f.key(model, gen)] = r
}

type fakeDrift struct {
	drifted      bool
	insufficient bool // the verdict is insufficient data
	err          error
	checks       int
	at           []time.Time // the time of each check
	markdown     string      // the report's Markdown; "" renders none
	// quality and suspects are the part-two figures each report carries.
	quality  int
	suspects []string
}

func (f *fakeDrift) Check(_ context.Context, _ *policies.Policy, _ fs.FS, at time.Time) (DriftResult, error) {
	if f.err != nil {
		return DriftResult{}, f.err
	}
	f.checks++
	f.at = append(f.at, at)
	if f.insufficient {
		return DriftResult{InsufficientData: true, Report: []byte(`{"drifted":false}`), Markdown: f.markdown}, nil
	}
	share := 0.1
	if f.drifted {
		share = 0.7
	}
	res := DriftResult{Drifted: f.drifted, Share: share, DriftedColumns: int(share * 10), Columns: 10, Report: []byte(`{"drifted":true}`), Markdown: f.markdown,
		QualityFindings: f.quality, SuspectBatches: f.suspects}
	if f.suspects != nil {
		res.BatchColumn = "lab_id"
	}
	return res, nil
}

// memStatus stores the status as JSON, like the status branch, so that a restart reads back
// exactly what was saved.
type memStatus struct {
	mu      sync.Mutex
	stored  []byte
	files   map[string][]byte
	commits int
}

func (m *memStatus) Load(context.Context) (*Status, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := NewStatus()
	if m.stored != nil {
		if err := json.Unmarshal(m.stored, st); err != nil {
			return nil, err
		}
	}
	return st, nil
}

func (m *memStatus) Save(_ context.Context, s *Status, files map[string][]byte, _ string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	if string(b) == string(m.stored) && len(files) == 0 {
		return nil
	}
	m.stored = b
	if m.files == nil {
		m.files = map[string][]byte{}
	}
	maps.Copy(m.files, files)
	m.commits++
	return nil
}

func (m *memStatus) ReadFile(_ context.Context, path string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.files[path]
	if !ok {
		return nil, fmt.Errorf("read %s: %w", path, fs.ErrNotExist)
	}
	return b, nil
}

const sepsisPolicy = `apiVersion: modelops.medimind.io/v1alpha1
kind: ModelPolicy
metadata:
  name: sepsis-risk
spec:
  production: {version: "12", uri: "models:/sepsis-risk/12"}
  data:
    reference: {path: data/ref.csv}
    current: {path: data/cur.csv}
  drift:
    interval: 6h
  retrain:
    generation: %d
    schedule: ""
    onDrift: {share: 1, of: 2}
    job:
      command: [python, train.py]
`

const brokenPolicy = "apiVersion: modelops.medimind.io/v1alpha1\nkind: ModelPolicy\nmetadata: {name: broken}\nspec:\n  canary: {version: \"2\", weight: 150}\n"

type harness struct {
	now       time.Time
	repo      *fakeRepo
	proposals *fakeProposals
	runner    *fakeRunner
	drift     *fakeDrift
	status    *memStatus
}

func newHarness(gen int) *harness {
	h := &harness{now: t0}
	h.repo = &fakeRepo{commit: "c1", files: fstest.MapFS{
		"models/sepsis-risk.yaml": {Data: fmt.Appendf(nil, sepsisPolicy, gen)},
		"models/broken.yaml":      {Data: []byte(brokenPolicy)},
	}}
	h.proposals = newFakeProposals()
	h.runner = &fakeRunner{runs: map[string]TrainingRun{}, now: func() time.Time { return h.now }}
	h.drift = &fakeDrift{drifted: true}
	h.status = &memStatus{}
	return h
}

// reconciler builds a fresh Reconciler over the same world, as a restarted process would.
func (h *harness) reconciler(t *testing.T) *Reconciler {
	t.Helper()
	r, err := New(Deps{Repo: h.repo, Proposals: h.proposals, Runner: h.runner, Drift: h.drift, Status: h.status},
		WithClock(func() time.Time { return h.now }), WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (h *harness) cycle(t *testing.T) *CycleResult {
	t.Helper()
	res, err := h.reconciler(t).Cycle(context.Background())
	if err != nil {
		t.Fatalf("Cycle: %v", err)
	}
	return res
}

func actionKinds(res *CycleResult) []string {
	var out []string
	for _, a := range res.Actions {
		out = append(out, string(a.Action.Kind))
	}
	return out
}

func TestCycleRetrainStoryRepeatsNothing(t *testing.T) {
	h := newHarness(6)

	// Cycle 1: first drift check; one drifted report of a window of two is not enough.
	res := h.cycle(t)
	if got := actionKinds(res); strings.Join(got, ",") != "check-drift" {
		t.Fatalf("cycle 1 actions = %v, want [check-drift]", got)
	}
	if len(res.Invalid) == 0 {
		t.Fatal("the broken policy was not reported")
	}
	for _, e := range res.Invalid {
		if !strings.HasPrefix(e, "models/broken.yaml:5:") {
			t.Errorf("invalid policy error %q does not point at models/broken.yaml line 5", e)
		}
	}
	// Re-running at the same time does nothing: the plan's effects are observed.
	if res := h.cycle(t); len(res.Actions) != 0 {
		t.Fatalf("repeated cycle acted: %v", actionKinds(res))
	}

	// Cycle 2, six hours later: second drifted report → retrain proposal.
	h.now = h.now.Add(6 * time.Hour)
	res = h.cycle(t)
	if got := strings.Join(actionKinds(res), ","); got != "check-drift,propose-retrain" {
		t.Fatalf("cycle 2 actions = %v", got)
	}
	if h.proposals.opened != 1 {
		t.Fatalf("opened %d proposals, want 1", h.proposals.opened)
	}
	body := h.proposals.bodies["sepsis-risk/retrain"]
	// The forge marks the proposal itself (internal/forge/github); the body carries no marker.
	if strings.Contains(body, "modelops:proposal") {
		t.Errorf("proposal body carries a marker of its own:\n%s", body)
	}
	for _, want := range []string{"## Retrain `sepsis-risk`", "2 of the last 2 drift reports drifted", "reports/sepsis-risk/drift-"} {
		if !strings.Contains(body, want) {
			t.Errorf("proposal body lacks %q:\n%s", want, body)
		}
	}
	if res := h.cycle(t); len(res.Actions) != 0 {
		t.Fatalf("repeated cycle acted: %v", actionKinds(res))
	}

	// A person merges the proposal: the tip now says generation 7. Before the next cycle
	// someone else pushes an unrelated edit of the same file.
	h.repo.set("models/sepsis-risk.yaml", fmt.Sprintf(sepsisPolicy, 7), "c2")
	h.repo.set("models/sepsis-risk.yaml", "# owner: critical care\n"+fmt.Sprintf(sepsisPolicy, 7), "c3")
	res = h.cycle(t)
	if got := strings.Join(actionKinds(res), ","); got != "launch-training,close-proposal" {
		t.Fatalf("after merge actions = %v", got)
	}
	for i := 0; i < 3; i++ {
		if res := h.cycle(t); len(res.Actions) != 0 {
			t.Fatalf("repeated cycle acted: %v", actionKinds(res))
		}
	}
	if h.runner.started != 1 {
		t.Fatalf("started %d training runs, want exactly 1", h.runner.started)
	}

	// Training finishes; the drift evidence predates the launch, so nothing is proposed.
	h.now = h.now.Add(time.Hour)
	h.runner.finish("sepsis-risk", 7, h.now)
	h.cycle(t)
	st, _ := h.status.Load(context.Background())
	run, ok := st.Models["sepsis-risk"].Run(7)
	if !ok || run.Phase != RunSucceeded || run.Commit != "c2" {
		t.Fatalf("run of generation 7 = %+v, want Succeeded on commit c2, the merge that raised the generation", run)
	}
	if h.proposals.opened != 1 || len(h.proposals.open) != 0 {
		t.Fatalf("proposals opened %d, open %d; want 1 and 0", h.proposals.opened, len(h.proposals.open))
	}
}

func TestCycleRecordsALaunchLostInACrash(t *testing.T) {
	h := newHarness(6)
	h.cycle(t)
	// The process launched generation 7 and died before saving its status.
	h.repo.set("models/sepsis-risk.yaml", fmt.Sprintf(sepsisPolicy, 7), "c2")
	if _, err := h.runner.Start(context.Background(), JobRequest{Model: "sepsis-risk", Generation: 7, Commit: "c2"}); err != nil {
		t.Fatal(err)
	}
	res := h.cycle(t)
	for _, a := range res.Actions {
		if a.Action.Kind == ActionLaunchTraining {
			t.Fatalf("launched again after a crash: %+v", a)
		}
	}
	if h.runner.started != 1 {
		t.Fatalf("started %d runs, want 1", h.runner.started)
	}
	st, _ := h.status.Load(context.Background())
	if got := st.Models["sepsis-risk"].LaunchedGeneration; got != 7 {
		t.Fatalf("LaunchedGeneration = %d, want 7 recorded from the runner", got)
	}
}

func TestCycleFailedDriftCheckRetriesWithBackoffAndMarksNotReady(t *testing.T) {
	h := newHarness(6)
	h.drift.err = errors.New("read data/cur.csv: no such file")
	res := h.cycle(t)
	if res.Failed() != 1 {
		t.Fatalf("failed actions = %d, want 1", res.Failed())
	}
	st, _ := h.status.Load(context.Background())
	ready, _ := findCondition(st.Models["sepsis-risk"].Conditions, ConditionReady)
	if ready.Status != ConditionFalse || ready.Reason != DriftCheckFailedReason {
		t.Fatalf("Ready = %+v, want False/%s", ready, DriftCheckFailedReason)
	}
	// The same reconciler skips the action until its backoff passes.
	r := h.reconciler(t)
	if _, err := r.Cycle(context.Background()); err != nil {
		t.Fatal(err)
	}
	res, err := r.Cycle(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Actions) != 1 || !res.Actions[0].Skipped {
		t.Fatalf("second attempt within backoff = %+v, want skipped", res.Actions)
	}
	h.drift.err = nil
	h.now = h.now.Add(time.Minute)
	res, err = r.Cycle(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed() != 0 || h.drift.checks != 1 {
		t.Fatalf("after backoff: failed %d, checks %d; want 0 and 1", res.Failed(), h.drift.checks)
	}
}

func TestInvalidPolicyIsStalledUntilFixed(t *testing.T) {
	h := newHarness(6)
	h.cycle(t)
	st, _ := h.status.Load(context.Background())
	stalled, _ := findCondition(st.Models["broken"].Conditions, ConditionStalled)
	ready, _ := findCondition(st.Models["broken"].Conditions, ConditionReady)
	if stalled.Status != ConditionTrue || stalled.Reason != InvalidPolicyReason || !strings.Contains(stalled.Message, "models/broken.yaml:5:") {
		t.Fatalf("Stalled = %+v, want True/InvalidPolicy naming the file and line", stalled)
	}
	if ready.Status != ConditionFalse {
		t.Fatalf("Ready = %+v, want False", ready)
	}
	// The other model was reconciled all the same.
	if ok, _ := findCondition(st.Models["sepsis-risk"].Conditions, ConditionReady); ok.Status != ConditionTrue {
		t.Fatalf("sepsis-risk Ready = %+v, want True", ok)
	}

	// Fixed: the model is reconciled and no longer stalled.
	h.repo.set("models/broken.yaml", strings.Replace(brokenPolicy, "canary: {version: \"2\", weight: 150}", "production: {version: \"1\"}", 1), "c9")
	h.cycle(t)
	st, _ = h.status.Load(context.Background())
	if c, _ := findCondition(st.Models["broken"].Conditions, ConditionStalled); c.Status != ConditionFalse {
		t.Fatalf("Stalled after the fix = %+v, want False", c)
	}
}

// fakeMetrics reports a production AUC that the test lowers.
type fakeMetrics struct{ auc float64 }

func (f *fakeMetrics) Production(context.Context, *policies.Policy, fs.FS) (*PerformanceRecord, error) {
	return &PerformanceRecord{Version: "12", Metric: "auc", Value: f.auc, Samples: 20000}, nil
}

func TestPerformanceDropFromTheMetricsSourceProposesARetrain(t *testing.T) {
	h := newHarness(6)
	h.drift.drifted = false
	m := &fakeMetrics{auc: 0.91}
	r, err := New(Deps{Repo: h.repo, Proposals: h.proposals, Runner: h.runner, Drift: h.drift, Metrics: m, Status: h.status},
		WithClock(func() time.Time { return h.now }), WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := r.Cycle(ctx); err != nil {
		t.Fatal(err)
	}
	commits := h.status.commits
	h.now = h.now.Add(time.Minute)
	if res, err := r.Cycle(ctx); err != nil || len(res.Actions) != 0 {
		t.Fatalf("unchanged metrics: %v actions, %v", res, err)
	}
	if h.status.commits != commits {
		t.Fatal("an unchanged reading changed the status")
	}
	m.auc = 0.85 // a drop of 0.06 >= the default 0.05
	h.now = h.now.Add(time.Minute)
	res, err := r.Cycle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(actionKinds(res), ","); got != "propose-retrain" {
		t.Fatalf("after the drop: %s, want propose-retrain", got)
	}
	if body := h.proposals.bodies["sepsis-risk/retrain"]; !strings.Contains(body, "auc of production version 12 fell from 0.9100 to 0.8500") {
		t.Fatalf("proposal body lacks the performance evidence:\n%s", body)
	}
}

// promotionHarness is a model whose production version 12 reads AUC 0.85 and whose retrain
// generation 7 was merged and launched; the drift check never fires a retrain.
func promotionHarness(t *testing.T) (*harness, func() *CycleResult) {
	t.Helper()
	h := newHarness(6)
	h.drift.drifted = false
	m := &fakeMetrics{auc: 0.85}
	cycle := func() *CycleResult {
		t.Helper()
		r, err := New(Deps{Repo: h.repo, Proposals: h.proposals, Runner: h.runner, Drift: h.drift, Metrics: m, Status: h.status},
			WithClock(func() time.Time { return h.now }), WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatal(err)
		}
		res, err := r.Cycle(context.Background())
		if err != nil {
			t.Fatalf("Cycle: %v", err)
		}
		return res
	}
	cycle()
	h.repo.set("models/sepsis-risk.yaml", fmt.Sprintf(sepsisPolicy, 7), "c2")
	if got := strings.Join(actionKinds(cycle()), ","); got != "launch-training" {
		t.Fatalf("after the merge: %s, want launch-training", got)
	}
	h.now = h.now.Add(time.Hour)
	return h, cycle
}

func TestCycleProposesAPassingCandidateOnce(t *testing.T) {
	h, cycle := promotionHarness(t)
	h.runner.finishWith("sepsis-risk", 7, h.now, RunResult{Version: "13", URI: "models:/sepsis-risk/13", Metrics: goodCandidate()})
	if got := strings.Join(actionKinds(cycle()), ","); got != "propose-promotion" {
		t.Fatalf("after training: %s, want propose-promotion", got)
	}
	for i := 0; i < 3; i++ {
		h.now = h.now.Add(time.Minute)
		if res := cycle(); len(res.Actions) != 0 {
			t.Fatalf("repeated cycle acted: %v", actionKinds(res))
		}
	}
	if h.proposals.opened != 1 || h.proposals.updated != 0 {
		t.Fatalf("opened %d, updated %d proposals; want 1 and 0", h.proposals.opened, h.proposals.updated)
	}
	body := h.proposals.bodies["sepsis-risk/promote"]
	for _, want := range []string{
		"## Promote `sepsis-risk` version `13` to canary",
		"| criterion | wanted | candidate (`13`) | production (`12`) | result |",
		"| auc improvement | >= +0.0300 over production | 0.9000 (+0.0500) | 0.8500 | ✓ |",
		"| latency p95 ms | < 200 | 120 | — | ✓ |",
		"spec.canary absent → 13 at weight 10",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("proposal body lacks %q:\n%s", want, body)
		}
	}
	// The edit the proposal carries applies to the policy file at its base and writes the
	// canary block.
	req := h.proposals.reqs["sepsis-risk/promote"]
	src := fmt.Appendf(nil, sepsisPolicy, 7)
	edited, err := policies.Apply(src, "sepsis-risk", req.Edits...)
	if err != nil {
		t.Fatalf("apply the proposal's edits: %v", err)
	}
	if !strings.Contains(string(edited), "canary:") || !strings.Contains(string(edited), "models:/sepsis-risk/13") {
		t.Fatalf("edited policy has no canary 13:\n%s", edited)
	}
	st, _ := h.status.Load(context.Background())
	run, _ := st.Models["sepsis-risk"].Run(7)
	if run.Promotion == nil || !run.Promotion.Passed || run.Promotion.Version != "13" || !run.Promotion.JudgedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("stored verdict = %+v, want passed for 13 judged at %s", run.Promotion, t0.Add(time.Hour))
	}
}

func TestCycleRecordsAFailingCandidateWithoutProposing(t *testing.T) {
	h, cycle := promotionHarness(t)
	m := goodCandidate()
	m.AUC = f64(0.86) // +0.01 over production: short of the +0.03 improvement
	h.runner.finishWith("sepsis-risk", 7, h.now, RunResult{Version: "13", URI: "models:/sepsis-risk/13", Metrics: m})
	res := cycle()
	if got := strings.Join(actionKinds(res), ","); got != "record-verdict" {
		t.Fatalf("after training: %s, want record-verdict", got)
	}
	// The summary says the verdict and what failed, not only that a verdict was recorded.
	if d := res.Actions[0].Detail; !strings.Contains(d, "candidate 13 FAILED the promotion gate: auc improvement +0.0100 (wanted >= +0.0300)") {
		t.Fatalf("record-verdict detail %q does not give the verdict and its failing criterion", d)
	}
	if h.proposals.opened != 0 {
		t.Fatalf("opened %d proposals for a failing candidate", h.proposals.opened)
	}
	commits := h.status.commits
	h.now = h.now.Add(time.Minute)
	if res := cycle(); len(res.Actions) != 0 {
		t.Fatalf("repeated cycle acted: %v", actionKinds(res))
	}
	if h.status.commits != commits {
		t.Fatal("the repeated cycle changed the status")
	}
	st, _ := h.status.Load(context.Background())
	run, _ := st.Models["sepsis-risk"].Run(7)
	if v := run.Promotion; v == nil || v.Passed || strings.Join(v.Failed(), ",") != CriterionAUCImprovement {
		t.Fatalf("stored verdict = %+v, want failed on %s", v, CriterionAUCImprovement)
	}
}

// TestScheduleCountsFromTheCommitThatAddedIt: a schedule added to a model the reconciler has
// known for weeks is first due one period after its commit, not on the next cycle.
func TestScheduleCountsFromTheCommitThatAddedIt(t *testing.T) {
	h := newHarness(6)
	h.drift.drifted = false
	h.cycle(t)

	h.now = h.now.Add(14 * 24 * time.Hour) // Monday 2026-11-16 08:00
	weekly := strings.Replace(fmt.Sprintf(sepsisPolicy, 6), `schedule: ""`, `schedule: "0 2 * * 1"`, 1)
	h.repo.setAt("models/sepsis-risk.yaml", weekly, "c2", h.now)
	res := h.cycle(t)
	if slices.Contains(actionKinds(res), string(ActionProposeRetrain)) {
		t.Fatalf("the schedule fired on the cycle after its commit: %v", actionKinds(res))
	}
	st, _ := h.status.Load(context.Background())
	if got := st.Models["sepsis-risk"].ScheduleSince; !got.Equal(h.now) {
		t.Fatalf("ScheduleSince = %v, want the commit time %v", got, h.now)
	}

	h.now = time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC) // the next Monday 02:00
	res = h.cycle(t)
	if !slices.Contains(actionKinds(res), string(ActionProposeRetrain)) || h.reqTrigger(t) != TriggerSchedule {
		t.Fatalf("the schedule did not propose a retrain a period after its commit: %v", actionKinds(res))
	}
}

// reqTrigger is the trigger the open retrain proposal names in its title.
func (h *harness) reqTrigger(t *testing.T) Trigger {
	t.Helper()
	title := h.proposals.reqs["sepsis-risk/retrain"].Title
	i := strings.LastIndex(title, "(")
	if i < 0 {
		t.Fatalf("retrain proposal title %q names no trigger", title)
	}
	return Trigger(strings.TrimSuffix(title[i+1:], ")"))
}

// TestFailedTrainingIsReportedOnceAndMakesTheModelNotReady: a run that fails is in the
// summary of exactly one cycle, and the model is Ready=False (TrainingFailed) until a newer
// generation is launched.
func TestFailedTrainingIsReportedOnceAndMakesTheModelNotReady(t *testing.T) {
	h := newHarness(6)
	h.drift.drifted = false
	h.cycle(t)
	h.repo.set("models/sepsis-risk.yaml", fmt.Sprintf(sepsisPolicy, 7), "c2")
	h.cycle(t)
	h.now = h.now.Add(time.Hour)
	h.runner.fail("sepsis-risk", 7, h.now, "exit status 127; last lines of the log:\ntrain.sh: python: not found")

	ready := func() Condition {
		t.Helper()
		st, _ := h.status.Load(context.Background())
		c, _ := findCondition(st.Models["sepsis-risk"].Conditions, ConditionReady)
		return c
	}
	res := h.cycle(t)
	if len(res.FailedRuns) != 1 || res.FailedRuns[0].Model != "sepsis-risk" || res.FailedRuns[0].Generation != 7 ||
		!strings.Contains(res.FailedRuns[0].Message, "python: not found") {
		t.Fatalf("failed runs = %+v, want generation 7 with its log", res.FailedRuns)
	}
	if c := ready(); c.Status != ConditionFalse || c.Reason != TrainingFailedReason || !strings.Contains(c.Message, "exit status 127") {
		t.Fatalf("Ready = %+v, want False/TrainingFailed with the run's message", c)
	}
	h.now = h.now.Add(time.Minute)
	if res := h.cycle(t); len(res.FailedRuns) != 0 {
		t.Fatalf("the failure was reported again: %+v", res.FailedRuns)
	}
	if c := ready(); c.Reason != TrainingFailedReason {
		t.Fatalf("Ready = %+v after the next cycle, want still TrainingFailed", c)
	}
	h.repo.set("models/sepsis-risk.yaml", fmt.Sprintf(sepsisPolicy, 8), "c3")
	h.cycle(t)
	if c := ready(); c.Status != ConditionTrue {
		t.Fatalf("Ready = %+v once generation 8 launched, want True", c)
	}
}

// TestALostStatusLeavesARaisedGenerationToAPerson: without any status, a generation raised in
// history (not the one the policy arrived with) is neither adopted nor launched unless the
// runner knows its run; a person's retrain request trains it once, an adopt request takes
// it as trained.
func TestALostStatusLeavesARaisedGenerationToAPerson(t *testing.T) {
	lost := func(t *testing.T) *harness {
		h := newHarness(6)
		h.drift.drifted = false
		h.repo.set("models/sepsis-risk.yaml", fmt.Sprintf(sepsisPolicy, 6), "c1")
		h.repo.set("models/sepsis-risk.yaml", fmt.Sprintf(sepsisPolicy, 7), "c2")
		return h
	}
	ready := func(t *testing.T, h *harness) (*ModelStatus, Condition) {
		t.Helper()
		st, _ := h.status.Load(context.Background())
		ms := st.Models["sepsis-risk"]
		c, _ := findCondition(ms.Conditions, ConditionReady)
		return ms, c
	}

	t.Run("a person decides to train it", func(t *testing.T) {
		h := lost(t)
		for range 2 {
			if res := h.cycle(t); slices.Contains(actionKinds(res), string(ActionLaunchTraining)) {
				t.Fatalf("an undecided generation was launched: %v", actionKinds(res))
			}
		}
		ms, c := ready(t, h)
		if c.Status != ConditionFalse || c.Reason != GenerationUndecidedReason || !strings.Contains(c.Message, "modelops retrain sepsis-risk") ||
			ms.Undecided == nil || ms.Undecided.Commit != "c2" || ms.LaunchedGeneration != 6 {
			t.Fatalf("status %+v, Ready %+v: want generation 7 undecided, raised by c2, with the commands", ms, c)
		}
		h.now = h.now.Add(time.Minute)
		h.status.add(t, "sepsis-risk", ManualRequest{At: h.now, Reason: "never trained"})
		h.cycle(t)
		h.cycle(t)
		if ms, c := ready(t, h); h.runner.started != 1 || ms.LaunchedGeneration != 7 || c.Status != ConditionTrue {
			t.Fatalf("after the retrain request: %d runs, launched %d, Ready %+v; want generation 7 trained once", h.runner.started, ms.LaunchedGeneration, c)
		}
	})
	t.Run("a person adopts it", func(t *testing.T) {
		h := lost(t)
		h.cycle(t)
		h.now = h.now.Add(time.Minute)
		h.status.add(t, "sepsis-risk", ManualRequest{At: h.now, Reason: "trained last week", Adopt: true, Generation: 7})
		res := h.cycle(t)
		if ms, c := ready(t, h); h.runner.started != 0 || ms.LaunchedGeneration != 7 || c.Status != ConditionTrue || len(res.Actions) != 0 {
			t.Fatalf("after adopting: %d runs, launched %d, Ready %+v, actions %v; want 7 adopted", h.runner.started, ms.LaunchedGeneration, c, actionKinds(res))
		}
	})
	t.Run("the runner knows its run", func(t *testing.T) {
		h := lost(t)
		if _, err := h.runner.Start(context.Background(), JobRequest{Model: "sepsis-risk", Generation: 7, Commit: "c2"}); err != nil {
			t.Fatal(err)
		}
		h.cycle(t)
		if ms, _ := ready(t, h); h.runner.started != 1 || ms.LaunchedGeneration != 7 || ms.Undecided != nil {
			t.Fatalf("with the run known: %d runs, status %+v; want the run recorded", h.runner.started, ms)
		}
	})
	t.Run("a policy that arrived with its generation is adopted", func(t *testing.T) {
		h := newHarness(7)
		h.repo.set("models/sepsis-risk.yaml", fmt.Sprintf(sepsisPolicy, 7), "c1")
		h.cycle(t)
		if ms, c := ready(t, h); h.runner.started != 0 || ms.LaunchedGeneration != 7 || c.Status != ConditionTrue {
			t.Fatalf("status %+v, Ready %+v: want generation 7 adopted", ms, c)
		}
	})
}

// add records a manual request as `modelops retrain` does, between cycles.
func (m *memStatus) add(t *testing.T, model string, req ManualRequest) {
	t.Helper()
	st, err := m.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ms := st.Model(model)
	ms.Manual = append(ms.Manual, req)
	if err := m.Save(context.Background(), st, nil, "request"); err != nil {
		t.Fatal(err)
	}
}
