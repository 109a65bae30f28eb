package reconciler

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/medimind/modelops/policies"
)

// ActionKind names what an action does.
type ActionKind string

// The actions of the reconcile loop.
const (
	ActionCheckDrift     ActionKind = "check-drift"
	ActionProposeRetrain ActionKind = "propose-retrain"
	ActionCloseProposal  ActionKind = "close-proposal"
	ActionLaunchTraining ActionKind = "launch-training"
	ActionCancelTraining ActionKind = "cancel-training"
	// ActionProposePromotion opens the promotion proposal of a candidate that passed the
	// gate and records the verdict on its run.
	ActionProposePromotion ActionKind = "propose-promotion"
	// ActionRecordVerdict records a verdict that proposes nothing (the candidate failed the
	// gate, already serves, or its proposal was declined) on its run.
	ActionRecordVerdict ActionKind = "record-verdict"
	// ActionRecordCanaryCheck records a judged canary check that changes no weight.
	ActionRecordCanaryCheck ActionKind = "record-canary-check"
	// ActionStepCanary commits the canary's next weight to the tracked branch.
	ActionStepCanary ActionKind = "step-canary"
	// ActionRollback commits the removal of a failing canary to the tracked branch.
	ActionRollback ActionKind = "rollback"
	// ActionProposeFullPromotion opens the proposal making the canary the production version.
	ActionProposeFullPromotion ActionKind = "propose-full-promotion"
	// ActionApplyTraffic sets the router's split to the tip's production and canary.
	ActionApplyTraffic ActionKind = "apply-traffic"
)

// Action is one step the reconciler will take. Key is deterministic in (model, kind,
// generation, commit or evidence): applying an action whose key is already done is a no-op.
type Action struct {
	Kind   ActionKind `json:"kind"`
	Model  string     `json:"model"`
	Key    string     `json:"key"`
	Reason string     `json:"reason"`
	// Generation is the training generation a retrain, launch or cancel concerns.
	Generation int64 `json:"generation,omitempty"`
	// Commit is the tracked-branch commit the action was planned on.
	Commit string `json:"commit,omitempty"`
	// Proposal is set for propose actions.
	Proposal *ProposalPlan `json:"proposal,omitempty"`
	// ProposalKind is set for close-proposal.
	ProposalKind ProposalKind `json:"proposalKind,omitempty"`
	// Promotion is set for propose-promotion and record-verdict.
	Promotion *PromotionPlan `json:"promotion,omitempty"`
	// Canary is set for the canary actions: the check judged and the weight step.
	Canary *CanaryPlan `json:"canary,omitempty"`
	// Traffic is set for apply-traffic: the split the router must serve.
	Traffic *Traffic `json:"traffic,omitempty"`
	// Registry is set for the registry actions (registry.go).
	Registry *RegistryPlan `json:"registry,omitempty"`
	// Hold is set for hold-retrain: the retrain held back and why (hold.go).
	Hold *RetrainHold `json:"hold,omitempty"`
}

// PromotionPlan is a judged candidate: the canary it would become and the gate's verdict.
type PromotionPlan struct {
	// RunID is the training run that produced the candidate; empty for a registered one.
	RunID string `json:"runID"`
	// Registered is set for a candidate registered through the API rather than trained by
	// a run; its verdict is kept with the candidate.
	Registered bool `json:"registered,omitempty"`
	// Canary is the spec.canary a promotion proposal sets: the candidate's version and URI
	// at the first canary analysis step.
	Canary  policies.Canary  `json:"canary"`
	Verdict PromotionVerdict `json:"verdict"`
}

// ProposalPlan is the proposal a propose action opens or updates.
type ProposalPlan struct {
	Kind ProposalKind `json:"kind"`
	Key  string       `json:"key"`
	// Target is what a promotion proposal promotes to; empty for other kinds.
	Target   PromotionTarget `json:"target,omitempty"`
	Digest   string          `json:"digest"`
	Trigger  Trigger         `json:"trigger"`
	Evidence []Evidence      `json:"evidence"`
	// Change describes the policy edit in words ("spec.retrain.generation 6 → 7").
	Change string `json:"change"`
	// Note is a warning the body opens with: drift the batch check attributes to
	// suspect batches (hold.go).
	Note string `json:"note,omitempty"`
}

