package reconciler

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/medimind/modelops/policies"
)

var t0 = time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC) // a Monday

// policy builds a defaulted policy for plan tests; mutate adjusts its spec first.
func policy(name string, mutate func(*policies.ModelPolicySpec)) *policies.Policy {
	mp := policies.ModelPolicy{
		APIVersion: policies.APIVersion,
		Kind:       policies.KindModelPolicy,
		Metadata:   policies.ObjectMeta{Name: name},
		Spec: policies.ModelPolicySpec{
			Production: &policies.ModelVersion{Version: "12", URI: "models:/" + name + "/12"},
			Data: &policies.DataSpec{
				Reference: policies.DataSource{Path: "data/ref.csv"},
				Current:   policies.DataSource{Path: "data/cur.csv"},
			},
			Retrain: &policies.RetrainSpec{
				Generation: 6,
				Job:        &policies.JobSpec{Command: []string{"python", "train.py"}},
			},
		},
	}
	if mutate != nil {
		mutate(&mp.Spec)
	}
	mp.Default()
	return &policies.Policy{ModelPolicy: mp, File: "models/" + name + ".yaml"}
}

func drifts(start time.Time, every time.Duration, pattern string) []DriftRecord {
	var out []DriftRecord
	for i, c := range pattern {
		out = append(out, DriftRecord{At: start.Add(time.Duration(i) * every), Drifted: c == 'D', InsufficientData: c == 'I', Share: 0.6, DriftedColumns: 6, Columns: 10, Report: "reports/x.json"})
	}
	return out
}

func kinds(as []Action) []string {
	var out []string
	for _, a := range as {
		out = append(out, string(a.Kind))
	}
	return out
}

