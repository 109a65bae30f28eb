package reconciler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/medimind/modelops/internal/git"
	"github.com/medimind/modelops/policies"
)

// warnOnce logs err under msg for model when it differs from the last error logged there,
// so a source that stays broken is reported once, not every cycle. It reports whether err
// is non-nil.
func (r *Reconciler) warnOnce(ctx context.Context, msg, model string, err error) bool {
	key := msg + "\x00" + model
	if err == nil {
		delete(r.metricsErr, key)
		return false
	}
	if r.metricsErr[key] != err.Error() {
		r.log.WarnContext(ctx, msg, "model", model, "error", err)
		r.metricsErr[key] = err.Error()
	}
	return true
}

// observeCanary brings the model's canary status in line with the tip and, once a check is
// due, compares the canary with production over the open window.
func (r *Reconciler) observeCanary(ctx context.Context, snap *Snapshot, p *policies.Policy, ms *ModelStatus) {
	trackCanary(snap.Now, p, ms)
	cs := ms.Canary
	if r.canary == nil || !canaryCheckDue(snap.Now, p, cs) {
		return
	}
	obs, err := r.canary.CompareCanary(ctx, p, r.dataFS(snap), cs.WindowStart, snap.Now)
	if r.warnOnce(ctx, "compare canary with production", p.Metadata.Name, err) || obs == nil {
		return
	}
	// While the window waits for labels its figures are compared again every cycle; the
	// stored observation changes only when they do, so waiting writes nothing.
	if old := cs.Observation; old != nil && old.Canary == obs.Canary && old.Production == obs.Production {
		return
	}
	obs.At = snap.Now
	cs.Observation = obs
}

// observeTraffic reads the split the router serves.
func (r *Reconciler) observeTraffic(ctx context.Context, snap *Snapshot, p *policies.Policy) {
	if r.router == nil {
		return
	}
	name := p.Metadata.Name
	t, err := r.router.Get(ctx, name)
	if errors.Is(err, ErrNotRouted) {
		t, err = Traffic{}, nil
	}
	if r.warnOnce(ctx, "read traffic from the router", name, err) {
		return
	}
	snap.Traffic[name] = &t
}

