package reconciler

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/medimind/modelops/policies"
)

// apply carries out one action and returns what it did in words.
func (r *Reconciler) apply(ctx context.Context, snap *Snapshot, a Action, files map[string][]byte) (string, error) {
	p := findPolicy(snap.Policies, a.Model)
	if p == nil {
		return "", fmt.Errorf("no valid policy for model %s", a.Model)
	}
	ms := snap.Status.Model(a.Model)
	switch a.Kind {
	case ActionCheckDrift:
		return r.applyDrift(ctx, snap, p, ms, files)
	case ActionProposeRetrain:
		return r.applyProposeRetrain(ctx, snap, p, a)
	case ActionCloseProposal:
		if err := r.proposals.Close(ctx, a.Model, a.ProposalKind, a.Reason); err != nil {
			return "", &ActionError{Reason: ProposalFailedReason, Err: fmt.Errorf("close %s proposal of %s: %w", a.ProposalKind, a.Model, err)}
		}
		snap.setProposal(a.Model, a.ProposalKind, nil)
		return "closed the " + string(a.ProposalKind) + " proposal", nil
	case ActionLaunchTraining:
		return r.applyLaunch(ctx, snap, p, ms, a)
	case ActionProposePromotion:
		return r.applyProposePromotion(ctx, snap, p, ms, a)
	case ActionRecordVerdict:
		if err := recordVerdict(ms, a); err != nil {
			return "", err
		}
		detail := VerdictSummary(a.Promotion.Verdict) + "; verdict recorded on run " + a.Promotion.RunID
		if note := a.Promotion.Verdict.Note; note != "" {
			detail += "; " + note
		}
		r.reportVerdict(ctx, ms, a)
		return detail, nil
	case ActionRecordCanaryCheck, ActionStepCanary, ActionRollback, ActionProposeFullPromotion:
		return r.applyCanary(ctx, snap, p, ms, a, files)
	case ActionApplyTraffic:
		return r.applyTraffic(ctx, a)
	case ActionCancelTraining:
		if r.runner == nil {
			return "", errors.New("no training runner is configured")
		}
		if err := r.runner.Cancel(ctx, a.Model, a.Generation); err != nil {
			return "", &ActionError{Reason: RunnerFailedReason, Err: fmt.Errorf("cancel run %s generation %d: %w", a.Model, a.Generation, err)}
		}
		if run, ok := ms.Run(a.Generation); ok && !run.Phase.Finished() {
			run.Phase, run.Finished, run.Message = RunCancelled, snap.Now, a.Reason
		}
		return fmt.Sprintf("cancelled generation %d", a.Generation), nil
	default:
		return "", fmt.Errorf("unknown action kind %q", a.Kind)
	}
}

func (r *Reconciler) applyDrift(ctx context.Context, snap *Snapshot, p *policies.Policy, ms *ModelStatus, files map[string][]byte) (string, error) {
	_, detail, err := r.checkDrift(ctx, snap, p, ms, files)
	return detail, err
}

// checkDrift runs p's drift check, records it in ms with the full report in files, and
// reports it on the tip.
func (r *Reconciler) checkDrift(ctx context.Context, snap *Snapshot, p *policies.Policy, ms *ModelStatus, files map[string][]byte) (DriftResult, string, error) {
	if r.drift == nil {
		return DriftResult{}, "", errors.New("no drift checker is configured")
	}
	res, err := r.drift.Check(ctx, p, r.dataFS(snap))
	if err != nil {
		return DriftResult{}, "", &ActionError{Reason: DriftCheckFailedReason, Err: fmt.Errorf("check drift of %s: %w", p.Metadata.Name, err)}
	}
	path := DriftReportPath(p.Metadata.Name, snap.Now)
	files[path] = res.Report
	ms.AddDrift(DriftRecord{
		At: snap.Now, Commit: snap.Commit, Drifted: res.Drifted, Share: res.Share,
		DriftedColumns: res.DriftedColumns, Columns: res.Columns, Report: path,
	})
	verdict := "no dataset drift"
	if res.Drifted {
		verdict = "dataset drift"
	}
	title := fmt.Sprintf("%s: %d of %d columns drifted (share %.2f)", verdict, res.DriftedColumns, res.Columns, res.Share)
	md := res.Markdown
	if md != "" {
		md += fmt.Sprintf("\n\nFull report: `%s` on the `modelops/status` branch.\n", path)
	}
	r.lastDrift[p.Metadata.Name] = md
	r.report(ctx, CheckReport{
		Name: DriftCheckName(p.Metadata.Name), Commit: snap.Commit, Status: CheckCompleted,
		Conclusion: driftConclusion(p, res), Title: title, Summary: md, Annotations: driftAnnotations(p, res),
	})
	return res, fmt.Sprintf("%s; report %s", title, path), nil
}

