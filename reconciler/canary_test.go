package reconciler

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/medimind/modelops/policies"
)

func intp(v int) *int { return &v }

// canaryPolicy is a model with production 12 and canary 13 at weight, the seed analysis
// (steps 10, 25, 50, 100; interval 12h; duration 48h; 500 samples; auc drop 0.02; 2 checks;
// latency 200 ms).
func canaryPolicy(weight int) *policies.Policy {
	return policy("sepsis", func(s *policies.ModelPolicySpec) {
		s.Canary = &policies.Canary{Version: "13", URI: "models:/sepsis/13", Weight: intp(weight)}
	})
}

// obs builds an observation: AUCs with a DeLong interval of half-width 1.96·se.
func obs(canaryAUC, prodAUC, se float64, samples int64, latency float64) CanaryObservation {
	d := canaryAUC - prodAUC
	return CanaryObservation{
		Since: t0, Until: t0.Add(12 * time.Hour),
		Canary:     VersionFigures{Version: "13", Samples: samples, Positives: samples / 5, AUC: f64(canaryAUC), Precision: 0.8, Recall: 0.75, LatencyP95Ms: f64(latency)},
		Production: VersionFigures{Version: "12", Samples: samples * 9, Positives: samples * 9 / 5, AUC: f64(prodAUC), Precision: 0.8, Recall: 0.75, LatencyP95Ms: f64(90)},
		AUC:        &AUCInterval{Diff: d, StdErr: se, Lower: d - 1.96*se, Upper: d + 1.96*se, P: 0.01, Confidence: 0.95},
	}
}

func TestJudgeCanary(t *testing.T) {
	tests := []struct {
		name       string
		policy     *policies.Policy
		obs        CanaryObservation
		wantJudged bool
		wantPassed bool
		wantFirst  string // prefix of the first finding
	}{
		{
			name:       "a check with fewer than minSamples labelled canary predictions waits",
			policy:     canaryPolicy(10),
			obs:        obs(0.70, 0.90, 0.01, 499, 90),
			wantJudged: false,
		},
		{
			name:       "a check at exactly minSamples is judged",
			policy:     canaryPolicy(10),
			obs:        obs(0.90, 0.90, 0.01, 500, 90),
			wantJudged: true, wantPassed: true, wantFirst: "auc 0.9000 vs production 0.9000",
		},
		{
			name:       "a large AUC drop whose interval lies below zero fails",
			policy:     canaryPolicy(10),
			obs:        obs(0.85, 0.90, 0.01, 1000, 90), // diff -0.05, CI [-0.0696, -0.0304]
			wantJudged: true, wantPassed: false, wantFirst: "auc 0.8500 vs production 0.9000: difference -0.0500",
		},
		{
			name:       "a large AUC drop whose interval reaches above zero passes: not significant",
			policy:     canaryPolicy(10),
			obs:        obs(0.85, 0.90, 0.03, 1000, 90), // CI [-0.1088, +0.0088]
			wantJudged: true, wantPassed: true, wantFirst: "auc 0.8500",
		},
		{
			name:       "a significant drop within maxDrop passes",
			policy:     canaryPolicy(10),
			obs:        obs(0.885, 0.90, 0.001, 1000, 90), // diff -0.015 < 0.02
			wantJudged: true, wantPassed: true,
		},
		{
			name:       "a drop of exactly maxDrop passes (the limit is tolerated)",
			policy:     canaryPolicy(10),
			obs:        obs(0.88, 0.90, 0.001, 1000, 90),
			wantJudged: true, wantPassed: true,
		},
		{
			name:       "an AUC without a DeLong interval waits for more labels",
			policy:     canaryPolicy(10),
			obs:        func() CanaryObservation { o := obs(0.9, 0.9, 0.01, 1000, 90); o.AUC = nil; return o }(),
			wantJudged: false,
		},
		{
			name:       "a canary latency p95 above the promotion limit fails even with a good AUC",
			policy:     canaryPolicy(10),
			obs:        obs(0.93, 0.90, 0.01, 1000, 250),
			wantJudged: true, wantPassed: false, wantFirst: "latency p95 250.0 ms (limit 200 ms)",
		},
		{
			name: "the precision metric compares point values",
			policy: func() *policies.Policy {
				p := canaryPolicy(10)
				p.Spec.CanaryAnalysis.Rollback.Metric = policies.MetricPrecision
				return p
			}(),
			obs: func() CanaryObservation {
				o := obs(0.5, 0.9, 0.01, 1000, 90) // the AUC is not the metric here
				o.Canary.Precision, o.Production.Precision = 0.70, 0.75
				return o
			}(),
			wantJudged: true, wantPassed: false, wantFirst: "precision 0.7000 vs production 0.7500",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check, judged := JudgeCanary(tt.policy, tt.obs, 10)
			if judged != tt.wantJudged {
				t.Fatalf("judged = %v, want %v (check %+v)", judged, tt.wantJudged, check)
			}
			if !judged {
				return
			}
			if check.Passed != tt.wantPassed {
				t.Errorf("passed = %v, want %v; findings %q", check.Passed, tt.wantPassed, check.Findings)
			}
			if tt.wantFirst != "" && !strings.HasPrefix(check.Findings[0], tt.wantFirst) {
				t.Errorf("first finding = %q, want prefix %q", check.Findings[0], tt.wantFirst)
			}
			if check.Weight != 10 || check.Canary.Version != "13" {
				t.Errorf("check does not carry its weight and observation: %+v", check)
			}
		})
	}
}