func TestPlan(t *testing.T) {
	never := ""
	seen := t0.Add(-30 * 24 * time.Hour)
	tests := []struct {
		name   string
		now    time.Time
		policy *policies.Policy
		status ModelStatus
		props  []Proposal
		want   []ActionKind
		check  func(t *testing.T, as []Action)
	}{
		{
			name:   "a model never checked gets a drift check and nothing else",
			now:    t0,
			policy: policy("sepsis", func(s *policies.ModelPolicySpec) { s.Retrain.Schedule = &never }),
			status: ModelStatus{FirstSeen: t0, LaunchedGeneration: 6},
			want:   []ActionKind{ActionCheckDrift},
		},
		{
			name:   "a drift check waits for the interval",
			now:    t0.Add(5 * time.Hour),
			policy: policy("sepsis", func(s *policies.ModelPolicySpec) { s.Retrain.Schedule = &never }),
			status: ModelStatus{FirstSeen: seen, LaunchedGeneration: 6, Drift: drifts(t0, time.Hour, "-")},
			want:   nil,
		},
		{
			name:   "a drift check runs once the interval has elapsed",
			now:    t0.Add(6 * time.Hour),
			policy: policy("sepsis", func(s *policies.ModelPolicySpec) { s.Retrain.Schedule = &never }),
			status: ModelStatus{FirstSeen: seen, LaunchedGeneration: 6, Drift: drifts(t0, time.Hour, "-")},
			want:   []ActionKind{ActionCheckDrift},
			check: func(t *testing.T, as []Action) {
				if !strings.Contains(as[0].Key, "2026-11-02T14:00:00Z") {
					t.Errorf("drift key %q does not name the due time", as[0].Key)
				}
			},
		},
		{
			name:   "a model without data is never drift-checked",
			now:    t0,
			policy: policy("sepsis", func(s *policies.ModelPolicySpec) { s.Data = nil; s.Retrain.Schedule = &never }),
			status: ModelStatus{FirstSeen: seen, LaunchedGeneration: 6},
			want:   nil,
		},
		{
			name:   "a suspended model gets no action at all",
			now:    t0,
			policy: policy("sepsis", func(s *policies.ModelPolicySpec) { s.Suspend = true; s.Retrain.Generation = 9 }),
			status: ModelStatus{FirstSeen: seen, LaunchedGeneration: 6, Manual: []ManualRequest{{At: t0, Reason: "x"}}},
			want:   nil,
		},
		{
			name:   "half of the last ten reports drifted proposes a retrain",
			now:    t0.Add(time.Hour),
			policy: policy("sepsis", func(s *policies.ModelPolicySpec) { s.Retrain.Schedule = &never }),
			status: ModelStatus{FirstSeen: seen, LaunchedGeneration: 6, Drift: drifts(t0.Add(-9*6*time.Hour), 6*time.Hour, "D-D-D-D-D-")},
			want:   []ActionKind{ActionProposeRetrain},
			check: func(t *testing.T, as []Action) {
				a := as[0]
				if a.Generation != 7 || a.Proposal.Trigger != TriggerDrift || a.Proposal.Key != "generation-7" {
					t.Errorf("got generation %d trigger %s key %s, want 7 drift generation-7", a.Generation, a.Proposal.Trigger, a.Proposal.Key)
				}
				if !strings.Contains(a.Proposal.Evidence[0].Text, "5 of the last 10") {
					t.Errorf("evidence %q does not count the drifted reports", a.Proposal.Evidence[0].Text)
				}
			},
		},
		{
			name:   "insufficient data takes no place among the last ten: the five drifted before it still propose a retrain",
			now:    t0.Add(time.Hour),
			policy: policy("sepsis", func(s *policies.ModelPolicySpec) { s.Retrain.Schedule = &never }),
			status: ModelStatus{FirstSeen: seen, LaunchedGeneration: 6, Drift: drifts(t0.Add(-14*6*time.Hour), 6*time.Hour, "DDDDD-----IIIII")},
			want:   []ActionKind{ActionProposeRetrain},
			check: func(t *testing.T, as []Action) {
				if ev := as[0].Proposal.Evidence[0].Text; !strings.Contains(ev, "5 of the last 10") {
					t.Errorf("evidence %q does not count five drifted of the last ten with data", ev)
				}
			},
		},
		{
			name:   "insufficient data is not drift: four drifted and five insufficient propose nothing",
			now:    t0.Add(time.Hour),
			policy: policy("sepsis", func(s *policies.ModelPolicySpec) { s.Retrain.Schedule = &never }),
			status: ModelStatus{FirstSeen: seen, LaunchedGeneration: 6, Drift: drifts(t0.Add(-9*6*time.Hour), 6*time.Hour, "DDDDIIIII-")},
			want:   nil,
		},
		{
			name:   "four drifted of ten is below the share and proposes nothing",
			now:    t0.Add(time.Hour),
			policy: policy("sepsis", func(s *policies.ModelPolicySpec) { s.Retrain.Schedule = &never }),
			status: ModelStatus{FirstSeen: seen, LaunchedGeneration: 6, Drift: drifts(t0.Add(-9*6*time.Hour), 6*time.Hour, "D-D-D-D---")},
			want:   nil,
		},
		{
			name:   "three drifted reports do not fill a window of ten",
			now:    t0.Add(time.Hour),
			policy: policy("sepsis", func(s *policies.ModelPolicySpec) { s.Retrain.Schedule = &never }),
			status: ModelStatus{FirstSeen: seen, LaunchedGeneration: 6, Drift: drifts(t0.Add(-2*6*time.Hour), 6*time.Hour, "DDD")},
			want:   nil,
		},
		{
			name:   "reports older than the last launch do not count",
			now:    t0.Add(time.Hour),
			policy: policy("sepsis", func(s *policies.ModelPolicySpec) { s.Retrain.Schedule = &never }),
			status: ModelStatus{FirstSeen: seen, LaunchedGeneration: 6, LastLaunch: t0.Add(-time.Minute),
				Drift: drifts(t0.Add(-9*6*time.Hour), 6*time.Hour, "DDDDDDDDDD"),
				Runs:  []TrainingRun{{Generation: 6, Phase: RunSucceeded}}},
			want: nil,
		},
		{
			name:   "an identical open proposal is left alone",
			now:    t0.Add(time.Hour),
			policy: policy("sepsis", func(s *policies.ModelPolicySpec) { s.Retrain.Schedule = &never }),
			status: ModelStatus{FirstSeen: seen, LaunchedGeneration: 6, Drift: drifts(t0.Add(-9*6*time.Hour), 6*time.Hour, "D-D-D-D-D-")},
			props:  []Proposal{{Model: "sepsis", Kind: ProposalRetrain, State: ProposalOpen, Key: "generation-7", Digest: "SAME"}},
			want:   nil,
		},
		{
			name:   "a declined proposal for the same generation is not reopened by drift",
			now:    t0.Add(time.Hour),
			policy: policy("sepsis", func(s *policies.ModelPolicySpec) { s.Retrain.Schedule = &never }),
			status: ModelStatus{FirstSeen: seen, LaunchedGeneration: 6, Drift: drifts(t0.Add(-9*6*time.Hour), 6*time.Hour, "D-D-D-D-D-")},
			props:  []Proposal{{Model: "sepsis", Kind: ProposalRetrain, State: ProposalDeclined, Key: "generation-7"}},
			want:   nil,
		},
		{
			name:   "a manual request reopens a declined generation",
			now:    t0.Add(time.Hour),
			policy: policy("sepsis", func(s *policies.ModelPolicySpec) { s.Retrain.Schedule = &never }),
			status: ModelStatus{FirstSeen: seen, LaunchedGeneration: 6, Drift: drifts(t0, time.Minute, "-"), Manual: []ManualRequest{{At: t0, Reason: "new cohort", By: "ana"}}},
			props:  []Proposal{{Model: "sepsis", Kind: ProposalRetrain, State: ProposalDeclined, Key: "generation-7"}},
			want:   []ActionKind{ActionProposeRetrain},
			check: func(t *testing.T, as []Action) {
				if as[0].Proposal.Trigger != TriggerManual || !strings.Contains(as[0].Proposal.Evidence[0].Text, "new cohort (by ana)") {
					t.Errorf("got %+v", as[0].Proposal)
				}
			},
		},
		{
			name:   "changed evidence updates the open proposal",
			now:    t0.Add(time.Hour),
			policy: policy("sepsis", func(s *policies.ModelPolicySpec) { s.Retrain.Schedule = &never }),
			status: ModelStatus{FirstSeen: seen, LaunchedGeneration: 6, Drift: drifts(t0, time.Minute, "-"), Manual: []ManualRequest{{At: t0, Reason: "new cohort"}}},
			props:  []Proposal{{Model: "sepsis", Kind: ProposalRetrain, State: ProposalOpen, Key: "generation-7", Digest: "old"}},
			want:   []ActionKind{ActionProposeRetrain},
		},
		{
			name:   "a proposal whose trigger no longer holds is closed",
			now:    t0.Add(time.Hour),
			policy: policy("sepsis", func(s *policies.ModelPolicySpec) { s.Retrain.Schedule = &never }),
			status: ModelStatus{FirstSeen: seen, LaunchedGeneration: 6, Drift: drifts(t0.Add(-9*6*time.Hour), 6*time.Hour, "----------")},
			props:  []Proposal{{Model: "sepsis", Kind: ProposalRetrain, State: ProposalOpen, Key: "generation-7", Digest: "old"}},
			want:   []ActionKind{ActionCloseProposal},
		},
		{
			name:   "a proposal is not closed while the drift check that judges it is due",
			now:    t0.Add(7 * time.Hour),
			policy: policy("sepsis", func(s *policies.ModelPolicySpec) { s.Retrain.Schedule = &never }),
			status: ModelStatus{FirstSeen: seen, LaunchedGeneration: 6, Drift: drifts(t0, time.Minute, "-")},
			props:  []Proposal{{Model: "sepsis", Kind: ProposalRetrain, State: ProposalOpen, Key: "generation-7", Digest: "old"}},
			want:   []ActionKind{ActionCheckDrift},
		},
		{
			name:   "a merged retrain launches training of the new generation",
			now:    t0.Add(time.Hour),
			policy: policy("sepsis", func(s *policies.ModelPolicySpec) { s.Retrain.Generation = 7; s.Retrain.Schedule = &never }),
			status: ModelStatus{FirstSeen: seen, LaunchedGeneration: 6, Drift: drifts(t0, time.Minute, "D")},
			want:   []ActionKind{ActionLaunchTraining},
			check: func(t *testing.T, as []Action) {
				if as[0].Generation != 7 || as[0].Key != "launch-training/sepsis/gen-7" || as[0].Commit != "c0ffee" {
					t.Errorf("got %+v", as[0])
				}
			},
		},
		{
			name:   "a stale proposal after the generation moved is closed while training launches",
			now:    t0.Add(time.Hour),
			policy: policy("sepsis", func(s *policies.ModelPolicySpec) { s.Retrain.Generation = 7; s.Retrain.Schedule = &never }),
			status: ModelStatus{FirstSeen: seen, LaunchedGeneration: 6, Drift: drifts(t0, time.Minute, "D")},
			props:  []Proposal{{Model: "sepsis", Kind: ProposalRetrain, State: ProposalOpen, Key: "generation-7"}},
			want:   []ActionKind{ActionLaunchTraining, ActionCloseProposal},
		},
		{
			name:   "a newer generation cancels the run it supersedes",
			now:    t0.Add(time.Hour),
			policy: policy("sepsis", func(s *policies.ModelPolicySpec) { s.Retrain.Generation = 8; s.Retrain.Schedule = &never }),
			status: ModelStatus{FirstSeen: seen, LaunchedGeneration: 7, LastLaunch: t0, Drift: drifts(t0, time.Minute, "-"),
				Runs: []TrainingRun{{Generation: 7, Phase: RunRunning}}},
			want: []ActionKind{ActionLaunchTraining, ActionCancelTraining},
		},
		{
			name:   "no retrain is proposed while training runs",
			now:    t0.Add(time.Hour),
			policy: policy("sepsis", nil),
			status: ModelStatus{FirstSeen: seen, LaunchedGeneration: 6, LastLaunch: t0.Add(-time.Hour), Drift: drifts(t0, time.Minute, "-"),
				Manual: []ManualRequest{{At: t0, Reason: "again"}},
				Runs:   []TrainingRun{{Generation: 6, Phase: RunRunning}}},
			want: nil,
		},
		{
			name:   "the weekly schedule proposes a retrain once it is due",
			now:    time.Date(2026, 11, 9, 2, 0, 0, 0, time.UTC),
			policy: policy("sepsis", nil),
			status: ModelStatus{FirstSeen: t0, LaunchedGeneration: 6, Drift: drifts(time.Date(2026, 11, 9, 1, 0, 0, 0, time.UTC), time.Minute, "-")},
			want:   []ActionKind{ActionProposeRetrain},
			check: func(t *testing.T, as []Action) {
				if as[0].Proposal.Trigger != TriggerSchedule {
					t.Errorf("trigger %s, want schedule", as[0].Proposal.Trigger)
				}
			},
		},
		{
			name:   "a schedule committed after the model was first seen is not due at once",
			now:    t0.Add(time.Hour),
			policy: policy("sepsis", nil),
			status: ModelStatus{FirstSeen: seen, LaunchedGeneration: 6, ScheduleSince: t0, ScheduleOf: policies.DefaultRetrainSchedule, Drift: drifts(t0, time.Minute, "-")},
			want:   nil,
		},
		{
			name:   "a schedule counts from the commit that introduced it, not from the last launch before",
			now:    time.Date(2026, 11, 9, 2, 0, 0, 0, time.UTC),
			policy: policy("sepsis", nil),
			status: ModelStatus{FirstSeen: seen, LaunchedGeneration: 6, LastLaunch: seen, ScheduleSince: t0, ScheduleOf: policies.DefaultRetrainSchedule,
				Drift: drifts(time.Date(2026, 11, 9, 1, 0, 0, 0, time.UTC), time.Minute, "-")},
			want: []ActionKind{ActionProposeRetrain},
			check: func(t *testing.T, as []Action) {
				if as[0].Proposal.Trigger != TriggerSchedule || !strings.Contains(as[0].Proposal.Evidence[0].Text, "2026-11-09T02:00:00Z") {
					t.Errorf("trigger %s %q, want the schedule due at 2026-11-09T02:00:00Z", as[0].Proposal.Trigger, as[0].Proposal.Evidence)
				}
			},
		},
		{
			name:   "the schedule is not due a minute early",
			now:    time.Date(2026, 11, 9, 1, 59, 0, 0, time.UTC),
			policy: policy("sepsis", nil),
			status: ModelStatus{FirstSeen: t0, LaunchedGeneration: 6, Drift: drifts(time.Date(2026, 11, 9, 1, 0, 0, 0, time.UTC), time.Minute, "-")},
			want:   nil,
		},
		{
			name:   "a performance drop of the production version proposes a retrain",
			now:    t0.Add(time.Hour),
			policy: policy("sepsis", func(s *policies.ModelPolicySpec) { s.Retrain.Schedule = &never }),
			status: ModelStatus{FirstSeen: seen, LaunchedGeneration: 6, Drift: drifts(t0, time.Minute, "-"),
				Baseline:    &PerformanceRecord{At: seen, Version: "12", Metric: "auc", Value: 0.91, Samples: 20000},
				Performance: &PerformanceRecord{At: t0, Version: "12", Metric: "auc", Value: 0.86, Samples: 20000}},
			want: []ActionKind{ActionProposeRetrain},
			check: func(t *testing.T, as []Action) {
				if as[0].Proposal.Trigger != TriggerPerformance {
					t.Errorf("trigger %s, want performance", as[0].Proposal.Trigger)
				}
			},
		},
		{
			name:   "a drop below the configured one proposes nothing",
			now:    t0.Add(time.Hour),
			policy: policy("sepsis", func(s *policies.ModelPolicySpec) { s.Retrain.Schedule = &never }),
			status: ModelStatus{FirstSeen: seen, LaunchedGeneration: 6, Drift: drifts(t0, time.Minute, "-"),
				Baseline:    &PerformanceRecord{At: seen, Version: "12", Metric: "auc", Value: 0.91},
				Performance: &PerformanceRecord{At: t0, Version: "12", Metric: "auc", Value: 0.87}},
			want: nil,
		},
		{
			name:   "without a retrain block an open retrain proposal is closed",
			now:    t0.Add(time.Hour),
			policy: policy("sepsis", func(s *policies.ModelPolicySpec) { s.Retrain = nil }),
			status: ModelStatus{FirstSeen: seen, Drift: drifts(t0, time.Minute, "-")},
			props:  []Proposal{{Model: "sepsis", Kind: ProposalRetrain, State: ProposalOpen, Key: "generation-7"}},
			want:   []ActionKind{ActionCloseProposal},
		},
	}
	tests = append(tests, promotionCases()...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := tt.status
			props := tt.props
			// "SAME" stands for the digest the plan itself would compute.
			for i := range props {
				if props[i].Digest == "SAME" {
					trig, ev, _ := retrainTrigger(tt.now, tt.policy, &st)
					props[i].Digest = retrainDigest(trig, ev)
				}
			}
			got := Plan(PlanInput{Now: tt.now, Commit: "c0ffee", Models: []ModelState{{Policy: tt.policy, Status: &st, Proposals: props}}})
			var gotKinds []ActionKind
			for _, a := range got {
				gotKinds = append(gotKinds, a.Kind)
				if a.Key == "" || a.Model != "sepsis" || a.Reason == "" {
					t.Errorf("action %+v lacks a key, model or reason", a)
				}
			}
			if !reflect.DeepEqual(gotKinds, tt.want) {
				t.Fatalf("Plan() = %v, want %v", kinds(got), tt.want)
			}
			if tt.check != nil {
				tt.check(t, got)
			}
			if again := Plan(PlanInput{Now: tt.now, Commit: "c0ffee", Models: []ModelState{{Policy: tt.policy, Status: &st, Proposals: props}}}); !reflect.DeepEqual(again, got) {
				t.Errorf("Plan is not deterministic: %v then %v", kinds(got), kinds(again))
			}
		})
	}
}

