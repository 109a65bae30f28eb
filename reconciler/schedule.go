package reconciler

import (
	"fmt"
	"time"

	"github.com/medimind/modelops/policies"
)

// DriftOutcome is what a drift report says about the data, as the adaptive schedule reads it
// (drift-definitions.md §12).
type DriftOutcome string

// The outcomes of a drift report.
const (
	DriftOutcomeDrifted DriftOutcome = "drifted"
	DriftOutcomeNoDrift DriftOutcome = "no-drift"
	// DriftOutcomeInsufficient is a report that says nothing either way: its windows held too
	// few rows to test a column.
	DriftOutcomeInsufficient DriftOutcome = "insufficient-data"
)

// Outcome is the report's outcome. A report of insufficient data (a window of the log below
// its minRows, which tests no column) is neither drifted nor free of drift; so is a report
// that tested no column.
func (d DriftRecord) Outcome() DriftOutcome {
	switch {
	case d.Drifted:
		return DriftOutcomeDrifted
	case d.InsufficientData || d.Columns == 0:
		return DriftOutcomeInsufficient
	default:
		return DriftOutcomeNoDrift
	}
}

// AdaptiveStep says how the adaptive schedule moved the interval after a report.
type AdaptiveStep string

// The steps of §12. A step that hits a bound keeps its name: the interval then equals the
// bound.
const (
	AdaptiveHalved  AdaptiveStep = "halved"
	AdaptiveDoubled AdaptiveStep = "doubled"
	AdaptiveKept    AdaptiveStep = "kept"
)

// adaptiveNext is §12's rule: after a drifted report max(lo, prev/2), after one without
// drift min(hi, prev·2), after insufficient data prev. Intervals are whole nanoseconds, so
// halving an odd count rounds down by half a nanosecond.
func adaptiveNext(prev time.Duration, o DriftOutcome, lo, hi time.Duration) (time.Duration, AdaptiveStep) {
	switch o {
	case DriftOutcomeDrifted:
		return max(lo, prev/2), AdaptiveHalved
	case DriftOutcomeNoDrift:
		if prev > hi/2 { // also keeps prev·2 from overflowing
			return hi, AdaptiveDoubled
		}
		return min(hi, prev*2), AdaptiveDoubled
	default:
		return prev, AdaptiveKept
	}
}

// AdaptiveState is where an adaptive drift schedule stands after the last report.
type AdaptiveState struct {
	Min policies.Duration `json:"min"`
	Max policies.Duration `json:"max"`
	// Previous is the interval before the last report, and Step how the report moved it;
	// both unset before the first report.
	Previous policies.Duration `json:"previous,omitzero"`
	Step     AdaptiveStep      `json:"step,omitempty"`
}

// DriftSchedule is when a model's next drift check is due, and why.
type DriftSchedule struct {
	Model string `json:"model"`
	// Due is when the next check is due: the last report's time plus Interval, or when the
	// model was first seen before any report.
	Due time.Time `json:"due"`
	// Interval is the wait after the last report: spec.drift.interval, or the adaptive
	// schedule's current interval.
	Interval policies.Duration `json:"interval"`
	// LastReport is the last report's time and LastOutcome what it said; unset before the
	// first report.
	LastReport  time.Time    `json:"lastReport,omitzero"`
	LastOutcome DriftOutcome `json:"lastOutcome,omitempty"`
	// Adaptive is set with spec.drift.adaptive.
	Adaptive *AdaptiveState `json:"adaptive,omitempty"`
	// Reason says the above in words.
	Reason string `json:"reason"`
}

// ScheduleDrift is when p's next drift check is due, given the reports recorded in st. It
// is a pure function of the policy and the status branch's history, so a restarted
// reconciler schedules exactly as the one before it. ok is false when p has no data to check.
//
// With spec.drift.adaptive the interval runs through the recorded reports, oldest first:
// it starts at spec.drift.interval and moves by §12's rule after each report. The status
// keeps the last maxDriftHistory reports, and each recorded report keeps the interval it
// was made at (DriftRecord.Interval), so the oldest one kept says where the sequence stood
// there: the result is the same as over the whole history.
func ScheduleDrift(p *policies.Policy, st *ModelStatus) (DriftSchedule, bool) {
	if p.Spec.Data == nil {
		return DriftSchedule{}, false
	}
	d := p.Spec.Drift
	s := DriftSchedule{Model: p.Metadata.Name, Interval: d.Interval}
	last, ok := st.LastDrift()
	if a := d.Adaptive; a != nil {
		state := &AdaptiveState{Min: a.Min, Max: a.Max}
		cur := d.Interval.Duration
		for i, r := range st.Drift {
			if i == 0 && r.Interval.Duration > 0 {
				cur = min(max(r.Interval.Duration, a.Min.Duration), a.Max.Duration)
			}
			state.Previous.Duration = cur
			cur, state.Step = adaptiveNext(cur, r.Outcome(), a.Min.Duration, a.Max.Duration)
		}
		s.Interval.Duration, s.Adaptive = cur, state
	}
	if !ok {
		s.Due = st.FirstSeen
		s.Reason = "no drift report yet"
		return s, true
	}
	s.Due, s.LastReport, s.LastOutcome = last.At.Add(s.Interval.Duration), last.At, last.Outcome()
	s.Reason = fmt.Sprintf("last report %s, interval %s", last.At.UTC().Format(time.RFC3339), s.Interval.Duration)
	if a := s.Adaptive; a != nil {
		how := fmt.Sprintf("%s from %s", a.Step, a.Previous.Duration)
		switch {
		case a.Step == AdaptiveKept:
			how = "kept"
		case a.Step == AdaptiveHalved && a.Previous.Duration/2 < a.Min.Duration:
			how = fmt.Sprintf("held at min (halving %s)", a.Previous.Duration)
		case a.Step == AdaptiveDoubled && a.Previous.Duration > a.Max.Duration-a.Previous.Duration: // 2·previous > max
			how = fmt.Sprintf("held at max (doubling %s)", a.Previous.Duration)
		}
		s.Reason = fmt.Sprintf("last report %s (%s), adaptive interval %s %s (min %s, max %s)",
			last.At.UTC().Format(time.RFC3339), last.Outcome(), s.Interval.Duration, how, a.Min.Duration, a.Max.Duration)
	}
	return s, true
}

// recordDrift adds rec to ms's reports, with the adaptive interval it was made at.
func recordDrift(p *policies.Policy, ms *ModelStatus, rec DriftRecord) {
	if s, ok := ScheduleDrift(p, ms); ok && s.Adaptive != nil {
		rec.Interval = s.Interval
	}
	ms.AddDrift(rec)
}

// DriftSchedules is when each model of the snapshot checks drift next (ScheduleDrift), by
// model name: every model with data that is not suspended.
func (s *Snapshot) DriftSchedules() []DriftSchedule {
	out := []DriftSchedule{}
	for _, m := range s.PlanInput().Models {
		if m.Policy.Spec.Suspend {
			continue
		}
		if sched, ok := ScheduleDrift(m.Policy, m.Status); ok {
			out = append(out, sched)
		}
	}
	return out
}
