package reconciler

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"
	"unicode/utf8"

	"k8s.io/utils/ptr"

	"github.com/medimind/modelops/internal/datafs"
	"github.com/medimind/modelops/internal/git"
	"github.com/medimind/modelops/policies"
)

// apply carries out one action and returns what it did in words, with the proposal it
// opened or updated (nil for none).
func (r *Reconciler) apply(ctx context.Context, snap *Snapshot, a Action, files map[string][]byte) (string, *Proposal, error) {
	p := snap.Policies.Get(a.Model)
	if p == nil {
		return "", nil, fmt.Errorf("no valid policy for model %s", a.Model)
	}
	ms := snap.Status.Model(a.Model)
	switch a.Kind {
	case ActionProposeRetrain:
		return r.applyProposeRetrain(ctx, snap, p, ms, a, files)
	case ActionProposePromotion:
		detail, prop, err := r.applyProposePromotion(ctx, snap, p, ms, a)
		if err == nil {
			r.tagJudged(ctx, p, ms, a, prop)
		}
		return detail, prop, err
	case ActionRecordCanaryCheck, ActionStepCanary, ActionRollback, ActionProposeFullPromotion:
		return r.applyCanary(ctx, snap, p, ms, a, files)
	}
	detail, err := r.applyOther(ctx, snap, p, ms, a, files)
	return detail, nil, err
}

// applyOther carries out the actions that open no proposal.
func (r *Reconciler) applyOther(ctx context.Context, snap *Snapshot, p *policies.Policy, ms *ModelStatus, a Action, files map[string][]byte) (string, error) {
	switch a.Kind {
	case ActionCheckDrift:
		_, detail, err := r.checkDrift(ctx, snap, p, ms, files)
		return detail, err
	case ActionCloseProposal:
		if err := r.proposals.Close(ctx, a.Model, a.ProposalKind, a.Reason); err != nil {
			return "", &ActionError{Reason: ProposalFailedReason, Err: fmt.Errorf("close %s proposal of %s: %w", a.ProposalKind, a.Model, err)}
		}
		snap.setProposal(a.Model, a.ProposalKind, nil)
		return "closed the " + string(a.ProposalKind) + " proposal", nil
	case ActionLaunchTraining:
		return r.applyLaunch(ctx, snap, p, ms, a)
	case ActionRecordVerdict:
		if err := recordVerdict(ms, a); err != nil {
			return "", err
		}
		detail := VerdictSummary(a.Promotion.Verdict) + "; verdict recorded on run " + a.Promotion.RunID
		if note := a.Promotion.Verdict.Note; note != "" {
			detail += "; " + note
		}
		r.reportVerdict(ctx, ms, a)
		r.tagJudged(ctx, p, ms, a, nil)
		return detail, nil
	case ActionHoldRetrain:
		return recordHold(ms, a, snap.Now), nil
	case ActionApplyTraffic:
		return r.applyTraffic(ctx, snap, a)
	case ActionSetAlias, ActionDeleteAlias, ActionReportRegistryDrift, ActionAwaitRegistryVersion, ActionCleanupVersion:
		return r.applyRegistry(ctx, snap, ms, a)
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

// checkDrift runs p's drift check, records it in ms with the full report in files, and
// reports it on the tip.
func (r *Reconciler) checkDrift(ctx context.Context, snap *Snapshot, p *policies.Policy, ms *ModelStatus, files map[string][]byte) (DriftResult, string, error) {
	if r.drift == nil {
		return DriftResult{}, "", errors.New("no drift checker is configured")
	}
	res, err := r.drift.Check(ctx, p, r.dataFS(snap), snap.Now)
	if err != nil {
		return DriftResult{}, "", &ActionError{Reason: DriftCheckFailedReason, Err: fmt.Errorf("check drift of %s: %w", p.Metadata.Name, err)}
	}
	path := DriftReportPath(p.Metadata.Name, snap.Now)
	files[path] = res.Report
	if res.Markdown != "" {
		files[driftMarkdownPath(path)] = []byte(res.Markdown)
	}
	recordDrift(p, ms, DriftRecord{
		At: snap.Now, Commit: snap.Commit, Drifted: res.Drifted, Share: res.Share,
		DriftedColumns: res.DriftedColumns, Columns: res.Columns, Report: path,
		QualityFindings: res.QualityFindings, SuspectBatches: res.SuspectBatches, BatchColumn: res.BatchColumn,
		InsufficientData: res.InsufficientData,
	})
	verdict := "no dataset drift"
	if res.Drifted {
		verdict = "dataset drift"
	}
	title := fmt.Sprintf("%s: %d of %d columns drifted (share %.2f)", verdict, res.DriftedColumns, res.Columns, res.Share)
	title += omicsTitle(res)
	if res.InsufficientData {
		title = "insufficient data: a window of the log holds fewer rows than its minRows; neither drift nor failure"
	}
	r.report(ctx, CheckReport{
		Name: DriftCheckName(p.Metadata.Name), Commit: snap.Commit, Status: CheckCompleted,
		Conclusion: driftConclusion(p, res), Title: title, Summary: withReportLink(res.Markdown, path),
		DetailsURL: path, Annotations: driftAnnotations(p, res),
	})
	return res, fmt.Sprintf("%s; report %s", title, path), nil
}

// driftMarkdownPath is where the Markdown of the drift report at path is kept on the status
// branch, so that a proposal written by any process, however long it has run, quotes the
// same report. It lives apart from reports/, which holds only the JSON reports.
func driftMarkdownPath(report string) string {
	return "markdown/" + strings.TrimSuffix(report, ".json") + ".md"
}

// withReportLink ends a drift report's Markdown with where its full report is.
func withReportLink(md, path string) string {
	if md == "" {
		return ""
	}
	return md + fmt.Sprintf("\n\nFull report: `%s` on the `modelops/status` branch.\n", path)
}

// latestDriftMarkdown reads the Markdown of ms's latest drift report: from files when this
// cycle made it, else from the status branch. It is "" when the report has none (a checker
// that renders none, or a report older than the Markdown kept beside it).
func (r *Reconciler) latestDriftMarkdown(ctx context.Context, ms *ModelStatus, files map[string][]byte) string {
	last, ok := ms.LastDrift()
	if !ok || last.Report == "" {
		return ""
	}
	path := driftMarkdownPath(last.Report)
	md, ok := files[path]
	if !ok {
		var err error
		if md, err = r.status.ReadFile(ctx, path); err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				r.log.WarnContext(ctx, "read the latest drift report", "model", ms.Model, "path", path, "error", err)
			}
			return ""
		}
	}
	return withReportLink(string(md), last.Report)
}