// Evidence is one item of a proposal's evidence: the line a person reads, and the path of
// the full report on the status branch when there is one.
type Evidence struct {
	Text   string `json:"text"`
	Report string `json:"report,omitempty"`
}

// retrainDigest hashes a retrain trigger's evidence: the lines people read, as it always
// was, so an upgrade rewrites no open proposal.
func retrainDigest(trig Trigger, evidence []Evidence) string {
	texts := make([]string, len(evidence))
	for i, e := range evidence {
		texts[i] = e.Text
	}
	return digestOf(string(trig), texts)
}

// String renders the action on one line for people.
func (a Action) String() string {
	return fmt.Sprintf("%s %s: %s", a.Kind, a.Model, a.Reason)
}

// Trigger names why a retrain is proposed.
type Trigger string

// Retrain triggers, in the order they are considered.
const (
	TriggerManual      Trigger = "manual"
	TriggerDrift       Trigger = "drift"
	TriggerPerformance Trigger = "performance"
	TriggerSchedule    Trigger = "schedule"
)

// ModelState is everything Plan knows about one model.
type ModelState struct {
	Policy *policies.Policy
	Status *ModelStatus
	// Proposals are the model's open proposals.
	Proposals []Proposal
	// Traffic is the split the router serves; nil without a router. A model the router
	// does not serve yet has an empty Traffic.
	Traffic *Traffic
	// Registry is what the model registry shows; nil without a registry or spec.registry.
	Registry *RegistryObservation
}

// PlanInput is the observed world for one cycle.
type PlanInput struct {
	Now time.Time
	// Commit is the tip of the tracked branch the policies were read at.
	Commit string
	Models []ModelState
}

// Plan decides the actions of one cycle. It is a pure function of its input: the same
// input gives the same actions, and once their effects are observed it gives none.
// Actions come grouped by model in the order of in.Models.
func Plan(in PlanInput) []Action {
	var actions []Action
	for _, m := range in.Models {
		actions = append(actions, planModel(in.Now, in.Commit, m)...)
	}
	return actions
}