// planCase is one case of TestPlan.
type planCase = struct {
	name   string
	now    time.Time
	policy *policies.Policy
	status ModelStatus
	props  []Proposal
	want   []ActionKind
	check  func(t *testing.T, as []Action)
}

// trained is the status of a model whose generation gen finished training with candidate
// version (uri models:/sepsis/<version>) and metrics, production 12 reading AUC 0.85.
func trained(gen int64, version string, m TrainingMetrics) ModelStatus {
	runs := []TrainingRun{{Generation: 6, ID: "sepsis/6", Phase: RunSucceeded}}
	if gen > 7 {
		runs = append(runs, TrainingRun{Generation: 7, ID: "sepsis/7", Phase: RunSucceeded,
			Result: &RunResult{Version: "13", URI: "models:/sepsis/13", Metrics: goodCandidate()}})
	}
	runs = append(runs, TrainingRun{Generation: gen, ID: fmt.Sprintf("sepsis/%d", gen), Commit: "merge7", Phase: RunSucceeded,
		Started: t0.Add(-2 * time.Hour), Finished: t0.Add(-time.Minute),
		Result: &RunResult{Version: version, URI: "models:/sepsis/" + version, Metrics: m}})
	return ModelStatus{
		FirstSeen: t0.Add(-30 * 24 * time.Hour), LaunchedGeneration: gen, LastLaunch: t0.Add(-2 * time.Hour),
		Drift:       drifts(t0, time.Minute, "-"),
		Runs:        runs,
		Performance: &PerformanceRecord{At: t0.Add(-time.Hour), Version: "12", Metric: "auc", Value: 0.85, Samples: 20000},
	}
}