// DriftCheckName is the name of a model's drift check run on the tracked branch.
func DriftCheckName(model string) string { return "modelops/drift: " + model }

// TrainingCheckName is the name of the check a training run reports on its commit.
func TrainingCheckName(model string) string { return "modelops/training: " + model }

// driftConclusion is success without drift; with drift, failure when the policy retrains on
// drift (the report counts towards a retrain), neutral when it only watches.
func driftConclusion(p *policies.Policy, res DriftResult) CheckConclusion {
	switch {
	case !res.Drifted:
		return CheckSuccess
	case p.Spec.Retrain != nil && p.Spec.Retrain.OnDrift != nil && !p.Spec.Retrain.OnDrift.Disabled:
		return CheckFailure
	default:
		return CheckNeutral
	}
}

// driftAnnotations point at the policy lines a drifted check concerns: the data compared
// and the thresholds that judged it.
func driftAnnotations(p *policies.Policy, res DriftResult) []Annotation {
	if !res.Drifted {
		return nil
	}
	level := "warning"
	if driftConclusion(p, res) == CheckFailure {
		level = "failure"
	}
	var out []Annotation
	for _, f := range []struct{ field, msg string }{
		{"spec.data.current", fmt.Sprintf("%d of %d columns of the current data drifted from the reference (share %.2f)", res.DriftedColumns, res.Columns, res.Share)},
		{"spec.drift", fmt.Sprintf("the dataset drifts when at least %.2f of the columns drift", derefFloat(p.Spec.Drift.DatasetShare))},
		{"spec.retrain.onDrift", "drifted reports count towards a retrain proposal"},
	} {
		if line, _ := p.Position(f.field); line > 0 {
			out = append(out, Annotation{Path: p.File, StartLine: line, EndLine: line, Level: level, Message: f.msg})
		}
	}
	return out
}

// report publishes a check when a reporter is configured. The status branch is the record;
// a report that fails is logged, and the next report of the same check replaces it.
func (r *Reconciler) report(ctx context.Context, c CheckReport) {
	if r.reporter == nil || c.Commit == "" {
		return
	}
	if err := r.reporter.Report(ctx, c); err != nil {
		r.log.WarnContext(ctx, "report check", "check", c.Name, "commit", short(c.Commit), "error", err)
	}
}

// PromotionCheckName is the name of the check the promotion gate's verdict is reported as.
func PromotionCheckName(model string) string { return "modelops/promotion: " + model }

// reportVerdict publishes the promotion gate's verdict on the commit that launched the run.
func (r *Reconciler) reportVerdict(ctx context.Context, ms *ModelStatus, a Action) {
	run, ok := ms.Run(a.Generation)
	if !ok {
		return
	}
	v := a.Promotion.Verdict
	c := CheckReport{Name: PromotionCheckName(a.Model), Commit: run.Commit, Status: CheckCompleted, Conclusion: CheckSuccess,
		Title:   fmt.Sprintf("candidate %s passed the promotion gate", v.Version),
		Summary: PromotionTable(v)}
	if !v.Passed {
		c.Conclusion, c.Title = CheckFailure, fmt.Sprintf("candidate %s did not pass: %s", v.Version, strings.Join(v.Failed(), ", "))
	}
	if v.Note != "" {
		c.Summary += "\n" + v.Note + "\n"
	}
	r.report(ctx, c)
}

// reportRun publishes a training run's progress on the commit that launched it.
func (r *Reconciler) reportRun(ctx context.Context, model string, run TrainingRun) {
	c := CheckReport{Name: TrainingCheckName(model), Commit: run.Commit, Title: fmt.Sprintf("generation %d: %s", run.Generation, run.Phase), Summary: run.Message}
	switch run.Phase {
	case RunPending:
		c.Status = CheckQueued
	case RunRunning:
		c.Status = CheckInProgress
	default:
		c.Status, c.Conclusion = CheckCompleted, CheckFailure
		switch run.Phase {
		case RunSucceeded:
			c.Conclusion = CheckSuccess
			if res := run.Result; res != nil {
				c.Summary = fmt.Sprintf("Candidate %s (%s).", res.Version, res.URI)
			}
		case RunCancelled, RunUnknown:
			c.Conclusion = CheckNeutral
		}
	}
	r.report(ctx, c)
}