func planModel(now time.Time, commit string, m ModelState) []Action {
	p, st := m.Policy, m.Status
	if p == nil || st == nil || p.Spec.Suspend {
		return nil
	}
	name := p.Metadata.Name
	var actions []Action

	driftDue := false
	if a, ok := planDrift(now, commit, p, st); ok {
		actions = append(actions, a)
		driftDue = true
	}

	if a, ok := planTraffic(commit, p, m.Traffic); ok {
		actions = append(actions, a)
	}
	actions = append(actions, planCanary(now, commit, p, st, m.Proposals)...)
	if m.Registry != nil {
		// After apply-traffic: an alias follows a version once the router serves it.
		actions = append(actions, PlanRegistry(commit, p, m.Traffic, *m.Registry)...)
		actions = append(actions, planRegistryCleanup(now, commit, p, *m.Registry, m.Proposals)...)
	}

	retrain := p.Spec.Retrain
	if retrain == nil {
		// Without a retrain block nothing is trained; an open retrain proposal is stale.
		if open, ok := findProposal(m.Proposals, ProposalRetrain); ok {
			actions = append(actions, closeAction(name, commit, open, "the policy no longer has a retrain block"))
		}
		return actions
	}
	gen := retrain.Generation
	actions = append(actions, planPromotion(now, commit, p, st, m.Proposals)...)

	// Launch: the tip raised the generation above the last launched one (unless whether it
	// was trained is for a person to decide).
	undecided := st.Undecided != nil && st.Undecided.Generation == gen
	if gen > st.LaunchedGeneration && !undecided {
		actions = append(actions, Action{
			Kind:       ActionLaunchTraining,
			Model:      name,
			Key:        fmt.Sprintf("%s/%s/gen-%d", ActionLaunchTraining, name, gen),
			Reason:     fmt.Sprintf("spec.retrain.generation is %d at %s, last launched %d", gen, short(commit), st.LaunchedGeneration),
			Generation: gen,
			Commit:     commit,
		})
		// A newer generation supersedes runs still going.
		for _, r := range st.Runs {
			if r.Generation < gen && !r.Phase.Finished() {
				actions = append(actions, Action{
					Kind:       ActionCancelTraining,
					Model:      name,
					Key:        fmt.Sprintf("%s/%s/gen-%d", ActionCancelTraining, name, r.Generation),
					Reason:     fmt.Sprintf("superseded by generation %d", gen),
					Generation: r.Generation,
					Commit:     commit,
				})
			}
		}
	}

	// A run claimed by a reconciler that stopped before starting it is started now.
	if run, ok := st.Run(gen); ok && gen == st.LaunchedGeneration && run.Phase == RunPending {
		actions = append(actions, Action{
			Kind:       ActionLaunchTraining,
			Model:      name,
			Key:        fmt.Sprintf("%s/%s/gen-%d", ActionLaunchTraining, name, gen),
			Reason:     fmt.Sprintf("generation %d was claimed but never started", gen),
			Generation: gen,
			Commit:     run.Commit,
		})
	}

	open, hasOpen := findProposal(m.Proposals, ProposalRetrain)
	wantKey := retrainKey(gen + 1)
	if hasOpen && open.Key != wantKey {
		// The generation moved (the proposal was merged, or a person raised it): the open
		// proposal would raise it to a stale value.
		actions = append(actions, closeAction(name, commit, open,
			fmt.Sprintf("spec.retrain.generation is now %d; this proposal is superseded", gen)))
		hasOpen = false
	}

	busy := gen > st.LaunchedGeneration || runActive(st)
	trig, evidence, fired := retrainTrigger(now, p, st)
	switch {
	case busy:
		// Training is pending or running: another retrain would only race it.
	case fired:
		digest := retrainDigest(trig, evidence)
		hold, note := retrainHold(p, st, trig)
		if hold != nil {
			// Held: nothing is opened or updated; the hold is recorded once.
			if a, ok := holdAction(name, commit, gen+1, st, hold, trig, evidence); ok {
				actions = append(actions, a)
			}
			break
		}
		if note != "" {
			digest = digestOf(digest, note)
		}
		if hasOpen && open.Digest == digest {
			break
		}
		if declined, ok := findProposalIn(m.Proposals, ProposalRetrain, ProposalDeclined); ok && declined.Key == wantKey && trig != TriggerManual {
			// A person declined this generation; only a manual request proposes it again.
			break
		}
		actions = append(actions, Action{
			Kind:       ActionProposeRetrain,
			Model:      name,
			Key:        fmt.Sprintf("%s/%s/gen-%d/%s", ActionProposeRetrain, name, gen+1, digest),
			Reason:     fmt.Sprintf("%s trigger: %s", trig, evidence[0].Text),
			Generation: gen + 1,
			Commit:     commit,
			Proposal: &ProposalPlan{
				Kind:     ProposalRetrain,
				Key:      wantKey,
				Digest:   digest,
				Trigger:  trig,
				Evidence: evidence,
				Change:   fmt.Sprintf("spec.retrain.generation %d → %d", gen, gen+1),
				Note:     note,
			},
		})
	case hasOpen && !driftDue:
		// Closed only on fresh evidence: with a drift check due (or the status lost in a
		// crash), the trigger is judged again once the report is in.
		actions = append(actions, closeAction(name, commit, open, "no retrain trigger holds any more"))
	}
	return actions
}

