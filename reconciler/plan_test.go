package reconciler

import (
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
		out = append(out, DriftRecord{At: start.Add(time.Duration(i) * every), Drifted: c == 'D', Share: 0.6, DriftedColumns: 6, Columns: 10, Report: "reports/x.json"})
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
				if !strings.Contains(a.Proposal.Evidence[0], "5 of the last 10") {
					t.Errorf("evidence %q does not count the drifted reports", a.Proposal.Evidence[0])
				}
			},
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
				if as[0].Proposal.Trigger != TriggerManual || !strings.Contains(as[0].Proposal.Evidence[0], "new cohort (by ana)") {
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
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := tt.status
			props := tt.props
			// "SAME" stands for the digest the plan itself would compute.
			for i := range props {
				if props[i].Digest == "SAME" {
					trig, ev, _ := retrainTrigger(tt.now, tt.policy, &st)
					props[i].Digest = digestOf(string(trig), ev)
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
