package reconciler

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/medimind/modelops/policies"
)

// batchDrifts is a drift history whose drifted reports name suspect batches of lab_id.
func batchDrifts(start time.Time, every time.Duration, pattern string, suspects ...string) []DriftRecord {
	out := drifts(start, every, pattern)
	for i := range out {
		if out[i].Drifted {
			out[i].SuspectBatches, out[i].BatchColumn = suspects, "lab_id"
		}
	}
	return out
}

func TestPlanHoldsRetrains(t *testing.T) {
	never := ""
	seen := t0.Add(-30 * 24 * time.Hour)
	now := t0.Add(time.Hour)
	history := func(quality int, suspects ...string) []DriftRecord {
		h := batchDrifts(t0.Add(-9*6*time.Hour), 6*time.Hour, "D-D-D-D-DD", suspects...)
		h[len(h)-1].QualityFindings = quality
		return h
	}
	quality := func(blocks bool) func(*policies.ModelPolicySpec) {
		return func(s *policies.ModelPolicySpec) {
			s.Retrain.Schedule = &never
			s.Drift.Quality = &policies.QualitySpec{BlocksRetrain: blocks}
		}
	}
	batch := func(hold bool) func(*policies.ModelPolicySpec) {
		return func(s *policies.ModelPolicySpec) {
			s.Retrain.Schedule = &never
			s.Drift.Batch = &policies.BatchSpec{Column: "lab_id", HoldRetrain: hold}
		}
	}
	tests := []struct {
		name   string
		policy *policies.Policy
		status ModelStatus
		want   []ActionKind
		check  func(t *testing.T, a Action)
	}{
		{
			name:   "quality findings in the latest report hold a drift retrain with blocksRetrain",
			policy: policy("sepsis", quality(true)),
			status: ModelStatus{FirstSeen: seen, LaunchedGeneration: 6, Drift: history(2)},
			want:   []ActionKind{ActionHoldRetrain},
			check: func(t *testing.T, a Action) {
				h := a.Hold
				if h.Cause != HoldQuality || h.Generation != 7 || h.Trigger != TriggerDrift || !strings.Contains(h.Reason, "has 2 data quality findings") ||
					!strings.Contains(a.Reason, "blocksRetrain") || len(h.Evidence) == 0 {
					t.Errorf("hold %+v, reason %q", h, a.Reason)
				}
			},
		},
		{
			name:   "quality findings without blocksRetrain hold nothing",
			policy: policy("sepsis", quality(false)),
			status: ModelStatus{FirstSeen: seen, LaunchedGeneration: 6, Drift: history(2)},
			want:   []ActionKind{ActionProposeRetrain},
		},
		{
			name:   "findings of an older report only hold nothing: the latest report is clean",
			policy: policy("sepsis", quality(true)),
			status: ModelStatus{FirstSeen: seen, LaunchedGeneration: 6, Drift: func() []DriftRecord {
				h := history(0)
				h[len(h)-2].QualityFindings = 4
				return h
			}()},
			want: []ActionKind{ActionProposeRetrain},
		},
		{
			name:   "a manual request is never held",
			policy: policy("sepsis", quality(true)),
			status: ModelStatus{FirstSeen: seen, LaunchedGeneration: 6, Drift: history(3), Manual: []ManualRequest{{At: t0, Reason: "new cohort"}}},
			want:   []ActionKind{ActionProposeRetrain},
		},
		{
			name:   "drift attributed to suspect batches is proposed with a warning at the top",
			policy: policy("sepsis", batch(false)),
			status: ModelStatus{FirstSeen: seen, LaunchedGeneration: 6, Drift: history(0, "C")},
			want:   []ActionKind{ActionProposeRetrain},
			check: func(t *testing.T, a Action) {
				n := a.Proposal.Note
				if !strings.Contains(n, "batch `C` of `lab_id`") || !strings.Contains(n, "would learn the batch effect") {
					t.Errorf("note %q", n)
				}
				plain := Plan(PlanInput{Now: now, Commit: "c1", Models: []ModelState{{Policy: policy("sepsis", batch(false)),
					Status: &ModelStatus{FirstSeen: seen, LaunchedGeneration: 6, Drift: history(0)}}}})
				if plain[0].Proposal.Digest == a.Proposal.Digest {
					t.Error("the attribution does not change the digest: an open proposal would not get the warning")
				}
				if body := retrainBody(a, policy("sepsis", batch(false)), ""); !strings.HasPrefix(body, "> **Warning:** the batch check attributes") {
					t.Errorf("the body does not open with the warning:\n%s", body)
				}
			},
		},
		{
			name:   "with holdRetrain drift attributed to suspect batches is held, not proposed",
			policy: policy("sepsis", batch(true)),
			status: ModelStatus{FirstSeen: seen, LaunchedGeneration: 6, Drift: history(0, "B", "C")},
			want:   []ActionKind{ActionHoldRetrain},
			check: func(t *testing.T, a Action) {
				if a.Hold.Cause != HoldBatch || !strings.Contains(a.Hold.Reason, "batches `B`, `C` of `lab_id`") || a.Hold.Report != "reports/x.json" {
					t.Errorf("hold %+v", a.Hold)
				}
			},
		},
		{
			name:   "with holdRetrain drift without suspects is proposed",
			policy: policy("sepsis", batch(true)),
			status: ModelStatus{FirstSeen: seen, LaunchedGeneration: 6, Drift: history(0)},
			want:   []ActionKind{ActionProposeRetrain},
		},
		{
			name: "a performance trigger is not held by suspect batches",
			policy: policy("sepsis", func(s *policies.ModelPolicySpec) {
				batch(true)(s)
				s.Retrain.OnDrift = &policies.DriftTrigger{Disabled: true}
			}),
			status: ModelStatus{FirstSeen: seen, LaunchedGeneration: 6, Drift: history(0, "C"),
				Baseline:    &PerformanceRecord{At: t0.Add(-48 * time.Hour), Version: "12", Metric: "auc", Value: 0.9},
				Performance: &PerformanceRecord{At: t0, Version: "12", Metric: "auc", Value: 0.8}},
			want: []ActionKind{ActionProposeRetrain},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.status
			as := Plan(PlanInput{Now: now, Commit: "c1", Models: []ModelState{{Policy: tc.policy, Status: &st}}})
			if fmt.Sprint(kinds(as)) != fmt.Sprint(tc.want) {
				t.Fatalf("actions %v, want %v: %v", kinds(as), tc.want, as)
			}
			if tc.check != nil {
				tc.check(t, as[0])
			}
			if as[0].Kind != ActionHoldRetrain {
				return
			}
			// Recorded, the same hold plans nothing again; new evidence records again.
			recordHold(&st, as[0], now)
			if again := Plan(PlanInput{Now: now, Commit: "c1", Models: []ModelState{{Policy: tc.policy, Status: &st}}}); len(again) != 0 {
				t.Fatalf("a recorded hold planned again: %v", again)
			}
			st.Drift = append(st.Drift, DriftRecord{At: now, Drifted: true, QualityFindings: 1, SuspectBatches: []string{"C"}, BatchColumn: "lab_id", Report: "reports/y.json"})
			st.Drift[len(st.Drift)-2].QualityFindings = 0
			if again := Plan(PlanInput{Now: now.Add(time.Minute), Commit: "c1", Models: []ModelState{{Policy: tc.policy, Status: &st}}}); fmt.Sprint(kinds(again)) != "[hold-retrain]" {
				t.Fatalf("new evidence planned %v, want the hold recorded again", kinds(again))
			}
		})
	}
}

