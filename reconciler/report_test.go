package reconciler

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

type fakeReporter struct {
	mu      sync.Mutex
	reports []CheckReport
}

func (f *fakeReporter) Report(_ context.Context, c CheckReport) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reports = append(f.reports, c)
	return nil
}

func (f *fakeReporter) named(name string) []CheckReport {
	var out []CheckReport
	for _, c := range f.reports {
		if c.Name == name {
			out = append(out, c)
		}
	}
	return out
}

func TestCycleReportsDriftChecksOnTheTipAndTrainingOnTheMergeCommit(t *testing.T) {
	h := newHarness(6)
	rep := &fakeReporter{}
	cycle := func() {
		t.Helper()
		r, err := New(Deps{Repo: h.repo, Proposals: h.proposals, Runner: h.runner, Drift: h.drift, Status: h.status, Reporter: rep},
			WithClock(func() time.Time { return h.now }), WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Cycle(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	cycle()
	drift := rep.named("modelops/drift: sepsis-risk")
	if len(drift) != 1 {
		t.Fatalf("drift check reports = %+v, want one", rep.reports)
	}
	d := drift[0]
	// The fake checker reports 7 of 10 columns drifted; the policy retrains on drift.
	if d.Commit != "c1" || d.Status != CheckCompleted || d.Conclusion != CheckFailure || !strings.Contains(d.Title, "7 of 10 columns drifted") {
		t.Errorf("drift check = %+v, want completed failure on c1", d)
	}
	// The check run links to the full report on the status branch.
	if report := DriftReportPath("sepsis-risk", h.now); d.DetailsURL != report || h.status.files[report] == nil {
		t.Errorf("drift check links to %q, want the report %s saved on the status branch", d.DetailsURL, report)
	}
	lines := map[string]int{}
	for _, a := range d.Annotations {
		if a.Path != "models/sepsis-risk.yaml" || a.Level != "failure" {
			t.Errorf("annotation %+v", a)
		}
		lines[a.Message[:10]] = a.StartLine
	}
	// In sepsisPolicy spec.data.current is line 9, spec.drift line 10, spec.retrain.onDrift line 15.
	if len(d.Annotations) != 3 || lines["7 of 10 co"] != 9 || lines["the datase"] != 10 || lines["drifted re"] != 15 {
		t.Errorf("annotations = %+v, want the current data (line 9), the drift spec (10) and onDrift (15)", d.Annotations)
	}

	// The retrain proposal is merged as c2: training is reported there, queued then done.
	h.now = h.now.Add(6 * time.Hour)
	cycle()
	h.repo.set("models/sepsis-risk.yaml", fmt.Sprintf(sepsisPolicy, 7), "c2")
	cycle()
	h.now = h.now.Add(time.Hour)
	h.runner.finishWith("sepsis-risk", 7, h.now, RunResult{Version: "13", URI: "models:/sepsis-risk/13", Metrics: TrainingMetrics{AUC: f64(0.7), Samples: 100}})
	cycle()
	var got []string
	for _, c := range rep.named("modelops/training: sepsis-risk") {
		got = append(got, fmt.Sprintf("%s %s %s", c.Commit, c.Status, c.Conclusion))
	}
	want := []string{"c2 in_progress ", "c2 completed success"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("training reports = %q, want %q", got, want)
	}
	// The candidate (AUC 0.70 on 100 samples) fails the gate: reported on the merge commit too.
	v := rep.named("modelops/promotion: sepsis-risk")
	if len(v) != 1 || v[0].Commit != "c2" || v[0].Conclusion != CheckFailure || !strings.Contains(v[0].Title, "did not pass") ||
		!strings.Contains(v[0].Summary, "| criterion |") {
		t.Errorf("promotion verdict reports = %+v, want one failure with the table on c2", v)
	}
}

// limitedProposals refuses to open proposals: a forge's pull-request limit holds.
type limitedProposals struct{ *fakeProposals }

func (limitedProposals) Ensure(context.Context, ProposalRequest) (Proposal, error) {
	return Proposal{}, fmt.Errorf("open pull request: %w: 10 open, prConcurrentLimit is 10", ErrLimited)
}

func TestALimitMakesAnActionWaitWithoutFailingTheModel(t *testing.T) {
	h := newHarness(6)
	r, err := New(Deps{Repo: h.repo, Proposals: limitedProposals{h.proposals}, Runner: h.runner, Drift: h.drift, Status: h.status},
		WithClock(func() time.Time { return h.now }), WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r.Cycle(ctx)
	h.now = h.now.Add(6 * time.Hour)
	res, err := r.Cycle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var propose *ActionResult
	for i, a := range res.Actions {
		if a.Action.Kind == ActionProposeRetrain {
			propose = &res.Actions[i]
		}
	}
	if propose == nil || !propose.Skipped || propose.Error != "" || !strings.Contains(propose.Detail, "prConcurrentLimit") {
		t.Fatalf("propose-retrain = %+v, want skipped with the limit in its detail", propose)
	}
	st, _ := h.status.Load(ctx)
	if c, _ := findCondition(st.Models["sepsis-risk"].Conditions, ConditionReady); c.Status != ConditionTrue {
		t.Fatalf("Ready = %+v, want True: a limit is not a failure", c)
	}
}

func TestInsufficientDataIsRecordedAsANeutralCheck(t *testing.T) {
	h := newHarness(6)
	h.drift = &fakeDrift{insufficient: true, markdown: "**Insufficient data.**"}
	rep := &fakeReporter{}
	r, err := New(Deps{Repo: h.repo, Proposals: h.proposals, Runner: h.runner, Drift: h.drift, Status: h.status, Reporter: rep},
		WithClock(func() time.Time { return h.now }), WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Cycle(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(h.drift.at) != 1 || !h.drift.at[0].Equal(h.now) {
		t.Errorf("checked at %v, want the cycle's clock %v", h.drift.at, h.now)
	}
	drift := rep.named("modelops/drift: sepsis-risk")
	if len(drift) != 1 {
		t.Fatalf("drift check reports = %+v, want one", rep.reports)
	}
	// The policy retrains on drift, where a drifted check is a failure: insufficient data is not.
	if d := drift[0]; d.Conclusion != CheckNeutral || !strings.HasPrefix(d.Title, "insufficient data") || len(d.Annotations) != 0 {
		t.Errorf("drift check = %+v, want a neutral \"insufficient data\" without annotations", d)
	}
	st, err := h.status.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	last, ok := st.Model("sepsis-risk").LastDrift()
	if !ok || !last.InsufficientData || last.Drifted {
		t.Errorf("recorded %+v, want insufficient data, not drifted", last)
	}
	if ms := st.Model("sepsis-risk"); ms.Conditions != nil {
		for _, c := range ms.Conditions {
			if c.Type == ConditionReady && c.Status != ConditionTrue {
				t.Errorf("Ready = %+v: insufficient data is no failure", c)
			}
		}
	}
}