// planPromotion judges the candidate of the tip generation's run once it has succeeded, and
// closes an open promotion proposal that a newer candidate supersedes. The verdict is not
// written here (Plan is pure): it travels in the action, and applying the action records it
// on the run, so it is persisted with the status and the run is judged once.
func planPromotion(now time.Time, commit string, p *policies.Policy, st *ModelStatus, props []Proposal) []Action {
	gen := p.Spec.Retrain.Generation
	run, ok := st.Run(gen)
	// The runners mark a run Succeeded only with a valid result; a run without one (adopted,
	// or recorded by an older version) has no candidate to judge.
	if !ok || run.Phase != RunSucceeded || run.Result == nil || run.Result.Pending() {
		return nil
	}
	name := p.Metadata.Name
	result := *run.Result
	wantKey := promoteKey(result.Version)
	judged := run.Promotion != nil
	var v PromotionVerdict
	if judged {
		v = *run.Promotion
	} else {
		v = JudgePromotion(p.Spec.Promotion, result.Metrics, productionFigures(p, st))
		v.Version, v.JudgedAt = result.Version, now
		if p.Spec.Production != nil {
			v.ProductionVersion = p.Spec.Production.Version
		}
	}
	var actions []Action
	// The newest passing candidate wins: a candidate that failed the gate supersedes nothing,
	// and a passing one only an older candidate's proposal. A full-promotion proposal is the
	// canary analysis's to close.
	if open, ok := findProposal(props, ProposalPromote); ok && open.Key != wantKey && !open.promotesToProduction() &&
		v.Passed && !registeredSince(st, open.Key, v.JudgedAt) {
		actions = append(actions, closeAction(name, commit, open,
			fmt.Sprintf("superseded by the candidate %q of training generation %d, which passed the promotion gate", result.Version, gen)))
	}
	if judged {
		return actions
	}

	weight := p.Spec.CanaryAnalysis.Steps[0]
	plan := &PromotionPlan{RunID: run.ID, Canary: policies.Canary{Version: result.Version, URI: result.URI, Weight: &weight}}
	record := func(reason, note string) Action {
		plan.Verdict = v
		plan.Verdict.Note = note
		return Action{
			Kind:       ActionRecordVerdict,
			Model:      name,
			Key:        fmt.Sprintf("%s/%s/gen-%d", ActionRecordVerdict, name, gen),
			Reason:     reason,
			Generation: gen,
			Commit:     commit,
			Promotion:  plan,
		}
	}
	switch {
	case !v.Passed:
		return append(actions, record(fmt.Sprintf("candidate %q of generation %d did not pass the promotion gate: %s",
			result.Version, gen, strings.Join(v.Failed(), ", ")), ""))
	case servesAlready(p, result.Version):
		return append(actions, record(fmt.Sprintf("candidate %q of generation %d passed the promotion gate", result.Version, gen),
			fmt.Sprintf("version %s already serves; nothing proposed", result.Version)))
	}
	if declined, ok := findProposalIn(props, ProposalPromote, ProposalDeclined); ok && declined.Key == wantKey {
		return append(actions, record(fmt.Sprintf("candidate %q of generation %d passed the promotion gate", result.Version, gen),
			fmt.Sprintf("a person declined the promotion of version %s; not proposed again", result.Version)))
	}
	a := promotionAction(p, commit, run.ID, result, v, fmt.Sprintf("training run %s of generation %d (commit %s)", run.ID, gen, short(run.Commit)))
	a.Key = fmt.Sprintf("%s/%s/gen-%d/%s", ActionProposePromotion, name, gen, wantKey)
	a.Reason = fmt.Sprintf("candidate %q of generation %d passed the promotion gate", result.Version, gen)
	a.Generation = gen
	return append(actions, a)
}

// registeredSince reports whether the proposal keyed key proposes a candidate registered
// through the API after t: a newer candidate than one judged at t.
func registeredSince(st *ModelStatus, key string, t time.Time) bool {
	for _, c := range st.Candidates {
		if promoteKey(c.Result.Version) == key && c.Registered.After(t) {
			return true
		}
	}
	return false
}