// canaryStatus is a canary at weight started at start, with the given earlier checks and an
// observation due.
func canaryStatus(weight int, start time.Time, passes string, o *CanaryObservation) ModelStatus {
	cs := &CanaryStatus{Version: "13", Started: start, Weight: weight, StepStarted: start, WindowStart: start, Observation: o}
	for _, c := range passes {
		cs.Checks = append(cs.Checks, CanaryCheck{Passed: c == 'P'})
	}
	return ModelStatus{FirstSeen: start, LaunchedGeneration: 6, Drift: drifts(t0, time.Hour, "-"), Canary: cs}
}

func TestPlanCanary(t *testing.T) {
	good, bad := obs(0.91, 0.90, 0.01, 1000, 90), obs(0.80, 0.90, 0.01, 1000, 90)
	now := t0.Add(13 * time.Hour)
	tests := []struct {
		name   string
		policy *policies.Policy
		status ModelStatus
		props  []Proposal
		want   []ActionKind
		check  func(t *testing.T, as []Action)
	}{
		{
			name:   "a passing check at 10% steps the canary to 25%",
			policy: canaryPolicy(10),
			status: canaryStatus(10, t0, "", &good),
			want:   []ActionKind{ActionStepCanary},
			check: func(t *testing.T, as []Action) {
				if c := as[0].Canary; c.From != 10 || c.To != 25 || !c.Check.Passed {
					t.Errorf("step = %+v, want 10 → 25 with a passed check", c)
				}
			},
		},
		{
			name:   "a weight a person set between steps goes to the next step above it",
			policy: canaryPolicy(30),
			status: canaryStatus(30, t0, "P", &good),
			want:   []ActionKind{ActionStepCanary},
			check: func(t *testing.T, as []Action) {
				if as[0].Canary.To != 50 {
					t.Errorf("step to %d, want 50", as[0].Canary.To)
				}
			},
		},
		{
			name:   "a first failed check is recorded; the weight stays",
			policy: canaryPolicy(10),
			status: canaryStatus(10, t0, "", &bad),
			want:   []ActionKind{ActionRecordCanaryCheck},
		},
		{
			name:   "the failedChecks-th failed check rolls back",
			policy: canaryPolicy(25),
			status: canaryStatus(25, t0, "PF", &bad),
			want:   []ActionKind{ActionRollback},
			check: func(t *testing.T, as []Action) {
				a := as[0]
				if a.Canary.From != 25 || a.Canary.To != 0 || a.Canary.Check.Passed {
					t.Errorf("rollback plan = %+v", a.Canary)
				}
				if !strings.Contains(a.Reason, "failed 2 of 2 tolerated checks") {
					t.Errorf("reason %q does not count the failures", a.Reason)
				}
			},
		},
		{
			name:   "a passing check at 100% with no failure proposes full promotion",
			policy: canaryPolicy(100),
			status: canaryStatus(100, t0, "PPP", &good),
			want:   []ActionKind{ActionProposeFullPromotion},
			check: func(t *testing.T, as []Action) {
				if p := as[0].Proposal; p.Kind != ProposalPromote || p.Target != TargetProduction || p.Key != "production-13" {
					t.Errorf("proposal = %+v", p)
				}
			},
		},
		{
			name:   "a passing check after duration proposes full promotion below 100%",
			policy: canaryPolicy(25),
			status: canaryStatus(25, now.Add(-48*time.Hour), "PPP", &good),
			want:   []ActionKind{ActionProposeFullPromotion},
		},
		{
			name:   "at 100% after a failed check, full promotion is left to a person",
			policy: canaryPolicy(100),
			status: canaryStatus(100, t0, "PFP", &good),
			want:   []ActionKind{ActionRecordCanaryCheck},
		},
		{
			name:   "an observation still short of labels waits",
			policy: canaryPolicy(10),
			status: func() ModelStatus { o := obs(0.5, 0.9, 0.01, 100, 90); return canaryStatus(10, t0, "", &o) }(),
			want:   nil,
		},
		{
			name:   "no observation, no check",
			policy: canaryPolicy(10),
			status: canaryStatus(10, t0, "", nil),
			want:   nil,
		},
		{
			name:   "an observation of another weight than the tip's is not judged",
			policy: canaryPolicy(25),
			status: canaryStatus(10, t0, "", &bad),
			want:   nil,
		},
		{
			name:   "a canary at weight 0 is not analysed",
			policy: canaryPolicy(0),
			status: canaryStatus(10, t0, "F", &bad),
			want:   nil,
		},
		{
			name:   "a full-promotion proposal whose canary is gone is closed",
			policy: policy("sepsis", nil),
			status: ModelStatus{FirstSeen: t0, LaunchedGeneration: 6, Drift: drifts(t0, time.Hour, "-")},
			props:  []Proposal{{Model: "sepsis", Kind: ProposalPromote, Target: TargetProduction, State: ProposalOpen, Key: "production-13"}},
			want:   []ActionKind{ActionCloseProposal},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := tt.status
			st.FirstSeen, st.Drift = now, drifts(now, time.Hour, "-")
			as := Plan(PlanInput{Now: now, Commit: "c9", Models: []ModelState{{Policy: tt.policy, Status: &st, Proposals: tt.props}}})
			if fmt.Sprint(kinds(as)) != fmt.Sprint(kindsOf(tt.want)) {
				t.Fatalf("actions = %v, want %v", kinds(as), tt.want)
			}
			if tt.check != nil {
				tt.check(t, as)
			}
			// Applying the canary action's record leaves nothing to plan for the same tip.
			for _, a := range as {
				if a.Canary != nil {
					recordCanaryCheck(&st, a.Canary)
				}
			}
			if again := Plan(PlanInput{Now: now, Commit: "c9", Models: []ModelState{{Policy: tt.policy, Status: &st}}}); len(again) != 0 {
				t.Errorf("after recording the check, plan gives %v", kinds(again))
			}
		})
	}
}