// DriftReportPath is where the full drift report of model at time t lives on the status branch.
func DriftReportPath(model string, t time.Time) string {
	return fmt.Sprintf("reports/%s/drift-%s.json", model, t.UTC().Format("20060102T150405Z"))
}

func (r *Reconciler) applyProposeRetrain(ctx context.Context, snap *Snapshot, p *policies.Policy, a Action) (string, error) {
	plan := a.Proposal
	from := a.Generation - 1
	body := RetrainBody(a, p)
	if md := r.lastDrift[a.Model]; md != "" && plan.Trigger == TriggerDrift {
		body += "\n### Latest drift report\n\n" + md
	}
	req := ProposalRequest{
		Model:  a.Model,
		Kind:   ProposalRetrain,
		Key:    plan.Key,
		Digest: plan.Digest,
		Title:  fmt.Sprintf("Retrain %s: generation %d → %d (%s)", a.Model, from, a.Generation, plan.Trigger),
		Body:   body,
		Base:   snap.Commit,
		File:   p.File,
		Edits:  []policies.Edit{policies.SetRetrainGeneration{From: from, To: a.Generation}},
		Trailers: map[string]string{
			"Modelops-Action":   string(ActionProposeRetrain),
			"Modelops-Model":    a.Model,
			"Modelops-Reason":   oneLine(a.Reason),
			"Modelops-Evidence": evidenceRef(plan.Evidence),
		},
	}
	prop, err := r.proposals.Ensure(ctx, req)
	if err != nil {
		return "", &ActionError{Reason: ProposalFailedReason, Err: fmt.Errorf("open retrain proposal for %s: %w", a.Model, err)}
	}
	snap.setProposal(a.Model, ProposalRetrain, &prop)
	return "retrain proposal " + prop.Where(), nil
}

func (r *Reconciler) applyLaunch(ctx context.Context, snap *Snapshot, p *policies.Policy, ms *ModelStatus, a Action) (string, error) {
	if r.runner == nil {
		return "", errors.New("no training runner is configured")
	}
	job, pipeline := p.Spec.Retrain.Job, p.Spec.Retrain.Pipeline
	if job == nil && pipeline == nil {
		return "", &ActionError{Reason: TrainingFailedReason, Err: fmt.Errorf("model %s has no spec.retrain.job to run", a.Model)}
	}
	if job == nil {
		job = &policies.JobSpec{}
	}
	// The run is recorded against the commit that raised the generation (the merge of the
	// retrain proposal), which may be older than the tip it was planned on.
	commit, err := r.repo.Introduced(ctx, a.Commit, p.File, func(content []byte) bool {
		return generationIn(p.File, content, a.Model) == a.Generation
	})
	if err != nil {
		return "", &ActionError{Reason: GitOperationFailed, Err: fmt.Errorf("find the commit that raised %s to generation %d: %w", a.Model, a.Generation, err)}
	}
	req := JobRequest{Model: a.Model, Generation: a.Generation, Commit: commit, PolicyFile: p.File, Job: *job, Pipeline: pipeline}
	if snap.Config != nil {
		req.ServiceAccounts = snap.Config.Spec.Kubernetes.ServiceAccounts
		req.Kubeflow = snap.Config.Spec.Kubeflow
	}
	run, err := r.runner.Start(ctx, req)
	if err != nil {
		return "", &ActionError{Reason: RunnerFailedReason, Err: fmt.Errorf("launch training of %s generation %d: %w", a.Model, a.Generation, err)}
	}
	recordLaunch(ms, run)
	r.reportRun(ctx, a.Model, run)
	return fmt.Sprintf("training run %s (%s)", run.ID, run.Phase), nil
}

