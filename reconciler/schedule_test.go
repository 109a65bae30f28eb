package reconciler

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/medimind/modelops/policies"
)

// adaptivePolicy is a policy with spec.drift.adaptive.
func adaptivePolicy(interval, lo, hi time.Duration) *policies.Policy {
	return policy("sepsis", func(s *policies.ModelPolicySpec) {
		s.Drift.Interval.Duration = interval
		s.Drift.Adaptive = &policies.AdaptiveSchedule{Min: policies.Duration{Duration: lo}, Max: policies.Duration{Duration: hi}}
	})
}

// recordOf is a report of the given outcome at t: 6 of 10 columns drifted, none, or no
// column tested.
func recordOf(o DriftOutcome, t time.Time) DriftRecord {
	switch o {
	case DriftOutcomeDrifted:
		return DriftRecord{At: t, Drifted: true, Share: 0.6, DriftedColumns: 6, Columns: 10}
	case DriftOutcomeNoDrift:
		return DriftRecord{At: t, Share: 0.1, DriftedColumns: 1, Columns: 10}
	default:
		return DriftRecord{At: t}
	}
}

// TestAdaptiveScheduleEqualsTheReference runs every sequence of
// testdata/adaptive_reference.json (scripts/drift_reference.py, an independent
// implementation of §12) through the reconciler's own path: each report is recorded as a
// drift check records it, at the time ScheduleDrift said it was due, and the interval after
// it must equal the reference. The 250-report case outlives the 100 reports the status keeps.
func TestAdaptiveScheduleEqualsTheReference(t *testing.T) {
	b, err := os.ReadFile("testdata/adaptive_reference.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Cases []struct {
			Name               string
			Interval, Min, Max time.Duration
			Verdicts           []DriftOutcome
			Intervals          []time.Duration
		}
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Cases) < 9 {
		t.Fatalf("%d reference cases, want the 9 the script writes", len(ref.Cases))
	}
	for _, c := range ref.Cases {
		t.Run(c.Name, func(t *testing.T) {
			p := adaptivePolicy(c.Interval, c.Min, c.Max)
			if err := p.Validate(); err != nil {
				t.Fatal(err)
			}
			ms := &ModelStatus{FirstSeen: t0}
			for i, v := range c.Verdicts {
				before, ok := ScheduleDrift(p, ms)
				if !ok {
					t.Fatal("no schedule for a policy with data")
				}
				recordDrift(p, ms, recordOf(v, before.Due))
				after, _ := ScheduleDrift(p, ms)
				if after.Interval.Duration != c.Intervals[i] {
					t.Fatalf("after report %d (%s): interval %s, want %s", i+1, v, after.Interval.Duration, c.Intervals[i])
				}
				if want := before.Due.Add(c.Intervals[i]); !after.Due.Equal(want) {
					t.Fatalf("after report %d: due %s, want %s", i+1, after.Due, want)
				}
			}
			if n := min(len(c.Verdicts), maxDriftHistory); len(ms.Drift) != n {
				t.Errorf("%d reports kept, want %d", len(ms.Drift), n)
			}
		})
	}
}

