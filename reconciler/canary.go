package reconciler

import (
	"fmt"
	"slices"
	"time"

	"github.com/medimind/modelops/policies"
)

// CanaryStatus is what the reconciler has observed of the canary serving at the tip: when it
// started, the step it is on, and the checks judged so far. It lives in ModelStatus while
// the canary runs and moves to ModelStatus.LastCanary when it ends.
type CanaryStatus struct {
	Version string `json:"version"`
	// Started is when the reconciler first saw this canary version at the tip.
	Started time.Time `json:"started"`
	// Weight is the canary's weight at the tip, and StepStarted when it was first seen.
	Weight      int       `json:"weight"`
	StepStarted time.Time `json:"stepStarted"`
	// WindowStart opens the window of predictions the next check compares: the end of the
	// last judged check, or the start of the step.
	WindowStart time.Time `json:"windowStart"`
	// Checks are the judged checks of this canary, oldest first.
	Checks []CanaryCheck `json:"checks,omitempty"`
	// Observation is the latest comparison of the open window once a check is due; it is
	// judged when both versions have enough labelled predictions, and waits otherwise.
	Observation *CanaryObservation `json:"observation,omitempty"`
	// Outcome says how the canary ended (on LastCanary only).
	Outcome string    `json:"outcome,omitempty"`
	Ended   time.Time `json:"ended,omitzero"`
}

// Canary outcomes.
const (
	CanaryRolledBack = "rolled back"
	CanaryPromoted   = "promoted"
	CanaryRemoved    = "removed"
)

// Failed counts the checks that failed.
func (c *CanaryStatus) Failed() int {
	n := 0
	for _, ch := range c.Checks {
		if !ch.Passed {
			n++
		}
	}
	return n
}

// VersionFigures are one version's figures over a window of predictions.
type VersionFigures struct {
	Version string `json:"version"`
	// Samples counts the labelled, scored predictions.
	Samples   int64    `json:"samples"`
	Positives int64    `json:"positives"`
	AUC       *float64 `json:"auc"`
	Precision float64  `json:"precision"`
	Recall    float64  `json:"recall"`
	// LatencyP95Ms is over every prediction of the window with a latency; nil with none.
	LatencyP95Ms *float64 `json:"latencyP95Ms"`
}

// AUCInterval is the canary's AUC minus production's with its DeLong confidence interval:
// the two AUCs come from different predictions, so their DeLong variances add.
type AUCInterval struct {
	Diff       float64 `json:"diff"`
	StdErr     float64 `json:"stdErr"`
	Lower      float64 `json:"lower"`
	Upper      float64 `json:"upper"`
	P          float64 `json:"p"`
	Confidence float64 `json:"confidence"`
}

// CanaryObservation compares the canary with production on the same window of predictions
// (timestamps in [Since, Until)).
type CanaryObservation struct {
	At         time.Time      `json:"at"`
	Since      time.Time      `json:"since"`
	Until      time.Time      `json:"until"`
	Canary     VersionFigures `json:"canary"`
	Production VersionFigures `json:"production"`
	// AUC is nil when either side has no DeLong standard error (fewer than two labelled
	// predictions of a class).
	AUC *AUCInterval `json:"auc,omitempty"`
}

// CanaryCheck is a judged observation: passed or failed, with the reasons.
type CanaryCheck struct {
	CanaryObservation
	Weight int  `json:"weight"`
	Passed bool `json:"passed"`
	// Findings say what each criterion found, failures first.
	Findings []string `json:"findings"`
}