func (r *Reconciler) applyProposePromotion(ctx context.Context, snap *Snapshot, p *policies.Policy, ms *ModelStatus, a Action) (string, error) {
	plan, promo := a.Proposal, a.Promotion
	// The edit is a compare-and-swap on spec.canary as the file spells it: the policy in
	// memory has its defaults applied (a canary weight left out reads as the first step).
	expect, err := canaryInFile(snap.Tree, p.File, a.Model)
	if err != nil {
		return "", &ActionError{Reason: ProposalFailedReason, Err: err}
	}
	req := ProposalRequest{
		Model:  a.Model,
		Kind:   ProposalPromote,
		Key:    plan.Key,
		Digest: plan.Digest,
		Title:  fmt.Sprintf("Promote %s: version %s as canary at %d%%", a.Model, promo.Canary.Version, derefInt(promo.Canary.Weight)),
		Body:   PromotionBody(a, p),
		Base:   snap.Commit,
		File:   p.File,
		Edits:  []policies.Edit{policies.SetCanary{Expect: expect, Canary: promo.Canary}},
		Trailers: map[string]string{
			"Modelops-Action":   string(ActionProposePromotion),
			"Modelops-Model":    a.Model,
			"Modelops-Reason":   oneLine(a.Reason),
			"Modelops-Evidence": evidenceRef(plan.Evidence),
		},
	}
	prop, err := r.proposals.Ensure(ctx, req)
	if err != nil {
		return "", &ActionError{Reason: ProposalFailedReason, Err: fmt.Errorf("open promotion proposal for %s: %w", a.Model, err)}
	}
	snap.setProposal(a.Model, ProposalPromote, &prop)
	if err := recordVerdict(ms, a); err != nil {
		return "", err
	}
	r.reportVerdict(ctx, ms, a)
	return "promotion proposal " + prop.Where(), nil
}

// recordVerdict stores the action's verdict on the run it judged, so the run is not judged
// again.
func recordVerdict(ms *ModelStatus, a Action) error {
	if strings.HasPrefix(a.Promotion.RunID, registeredRun) {
		return nil // a registered candidate's verdict is kept with the candidate
	}
	run, ok := ms.Run(a.Generation)
	if !ok {
		return fmt.Errorf("record promotion verdict of %s: no run of generation %d", a.Model, a.Generation)
	}
	v := a.Promotion.Verdict
	run.Promotion = &v
	return nil
}

// canaryInFile reads spec.canary of model's document in file as written, without defaults;
// nil when the document has no canary.
func canaryInFile(tree fs.FS, file, model string) (*policies.Canary, error) {
	data, err := fs.ReadFile(tree, file)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	c, err := policies.CanaryAsWritten(data, model)
	if err != nil {
		return nil, fmt.Errorf("read spec.canary of %s in %s: %w", model, file, err)
	}
	return c, nil
}

// setProposal records in the snapshot that the open proposal of (model, kind) is now p, or
// none when p is nil, so a later pass of the same cycle plans on what was done.
func (s *Snapshot) setProposal(model string, kind ProposalKind, p *Proposal) {
	kept := s.Proposals[:0:0]
	for _, q := range s.Proposals {
		if q.Model != model || q.Kind != kind || q.State != ProposalOpen {
			kept = append(kept, q)
		}
	}
	if p != nil {
		kept = append(kept, *p)
	}
	s.Proposals = kept
}

// generationIn reads model's retrain generation from a policy file's content; -1 when the
// file does not hold a valid policy of model with a retrain block.
func generationIn(file string, content []byte, model string) int64 {
	ps, _ := policies.Parse(file, content)
	for _, p := range ps {
		if p.Metadata.Name == model && p.Spec.Retrain != nil {
			return p.Spec.Retrain.Generation
		}
	}
	return -1
}

// scheduleIn reads model's retrain schedule from a policy file's content; "" when there is
// none or the file does not hold a valid policy of model.
func scheduleIn(file string, content []byte, model string) string {
	ps, _ := policies.Parse(file, content)
	for _, p := range ps {
		if p.Metadata.Name == model && p.Spec.Retrain != nil && p.Spec.Retrain.Schedule != nil {
			return *p.Spec.Retrain.Schedule
		}
	}
	return ""
}

func findPolicy(set *policies.Set, name string) *policies.Policy {
	for _, p := range set.Policies {
		if p.Metadata.Name == name {
			return p
		}
	}
	return nil
}