// promotionAction proposes a candidate that passed the gate as the canary at the first
// analysis step.
func promotionAction(p *policies.Policy, commit, runID string, result RunResult, v PromotionVerdict, evidence string) Action {
	weight := p.Spec.CanaryAnalysis.Steps[0]
	plan := &PromotionPlan{RunID: runID, Canary: policies.Canary{Version: result.Version, URI: result.URI, Weight: &weight}, Verdict: v}
	digest := digestOf(result.Version, result.URI, weight, verdictEvidence(v))
	from := "spec.canary absent"
	if c := p.Spec.Canary; c != nil {
		from = "spec.canary " + c.Version
	}
	return Action{
		Kind:   ActionProposePromotion,
		Model:  p.Metadata.Name,
		Commit: commit,
		Proposal: &ProposalPlan{
			Kind:     ProposalPromote,
			Target:   TargetCanary,
			Key:      promoteKey(result.Version),
			Digest:   digest,
			Evidence: []Evidence{{Text: evidence}},
			Change:   fmt.Sprintf("%s → %s at weight %d", from, result.Version, weight),
		},
		Promotion: plan,
	}
}

// verdictEvidence is what a promotion proposal's digest covers of a verdict: the figures
// and judgements, as data. It leaves out the judging time, so a retried proposal keeps its
// digest, and the rendering, so a change of the table's format rewrites no open proposal.
func verdictEvidence(v PromotionVerdict) string {
	b, err := json.Marshal(struct {
		ProductionVersion string      `json:"productionVersion"`
		Passed            bool        `json:"passed"`
		Criteria          []Criterion `json:"criteria"`
	}{v.ProductionVersion, v.Passed, v.Criteria})
	if err != nil {
		panic(err) // plain data always marshals
	}
	return string(b)
}

// productionFigures are the production version's figures the reconciler has observed, by
// metric name: the latest performance reading, when it is of the production version.
func productionFigures(p *policies.Policy, st *ModelStatus) map[string]float64 {
	figs := map[string]float64{}
	if perf := st.Performance; perf != nil && p.Spec.Production != nil && perf.Version == p.Spec.Production.Version {
		figs[perf.Metric] = perf.Value
	}
	return figs
}

func servesAlready(p *policies.Policy, version string) bool {
	return (p.Spec.Production != nil && p.Spec.Production.Version == version) ||
		(p.Spec.Canary != nil && p.Spec.Canary.Version == version)
}

func promoteKey(version string) string { return "version-" + version }

// planDrift schedules a drift check when ScheduleDrift says it is due.
func planDrift(now time.Time, commit string, p *policies.Policy, st *ModelStatus) (Action, bool) {
	s, ok := ScheduleDrift(p, st)
	if !ok || now.Before(s.Due) {
		return Action{}, false
	}
	name := p.Metadata.Name
	return Action{
		Kind:   ActionCheckDrift,
		Model:  name,
		Key:    fmt.Sprintf("%s/%s/%s", ActionCheckDrift, name, s.Due.UTC().Format(time.RFC3339)),
		Reason: s.Reason,
		Commit: commit,
	}, true
}

