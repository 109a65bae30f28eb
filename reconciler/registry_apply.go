package reconciler

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/medimind/modelops/policies"
)

// ConditionRegistryDrift is True when an alias of the model registry was moved outside git:
// reason AliasSetBack when modelops set it back, AliasMovedOutsideGit when it only reports
// it (spec.registry.enforce false). It turns False once the aliases are where modelops put
// them.
const ConditionRegistryDrift = "RegistryDrift"

// Registry condition reasons.
const (
	AliasSetBackReason         = "AliasSetBack"
	AliasMovedOutsideGitReason = "AliasMovedOutsideGit"
	RegistryInSyncReason       = "RegistryInSync"
	RegistryFailedReason       = "RegistryFailed"
)

// The version tags modelops writes on the registry versions it touches, so the registry
// answers "why is this version here" without git.
const (
	TagCommit     = "modelops.commit"
	TagGeneration = "modelops.generation"
	TagProposal   = "modelops.proposal"
	TagGate       = "modelops.gate"
	TagRolledBack = "modelops.rolled-back"
	// TagModel is the tag a training job puts on the version it registers, with the value of
	// its MODELOPS_MODEL; with TagGeneration (MODELOPS_GENERATION) it finds the version of a
	// job that reported no result.
	TagModel = "modelops.model"
)

// observeRegistry reads the registry for a policy with spec.registry. With a router whose
// split could not be read nothing is observed, so no alias moves on a guess.
func (r *Reconciler) observeRegistry(ctx context.Context, snap *Snapshot, p *policies.Policy, ms *ModelStatus) {
	name := p.Metadata.Name
	if r.registry == nil || p.Spec.Registry == nil || (r.router != nil && snap.Traffic[name] == nil) {
		return
	}
	applied := map[string]string{}
	for alias, v := range ms.RegistryAliases {
		applied[alias] = v
	}
	obs, err := r.registry.ObserveRegistry(ctx, p, applied)
	if r.warnOnce(ctx, "read the model registry", name, err) {
		return
	}
	if cleanupCandidates(p, obs, snap.Now) {
		obs.History = r.historyNamed(ctx, snap, name)
	}
	snap.Registry[name] = &obs
}

// cleanupCandidates reports whether spec.registry.cleanup could remove a version of obs,
// before what git references is known: one beyond the newest keepLast, old enough and
// without an alias. Without one the history is not read.
func cleanupCandidates(p *policies.Policy, obs RegistryObservation, now time.Time) bool {
	c := p.Spec.Registry.Cleanup
	if c == nil {
		return false
	}
	obs.History = map[string]bool{} // obs is a copy
	return len(planRegistryCleanup(now, "", p, obs, nil)) > 0
}

// settleRegistryDrift turns RegistryDrift False at the end of a cycle that found every alias
// where modelops set it, so a set-back stays reported until the cycle after it.
func settleRegistryDrift(snap *Snapshot, p *policies.Policy, actions []ActionResult) {
	name := p.Metadata.Name
	obs := snap.Registry[name]
	ms := snap.Status.Model(name)
	c, ok := findCondition(ms.Conditions, ConditionRegistryDrift)
	if obs == nil || !ok || c.Status != ConditionTrue || aliasesMoved(*obs) {
		return
	}
	for _, a := range actions {
		if a.Action.Model == name && a.Action.Registry != nil && (a.Action.Registry.Drift || a.Action.Kind == ActionReportRegistryDrift) {
			return
		}
	}
	ms.Conditions = setCondition(ms.Conditions, Condition{Type: ConditionRegistryDrift, Status: ConditionFalse, Reason: RegistryInSyncReason,
		Message: "the aliases are where modelops set them", LastTransition: snap.Now})
}

// aliasesMoved reports whether an alias modelops set points elsewhere now.
func aliasesMoved(obs RegistryObservation) bool {
	for alias, v := range obs.Applied {
		if obs.Aliases[alias] != v {
			return true
		}
	}
	return false
}