// ProposalMarker is the hidden line that identifies a proposal's (model, kind, key, digest)
// in its body, so a forge can find the proposal again without any other store.
func ProposalMarker(model string, kind ProposalKind, key, digest string) string {
	return fmt.Sprintf("<!-- modelops:proposal model=%s kind=%s key=%s digest=%s -->", model, kind, key, digest)
}

// RetrainBody renders the body of a retrain proposal.
func RetrainBody(a Action, p *policies.Policy) string {
	plan := a.Proposal
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", ProposalMarker(a.Model, plan.Kind, plan.Key, plan.Digest))
	fmt.Fprintf(&b, "## Retrain `%s`\n\n", a.Model)
	fmt.Fprintf(&b, "modelops proposes training generation **%d** of `%s` because the **%s** trigger holds.\n\n", a.Generation, a.Model, plan.Trigger)
	fmt.Fprintf(&b, "Merging this change raises `spec.retrain.generation` in `%s` (%s); the reconciler then launches the training job once.\n\n", p.File, plan.Change)
	b.WriteString("### Evidence\n\n")
	for _, e := range plan.Evidence {
		fmt.Fprintf(&b, "- %s\n", e)
	}
	if job := p.Spec.Retrain.Job; job != nil {
		b.WriteString("\n### Training job\n\n")
		fmt.Fprintf(&b, "| image | command | GPUs | timeout |\n|---|---|---|---|\n| `%s` | `%s` | %d | %s |\n",
			job.Image, strings.Join(job.Command, " "), derefInt(job.GPUs), job.Timeout.Duration)
	}
	if pl := p.Spec.Retrain.Pipeline; pl != nil {
		b.WriteString("\n### Training pipeline (Kubeflow Pipelines)\n\n")
		fmt.Fprintf(&b, "| pipeline | version | timeout |\n|---|---|---|\n| `%s` | `%s` | %s |\n", pl.PipelineID, pl.VersionID, pl.Timeout.Duration)
	}
	fmt.Fprintf(&b, "\nPlanned on commit `%s`. Close this proposal to decline it: modelops does not propose generation %d again unless someone asks for it (`modelops retrain %s --reason ...`).\n", short(a.Commit), a.Generation, a.Model)
	return b.String()
}

// PromotionBody renders the body of a promotion proposal: the marker, the change and the
// evaluation table of candidate against production.
func PromotionBody(a Action, p *policies.Policy) string {
	plan, promo := a.Proposal, a.Promotion
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", ProposalMarker(a.Model, plan.Kind, plan.Key, plan.Digest))
	fmt.Fprintf(&b, "## Promote `%s` version `%s` to canary\n\n", a.Model, promo.Canary.Version)
	if strings.HasPrefix(promo.RunID, registeredRun) {
		fmt.Fprintf(&b, "The candidate `%s`, registered through the API (%s), passed the promotion gate.\n\n", promo.Canary.Version, plan.Evidence[0])
	} else {
		fmt.Fprintf(&b, "The candidate of training generation **%d** (run `%s`) passed the promotion gate.\n\n", a.Generation, promo.RunID)
	}
	fmt.Fprintf(&b, "Merging this change sets `spec.canary` in `%s` (%s, uri `%s`); canary analysis then steps its traffic through %s.\n\n",
		p.File, plan.Change, promo.Canary.URI, stepsText(p.Spec.CanaryAnalysis.Steps))
	b.WriteString("### Evaluation\n\n")
	b.WriteString(PromotionTable(promo.Verdict))
	fmt.Fprintf(&b, "\nJudged at %s. Planned on commit `%s`. Close this proposal to decline it: modelops does not propose version %s again.\n",
		describeTime(promo.Verdict.JudgedAt), short(a.Commit), promo.Canary.Version)
	return b.String()
}

func stepsText(steps []int) string {
	var parts []string
	for _, s := range steps {
		parts = append(parts, fmt.Sprintf("%d%%", s))
	}
	return strings.Join(parts, " → ")
}

func derefFloat(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

func derefInt(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// evidenceRef picks the report paths out of the evidence for the commit trailer.
func evidenceRef(evidence []string) string {
	var refs []string
	for _, e := range evidence {
		if i := strings.Index(e, "report "); i >= 0 {
			refs = append(refs, strings.TrimSpace(e[i+len("report "):]))
		}
	}
	if len(refs) == 0 && len(evidence) > 0 {
		return oneLine(evidence[0])
	}
	return strings.Join(refs, ", ")
}