// JudgeCanary judges an observation by the policy's canary analysis. It returns judged false
// while either version has fewer labelled predictions than canaryAnalysis.minSamples (labels
// arrive late in clinical settings), or while the rollback metric cannot be computed yet.
//
// The check fails when any of these holds:
//   - metric auc: the canary's AUC is below production's by more than rollback.maxDrop AND
//     the DeLong confidence interval of the difference lies wholly below zero, so a drop is
//     judged only when it is both large and statistically significant;
//   - metric precision or recall: the canary's figure is below production's by more than
//     rollback.maxDrop (no variance is known for these, so the point values are compared);
//   - the canary's latency p95 is above rollback.maxLatencyMs.
//
// p has its defaults applied, as every policy policies.Parse and Load return has.
func JudgeCanary(p *policies.Policy, obs CanaryObservation, weight int) (CanaryCheck, bool) {
	ca := p.Spec.CanaryAnalysis
	minSamples := *ca.MinSamples
	if obs.Canary.Samples < minSamples || obs.Production.Samples < minSamples {
		return CanaryCheck{}, false
	}
	maxDrop := *ca.Rollback.MaxDrop
	check := CanaryCheck{CanaryObservation: obs, Weight: weight}
	var failed, passed []string
	switch metric := ca.Rollback.Metric; metric {
	case policies.MetricPrecision, policies.MetricRecall:
		c, pr := obs.Canary.Precision, obs.Production.Precision
		if metric == policies.MetricRecall {
			c, pr = obs.Canary.Recall, obs.Production.Recall
		}
		line := fmt.Sprintf("%s %.4f vs production %.4f (difference %+.4f, tolerated drop %.4f)", metric, c, pr, c-pr, maxDrop)
		if pr-c > maxDrop+tolerance {
			failed = append(failed, line)
		} else {
			passed = append(passed, line)
		}
	default: // auc
		d := obs.AUC
		if d == nil {
			return CanaryCheck{}, false
		}
		line := fmt.Sprintf("auc %s vs production %s: difference %+.4f, %g%% CI [%+.4f, %+.4f] (DeLong, p=%.3g), tolerated drop %.4f",
			figure(obs.Canary.AUC), figure(obs.Production.AUC), d.Diff, d.Confidence*100, d.Lower, d.Upper, d.P, maxDrop)
		if -d.Diff > maxDrop+tolerance && d.Upper < 0 {
			failed = append(failed, line)
		} else {
			passed = append(passed, line)
		}
	}
	maxLatency := p.RollbackMaxLatencyMs()
	if l := obs.Canary.LatencyP95Ms; l != nil {
		line := fmt.Sprintf("latency p95 %.1f ms (limit %.0f ms)", *l, maxLatency)
		if *l > maxLatency {
			failed = append(failed, line)
		} else {
			passed = append(passed, line)
		}
	}
	check.Passed = len(failed) == 0
	check.Findings = append(failed, passed...)
	return check, true
}

func figure(f *float64) string {
	if f == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.4f", *f)
}

// CanaryPlan is what a canary action does: the check it records, and the weight step.
type CanaryPlan struct {
	Version string      `json:"version"`
	URI     string      `json:"uri,omitempty"`
	From    int         `json:"from"`
	To      int         `json:"to"`
	Check   CanaryCheck `json:"check"`
}

// servingCanary returns the tip's canary when it serves traffic (weight above zero).
func servingCanary(p *policies.Policy) (*policies.Canary, int, bool) {
	c := p.Spec.Canary
	if c == nil || c.Weight == nil || *c.Weight <= 0 || p.Spec.Production == nil {
		return nil, 0, false
	}
	return c, *c.Weight, true
}

// fullPromotionKey is the key of the proposal making version production; canary-setting
// promotion proposals have keys "version-<version>".
func fullPromotionKey(version string) string { return "production-" + version }

// promotesToProduction reports whether p is a full-promotion proposal (canary to
// production) rather than one setting a canary.
func (p Proposal) promotesToProduction() bool {
	return p.Kind == ProposalPromote && p.Target == TargetProduction
}