func kindsOf(ks []ActionKind) []string {
	var out []string
	for _, k := range ks {
		out = append(out, string(k))
	}
	return out
}

func TestPlanTraffic(t *testing.T) {
	p := canaryPolicy(25)
	want := Traffic{Production: "12", ProductionURI: "models:/sepsis/12", Canary: "13", CanaryURI: "models:/sepsis/13", Weight: 25}
	for _, tt := range []struct {
		name   string
		served *Traffic
		act    bool
	}{
		{"without a router nothing is planned", nil, false},
		{"a model the router does not serve yet is routed", &Traffic{}, true},
		{"a stale weight is set", &Traffic{Production: "12", ProductionURI: "models:/sepsis/12", Canary: "13", CanaryURI: "models:/sepsis/13", Weight: 10}, true},
		{"the tip's split is left alone", &want, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, ok := planTraffic("c1", p, tt.served)
			if ok != tt.act {
				t.Fatalf("planned = %v, want %v", ok, tt.act)
			}
			if ok && *a.Traffic != want {
				t.Errorf("traffic = %+v, want %+v", *a.Traffic, want)
			}
		})
	}
}

// The fakes of the canary story: a comparator returning scripted observations, a committer
// that edits the fake repository's file, a router and a commenter.

type fakeCanaryMetrics struct {
	mu    sync.Mutex
	next  CanaryObservation
	calls int
}