// applyRegistry carries out a registry action, records what modelops set on the status
// branch and reports an alias moved outside git in the RegistryDrift condition.
func (r *Reconciler) applyRegistry(ctx context.Context, snap *Snapshot, ms *ModelStatus, a Action) (string, error) {
	if r.registry == nil {
		return "", errors.New("no model registry is configured")
	}
	ap := a.Registry
	if a.Kind == ActionAwaitRegistryVersion {
		return a.Reason, nil
	}
	if err := r.registry.ApplyRegistryAction(ctx, a); err != nil {
		what := "alias " + ap.Alias
		if a.Kind == ActionCleanupVersion {
			what = "version " + ap.Version
		}
		return "", &ActionError{Reason: RegistryFailedReason, Err: fmt.Errorf("%s %s of %s: %w", a.Kind, what, ap.RegisteredModel, err)}
	}
	obs := snap.Registry[a.Model]
	call := RegistryCall{At: snap.Now, Action: a.Kind, RegisteredModel: ap.RegisteredModel, Alias: ap.Alias, Version: ap.Version,
		From: ap.Observed, Cleanup: ap.Cleanup, Commit: a.Commit, Reason: a.Reason}
	if a.Kind == ActionDeleteAlias {
		call.Version, call.From = ap.Observed, ""
	}
	if a.Kind != ActionReportRegistryDrift {
		ms.AddRegistryCall(call)
	}
	var detail string
	switch a.Kind {
	case ActionSetAlias:
		if ms.RegistryAliases == nil {
			ms.RegistryAliases = map[string]string{}
		}
		ms.RegistryAliases[ap.Alias] = ap.Version
		if obs != nil {
			obs.Aliases[ap.Alias], obs.Applied[ap.Alias] = ap.Version, ap.Version
		}
		detail = fmt.Sprintf("alias %s of %s → version %s", ap.Alias, ap.RegisteredModel, ap.Version)
		if gen, ok := generationOf(ms, ap.Version); ok {
			r.tagVersion(ctx, a.Model, ap.RegisteredModel, ap.Version, map[string]string{TagGeneration: strconv.FormatInt(gen, 10)})
		}
	case ActionDeleteAlias:
		delete(ms.RegistryAliases, ap.Alias)
		if obs != nil {
			delete(obs.Aliases, ap.Alias)
			delete(obs.Applied, ap.Alias)
		}
		detail = fmt.Sprintf("alias %s of %s deleted (it pointed at version %s)", ap.Alias, ap.RegisteredModel, ap.Observed)
	case ActionCleanupVersion:
		return fmt.Sprintf("version %s of %s cleaned up (%s)", ap.Version, ap.RegisteredModel, ap.Cleanup), nil
	case ActionReportRegistryDrift:
		ms.Conditions = setCondition(ms.Conditions, Condition{Type: ConditionRegistryDrift, Status: ConditionTrue, Reason: AliasMovedOutsideGitReason, Message: a.Reason, LastTransition: snap.Now})
		r.log.WarnContext(ctx, "registry alias moved outside git", "model", a.Model, "alias", ap.Alias, "version", ap.Observed)
		return a.Reason, nil
	}
	if ap.Drift {
		ms.Conditions = setCondition(ms.Conditions, Condition{Type: ConditionRegistryDrift, Status: ConditionTrue, Reason: AliasSetBackReason, Message: a.Reason, LastTransition: snap.Now})
		r.log.WarnContext(ctx, "registry alias moved outside git; set back", "model", a.Model, "alias", ap.Alias, "moved to", ap.Observed, "set back to", ap.Version)
		detail += "; " + a.Reason
	}
	return detail, nil
}

// generationOf is the training generation whose run produced version.
func generationOf(ms *ModelStatus, version string) (int64, bool) {
	for _, run := range ms.Runs {
		if run.Result != nil && run.Result.Version == version {
			return run.Generation, true
		}
	}
	return 0, false
}

// tagVersion writes tags on a version of a policy's registered model when a registry is
// configured, and reports whether it did. The change they describe is done already, so a
// failure is logged, not retried.
func (r *Reconciler) tagVersion(ctx context.Context, model, registered, version string, tags map[string]string) bool {
	if r.registry == nil || registered == "" {
		return false
	}
	if err := r.registry.SetVersionTags(ctx, registered, version, tags); err != nil {
		r.log.WarnContext(ctx, "tag the registry version", "model", model, "version", version, "error", err)
		return false
	}
	return true
}

// registeredName is the registered model of p, empty without spec.registry.
func registeredName(p *policies.Policy) string {
	if p.Spec.Registry == nil {
		return ""
	}
	return p.Spec.Registry.Name
}

// tagJudged tags a judged candidate's version with the gate's verdict and its lineage: the
// generation, the commit that launched its training and the promotion proposal, if any.
func (r *Reconciler) tagJudged(ctx context.Context, p *policies.Policy, ms *ModelStatus, a Action, prop *Proposal) {
	promo := a.Promotion
	if promo == nil {
		return
	}
	v := promo.Verdict
	gate := "failed"
	if v.Passed {
		gate = "passed"
	}
	tags := map[string]string{TagGate: gate + " " + digestOf(verdictEvidence(v))}
	if a.Generation > 0 {
		tags[TagGeneration] = strconv.FormatInt(a.Generation, 10)
		if run, ok := ms.Run(a.Generation); ok && run.Commit != "" {
			tags[TagCommit] = run.Commit
		}
	}
	if prop != nil && prop.URL != "" {
		tags[TagProposal] = prop.URL
	}
	r.tagVersion(ctx, p.Metadata.Name, registeredName(p), promo.Canary.Version, tags)
}