// retrainTrigger reports the first retrain trigger that holds, with its evidence. Only
// evidence newer than the last launch counts, so a launched retrain is not proposed again
// on the same evidence.
func retrainTrigger(now time.Time, p *policies.Policy, st *ModelStatus) (Trigger, []Evidence, bool) {
	rt := p.Spec.Retrain
	since := st.LastLaunch

	var manual []Evidence
	for _, r := range st.Manual {
		if r.At.After(since) && !r.Adopt {
			line := fmt.Sprintf("requested at %s: %s", r.At.UTC().Format(time.RFC3339), r.Reason)
			if r.By != "" {
				line += " (by " + r.By + ")"
			}
			manual = append(manual, Evidence{Text: line})
		}
	}
	if len(manual) > 0 {
		return TriggerManual, manual, true
	}

	if od := rt.OnDrift; od != nil && !od.Disabled && od.Of > 0 && od.Share != nil {
		var recent []DriftRecord
		for _, d := range st.Drift {
			// Insufficient data is neither a drifted report nor one without drift: it
			// takes no place among the last Of.
			if d.At.After(since) && !d.InsufficientData {
				recent = append(recent, d)
			}
		}
		if len(recent) > od.Of {
			recent = recent[len(recent)-od.Of:]
		}
		drifted := 0
		for _, d := range recent {
			if d.Drifted {
				drifted++
			}
		}
		// The share is over Of reports, not over those present: a few reports cannot
		// outvote a window that has not filled yet.
		if drifted > 0 && float64(drifted)/float64(od.Of) >= *od.Share {
			ev := []Evidence{{Text: fmt.Sprintf("%d of the last %d drift reports drifted (threshold %s of %d)",
				drifted, len(recent), percent(*od.Share), od.Of)}}
			for i := len(recent) - 1; i >= 0; i-- {
				d := recent[i]
				if d.Drifted {
					ev = append(ev, Evidence{Report: d.Report, Text: fmt.Sprintf("%s: %d of %d columns drifted (share %.2f), report %s",
						d.At.UTC().Format(time.RFC3339), d.DriftedColumns, d.Columns, d.Share, d.Report)})
				}
			}
			return TriggerDrift, ev, true
		}
	}

	if pd := rt.OnPerformanceDrop; pd != nil && !pd.Disabled && pd.Drop != nil && st.Baseline != nil && st.Performance != nil {
		b, c := st.Baseline, st.Performance
		if c.At.After(since) && b.Metric == c.Metric && b.Version == c.Version && b.Value-c.Value >= *pd.Drop {
			return TriggerPerformance, []Evidence{{Text: fmt.Sprintf("%s of production version %s fell from %.4f to %.4f (drop %.4f >= %.4f) on %d samples",
				c.Metric, c.Version, b.Value, c.Value, b.Value-c.Value, *pd.Drop, c.Samples)}}, true
		}
	}

	if rt.Schedule != nil && *rt.Schedule != "" {
		sched, err := cron.ParseStandard(*rt.Schedule)
		anchor := scheduleAnchor(st)
		if err == nil && !anchor.IsZero() {
			if next := sched.Next(anchor); !next.After(now) {
				return TriggerSchedule, []Evidence{{Text: fmt.Sprintf("schedule %q was due at %s (last launch %s, schedule committed %s)",
					*rt.Schedule, next.UTC().Format(time.RFC3339), describeTime(since), describeTime(st.ScheduleSince))}}, true
			}
		}
	}
	return "", nil, false
}

// scheduleAnchor is when a retrain schedule starts counting: the latest of the last launch,
// the commit that introduced the schedule (or the policy) and the model's first sighting.
// A new policy, or a schedule added to an old one, is therefore first due one period later,
// never at once.
func scheduleAnchor(st *ModelStatus) time.Time {
	anchor := st.LastLaunch
	for _, t := range []time.Time{st.ScheduleSince, st.FirstSeen} {
		if t.After(anchor) {
			anchor = t
		}
	}
	return anchor
}

func runActive(st *ModelStatus) bool {
	for _, r := range st.Runs {
		if !r.Phase.Finished() {
			return true
		}
	}
	return false
}

func findProposal(ps []Proposal, kind ProposalKind) (Proposal, bool) {
	return findProposalIn(ps, kind, ProposalOpen)
}

func findProposalIn(ps []Proposal, kind ProposalKind, state ProposalState) (Proposal, bool) {
	for _, p := range ps {
		if p.Kind == kind && p.State == state {
			return p, true
		}
	}
	return Proposal{}, false
}

func closeAction(model, commit string, p Proposal, reason string) Action {
	return Action{
		Kind:         ActionCloseProposal,
		Model:        model,
		Key:          fmt.Sprintf("%s/%s/%s/%s", ActionCloseProposal, model, p.Kind, p.Key),
		Reason:       reason,
		Commit:       commit,
		ProposalKind: p.Kind,
	}
}

func retrainKey(gen int64) string { return fmt.Sprintf("generation-%d", gen) }

// digestOf hashes a trigger's evidence so a proposal is rewritten only when it changes.
func digestOf(parts ...any) string {
	h := sha256.New()
	for _, p := range parts {
		switch v := p.(type) {
		case []string:
			for _, s := range v {
				fmt.Fprintf(h, "%d:%s", len(s), s)
			}
		default:
			fmt.Fprintf(h, "%v|", v)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func percent(f float64) string { return fmt.Sprintf("%g%%", f*100) }

func describeTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}