// planCanary judges the due check of the canary serving at the tip and decides what follows:
// record a failed check, roll back after rollback.failedChecks of them, step the weight up
// after a passing check, or propose full promotion once the last step or canaryAnalysis.duration
// is reached with every check passing. It also closes a full-promotion proposal whose canary
// no longer serves.
func planCanary(now time.Time, commit string, p *policies.Policy, st *ModelStatus, props []Proposal) []Action {
	name := p.Metadata.Name
	c, weight, serving := servingCanary(p)
	var actions []Action
	if open, ok := findProposal(props, ProposalPromote); ok && open.promotesToProduction() &&
		(!serving || open.Key != fullPromotionKey(c.Version)) {
		actions = append(actions, closeAction(name, commit, open, "the canary it would promote no longer serves"))
	}
	cs := st.Canary
	if !serving || cs == nil || cs.Version != c.Version || cs.Weight != weight || cs.Observation == nil {
		return actions
	}
	check, judged := JudgeCanary(p, *cs.Observation, weight)
	if !judged {
		return actions
	}
	ca := p.Spec.CanaryAnalysis
	window := cs.WindowStart.UTC().Format(time.RFC3339)
	plan := &CanaryPlan{Version: c.Version, URI: c.URI, From: weight, To: weight, Check: check}
	action := func(kind ActionKind, reason string) Action {
		return Action{
			Kind:   kind,
			Model:  name,
			Key:    fmt.Sprintf("%s/%s/%s/w%d/%s", kind, name, c.Version, weight, window),
			Reason: reason,
			Commit: commit,
			Canary: plan,
		}
	}
	if !check.Passed {
		failed := cs.Failed() + 1
		if failed >= ca.Rollback.FailedChecks {
			plan.To = 0
			return append(actions, action(ActionRollback, fmt.Sprintf("canary %s failed %d of %d tolerated checks at %d%%: %s",
				c.Version, failed, ca.Rollback.FailedChecks, weight, check.Findings[0])))
		}
		return append(actions, action(ActionRecordCanaryCheck, fmt.Sprintf("canary %s failed a check at %d%% (%d of %d before rollback): %s",
			c.Version, weight, failed, ca.Rollback.FailedChecks, check.Findings[0])))
	}

	last := ca.Steps[len(ca.Steps)-1]
	clean := cs.Failed() == 0
	if clean && (weight >= last || !now.Before(cs.Started.Add(ca.Duration.Duration))) {
		why := fmt.Sprintf("reached %d%%", weight)
		if weight < last {
			why = fmt.Sprintf("ran %s", ca.Duration.Duration)
		}
		a := action(ActionProposeFullPromotion, fmt.Sprintf("canary %s %s with all %d checks passing", c.Version, why, len(cs.Checks)+1))
		evidence := []Evidence{{Text: fmt.Sprintf("canary %s started %s; %d checks, none failed", c.Version, cs.Started.UTC().Format(time.RFC3339), len(cs.Checks)+1)}}
		for _, f := range check.Findings {
			evidence = append(evidence, Evidence{Text: f})
		}
		a.Proposal = &ProposalPlan{
			Kind:     ProposalPromote,
			Target:   TargetProduction,
			Key:      fullPromotionKey(c.Version),
			Digest:   digestOf(c.Version, c.URI, weight, len(cs.Checks)+1),
			Evidence: evidence,
			Change:   fmt.Sprintf("spec.production %s → %s, spec.canary removed", p.Spec.Production.Version, c.Version),
		}
		// Once proposed, each later passing check refreshes the proposal's body with itself.
		return append(actions, a)
	}
	if i := slices.IndexFunc(ca.Steps, func(s int) bool { return s > weight }); i >= 0 {
		plan.To = ca.Steps[i]
		return append(actions, action(ActionStepCanary, fmt.Sprintf("canary %s passed its check at %d%%; next step %d%%",
			c.Version, weight, plan.To)))
	}
	return append(actions, action(ActionRecordCanaryCheck, fmt.Sprintf("canary %s passed its check at %d%%; %d earlier check(s) failed, so full promotion is left to a person",
		c.Version, weight, cs.Failed())))
}