// observeRegisteredCandidates reads the candidates training jobs reported as registry
// versions: a READY version becomes the run's candidate (its URI models:/name/version, the
// figures its run logged), to be judged by the promotion gate; a PENDING_REGISTRATION one
// waits; a version whose registration failed, or that does not exist, fails the run with
// the reason.
func (r *Reconciler) observeRegisteredCandidates(ctx context.Context, p *policies.Policy, ms *ModelStatus) {
	for i := range ms.Runs {
		run := &ms.Runs[i]
		r.findRegisteredResult(ctx, p, run)
		if run.Phase != RunSucceeded || run.Result == nil || !run.Result.Pending() {
			continue
		}
		ref := run.Result.Registry
		if r.registry == nil {
			r.warnOnce(ctx, "read the registered candidate", p.Metadata.Name, fmt.Errorf("training run %s reported %s version %s, but no model registry is configured (mlflow.trackingURI)", run.ID, ref.Name, ref.Version))
			continue
		}
		c, err := r.registry.ReadCandidate(ctx, ref.Name, ref.Version)
		if r.warnOnce(ctx, "read the registered candidate", p.Metadata.Name, err) {
			continue
		}
		err = CheckRegistryVersion(ref.Name, ref.Version, c.State)
		if err == nil {
			var metrics TrainingMetrics
			if metrics, err = CandidateMetrics(c.Metrics); err == nil {
				run.Result.Version, run.Result.URI, run.Result.Metrics = ref.Version, fmt.Sprintf("models:/%s/%s", ref.Name, ref.Version), metrics
				continue
			}
			err = fmt.Errorf("%s version %s: %w", ref.Name, ref.Version, err)
		}
		if !errors.Is(err, ErrRegistryPending) {
			run.Phase, run.Message = RunFailed, err.Error()
		}
	}
}

// findRegisteredResult looks, once, for the version a training job registered but did not
// report (its run failed with NoResult): the newest version of spec.registry.name tagged
// modelops.model and modelops.generation with the run's model and generation becomes the
// run's result, a registry reference read like one the job wrote. Found nothing, the run
// stays failed, and says so. Only the tip generation's run is looked for: a newer one
// supersedes it.
func (r *Reconciler) findRegisteredResult(ctx context.Context, p *policies.Policy, run *TrainingRun) {
	name, registered := p.Metadata.Name, registeredName(p)
	if run.Phase != RunFailed || !run.NoResult || registered == "" || r.registry == nil ||
		p.Spec.Retrain == nil || p.Spec.Retrain.Generation != run.Generation {
		return
	}
	version, err := r.registry.FindRegistered(ctx, registered, name, run.Generation)
	if r.warnOnce(ctx, "look for the version the training job registered", name, err) {
		return // looked for again next cycle
	}
	run.NoResult = false
	filter := fmt.Sprintf("%s=%s and %s=%d", TagModel, name, TagGeneration, run.Generation)
	if version == "" {
		run.Message += fmt.Sprintf("; no version of %s in the model registry is tagged %s either", registered, filter)
		return
	}
	run.Phase, run.FailureReported = RunSucceeded, false
	run.Message = fmt.Sprintf("the job wrote no result; version %s of %s, tagged %s, is its candidate", version, registered, filter)
	run.Result = &RunResult{Registry: &RegistryRef{Name: registered, Version: version}}
}

// CandidateMetrics takes a candidate's figures from the metrics its run logged in the
// registry (auc, precision, recall, coverage, samples, latencyMs), checked as a job's inline
// result is.
func CandidateMetrics(m map[string]float64) (TrainingMetrics, error) {
	var out TrainingMetrics
	fraction := func(key string) (*float64, error) {
		v, ok := m[key]
		if !ok {
			return nil, nil
		}
		if v < 0 || v > 1 || v != v {
			return nil, fmt.Errorf("its run's metric %s must be between 0 and 1, got %g", key, v)
		}
		return &v, nil
	}
	var err error
	for key, dst := range map[string]**float64{"auc": &out.AUC, "precision": &out.Precision, "recall": &out.Recall, "coverage": &out.Coverage} {
		if *dst, err = fraction(key); err != nil {
			return out, err
		}
	}
	if v, ok := m["samples"]; ok {
		if v < 0 || v != float64(int64(v)) {
			return out, fmt.Errorf("its run's metric samples must be a count, got %g", v)
		}
		out.Samples = int64(v)
	}
	if v, ok := m["latencyMs"]; ok {
		if v < 0 {
			return out, fmt.Errorf("its run's metric latencyMs must not be negative, got %g", v)
		}
		out.LatencyMs = &v
	}
	return out, nil
}