func (f *fakeCanaryMetrics) CompareCanary(_ context.Context, _ *policies.Policy, _ fs.FS, since, until time.Time) (*CanaryObservation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	o := f.next
	o.Since, o.Until = since, until
	return &o, nil
}

type fakeCommitter struct {
	repo     *fakeRepo
	commits  []string // messages
	trailers []map[string]string
	// before runs before the edit, to play a person pushing first.
	before func()
}

func (f *fakeCommitter) CommitEdit(_ context.Context, file string, edit func([]byte) ([]byte, error), message string, trailers map[string]string) (string, error) {
	if f.before != nil {
		f.before()
	}
	f.repo.mu.Lock()
	old := f.repo.files[file].Data
	tip := f.repo.commit
	f.repo.mu.Unlock()
	edited, err := edit(old)
	if err != nil {
		return "", err
	}
	if string(edited) == string(old) {
		return tip, nil
	}
	commit := fmt.Sprintf("bot%d", len(f.commits)+1)
	f.repo.set(file, string(edited), commit)
	f.commits = append(f.commits, message)
	f.trailers = append(f.trailers, trailers)
	return commit, nil
}

type fakeRouter struct {
	served map[string]Traffic
	sets   int
}

func (f *fakeRouter) Get(_ context.Context, model string) (Traffic, error) {
	t, ok := f.served[model]
	if !ok {
		return Traffic{}, ErrNotRouted
	}
	return t, nil
}

func (f *fakeRouter) Set(_ context.Context, model string, t Traffic) error {
	f.served[model] = t
	f.sets++
	return nil
}

// commentingProposals adds comments by merge commit to the proposal fake.
type commentingProposals struct {
	*fakeProposals
	merges   map[string]string // merge commit -> proposal id
	comments map[string][]string
}

func (c *commentingProposals) CommentOnMerge(_ context.Context, commit, text string) error {
	id, ok := c.merges[commit]
	if !ok {
		return ErrNoProposal
	}
	c.comments[id] = append(c.comments[id], text)
	return nil
}

const canaryStoryPolicy = `apiVersion: modelops.medimind.io/v1alpha1
kind: ModelPolicy
metadata:
  name: sepsis-risk
spec:
  production: {version: "12", uri: "models:/sepsis-risk/12"}
  # the candidate of generation 7
  canary:
    version: "13"
    uri: "models:/sepsis-risk/13"
    weight: 10   # first step
  canaryAnalysis:
    interval: 1h
    minSamples: 200
`