func (r *Reconciler) applyCanary(ctx context.Context, snap *Snapshot, p *policies.Policy, ms *ModelStatus, a Action, files map[string][]byte) (string, *Proposal, error) {
	plan := a.Canary
	if ms.Canary == nil || ms.Canary.Version != plan.Version {
		return "", nil, fmt.Errorf("%s of %s: canary %s is not the one observed", a.Kind, a.Model, plan.Version)
	}
	report, err := json.MarshalIndent(struct {
		Model  string      `json:"model"`
		Action ActionKind  `json:"action"`
		Reason string      `json:"reason"`
		Commit string      `json:"commit"`
		Check  CanaryCheck `json:"check"`
		Checks int         `json:"checks"`
		Failed int         `json:"failed"`
	}{a.Model, a.Kind, a.Reason, a.Commit, plan.Check, len(ms.Canary.Checks) + 1, ms.Canary.Failed() + boolInt(!plan.Check.Passed)}, "", "  ")
	if err != nil {
		return "", nil, err
	}
	path := CanaryReportPath(a.Model, plan.Version, snap.Now)

	var detail string
	var prop *Proposal
	switch a.Kind {
	case ActionRecordCanaryCheck:
		detail = "check recorded"
	case ActionStepCanary, ActionRollback:
		if mode := changeMode(snap.Config, a.Kind); mode == policies.ChangePullRequest {
			if prop, err = r.proposeCanaryEdit(ctx, snap, p, a, path); err != nil {
				return "", nil, err
			}
			detail = fmt.Sprintf("weight %d%% → %d%% proposed in %s (the repository asks for pull requests)", plan.From, plan.To, prop.Where())
			break
		}
		commit, err := r.commitCanaryEdit(ctx, snap, p, a, path)
		if errors.Is(err, policies.ErrConflict) {
			// A person changed the canary since it was judged: their edit wins, and the
			// next cycle plans on it.
			return "not committed: " + err.Error(), nil, nil
		}
		if err != nil {
			return "", nil, err
		}
		detail = fmt.Sprintf("weight %d%% → %d%% committed as %s", plan.From, plan.To, short(commit))
		if a.Kind == ActionRollback {
			ms.Canary.Outcome = CanaryRolledBack
			detail = fmt.Sprintf("canary %s removed in %s", plan.Version, short(commit))
			tags := map[string]string{TagRolledBack: fmt.Sprintf("%s (rollback %s)", a.Reason, commit)}
			if r.tagVersion(ctx, a.Model, registeredName(p), plan.Version, tags) {
				ms.AddRegistryCall(RegistryCall{At: snap.Now, Action: a.Kind, RegisteredModel: registeredName(p), Version: plan.Version, Tags: tags, Commit: commit, Reason: a.Reason})
			}
			r.commentOnIntroduction(ctx, snap, p, a, commit, path)
		}
	case ActionProposeFullPromotion:
		if prop, err = r.proposeFullPromotion(ctx, snap, p, a); err != nil {
			return "", nil, err
		}
		detail = "full promotion proposal " + prop.Where()
	}
	recordCanaryCheck(ms, plan)
	files[path] = report
	return detail + "; evidence " + path, prop, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// commitCanaryEdit commits a step or a rollback to the tracked branch as a compare-and-swap:
// the file must still hold the canary version and weight that were judged.
func (r *Reconciler) commitCanaryEdit(ctx context.Context, snap *Snapshot, p *policies.Policy, a Action, evidence string) (string, error) {
	if r.committer == nil {
		return "", errors.New("no committer for the tracked branch is configured")
	}
	plan := a.Canary
	edit, title := canaryEdit(a)
	subject := "modelops: " + strings.ToLower(title[:1]) + title[1:]
	firstStep := p.Spec.CanaryAnalysis.Steps[0]
	change := func(content []byte) ([]byte, error) {
		c, err := policies.CanaryAsWritten(content, a.Model)
		if err != nil {
			return nil, err
		}
		if c == nil {
			return nil, fmt.Errorf("spec.canary is gone: %w", policies.ErrConflict)
		}
		w := firstStep
		if c.Weight != nil {
			w = *c.Weight
		}
		if c.Version != plan.Version || w != plan.From {
			return nil, fmt.Errorf("spec.canary is %s at %d%%, judged %s at %d%%: %w", c.Version, w, plan.Version, plan.From, policies.ErrConflict)
		}
		return policies.Apply(content, a.Model, edit)
	}
	var msg strings.Builder
	fmt.Fprintf(&msg, "%s\n\n%s.\n", subject, a.Reason)
	for _, f := range plan.Check.Findings {
		fmt.Fprintf(&msg, "\n- %s", f)
	}
	fmt.Fprintf(&msg, "\n\nWindow %s to %s: canary %d labelled predictions, production %d.\n",
		plan.Check.Since.UTC().Format("2006-01-02T15:04Z"), plan.Check.Until.UTC().Format("2006-01-02T15:04Z"),
		plan.Check.Canary.Samples, plan.Check.Production.Samples)
	commit, err := r.committer.CommitEdit(ctx, p.File, change, msg.String(), canaryTrailers(snap, p, a, evidence))
	if err != nil && !errors.Is(err, policies.ErrConflict) {
		return "", &ActionError{Reason: GitOperationFailed, Err: fmt.Errorf("commit %s of %s: %w", a.Kind, a.Model, err)}
	}
	return commit, err
}

// canaryTrailers are the trailers of a canary step or rollback; a rollback's also list the
// model registry calls it leads to (Modelops-Registry).
func canaryTrailers(snap *Snapshot, p *policies.Policy, a Action, evidence string) map[string]string {
	tr := a.trailers(evidence)
	if a.Kind == ActionRollback {
		if calls := rollbackRegistryCalls(snap, p); calls != "" {
			tr[git.TrailerRegistry] = oneLine(calls)
		}
	}
	return tr
}

// rollbackRegistryCalls says which registry calls a rollback of p's canary leads to: those
// PlanRegistry plans for the policy without its canary on what the registry shows now (the
// canary alias deleted; an alias moved by hand set back). They are made once the router
// has taken the canary's traffic back, in the cycle that applies it; the status branch
// records them as made (ModelStatus.RegistryCalls). "" without a registry.
func rollbackRegistryCalls(snap *Snapshot, p *policies.Policy) string {
	obs := snap.Registry[p.Metadata.Name]
	if obs == nil || p.Spec.Registry == nil {
		return ""
	}
	after := *p
	after.Spec.Canary = nil
	var calls []string
	for _, a := range PlanRegistry(snap.Commit, &after, nil, *obs) {
		ap := a.Registry
		switch a.Kind {
		case ActionDeleteAlias:
			calls = append(calls, fmt.Sprintf("delete alias %s of %s (version %s)", ap.Alias, ap.RegisteredModel, ap.Observed))
		case ActionSetAlias:
			calls = append(calls, fmt.Sprintf("set alias %s of %s to version %s", ap.Alias, ap.RegisteredModel, ap.Version))
		}
	}
	if len(calls) == 0 {
		return ""
	}
	return strings.Join(calls, "; ") + ", once the router serves the rollback"
}

// changeMode is how the repository wants a canary action written.
func changeMode(cfg *policies.RepositoryConfig, kind ActionKind) policies.ChangeMode {
	if cfg == nil {
		return policies.ChangeCommit
	}
	if kind == ActionRollback {
		return cfg.Spec.Rollback
	}
	return cfg.Spec.CanarySteps
}

// canaryEdit is the policy edit of a step or rollback.
func canaryEdit(a Action) (policies.Edit, string) {
	plan := a.Canary
	if a.Kind == ActionRollback {
		return policies.RemoveCanary{Version: plan.Version}, fmt.Sprintf("Roll back canary %s of %s", plan.Version, a.Model)
	}
	return policies.SetCanaryWeight{From: plan.From, To: plan.To}, fmt.Sprintf("Step canary %s of %s %d%% → %d%%", plan.Version, a.Model, plan.From, plan.To)
}

// proposeCanaryEdit opens (or updates) the canary proposal of the model with the step or
// rollback, for a person to merge.
func (r *Reconciler) proposeCanaryEdit(ctx context.Context, snap *Snapshot, p *policies.Policy, a Action, evidence string) (*Proposal, error) {
	edit, title := canaryEdit(a)
	plan := a.Canary
	key := fmt.Sprintf("%s-%d", plan.Version, plan.To)
	prop, err := r.proposals.Ensure(ctx, ProposalRequest{
		Model: a.Model, Kind: ProposalCanary, Key: key, Digest: digestOf(key, plan.Check.Until.UTC().Format(time.RFC3339)),
		Title: title, Body: canaryEditBody(a, title, evidence), Base: snap.Commit, File: p.File,
		Edits:    []policies.Edit{edit},
		Trailers: canaryTrailers(snap, p, a, evidence),
	})
	if err != nil {
		return nil, &ActionError{Reason: ProposalFailedReason, Err: fmt.Errorf("propose %s of %s: %w", a.Kind, a.Model, err)}
	}
	snap.setProposal(a.Model, ProposalCanary, &prop)
	return &prop, nil
}

// commentOnIntroduction comments on the proposal whose merge introduced the rolled-back
// canary. The rollback is committed already, so a failure here is logged, not retried.
func (r *Reconciler) commentOnIntroduction(ctx context.Context, snap *Snapshot, p *policies.Policy, a Action, rollback, evidence string) {
	if r.commenter == nil {
		return
	}
	version := a.Canary.Version
	intro, err := r.repo.Introduced(ctx, snap.Commit, p.File, func(content []byte) bool {
		c, err := policies.CanaryAsWritten(content, a.Model)
		return err == nil && c != nil && c.Version == version
	})
	if err == nil {
		text := fmt.Sprintf("modelops rolled back canary `%s` of `%s` in %s.\n\n%s\n\nEvidence: `%s` on the status branch.",
			version, a.Model, short(rollback), a.Reason, evidence)
		err = r.commenter.CommentOnMerge(ctx, intro, text)
	}
	if err != nil && !errors.Is(err, ErrNoProposal) {
		r.log.WarnContext(ctx, "comment on the proposal that introduced the canary", "model", a.Model, "error", err)
	}
}

func (r *Reconciler) proposeFullPromotion(ctx context.Context, snap *Snapshot, p *policies.Policy, a Action) (*Proposal, error) {
	plan, c := a.Proposal, a.Canary
	prop, err := r.proposals.Ensure(ctx, ProposalRequest{
		Model:    a.Model,
		Kind:     ProposalPromote,
		Key:      plan.Key,
		Target:   plan.Target,
		Digest:   plan.Digest,
		Title:    fmt.Sprintf("Promote %s: version %s to production", a.Model, c.Version),
		Body:     fullPromotionBody(a, p),
		Base:     snap.Commit,
		File:     p.File,
		Edits:    []policies.Edit{policies.PromoteCanary{Version: c.Version}},
		Trailers: a.trailers(CanaryReportPath(a.Model, c.Version, snap.Now)),
	})
	if err != nil {
		return nil, &ActionError{Reason: ProposalFailedReason, Err: fmt.Errorf("open full promotion proposal for %s: %w", a.Model, err)}
	}
	snap.setProposal(a.Model, ProposalPromote, &prop)
	return &prop, nil
}

func (r *Reconciler) applyTraffic(ctx context.Context, snap *Snapshot, a Action) (string, error) {
	if r.router == nil {
		return "", errors.New("no traffic router is configured")
	}
	if err := r.router.Set(ctx, a.Model, *a.Traffic); err != nil {
		return "", &ActionError{Reason: RouterFailedReason, Err: fmt.Errorf("set traffic of %s: %w", a.Model, err)}
	}
	// The next pass plans on what the router now serves (the registry's aliases follow it).
	served := *a.Traffic
	snap.Traffic[a.Model] = &served
	return "router serves " + describeTraffic(*a.Traffic), nil
}