func trainedPolicy(gen int64) *policies.Policy {
	never := ""
	return policy("sepsis", func(s *policies.ModelPolicySpec) { s.Retrain.Generation = gen; s.Retrain.Schedule = &never })
}

func wantVerdict(passed bool, failed ...string) func(t *testing.T, as []Action) {
	return func(t *testing.T, as []Action) {
		t.Helper()
		a := as[len(as)-1]
		if a.Promotion == nil {
			t.Fatalf("action %+v carries no verdict", a)
		}
		v := a.Promotion.Verdict
		if v.Passed != passed || !reflect.DeepEqual(v.Failed(), failed) || !v.JudgedAt.Equal(t0.Add(time.Hour)) {
			t.Fatalf("verdict passed %v failed %v judged %s, want %v %v at %s", v.Passed, v.Failed(), v.JudgedAt, passed, failed, t0.Add(time.Hour))
		}
	}
}

func promotionCases() []planCase {
	now := t0.Add(time.Hour)
	cases := []planCase{
		{
			name:   "a succeeded candidate that passes the gate is proposed as canary at the first step",
			now:    now,
			policy: trainedPolicy(7),
			status: trained(7, "13", goodCandidate()),
			want:   []ActionKind{ActionProposePromotion},
			check: func(t *testing.T, as []Action) {
				wantVerdict(true)(t, as)
				a := as[0]
				if a.Key != "propose-promotion/sepsis/gen-7/version-13" || a.Generation != 7 {
					t.Errorf("key %q generation %d", a.Key, a.Generation)
				}
				if pp := a.Proposal; pp.Kind != ProposalPromote || pp.Key != "version-13" || pp.Digest == "" ||
					pp.Change != "spec.canary absent → 13 at weight 10" {
					t.Errorf("proposal = %+v", pp)
				}
				c := a.Promotion.Canary
				if c.Version != "13" || c.URI != "models:/sepsis/13" || c.Weight == nil || *c.Weight != 10 || a.Promotion.RunID != "sepsis/7" {
					t.Errorf("canary = %+v run %q", c, a.Promotion.RunID)
				}
			},
		},
		{
			name: "the canary weight is the policy's first canary step",
			now:  now,
			policy: policy("sepsis", func(s *policies.ModelPolicySpec) {
				s.Retrain.Generation = 7
				s.CanaryAnalysis.Steps = []int{5, 100}
				s.Retrain.Schedule = new(string)
			}),
			status: trained(7, "13", goodCandidate()),
			want:   []ActionKind{ActionProposePromotion},
			check: func(t *testing.T, as []Action) {
				if w := as[0].Promotion.Canary.Weight; *w != 5 {
					t.Errorf("weight %d, want 5", *w)
				}
			},
		},
		{
			name:   "with production's AUC unknown the candidate is not passed and the verdict is recorded",
			now:    now,
			policy: trainedPolicy(7),
			status: func() ModelStatus { st := trained(7, "13", goodCandidate()); st.Performance = nil; return st }(),
			want:   []ActionKind{ActionRecordVerdict},
			check: func(t *testing.T, as []Action) {
				wantVerdict(false, CriterionAUCImprovement)(t, as)
				if !as[0].Promotion.Verdict.Criteria[0].NotJudged {
					t.Errorf("the improvement is not marked not judged: %+v", as[0].Promotion.Verdict.Criteria[0])
				}
			},
		},
		{
			name:   "a reading of another version is not production's AUC",
			now:    now,
			policy: trainedPolicy(7),
			status: func() ModelStatus { st := trained(7, "13", goodCandidate()); st.Performance.Version = "11"; return st }(),
			want:   []ActionKind{ActionRecordVerdict},
			check:  wantVerdict(false, CriterionAUCImprovement),
		},
		{
			name:   "a judged run is not judged again",
			now:    now,
			policy: trainedPolicy(7),
			status: func() ModelStatus {
				st := trained(7, "13", goodCandidate())
				st.Runs[len(st.Runs)-1].Promotion = &PromotionVerdict{Version: "13", Passed: true, JudgedAt: t0}
				return st
			}(),
			want: nil,
		},
		{
			name:   "a run still training is not judged",
			now:    now,
			policy: trainedPolicy(7),
			status: func() ModelStatus {
				st := trained(7, "13", goodCandidate())
				st.Runs[len(st.Runs)-1].Phase = RunRunning
				return st
			}(),
			want: nil,
		},
		{
			name:   "a newer passing candidate closes the open proposal of the older one and proposes itself",
			now:    now,
			policy: trainedPolicy(8),
			status: trained(8, "14", goodCandidate()),
			props:  []Proposal{{Model: "sepsis", Kind: ProposalPromote, State: ProposalOpen, Key: "version-13"}},
			want:   []ActionKind{ActionCloseProposal, ActionProposePromotion},
			check: func(t *testing.T, as []Action) {
				if as[0].ProposalKind != ProposalPromote || !strings.Contains(as[0].Reason, `superseded by the candidate "14"`) {
					t.Errorf("close = %+v", as[0])
				}
				if as[1].Proposal.Key != "version-14" {
					t.Errorf("proposed %s, want version-14", as[1].Proposal.Key)
				}
			},
		},
		{
			name:   "a newer failing candidate is recorded and leaves the open proposal of a passing one alone",
			now:    now,
			policy: trainedPolicy(8),
			status: func() ModelStatus { m := goodCandidate(); m.Samples = 500; return trained(8, "14", m) }(),
			props:  []Proposal{{Model: "sepsis", Kind: ProposalPromote, State: ProposalOpen, Key: "version-13"}},
			want:   []ActionKind{ActionRecordVerdict},
			check:  wantVerdict(false, CriterionSamples),
		},
		{
			name:   "a failed candidate already judged never closes the proposal of a registered candidate that passed",
			now:    now,
			policy: trainedPolicy(8),
			status: func() ModelStatus {
				m := goodCandidate()
				m.Samples = 500
				st := trained(8, "14", m)
				st.Runs[len(st.Runs)-1].Promotion = &PromotionVerdict{Version: "14", Passed: false, JudgedAt: t0.Add(-time.Minute),
					Criteria: []Criterion{{Name: CriterionSamples, Op: OpAtLeast, Wanted: 10000}}}
				st.Candidates = []Candidate{{Result: RunResult{Version: "r1", Metrics: goodCandidate()}, Registered: t0, Verdict: PromotionVerdict{Version: "r1", Passed: true}}}
				return st
			}(),
			props: []Proposal{{Model: "sepsis", Kind: ProposalPromote, State: ProposalOpen, Key: "version-r1"}},
			want:  nil,
		},
		{
			name:   "a passing candidate judged before a newer registered one does not supersede it",
			now:    now,
			policy: trainedPolicy(8),
			status: func() ModelStatus {
				st := trained(8, "14", goodCandidate())
				st.Runs[len(st.Runs)-1].Promotion = &PromotionVerdict{Version: "14", Passed: true, JudgedAt: t0.Add(-time.Minute)}
				st.Candidates = []Candidate{{Result: RunResult{Version: "r1", Metrics: goodCandidate()}, Registered: t0, Verdict: PromotionVerdict{Version: "r1", Passed: true}}}
				return st
			}(),
			props: []Proposal{{Model: "sepsis", Kind: ProposalPromote, State: ProposalOpen, Key: "version-r1"}},
			want:  nil,
		},
		{
			name:   "a passing candidate judged after a registered one supersedes its proposal",
			now:    now,
			policy: trainedPolicy(8),
			status: func() ModelStatus {
				st := trained(8, "14", goodCandidate())
				st.Runs[len(st.Runs)-1].Promotion = &PromotionVerdict{Version: "14", Passed: true, JudgedAt: t0}
				st.Candidates = []Candidate{{Result: RunResult{Version: "r1", Metrics: goodCandidate()}, Registered: t0.Add(-time.Minute), Verdict: PromotionVerdict{Version: "r1", Passed: true}}}
				return st
			}(),
			props: []Proposal{{Model: "sepsis", Kind: ProposalPromote, State: ProposalOpen, Key: "version-r1"}},
			want:  []ActionKind{ActionCloseProposal},
		},
		{
			name:   "the open proposal of the candidate being judged is kept (proposed before a crash)",
			now:    now,
			policy: trainedPolicy(7),
			status: trained(7, "13", goodCandidate()),
			props:  []Proposal{{Model: "sepsis", Kind: ProposalPromote, State: ProposalOpen, Key: "version-13"}},
			want:   []ActionKind{ActionProposePromotion},
		},
		{
			name:   "a declined proposal of the same version is not reopened",
			now:    now,
			policy: trainedPolicy(7),
			status: trained(7, "13", goodCandidate()),
			props:  []Proposal{{Model: "sepsis", Kind: ProposalPromote, State: ProposalDeclined, Key: "version-13"}},
			want:   []ActionKind{ActionRecordVerdict},
			check: func(t *testing.T, as []Action) {
				wantVerdict(true)(t, as)
				if !strings.Contains(as[0].Promotion.Verdict.Note, "declined") {
					t.Errorf("note %q does not say it was declined", as[0].Promotion.Verdict.Note)
				}
			},
		},
		{
			name: "a candidate that already is the canary is not proposed",
			now:  now,
			policy: policy("sepsis", func(s *policies.ModelPolicySpec) {
				s.Retrain.Generation = 7
				s.Retrain.Schedule = new(string)
				s.Canary = &policies.Canary{Version: "13"}
			}),
			status: trained(7, "13", goodCandidate()),
			want:   []ActionKind{ActionRecordVerdict},
			check:  wantVerdict(true),
		},
	}
	// Each criterion of the seed gate, failed alone, gives no proposal and a recorded verdict.
	failing := []struct {
		criterion string
		mutate    func(*TrainingMetrics)
	}{
		{CriterionAUCImprovement, func(m *TrainingMetrics) { m.AUC = f64(0.87) }},
		{CriterionPrecision, func(m *TrainingMetrics) { m.Precision = f64(0.74) }},
		{CriterionRecall, func(m *TrainingMetrics) { m.Recall = nil }},
		{CriterionSamples, func(m *TrainingMetrics) { m.Samples = 9999 }},
		{CriterionLatency, func(m *TrainingMetrics) { m.LatencyMs = f64(200) }},
		{CriterionCoverage, func(m *TrainingMetrics) { m.Coverage = f64(0.9) }},
	}
	for _, f := range failing {
		m := goodCandidate()
		f.mutate(&m)
		cases = append(cases, planCase{
			name:   "a candidate failing " + f.criterion + " is not proposed and its verdict is recorded",
			now:    now,
			policy: trainedPolicy(7),
			status: trained(7, "13", m),
			want:   []ActionKind{ActionRecordVerdict},
			check:  wantVerdict(false, f.criterion),
		})
	}
	// The AUC minimum, failed alone: production must be low enough for the improvement to hold.
	low := trained(7, "13", TrainingMetrics{AUC: f64(0.79), Precision: f64(0.8), Recall: f64(0.8), Samples: 20000, LatencyMs: f64(10), Coverage: f64(1)})
	low.Performance.Value = 0.70
	cases = append(cases, planCase{
		name: "a candidate failing auc is not proposed and its verdict is recorded", now: now, policy: trainedPolicy(7), status: low,
		want: []ActionKind{ActionRecordVerdict}, check: wantVerdict(false, CriterionAUC),
	})
	return cases
}