// A whole cycle with spec.drift.batch.holdRetrain: the drift the batch check attributes
// to lab C opens no proposal; the hold is on the status branch with its evidence, once.
// Without holdRetrain the proposal opens with the warning at the top.
func TestCycleHoldsARetrainOnSuspectBatches(t *testing.T) {
	for _, hold := range []bool{true, false} {
		t.Run(fmt.Sprintf("holdRetrain %v", hold), func(t *testing.T) {
			h := newHarness(6)
			withBatch := strings.Replace(fmt.Sprintf(sepsisPolicy, 6), "    interval: 6h\n",
				fmt.Sprintf("    interval: 6h\n    batch: {column: lab_id, holdRetrain: %v}\n", hold), 1)
			h.repo.set("models/sepsis-risk.yaml", withBatch, "c2")
			h.drift.suspects = []string{"C"}
			h.cycle(t)
			h.now = h.now.Add(6 * time.Hour)
			res := h.cycle(t)
			st, err := h.status.Load(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			ms := st.Models["sepsis-risk"]
			if !hold {
				body := h.proposals.bodies["sepsis-risk/retrain"]
				if h.proposals.opened != 1 || !strings.HasPrefix(body, "> **Warning:** the batch check attributes the drift") || !strings.Contains(body, "batch `C` of `lab_id`") {
					t.Fatalf("opened %d; body:\n%s", h.proposals.opened, body)
				}
				if ms.RetrainHold != nil {
					t.Errorf("a hold was recorded without holdRetrain: %+v", ms.RetrainHold)
				}
				return
			}
			if got := strings.Join(actionKinds(res), ","); got != "check-drift,hold-retrain" {
				t.Fatalf("actions %v, want check-drift,hold-retrain", got)
			}
			if h.proposals.opened != 0 {
				t.Fatalf("opened %d proposals while held", h.proposals.opened)
			}
			hr := ms.RetrainHold
			if hr == nil || hr.Cause != HoldBatch || hr.Generation != 7 || !hr.At.Equal(h.now) || len(hr.Evidence) < 2 ||
				!strings.HasPrefix(hr.Report, "reports/sepsis-risk/drift-") {
				t.Fatalf("recorded hold %+v", hr)
			}
			if res := h.cycle(t); len(res.Actions) != 0 {
				t.Fatalf("repeated cycle acted: %v", actionKinds(res))
			}
			// The batches clear: the next report's drift has no suspect, and the retrain
			// is proposed.
			h.drift.suspects = nil
			h.now = h.now.Add(6 * time.Hour)
			res = h.cycle(t)
			if got := strings.Join(actionKinds(res), ","); got != "check-drift,propose-retrain" || h.proposals.opened != 1 {
				t.Fatalf("after the batches cleared: actions %v, opened %d", got, h.proposals.opened)
			}
		})
	}
}

// The drift check's title names the quality findings and the suspect batches.
func TestDriftCheckTitleNamesQualityAndSuspects(t *testing.T) {
	h := newHarness(6)
	h.drift.quality, h.drift.suspects = 3, []string{"B", "C"}
	rep := &fakeReporter{}
	r, err := New(Deps{Repo: h.repo, Proposals: h.proposals, Runner: h.runner, Drift: h.drift, Status: h.status, Reporter: rep},
		WithClock(func() time.Time { return h.now }), WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Cycle(context.Background()); err != nil {
		t.Fatal(err)
	}
	d := rep.named(DriftCheckName("sepsis-risk"))
	if len(d) != 1 || !strings.HasSuffix(d[0].Title, "columns drifted (share 0.70); 3 data quality findings; suspect batches B, C of lab_id") {
		t.Fatalf("drift checks %+v", d)
	}
}

// TestABatchLabelFromTheDataRendersLiterally: a suspect batch's label is data; in the
// proposal's warning it is a code span, so it neither mentions anyone nor breaks out of it.
func TestABatchLabelFromTheDataRendersLiterally(t *testing.T) {
	if got := codeSpan("@clinical-ml `x`\n<b>"); got != "`@clinical-ml 'x' <b>`" {
		t.Errorf("codeSpan = %q", got)
	}
}