func TestCycleCanaryStepsThenRollsBackByCommitAndRoutesTrafficBack(t *testing.T) {
	now := t0
	repo := &fakeRepo{commit: "merge-1", files: fstest.MapFS{}}
	repo.set("models/sepsis-risk.yaml", canaryStoryPolicy, "merge-1")
	props := &commentingProposals{fakeProposals: newFakeProposals(), merges: map[string]string{"merge-1": "sepsis-risk/promote"}, comments: map[string][]string{}}
	cm := &fakeCanaryMetrics{next: obs(0.91, 0.90, 0.01, 400, 80)}
	committer := &fakeCommitter{repo: repo}
	router := &fakeRouter{served: map[string]Traffic{"sepsis-risk": {Production: "12", ProductionURI: "models:/sepsis-risk/12"}}}
	status := &memStatus{}
	cycle := func() *CycleResult {
		t.Helper()
		r, err := New(Deps{Repo: repo, Proposals: props, Status: status, Canary: cm, Committer: committer, Router: router},
			WithClock(func() time.Time { return now }), WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatal(err)
		}
		res, err := r.Cycle(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range res.Actions {
			if a.Error != "" {
				t.Fatalf("%s failed: %s", a.Action.Kind, a.Error)
			}
		}
		return res
	}

	// The merged promotion puts the canary at 10%: the router is told, no check is due yet.
	if got := strings.Join(actionKinds(cycle()), ","); got != "apply-traffic" {
		t.Fatalf("first cycle = %s, want apply-traffic", got)
	}
	if s := router.served["sepsis-risk"]; s.Canary != "13" || s.Weight != 10 || s.CanaryURI != "models:/sepsis-risk/13" {
		t.Fatalf("router serves %+v", s)
	}
	if res := cycle(); len(res.Actions) != 0 || cm.calls != 0 {
		t.Fatalf("before the interval: actions %v, comparisons %d", actionKinds(res), cm.calls)
	}

	// One hour later the check passes: the weight is committed to 25% and routed next cycle.
	now = now.Add(time.Hour)
	if got := strings.Join(actionKinds(cycle()), ","); got != "step-canary" {
		t.Fatalf("after a passing check = %s, want step-canary", got)
	}
	if !strings.Contains(string(repo.files["models/sepsis-risk.yaml"].Data), "weight: 25   # first step") {
		t.Fatalf("the step did not edit the weight in place:\n%s", repo.files["models/sepsis-risk.yaml"].Data)
	}
	if got := strings.Join(actionKinds(cycle()), ","); got != "apply-traffic" {
		t.Fatalf("after the step = %s, want apply-traffic", got)
	}

	// The canary regresses: too few labels first (waits), then two failed checks.
	cm.next = obs(0.80, 0.90, 0.01, 150, 80)
	now = now.Add(time.Hour)
	if res := cycle(); len(res.Actions) != 0 {
		t.Fatalf("with 150 labelled predictions the check was judged: %v", actionKinds(res))
	}
	cm.next = obs(0.80, 0.90, 0.01, 400, 80)
	if got := strings.Join(actionKinds(cycle()), ","); got != "record-canary-check" {
		t.Fatalf("first failure = %s", got)
	}
	now = now.Add(time.Hour)
	res := cycle()
	if got := strings.Join(actionKinds(res), ","); got != "rollback" {
		t.Fatalf("second failure = %s", got)
	}
	file := string(repo.files["models/sepsis-risk.yaml"].Data)
	if strings.Contains(file, "canary:") || !strings.Contains(file, "canaryAnalysis:") || !strings.Contains(file, "production: {version: \"12\"") {
		t.Fatalf("rollback did not remove exactly the canary block:\n%s", file)
	}
	last := committer.trailers[len(committer.trailers)-1]
	if last["Modelops-Action"] != "rollback" || !strings.HasPrefix(last["Modelops-Evidence"], "reports/sepsis-risk/canary-13-") {
		t.Fatalf("rollback trailers = %v", last)
	}
	if msg := committer.commits[len(committer.commits)-1]; !strings.Contains(msg, "auc 0.8000 vs production 0.9000") {
		t.Errorf("rollback message lacks the failing figures:\n%s", msg)
	}
	if c := props.comments["sepsis-risk/promote"]; len(c) != 1 || !strings.Contains(c[0], "rolled back canary `13`") {
		t.Errorf("comments on the introducing proposal = %q", c)
	}
	if _, ok := status.files[last["Modelops-Evidence"]]; !ok {
		t.Errorf("evidence %s is not on the status branch", last["Modelops-Evidence"])
	}

	// The rollback commit triggers nothing but taking the traffic back.
	if got := strings.Join(actionKinds(cycle()), ","); got != "apply-traffic" {
		t.Fatalf("after the rollback = %s, want apply-traffic", got)
	}
	if s := router.served["sepsis-risk"]; s.Canary != "" || s.Weight != 0 || s.Production != "12" {
		t.Fatalf("router serves %+v after the rollback", s)
	}
	for range 3 {
		now = now.Add(time.Hour)
		if res := cycle(); len(res.Actions) != 0 {
			t.Fatalf("the rolled-back model keeps acting: %v", actionKinds(res))
		}
	}
	st, _ := status.Load(context.Background())
	ms := st.Models["sepsis-risk"]
	if ms.Canary != nil || ms.LastCanary == nil || ms.LastCanary.Outcome != CanaryRolledBack || ms.LastCanary.Failed() != 2 {
		t.Fatalf("canary status after rollback: current %+v, last %+v", ms.Canary, ms.LastCanary)
	}
	if len(committer.commits) != 2 {
		t.Fatalf("%d bot commits, want 2 (one step, one rollback)", len(committer.commits))
	}
}

func TestCycleRollbackYieldsToAPersonWhoChangedTheCanary(t *testing.T) {
	repo := &fakeRepo{files: fstest.MapFS{}}
	committer := &fakeCommitter{repo: repo}
	// A person sets the weight to 0 while the reconciler judges the canary.
	committer.before = func() {
		committer.before = nil
		repo.set("models/sepsis-risk.yaml", strings.Replace(string(repo.files["models/sepsis-risk.yaml"].Data), "weight: 10", "weight: 0", 1), "human")
	}
	res, next := oneCheckRollback(t, repo, newFakeProposals(), committer)
	if !strings.Contains(res.Actions[0].Detail, "not committed") {
		t.Fatalf("rollback = %+v, want one that yields", res.Actions[0])
	}
	if len(committer.commits) != 0 {
		t.Fatalf("the bot committed over the person's edit: %q", committer.commits)
	}
	if !strings.Contains(string(repo.files["models/sepsis-risk.yaml"].Data), "weight: 0") {
		t.Fatal("the person's weight was overwritten")
	}
	// Re-planned on the person's edit: a canary at 0% is not analysed, nothing more is done.
	if res := next(); len(res.Actions) != 0 {
		t.Fatalf("after the person's edit: %v", actionKinds(res))
	}
}

func TestCycleRollbackAsAPullRequestWhenTheRepositoryAsksForOne(t *testing.T) {
	repo := &fakeRepo{files: fstest.MapFS{}}
	repo.set(".modelops.yaml", "apiVersion: modelops.medimind.io/v1alpha1\nkind: RepositoryConfig\nspec:\n  rollback: pullRequest\n", "c0")
	committer := &fakeCommitter{repo: repo}
	props := newFakeProposals()
	res, _ := oneCheckRollback(t, repo, props, committer)
	if !strings.Contains(res.Actions[0].Detail, "proposed in modelops/sepsis-risk/canary") {
		t.Fatalf("rollback = %+v, want one proposed as a pull request", res.Actions[0])
	}
	if len(committer.commits) != 0 {
		t.Fatalf("the rollback was committed although the repository asks for pull requests")
	}
	req := props.reqs["sepsis-risk/canary"]
	if len(req.Edits) != 1 || req.Edits[0] != (policies.RemoveCanary{Version: "13"}) || req.Trailers["Modelops-Action"] != "rollback" ||
		!strings.Contains(req.Body, "auc 0.8000 vs production 0.9000") {
		t.Fatalf("canary proposal = %+v", req)
	}
}

// oneCheckRollback is the canary story's policy rolling back after one failed check, in
// repo, and runs two cycles an hour apart with a failing canary: the second judges it. next
// runs one more cycle an hour later.
func oneCheckRollback(t *testing.T, repo *fakeRepo, props Proposals, committer *fakeCommitter) (res *CycleResult, next func() *CycleResult) {
	t.Helper()
	repo.set("models/sepsis-risk.yaml", strings.Replace(canaryStoryPolicy, "minSamples: 200", "minSamples: 200\n    rollback: {failedChecks: 1}", 1), "c1")
	now := t0
	r, err := New(Deps{Repo: repo, Proposals: props, Status: &memStatus{}, Canary: &fakeCanaryMetrics{next: obs(0.80, 0.90, 0.01, 400, 80)}, Committer: committer},
		WithClock(func() time.Time { return now }), WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := r.Cycle(ctx); err != nil {
		t.Fatal(err)
	}
	next = func() *CycleResult {
		t.Helper()
		now = now.Add(time.Hour)
		res, err := r.Cycle(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	res = next()
	if len(res.Actions) != 1 || res.Actions[0].Action.Kind != ActionRollback || res.Actions[0].Error != "" {
		t.Fatalf("actions = %+v, want one rollback", res.Actions)
	}
	return res, next
}