// TestPlanPromotionJudgesOnce applies the verdict the plan carries, as the reconciler does,
// and plans again: nothing more is planned, whichever way the gate went.
func TestPlanPromotionJudgesOnce(t *testing.T) {
	failing := goodCandidate()
	failing.Recall = f64(0.5)
	for name, m := range map[string]TrainingMetrics{"passed": goodCandidate(), "failed": failing} {
		t.Run(name, func(t *testing.T) {
			st := trained(7, "13", m)
			in := func(props []Proposal) PlanInput {
				return PlanInput{Now: t0.Add(time.Hour), Commit: "c0ffee", Models: []ModelState{{Policy: trainedPolicy(7), Status: &st, Proposals: props}}}
			}
			as := Plan(in(nil))
			if len(as) != 1 || as[0].Promotion == nil {
				t.Fatalf("first plan = %v, want one judging action", kinds(as))
			}
			if err := recordVerdict(&st, as[0]); err != nil {
				t.Fatal(err)
			}
			var props []Proposal
			if as[0].Kind == ActionProposePromotion {
				props = []Proposal{{Model: "sepsis", Kind: ProposalPromote, State: ProposalOpen, Key: as[0].Proposal.Key, Digest: as[0].Proposal.Digest}}
			}
			if again := Plan(in(props)); len(again) != 0 {
				t.Fatalf("plan after the verdict was recorded = %v, want nothing", kinds(again))
			}
			run, _ := st.Run(7)
			if run.Promotion == nil || run.Promotion.Passed != (name == "passed") {
				t.Fatalf("recorded verdict = %+v", run.Promotion)
			}
			// The judging time moves on, but the key and digest of the action do not.
			later := in(nil)
			later.Now = t0.Add(2 * time.Hour)
			st.Runs[len(st.Runs)-1].Promotion = nil
			if re := Plan(later); re[0].Key != as[0].Key || (re[0].Proposal != nil && re[0].Proposal.Digest != as[0].Proposal.Digest) {
				t.Fatalf("a retried judgement changed key or digest: %+v then %+v", as[0], re[0])
			}
		})
	}
}