// TestScheduleDrift checks the schedule and its reason as plan and status show them.
func TestScheduleDrift(t *testing.T) {
	h := time.Hour
	tests := []struct {
		name       string
		policy     *policies.Policy
		drift      []DriftRecord
		wantDue    time.Time
		wantReason string
	}{
		{
			name:       "without reports the check is due when the model was first seen",
			policy:     adaptivePolicy(6*h, h, 24*h),
			wantDue:    t0,
			wantReason: "no drift report yet",
		},
		{
			name:       "without adaptive every interval is drift.interval",
			policy:     policy("sepsis", nil),
			drift:      drifts(t0, h, "DD"),
			wantDue:    t0.Add(7 * h),
			wantReason: "last report 2026-11-02T09:00:00Z, interval 6h0m0s",
		},
		{
			name:       "a drifted report halves the interval",
			policy:     adaptivePolicy(6*h, h, 24*h),
			drift:      drifts(t0, h, "D"),
			wantDue:    t0.Add(3 * h),
			wantReason: "last report 2026-11-02T08:00:00Z (drifted), adaptive interval 3h0m0s halved from 6h0m0s (min 1h0m0s, max 24h0m0s)",
		},
		{
			name:       "halving below min holds at min",
			policy:     adaptivePolicy(6*h, 2*h, 24*h),
			drift:      drifts(t0, h, "DD"),
			wantDue:    t0.Add(h + 2*h),
			wantReason: "last report 2026-11-02T09:00:00Z (drifted), adaptive interval 2h0m0s held at min (halving 3h0m0s) (min 2h0m0s, max 24h0m0s)",
		},
		{
			name:       "doubling above max holds at max",
			policy:     adaptivePolicy(6*h, h, 20*h),
			drift:      drifts(t0, h, "--"),
			wantDue:    t0.Add(h + 20*h),
			wantReason: "last report 2026-11-02T09:00:00Z (no-drift), adaptive interval 20h0m0s held at max (doubling 12h0m0s) (min 1h0m0s, max 20h0m0s)",
		},
		{
			name:       "insufficient data keeps the interval",
			policy:     adaptivePolicy(6*h, h, 24*h),
			drift:      []DriftRecord{recordOf(DriftOutcomeDrifted, t0), recordOf(DriftOutcomeInsufficient, t0.Add(3*h))},
			wantDue:    t0.Add(6 * h),
			wantReason: "last report 2026-11-02T11:00:00Z (insufficient-data), adaptive interval 3h0m0s kept (min 1h0m0s, max 24h0m0s)",
		},
		{
			name:   "the oldest record's interval starts the sequence, clamped to the bounds",
			policy: adaptivePolicy(6*h, h, 8*h),
			drift: []DriftRecord{
				{At: t0, Columns: 10, Interval: policies.Duration{Duration: 24 * h}},
			},
			wantDue:    t0.Add(8 * h),
			wantReason: "last report 2026-11-02T08:00:00Z (no-drift), adaptive interval 8h0m0s held at max (doubling 8h0m0s) (min 1h0m0s, max 8h0m0s)",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := &ModelStatus{FirstSeen: t0, Drift: tc.drift}
			s, ok := ScheduleDrift(tc.policy, st)
			if !ok {
				t.Fatal("no schedule")
			}
			if !s.Due.Equal(tc.wantDue) || s.Reason != tc.wantReason {
				t.Errorf("due %s, reason %q\nwant %s, %q", s.Due, s.Reason, tc.wantDue, tc.wantReason)
			}
			// Plan acts on the same schedule: nothing a moment before it, a check at it.
			if as := Plan(PlanInput{Now: s.Due.Add(-time.Second), Models: []ModelState{{Policy: tc.policy, Status: st}}}); hasKind(as, ActionCheckDrift) && !s.Due.Equal(t0) {
				t.Errorf("a check was planned before it was due")
			}
			as := Plan(PlanInput{Now: s.Due, Models: []ModelState{{Policy: tc.policy, Status: st}}})
			if !hasKind(as, ActionCheckDrift) {
				t.Fatalf("no check planned when due: %v", kinds(as))
			}
			for _, a := range as {
				if a.Kind == ActionCheckDrift && (a.Reason != tc.wantReason || !strings.HasSuffix(a.Key, s.Due.UTC().Format(time.RFC3339))) {
					t.Errorf("check-drift %q (%s), want the schedule's reason and due time", a.Reason, a.Key)
				}
			}
		})
	}
	if _, ok := ScheduleDrift(policy("sepsis", func(s *policies.ModelPolicySpec) { s.Data = nil }), &ModelStatus{}); ok {
		t.Error("a policy without data has a drift schedule")
	}
}

func hasKind(as []Action, k ActionKind) bool {
	for _, a := range as {
		if a.Kind == k {
			return true
		}
	}
	return false
}