// DesiredTraffic is the split the tip asks for: the canary's weight when it serves, the rest
// to production.
func DesiredTraffic(p *policies.Policy) (Traffic, bool) {
	if p.Spec.Production == nil {
		return Traffic{}, false
	}
	t := Traffic{Production: p.Spec.Production.Version, ProductionURI: p.Spec.Production.URI}
	if c, w, ok := servingCanary(p); ok {
		t.Canary, t.CanaryURI, t.Weight = c.Version, c.URI, w
	}
	return t, true
}

// planTraffic sets the router's split when it differs from the tip's.
func planTraffic(commit string, p *policies.Policy, served *Traffic) (Action, bool) {
	want, ok := DesiredTraffic(p)
	if !ok || served == nil || *served == want {
		return Action{}, false
	}
	name := p.Metadata.Name
	return Action{
		Kind:    ActionApplyTraffic,
		Model:   name,
		Key:     fmt.Sprintf("%s/%s/%s/%s/%d", ActionApplyTraffic, name, want.Production, want.Canary, want.Weight),
		Reason:  fmt.Sprintf("router serves %s; the tip asks for %s", describeTraffic(*served), describeTraffic(want)),
		Commit:  commit,
		Traffic: &want,
	}, true
}

func describeTraffic(t Traffic) string {
	if t.Production == "" && t.Canary == "" {
		return "nothing"
	}
	if t.Canary == "" || t.Weight == 0 {
		return fmt.Sprintf("%s at 100%%", t.Production)
	}
	return fmt.Sprintf("%s at %d%%, canary %s at %d%%", t.Production, 100-t.Weight, t.Canary, t.Weight)
}

// maxCanaryChecks bounds the checks kept per canary; a canary ends long before.
const maxCanaryChecks = 200

// trackCanary brings the model's canary status in line with the tip: a new canary version
// starts a fresh status, a new weight a fresh step, and a canary gone from the tip is moved
// to LastCanary with how it ended.
func trackCanary(now time.Time, p *policies.Policy, ms *ModelStatus) {
	c, weight, serving := servingCanary(p)
	cs := ms.Canary
	if cs != nil && (!serving || cs.Version != c.Version) {
		ended := *cs
		ended.Observation, ended.Ended = nil, now
		if ended.Outcome == "" {
			ended.Outcome = CanaryRemoved
			if p.Spec.Production != nil && p.Spec.Production.Version == cs.Version {
				ended.Outcome = CanaryPromoted
			}
		}
		ms.LastCanary, ms.Canary, cs = &ended, nil, nil
	}
	if !serving {
		return
	}
	if cs == nil {
		ms.Canary = &CanaryStatus{Version: c.Version, Started: now, Weight: weight, StepStarted: now, WindowStart: now}
		return
	}
	if cs.Weight != weight {
		cs.Weight, cs.StepStarted, cs.WindowStart, cs.Observation = weight, now, now, nil
	}
}

// canaryCheckDue reports whether the open window has run canaryAnalysis.interval.
func canaryCheckDue(now time.Time, p *policies.Policy, cs *CanaryStatus) bool {
	return cs != nil && !now.Before(cs.WindowStart.Add(p.Spec.CanaryAnalysis.Interval.Duration))
}

// recordCanaryCheck appends a judged check and opens the next window where it ended.
func recordCanaryCheck(ms *ModelStatus, plan *CanaryPlan) {
	cs := ms.Canary
	if cs == nil || cs.Version != plan.Version {
		return
	}
	cs.Checks = append(cs.Checks, plan.Check)
	if len(cs.Checks) > maxCanaryChecks {
		cs.Checks = cs.Checks[len(cs.Checks)-maxCanaryChecks:]
	}
	cs.WindowStart, cs.Observation = plan.Check.Until, nil
}

// CanaryReportPath is where the evidence of a canary check lives on the status branch.
func CanaryReportPath(model, version string, t time.Time) string {
	return fmt.Sprintf("reports/%s/canary-%s-%s.json", model, version, t.UTC().Format("20060102T150405Z"))
}