// DriftCheckName is the name of a model's drift check run on the tracked branch.
func DriftCheckName(model string) string { return "modelops/drift: " + model }

// TrainingCheckName is the name of the check a training run reports on its commit.
func TrainingCheckName(model string) string { return "modelops/training: " + model }

// driftConclusion is success without drift; with drift, failure when the policy retrains on
// drift (the report counts towards a retrain), neutral when it only watches. Insufficient
// data is neutral: neither drift nor failure.
func driftConclusion(p *policies.Policy, res DriftResult) CheckConclusion {
	switch {
	case res.InsufficientData:
		return CheckNeutral
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
		{"spec.drift", fmt.Sprintf("the dataset drifts when at least %.2f of the columns drift", ptr.Deref(p.Spec.Drift.DatasetShare, 0))},
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
		Summary: promotionTable(v)}
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

// driftReportTimeLayout stamps a drift report's file name with its time.
const driftReportTimeLayout = "20060102T150405Z"

// DriftReportPath is where the full drift report of model at time t lives on the status branch.
func DriftReportPath(model string, t time.Time) string {
	return DriftReportsDir(model) + "/drift-" + t.UTC().Format(driftReportTimeLayout) + ".json"
}

// DriftReportsDir is the directory of the status branch holding model's reports.
func DriftReportsDir(model string) string { return "reports/" + model }

// DriftReportTime is the time of the drift report whose file is named name (the base of a
// DriftReportPath); ok is false for any other file (a canary report).
func DriftReportTime(name string) (t time.Time, ok bool) {
	stamp, found := strings.CutPrefix(name, "drift-")
	if !found {
		return time.Time{}, false
	}
	if stamp, found = strings.CutSuffix(stamp, ".json"); !found {
		return time.Time{}, false
	}
	t, err := time.Parse(driftReportTimeLayout, stamp)
	return t, err == nil
}

func (r *Reconciler) applyProposeRetrain(ctx context.Context, snap *Snapshot, p *policies.Policy, ms *ModelStatus, a Action, files map[string][]byte) (string, *Proposal, error) {
	plan := a.Proposal
	from := a.Generation - 1
	var drift string
	if plan.Trigger == TriggerDrift {
		drift = r.latestDriftMarkdown(ctx, ms, files)
	}
	prop, err := r.proposals.Ensure(ctx, ProposalRequest{
		Model:    a.Model,
		Kind:     ProposalRetrain,
		Key:      plan.Key,
		Digest:   plan.Digest,
		Title:    fmt.Sprintf("Retrain %s: generation %d → %d (%s)", a.Model, from, a.Generation, plan.Trigger),
		Body:     retrainBody(a, p, drift),
		Base:     snap.Commit,
		File:     p.File,
		Edits:    []policies.Edit{policies.SetRetrainGeneration{From: from, To: a.Generation}},
		Trailers: a.trailers(evidenceRef(plan.Evidence)),
	})
	if err != nil {
		return "", nil, &ActionError{Reason: ProposalFailedReason, Err: fmt.Errorf("open retrain proposal for %s: %w", a.Model, err)}
	}
	snap.setProposal(a.Model, ProposalRetrain, &prop)
	return "retrain proposal " + prop.Where(), &prop, nil
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
	if reg := p.Spec.Registry; reg != nil {
		req.RegisteredModel = reg.Name
	}
	if pipeline != nil && pipeline.Spec != "" {
		if req.PipelineIR, err = r.readAt(ctx, commit, pipeline.Spec); err != nil {
			return "", &ActionError{Reason: TrainingFailedReason, Err: fmt.Errorf("%s: spec.retrain.pipeline.spec: %w", p.File, err)}
		}
	}
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

func (r *Reconciler) applyProposePromotion(ctx context.Context, snap *Snapshot, p *policies.Policy, ms *ModelStatus, a Action) (string, *Proposal, error) {
	plan, promo := a.Proposal, a.Promotion
	// The edit is a compare-and-swap on spec.canary as the file spells it: the policy in
	// memory has its defaults applied (a canary weight left out reads as the first step).
	expect, err := canaryInFile(snap.Tree, p.File, a.Model)
	if err != nil {
		return "", nil, &ActionError{Reason: ProposalFailedReason, Err: err}
	}
	cmp, err := r.compareWithProduction(ctx, p, ms, a)
	if err != nil {
		return "", nil, &ActionError{Reason: RegistryFailedReason, Err: fmt.Errorf("read the lineage of %s for its promotion proposal: %w", a.Model, err)}
	}
	prop, err := r.proposals.Ensure(ctx, ProposalRequest{
		Model:    a.Model,
		Kind:     ProposalPromote,
		Key:      plan.Key,
		Target:   plan.Target,
		Digest:   plan.Digest,
		Title:    fmt.Sprintf("Promote %s: version %s as canary at %d%%", a.Model, promo.Canary.Version, ptr.Deref(promo.Canary.Weight, 0)),
		Body:     promotionBody(a, p, cmp),
		Base:     snap.Commit,
		File:     p.File,
		Edits:    []policies.Edit{policies.SetCanary{Expect: expect, Canary: promo.Canary}},
		Trailers: a.trailers(evidenceRef(plan.Evidence)),
	})
	if err != nil {
		return "", nil, &ActionError{Reason: ProposalFailedReason, Err: fmt.Errorf("open promotion proposal for %s: %w", a.Model, err)}
	}
	snap.setProposal(a.Model, ProposalPromote, &prop)
	if err := recordVerdict(ms, a); err != nil {
		return "", nil, err
	}
	r.reportVerdict(ctx, ms, a)
	return "promotion proposal " + prop.Where(), &prop, nil
}

// recordVerdict stores the action's verdict on the run it judged, so the run is not judged
// again.
func recordVerdict(ms *ModelStatus, a Action) error {
	if a.Promotion.Registered {
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

// trailers are the Modelops-* trailers of a commit made for a: its kind, model and reason,
// and where its evidence is.
func (a Action) trailers(evidence string) map[string]string {
	return git.Trailers{Action: string(a.Kind), Model: a.Model, Reason: oneLine(a.Reason), Evidence: evidence}.Map()
}

// maxTrailerRunes bounds a reason in a commit trailer.
const maxTrailerRunes = 200

// oneLine makes s fit a trailer: one line of at most maxTrailerRunes characters (never
// cutting one in half), marked with … when cut.
func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if utf8.RuneCountInString(s) <= maxTrailerRunes {
		return s
	}
	return string([]rune(s)[:maxTrailerRunes]) + "…"
}

// evidenceRef is the trailer value naming the evidence: its reports' paths, else its first
// item.
func evidenceRef(evidence []Evidence) string {
	var refs []string
	for _, e := range evidence {
		if e.Report != "" {
			refs = append(refs, e.Report)
		}
	}
	if len(refs) == 0 && len(evidence) > 0 {
		return oneLine(evidence[0].Text)
	}
	return strings.Join(refs, ", ")
}

// readAt reads the repository file name as committed at commit, following symbolic links
// only inside the tree, as data paths are.
func (r *Reconciler) readAt(ctx context.Context, commit, name string) ([]byte, error) {
	tree, err := r.repo.Tree(ctx, commit)
	if err != nil {
		return nil, err
	}
	return fs.ReadFile(datafs.New(tree, "the tree at "+short(commit), ""), name)
}
