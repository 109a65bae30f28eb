package reconciler

import (
	"fmt"
	"strings"
	"time"

	"github.com/medimind/modelops/policies"
)

// ActionHoldRetrain records a retrain the policy holds back instead of proposing it: the
// data quality findings of the latest drift report with spec.drift.quality.blocksRetrain,
// or drift the batch check attributes to suspect batches with
// spec.drift.batch.holdRetrain. Nothing is opened; the hold and its evidence are kept on
// the status branch (ModelStatus.RetrainHold), once per (generation, evidence).
const ActionHoldRetrain ActionKind = "hold-retrain"

// HoldCause says why a retrain is held.
type HoldCause string

// The causes of a hold.
const (
	HoldQuality HoldCause = "quality"
	HoldBatch   HoldCause = "batch"
)

// RetrainHold is a retrain trigger that held while the policy held the retrain back.
type RetrainHold struct {
	// At is when the hold was recorded (zero in a plan).
	At         time.Time `json:"at,omitzero"`
	Generation int64     `json:"generation"`
	Trigger    Trigger   `json:"trigger"`
	Cause      HoldCause `json:"cause"`
	// Reason says in words what holds the retrain; Report is the drift report it rests on.
	Reason string `json:"reason"`
	Report string `json:"report,omitempty"`
	// Evidence is the trigger's evidence, as the proposal would have listed it.
	Evidence []Evidence `json:"evidence"`
	// Digest identifies the hold: the same trigger, evidence and cause are recorded once.
	Digest string `json:"digest"`
}

// retrainHold judges a retrain trigger that holds against the part-two checks of the
// latest drift reports. It returns the hold when the policy holds the retrain back, else
// the note the proposal carries at the top of its body ("" for none). A manual request is
// never held: a person asked for it.
func retrainHold(p *policies.Policy, st *ModelStatus, trig Trigger) (*RetrainHold, string) {
	if trig == TriggerManual {
		return nil, ""
	}
	d := p.Spec.Drift
	if q := d.Quality; q != nil && q.BlocksRetrain {
		if last, ok := st.LastDrift(); ok && last.QualityFindings > 0 {
			return &RetrainHold{Cause: HoldQuality, Report: last.Report, Reason: fmt.Sprintf(
				"the latest drift report (%s, %s) has %d data quality %s; spec.drift.quality.blocksRetrain holds the retrain until a report has none",
				last.At.UTC().Format(time.RFC3339), last.Report, last.QualityFindings, plural(last.QualityFindings, "finding", "findings"))}, ""
		}
	}
	if trig != TriggerDrift {
		return nil, ""
	}
	rec, ok := lastDriftedSince(st, st.LastLaunch)
	if !ok || len(rec.SuspectBatches) == 0 {
		return nil, ""
	}
	// The batch labels come from the data: each is a code span in the proposal's Markdown,
	// so that a label renders literally and mentions no one.
	labels := make([]string, len(rec.SuspectBatches))
	for i, l := range rec.SuspectBatches {
		labels[i] = codeSpan(l)
	}
	attribution := fmt.Sprintf("the batch check attributes the drift of the report of %s (%s) to %s %s of %s: retraining now would learn the batch effect",
		rec.At.UTC().Format(time.RFC3339), rec.Report, plural(len(rec.SuspectBatches), "batch", "batches"),
		strings.Join(labels, ", "), codeSpan(rec.BatchColumn))
	if b := d.Batch; b != nil && b.HoldRetrain {
		return &RetrainHold{Cause: HoldBatch, Report: rec.Report, Reason: attribution + "; spec.drift.batch.holdRetrain holds the retrain"}, ""
	}
	return nil, attribution
}

// lastDriftedSince is the newest drifted report after since.
func lastDriftedSince(st *ModelStatus, since time.Time) (DriftRecord, bool) {
	for i := len(st.Drift) - 1; i >= 0; i-- {
		if d := st.Drift[i]; d.At.After(since) && d.Drifted {
			return d, true
		}
	}
	return DriftRecord{}, false
}

// holdAction is the action recording hold for generation gen, or none when the status
// has recorded it already.
func holdAction(name, commit string, gen int64, st *ModelStatus, hold *RetrainHold, trig Trigger, evidence []Evidence) (Action, bool) {
	hold.Generation, hold.Trigger, hold.Evidence = gen, trig, evidence
	hold.Digest = digestOf(retrainDigest(trig, evidence), string(hold.Cause), hold.Reason)
	if h := st.RetrainHold; h != nil && h.Generation == gen && h.Digest == hold.Digest {
		return Action{}, false
	}
	return Action{
		Kind:       ActionHoldRetrain,
		Model:      name,
		Key:        fmt.Sprintf("%s/%s/gen-%d/%s", ActionHoldRetrain, name, gen, hold.Digest),
		Reason:     fmt.Sprintf("%s trigger held: %s", trig, hold.Reason),
		Generation: gen,
		Commit:     commit,
		Hold:       hold,
	}, true
}

// recordHold keeps the hold of a on the model's status.
func recordHold(ms *ModelStatus, a Action, now time.Time) string {
	h := *a.Hold
	h.At = now
	ms.RetrainHold = &h
	return fmt.Sprintf("retrain of generation %d held (%s): %s", a.Generation, h.Cause, h.Reason)
}

// omicsTitle is what a drift check's title adds for the part-two checks: the number of
// data quality findings and the suspect batches, when there are any.
func omicsTitle(res DriftResult) string {
	var parts []string
	if n := res.QualityFindings; n > 0 {
		parts = append(parts, fmt.Sprintf("%d data quality %s", n, plural(n, "finding", "findings")))
	}
	if s := res.SuspectBatches; len(s) > 0 {
		parts = append(parts, fmt.Sprintf("suspect %s %s of %s", plural(len(s), "batch", "batches"), strings.Join(s, ", "), res.BatchColumn))
	}
	if len(parts) == 0 {
		return ""
	}
	return "; " + strings.Join(parts, "; ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
