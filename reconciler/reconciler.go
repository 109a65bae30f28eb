package reconciler

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"
	"go.yaml.in/yaml/v3"

	"github.com/medimind/modelops/internal/datafs"
	"github.com/medimind/modelops/internal/faultpoint"
	"github.com/medimind/modelops/policies"
)

// Reconciler runs reconcile cycles: observe, plan, apply. One cycle runs at a time.
type Reconciler struct {
	repo      Repo
	proposals Proposals
	runner    Runner
	drift     DriftChecker
	metrics   Metrics
	status    StatusStore
	canary    CanaryMetrics
	router    Router
	committer Committer
	commenter ProposalCommenter
	reporter  Reporter
	registry  Registry

	data fs.FS
	now  func() time.Time
	log  *slog.Logger

	// draining, once set, stops a cycle after its current action (graceful shutdown).
	draining atomic.Bool

	mu sync.Mutex // serialises cycles; guards the fields below
	// retries holds the backoff of failed actions by key, so a failing adapter is not
	// hammered every cycle.
	retries map[string]retry
	// lastInvalid remembers the reported policy errors, so they are logged once per change.
	lastInvalid string
	// metricsErr is the last metrics error logged per source and model.
	metricsErr map[string]string
	// parsed keeps the parse of every policy file by content: an unchanged file is not
	// parsed again (the steady state of a large repository).
	parsed *policies.Cache
	// named is what the tracked branch's history named, for spec.registry.cleanup.
	named *namedVersions
}

// maxPasses bounds the plan-apply passes of one cycle.
const maxPasses = 4

// retry is a failed action's backoff: 10s doubling per attempt, at most 10 minutes.
type retry struct {
	attempts int
	next     time.Time
	backoff  *backoff.ExponentialBackOff
}

// failed records one more failed attempt of the action keyed key at now, and returns when
// it may be tried again.
func (r *Reconciler) failed(key string, now time.Time) retry {
	rt := r.retries[key]
	if rt.backoff == nil {
		rt.backoff = &backoff.ExponentialBackOff{InitialInterval: 10 * time.Second, Multiplier: 2, MaxInterval: 10 * time.Minute}
	}
	rt.attempts++
	rt.next = now.Add(rt.backoff.NextBackOff())
	r.retries[key] = rt
	return rt
}

// Deps are the adapters a Reconciler consumes. Repo, Proposals and Status are required; a nil
// Runner, DriftChecker, Metrics, Canary, Router, Committer or Reporter disables what depends
// on it. Comments on proposals go through Proposals when it is a ProposalCommenter.
type Deps struct {
	Repo      Repo
	Proposals Proposals
	Runner    Runner
	Drift     DriftChecker
	Metrics   Metrics
	Status    StatusStore
	// Canary compares canaries with production; Committer writes steps and rollbacks.
	Canary    CanaryMetrics
	Committer Committer
	// Router serves the tip's traffic split.
	Router Router
	// Reporter publishes drift checks and training progress on commits.
	Reporter Reporter
	// Registry is the model registry whose aliases follow the tip (spec.registry).
	Registry Registry
}

// Option configures a Reconciler.
type Option func(*Reconciler)

// WithDataRoot reads policy data paths from data instead of the tree at the commit being
// reconciled. Symbolic links in it are followed only inside it (package datafs): a
// *datafs.FS is used as it is, any other file system is wrapped in one. For a directory, pass
// the FS of an os.Root, which keeps the opening inside too.
func WithDataRoot(data fs.FS) Option {
	return func(r *Reconciler) {
		if _, ok := data.(*datafs.FS); !ok {
			data = datafs.New(data, "the data root", "")
		}
		r.data = data
	}
}

// WithClock sets the clock (tests).
func WithClock(now func() time.Time) Option { return func(r *Reconciler) { r.now = now } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(r *Reconciler) { r.log = l } }

// New returns a Reconciler.
func New(d Deps, opts ...Option) (*Reconciler, error) {
	if d.Repo == nil || d.Proposals == nil || d.Status == nil {
		return nil, errors.New("reconciler needs a repository, a proposal forge and a status store")
	}
	r := &Reconciler{
		repo: d.Repo, proposals: d.Proposals, runner: d.Runner, drift: d.Drift, metrics: d.Metrics, status: d.Status,
		canary: d.Canary, router: d.Router, committer: d.Committer, reporter: d.Reporter, registry: d.Registry,
		now:        time.Now,
		log:        slog.Default(),
		retries:    map[string]retry{},
		parsed:     &policies.Cache{},
		metricsErr: map[string]string{},
	}
	r.commenter, _ = d.Proposals.(ProposalCommenter)
	for _, o := range opts {
		o(r)
	}
	return r, nil
}

// Snapshot is the observed world of one cycle.
type Snapshot struct {
	Now       time.Time
	Commit    string
	Tree      fs.FS
	Policies  *policies.Set
	Status    *Status
	Proposals []Proposal
	// Traffic is the split the router serves, by model; empty without a router.
	Traffic map[string]*Traffic
	// Registry is what the model registry shows, by model with spec.registry; empty
	// without a registry.
	Registry map[string]*RegistryObservation
	// Config is the repository configuration at the tip (defaults when absent or invalid;
	// an invalid one is reported with the policy errors).
	Config *policies.RepositoryConfig
}

// PlanInput turns the snapshot into Plan's input, models sorted by name.
func (s *Snapshot) PlanInput() PlanInput {
	in := PlanInput{Now: s.Now, Commit: s.Commit}
	byModel := map[string][]Proposal{}
	for _, p := range s.Proposals {
		byModel[p.Model] = append(byModel[p.Model], p)
	}
	for _, p := range s.Policies.Policies {
		name := p.Metadata.Name
		in.Models = append(in.Models, ModelState{Policy: p, Status: s.Status.Model(name), Proposals: byModel[name], Traffic: s.Traffic[name], Registry: s.Registry[name]})
	}
	sort.Slice(in.Models, func(i, j int) bool {
		return in.Models[i].Policy.Metadata.Name < in.Models[j].Policy.Metadata.Name
	})
	return in
}

// Observe reads desired state at the tip and the observed state of every model. It records
// in the snapshot's Status what the world says (runs that finished, runs launched before a
// crash, production performance) but writes nothing.
func (r *Reconciler) Observe(ctx context.Context) (*Snapshot, error) {
	commit, err := r.repo.Sync(ctx)
	if err != nil {
		return nil, fmt.Errorf("sync repository: %w", err)
	}
	tree, err := r.repo.Tree(ctx, commit)
	if err != nil {
		return nil, fmt.Errorf("read tree at %s: %w", short(commit), err)
	}
	set, err := policies.LoadCached(tree, r.parsed)
	if err != nil {
		return nil, fmt.Errorf("load policies at %s: %w", short(commit), err)
	}
	st, err := r.status.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("load status: %w", err)
	}
	props, err := r.proposals.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list proposals: %w", err)
	}
	cfg, err := policies.LoadRepositoryConfig(tree)
	if err != nil {
		cfg = policies.DefaultRepositoryConfig()
	}
	snap := &Snapshot{Now: r.now(), Commit: commit, Tree: tree, Policies: set, Status: st, Proposals: props, Traffic: map[string]*Traffic{}, Registry: map[string]*RegistryObservation{}, Config: cfg}
	if rc, ok := r.runner.(RepositoryConfigured); ok {
		rc.UseRepositoryConfig(cfg)
	}
	for _, p := range set.Policies {
		if err := r.observeModel(ctx, snap, p); err != nil {
			return nil, err
		}
	}
	return snap, nil
}

func (r *Reconciler) observeModel(ctx context.Context, snap *Snapshot, p *policies.Policy) error {
	ms := snap.Status.Model(p.Metadata.Name)
	if ms.FirstSeen.IsZero() {
		ms.FirstSeen = snap.Now
		if p.Spec.Retrain != nil {
			r.adoptOrAsk(ctx, snap, p, ms)
		}
	}
	r.observeSchedule(ctx, snap, p, ms)
	if r.runner != nil {
		if err := r.observeRuns(ctx, p, ms); err != nil {
			return err
		}
	}
	resolveUndecided(p, ms)
	r.observeRegisteredCandidates(ctx, p, ms)
	if p.Spec.Suspend {
		return nil
	}
	r.observeCanary(ctx, snap, p, ms)
	r.observeTraffic(ctx, snap, p)
	r.observeRegistry(ctx, snap, p, ms)
	if r.metrics != nil {
		rec, err := r.metrics.Production(ctx, p, r.dataFS(snap))
		if r.warnOnce(ctx, "read production metrics", p.Metadata.Name, err) {
			// Missing performance data must not stop drift checks or launches.
		} else if rec != nil {
			// Stamp a reading when its figure changes, so unchanged data leaves the status
			// (and the status branch) unchanged.
			if old := ms.Performance; old != nil && old.Version == rec.Version && old.Metric == rec.Metric &&
				old.Value == rec.Value && old.Samples == rec.Samples {
				rec.At = old.At
			} else if rec.At.IsZero() {
				rec.At = snap.Now
			}
			ms.Performance = rec
			if ms.Baseline == nil || ms.Baseline.Version != rec.Version || ms.Baseline.Metric != rec.Metric {
				ms.Baseline = rec
			}
		}
	}
	return nil
}

// adoptOrAsk sets the launched generation of a model without status. A model whose policy
// arrived with its generation was trained before modelops knew it: that generation is
// adopted rather than retrained on sight. A generation raised later in history (a status
// branch lost, perhaps with the raise in the same push) may never have been trained: unless
// the runner knows its run, it is left undecided for a person, never skipped silently.
func (r *Reconciler) adoptOrAsk(ctx context.Context, snap *Snapshot, p *policies.Policy, ms *ModelStatus) {
	gen, name := p.Spec.Retrain.Generation, p.Metadata.Name
	ms.LaunchedGeneration = gen
	raised, err := r.repo.Introduced(ctx, snap.Commit, p.File, func(content []byte) bool {
		return generationIn(p.File, content, name) == gen
	})
	arrived := ""
	if err == nil {
		arrived, err = r.repo.Introduced(ctx, snap.Commit, p.File, func(content []byte) bool {
			return generationIn(p.File, content, name) >= 0
		})
	}
	if err == nil && raised == arrived {
		return
	}
	if err != nil {
		r.log.WarnContext(ctx, "read the history of the generation; it is left undecided", "model", name, "error", err)
		raised = snap.Commit
	}
	ms.LaunchedGeneration = gen - 1
	ms.Undecided = &UndecidedGeneration{Generation: gen, Commit: raised, Since: snap.Now}
}

// resolveUndecided ends an undecided generation once it is known or decided: the runner
// knew its run, the generation moved on, or a person asked after it was found: a retrain
// request trains it, an adopt request takes it as trained.
func resolveUndecided(p *policies.Policy, ms *ModelStatus) {
	u := ms.Undecided
	if u == nil {
		return
	}
	if p.Spec.Retrain == nil || p.Spec.Retrain.Generation != u.Generation || ms.LaunchedGeneration >= u.Generation {
		ms.Undecided = nil
		return
	}
	for _, m := range ms.Manual {
		if !m.At.After(u.Since) {
			continue
		}
		if m.Adopt && m.Generation == u.Generation {
			ms.LaunchedGeneration = u.Generation
			ms.Undecided = nil
			return
		}
		if !m.Adopt {
			ms.Undecided = nil // launched by the plan, which serves the request
			return
		}
	}
}

// observeSchedule finds when the policy's retrain schedule was committed, once per schedule
// (walking history every cycle would dominate a cycle of a large repository). When history
// cannot tell, the schedule counts from now: late rather than at once.
func (r *Reconciler) observeSchedule(ctx context.Context, snap *Snapshot, p *policies.Policy, ms *ModelStatus) {
	rt := p.Spec.Retrain
	if rt == nil || rt.Schedule == nil || *rt.Schedule == "" || ms.ScheduleOf == *rt.Schedule {
		return
	}
	sched, name := *rt.Schedule, p.Metadata.Name
	ms.ScheduleOf, ms.ScheduleSince = sched, snap.Now
	commit, err := r.repo.Introduced(ctx, snap.Commit, p.File, func(content []byte) bool {
		return scheduleIn(p.File, content, name) == sched
	})
	if err == nil {
		var at time.Time
		if at, err = r.repo.CommitTime(ctx, commit); err == nil {
			ms.ScheduleSince = at
			return
		}
	}
	r.log.WarnContext(ctx, "find the commit of the retrain schedule; it counts from now", "model", name, "error", err)
}

// UnknownRunAdvice ends the message of an Unknown run: what a person may decide.
const UnknownRunAdvice = "decide: raise spec.retrain.generation to train again, " +
	"or register the candidate (POST /api/v1/models/{model}/candidates) if it was trained"

// RunGoneMessage is the message of a run whose job the runner no longer knows: its outcome
// was never observed, so it is recorded Unknown, not Failed.
const RunGoneMessage = "the run's job is gone (deleted, or removed by the runner's TTL while the reconciler was down) " +
	"and its outcome was never read; " + UnknownRunAdvice

// observeRuns refreshes unfinished runs and finds a launch the status lost in a crash.
func (r *Reconciler) observeRuns(ctx context.Context, p *policies.Policy, ms *ModelStatus) error {
	name := p.Metadata.Name
	for _, run := range ms.Runs {
		if run.Phase.Finished() {
			continue
		}
		got, err := r.runner.Get(ctx, name, run.Generation)
		if errors.Is(err, ErrRunNotFound) {
			run.Phase, run.Message, run.Finished = RunUnknown, RunGoneMessage, r.now()
			r.reportRun(ctx, name, run)
			ms.SetRun(run)
			continue
		}
		if err != nil {
			return fmt.Errorf("get run %s generation %d: %w", name, run.Generation, err)
		}
		if got.Phase != run.Phase {
			r.reportRun(ctx, name, got)
		}
		ms.SetRun(got)
	}
	if p.Spec.Retrain == nil || p.Spec.Retrain.Generation <= ms.LaunchedGeneration {
		return nil
	}
	gen := p.Spec.Retrain.Generation
	got, err := r.runner.Get(ctx, name, gen)
	switch {
	case errors.Is(err, ErrRunNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("get run %s generation %d: %w", name, gen, err)
	}
	// Launched before a crash, and not yet recorded: record it instead of launching again.
	recordLaunch(ms, got)
	return nil
}

func recordLaunch(ms *ModelStatus, run TrainingRun) {
	ms.SetRun(run)
	if run.Generation > ms.LaunchedGeneration {
		ms.LaunchedGeneration = run.Generation
		ms.LastLaunch = run.Started
		// A launch serves every manual request made before it.
		var keep []ManualRequest
		for _, m := range ms.Manual {
			if m.At.After(run.Started) {
				keep = append(keep, m)
			}
		}
		ms.Manual = keep
	}
}

// dataFS is where the policies' data paths (datasets, prediction logs) are read: the data
// root when one is set, else the tree at the commit the policies were read from, in which
// symbolic links are followed only inside the tree.
func (r *Reconciler) dataFS(snap *Snapshot) fs.FS {
	if r.data != nil {
		return r.data
	}
	where := "the tree at " + short(snap.Commit)
	if b, ok := r.repo.(interface{ TrackedBranch() string }); ok {
		where = fmt.Sprintf("the tree of %s at %s", b.TrackedBranch(), short(snap.Commit))
	}
	return datafs.New(snap.Tree, where, "pass --data-root for untracked files")
}

// ActionResult is the outcome of one applied action.
type ActionResult struct {
	Action Action `json:"action"`
	// Skipped is set when the action waits for its retry backoff.
	Skipped bool   `json:"skipped,omitempty"`
	Error   string `json:"error,omitempty"`
	// Detail says what was done (proposal URL, run ID, report path).
	Detail string `json:"detail,omitempty"`
	// Proposal is the proposal the action opened or updated.
	Proposal *Proposal `json:"proposal,omitempty"`
}

// CycleResult is the outcome of one cycle.
type CycleResult struct {
	Commit  string         `json:"commit"`
	Models  int            `json:"models"`
	Invalid []string       `json:"invalid,omitempty"`
	Actions []ActionResult `json:"actions"`
	// FailedRuns are the training runs found failed in this cycle; each is reported in
	// exactly one cycle.
	FailedRuns []FailedRun `json:"failedRuns,omitempty"`
	// StatusRestored names the commit the status branch was restored from when this cycle
	// found it lost.
	StatusRestored string `json:"statusRestored,omitempty"`
}

// FailedRun is a training run that ended in failure.
type FailedRun struct {
	Model string `json:"model"`
	TrainingRun
}

// reportFailedRuns moves the failed runs not reported yet into res, marking them reported.
func reportFailedRuns(snap *Snapshot, res *CycleResult) {
	for _, p := range snap.Policies.Policies {
		ms := snap.Status.Model(p.Metadata.Name)
		for i := range ms.Runs {
			if run := &ms.Runs[i]; run.Phase == RunFailed && !run.FailureReported {
				run.FailureReported = true
				res.FailedRuns = append(res.FailedRuns, FailedRun{Model: ms.Model, TrainingRun: *run})
			}
		}
	}
}

// Failed counts the actions that failed.
func (c *CycleResult) Failed() int {
	n := 0
	for _, a := range c.Actions {
		if a.Error != "" {
			n++
		}
	}
	return n
}

// Cycle runs one reconcile cycle: observe, plan, apply, then store the status (one commit
// when anything changed). Errors of single actions are reported in the result and retried
// with backoff on later cycles; the error return is for failures that stop the whole cycle.
func (r *Reconciler) Cycle(ctx context.Context) (*CycleResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	snap, err := r.Observe(ctx)
	if err != nil {
		return nil, err
	}
	res := &CycleResult{Commit: snap.Commit, Models: len(snap.Policies.Policies), StatusRestored: snap.Status.Restored}
	if res.StatusRestored != "" {
		r.log.WarnContext(ctx, "the status branch was lost; restored it from the reconciler's backup", "commit", short(res.StatusRestored))
	}
	for _, e := range snap.Policies.Errors {
		res.Invalid = append(res.Invalid, e.Error())
	}
	r.reportInvalid(ctx, res.Invalid)
	markStalled(snap)

	files := map[string][]byte{}
	failed := map[string]error{}
	done := map[string]bool{}
	// An applied action changes what is observed (a drift report can fire a retrain
	// trigger), so plan again on the updated snapshot until nothing new is planned. Each key
	// runs at most once a cycle, which bounds the passes.
	for pass := 0; pass < maxPasses && !r.stopping(ctx); pass++ {
		var fresh []Action
		for _, a := range Plan(snap.PlanInput()) {
			if !done[a.Key] {
				fresh = append(fresh, a)
			}
		}
		if len(fresh) == 0 {
			break
		}
		for _, a := range fresh {
			done[a.Key] = true
			ar, err := r.applyWithBackoff(ctx, snap, a, files)
			if err != nil && failed[a.Model] == nil {
				failed[a.Model] = err
			}
			res.Actions = append(res.Actions, ar)
			if r.stopping(ctx) {
				break // finish the current action only; the next cycle re-plans the rest
			}
		}
	}
	for _, p := range snap.Policies.Policies {
		r.setConditions(snap, p, failed[p.Metadata.Name])
		settleRegistryDrift(snap, p, res.Actions)
	}
	reportFailedRuns(snap, res)
	for _, fr := range res.FailedRuns {
		r.log.ErrorContext(ctx, "training run failed", "model", fr.Model, "generation", fr.Generation, "run", fr.ID, "commit", short(fr.Commit), "message", fr.Message)
	}
	msg := fmt.Sprintf("modelops: status at %s\n\n%d action(s), %d failed.", short(snap.Commit), len(res.Actions), res.Failed())
	// Saving uses a fresh context so that a cancelled cycle still records what it did.
	saveCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	faultpoint.Hit("before-status-save")
	if err := r.status.Save(saveCtx, snap.Status, files, msg); err != nil {
		return res, fmt.Errorf("save status: %w", err)
	}
	faultpoint.Hit("after-status-save")
	return res, nil
}

// Drain makes the running cycle, and any later one, stop after the action in progress. The
// status of what was done is still saved.
func (r *Reconciler) Drain() { r.draining.Store(true) }

func (r *Reconciler) stopping(ctx context.Context) bool {
	return ctx.Err() != nil || r.draining.Load()
}

// Plan observes and plans without doing anything (modelops plan).
func (r *Reconciler) Plan(ctx context.Context) (*Snapshot, []Action, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	snap, err := r.Observe(ctx)
	if err != nil {
		return nil, nil, err
	}
	return snap, Plan(snap.PlanInput()), nil
}

// markStalled sets Stalled=True (reason InvalidPolicy) on the models whose policy file is
// invalid. Nothing is planned for them until the file is fixed; the other models go on.
func markStalled(snap *Snapshot) {
	byFile := map[string][]string{}
	for _, e := range snap.Policies.Errors {
		var fe *policies.FieldError
		if errors.As(e, &fe) {
			byFile[fe.File] = append(byFile[fe.File], e.Error())
		}
	}
	for file, errs := range byFile {
		data, err := fs.ReadFile(snap.Tree, file)
		if err != nil {
			continue
		}
		for _, name := range policyNames(data) {
			if snap.Policies.Get(name) != nil {
				continue // valid in another document: not this model's problem
			}
			ms := snap.Status.Model(name)
			msg := strings.Join(errs, "; ")
			ms.Conditions = setCondition(ms.Conditions, Condition{Type: ConditionStalled, Status: ConditionTrue, Reason: InvalidPolicyReason, Message: msg, LastTransition: snap.Now})
			ms.Conditions = setCondition(ms.Conditions, Condition{Type: ConditionReady, Status: ConditionFalse, Reason: InvalidPolicyReason, Message: "the policy is invalid; the model is left alone until it is fixed", LastTransition: snap.Now})
		}
	}
}

// policyNames reads the metadata.name of every modelops document in an invalid file, as far
// as the YAML allows, so its model can be marked Stalled.
func policyNames(data []byte) []string {
	var names []string
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc struct {
			APIVersion string `yaml:"apiVersion"`
			Metadata   struct {
				Name string `yaml:"name"`
			} `yaml:"metadata"`
		}
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return names
		}
		if err != nil {
			var te *yaml.TypeError
			if !errors.As(err, &te) {
				return names // a syntax error: nothing more can be read
			}
		}
		if strings.HasPrefix(doc.APIVersion, policies.Group+"/") && doc.Metadata.Name != "" {
			names = append(names, doc.Metadata.Name)
		}
	}
}

func (r *Reconciler) reportInvalid(ctx context.Context, invalid []string) {
	key := fmt.Sprint(invalid)
	if key == r.lastInvalid {
		return
	}
	r.lastInvalid = key
	for _, e := range invalid {
		// Stalled: reported once, not acted on, looked at again when the file changes.
		r.log.ErrorContext(ctx, "invalid policy; the model is left alone", "error", e)
	}
}

func (r *Reconciler) applyWithBackoff(ctx context.Context, snap *Snapshot, a Action, files map[string][]byte) (ActionResult, error) {
	if rt, ok := r.retries[a.Key]; ok && snap.Now.Before(rt.next) {
		return ActionResult{Action: a, Skipped: true, Detail: "retrying after " + rt.next.UTC().Format(time.RFC3339)}, nil
	}
	detail, prop, err := r.apply(ctx, snap, a, files)
	if errors.Is(err, ErrLimited) {
		// A limit holds (pull requests per hour, API rate): wait, without failing the model.
		rt := r.failed(a.Key, snap.Now)
		r.log.InfoContext(ctx, "action waits for a limit", "model", a.Model, "action", string(a.Kind), "key", a.Key, "reason", err.Error(), "retryAfter", rt.next)
		return ActionResult{Action: a, Skipped: true, Detail: fmt.Sprintf("waits until %s: %s", rt.next.UTC().Format(time.RFC3339), err)}, nil
	}
	log := r.log.With("model", a.Model, "action", string(a.Kind), "key", a.Key, "commit", short(a.Commit))
	switch {
	case a.Proposal != nil:
		log = log.With("proposal", a.Model+"/"+string(a.Proposal.Kind))
	case a.Kind == ActionCloseProposal:
		log = log.With("proposal", a.Model+"/"+string(a.ProposalKind))
	case a.Kind == ActionLaunchTraining || a.Kind == ActionCancelTraining:
		log = log.With("job", fmt.Sprintf("%s/gen-%d", a.Model, a.Generation))
	}
	if err != nil {
		rt := r.failed(a.Key, snap.Now)
		log.ErrorContext(ctx, "action failed", "error", err, "attempt", rt.attempts, "retryAfter", rt.next)
		return ActionResult{Action: a, Error: err.Error()}, err
	}
	delete(r.retries, a.Key)
	faultpoint.Hit("after-" + string(a.Kind))
	log.InfoContext(ctx, "action done", "reason", a.Reason, "detail", detail)
	return ActionResult{Action: a, Detail: detail, Proposal: prop}, nil
}

func (r *Reconciler) setConditions(snap *Snapshot, p *policies.Policy, failure error) {
	ms := snap.Status.Model(p.Metadata.Name)
	now := snap.Now
	switch {
	case p.Spec.Suspend:
		ms.Conditions = setCondition(ms.Conditions, Condition{Type: ConditionReady, Status: ConditionFalse, Reason: SuspendedReason, Message: "spec.suspend is true", LastTransition: now})
	case failure != nil:
		ms.Conditions = setCondition(ms.Conditions, Condition{Type: ConditionReady, Status: ConditionFalse, Reason: reasonOf(failure), Message: failure.Error(), LastTransition: now})
	case ms.Undecided != nil:
		u := ms.Undecided
		msg := fmt.Sprintf("the status was lost and no training run of generation %d (raised by %s) is known, so modelops cannot tell whether it was trained: "+
			"`modelops retrain %s --reason ...` trains it, `modelops adopt %s --reason ...` takes it as trained", u.Generation, short(u.Commit), ms.Model, ms.Model)
		ms.Conditions = setCondition(ms.Conditions, Condition{Type: ConditionReady, Status: ConditionFalse, Reason: GenerationUndecidedReason, Message: msg, LastTransition: now})
	case tipRunFailed(p, ms) != nil:
		run := tipRunFailed(p, ms)
		msg := fmt.Sprintf("training run %s of generation %d failed: %s", run.ID, run.Generation, run.Message)
		ms.Conditions = setCondition(ms.Conditions, Condition{Type: ConditionReady, Status: ConditionFalse, Reason: TrainingFailedReason, Message: msg, LastTransition: now})
	default:
		ms.Conditions = setCondition(ms.Conditions, Condition{Type: ConditionReady, Status: ConditionTrue, Reason: ReconciledReason, Message: "reconciled at " + short(snap.Commit), LastTransition: now})
	}
	switch {
	case runActive(ms):
		ms.Conditions = setCondition(ms.Conditions, Condition{Type: ConditionReconciling, Status: ConditionTrue, Reason: ProgressingReason, Message: "training is running", LastTransition: now})
	case ms.Canary != nil:
		msg := fmt.Sprintf("canary %s at %d%%, %d check(s), %d failed", ms.Canary.Version, ms.Canary.Weight, len(ms.Canary.Checks), ms.Canary.Failed())
		ms.Conditions = setCondition(ms.Conditions, Condition{Type: ConditionReconciling, Status: ConditionTrue, Reason: ProgressingReason, Message: msg, LastTransition: now})
	default:
		ms.Conditions = setCondition(ms.Conditions, Condition{Type: ConditionReconciling, Status: ConditionFalse, Reason: ReconciledReason, LastTransition: now})
	}
	ms.Conditions = setCondition(ms.Conditions, Condition{Type: ConditionStalled, Status: ConditionFalse, Reason: ReconciledReason, LastTransition: now})
}

// tipRunFailed returns the run of the tip's generation when it failed: the model stays not
// ready until a newer generation is launched.
func tipRunFailed(p *policies.Policy, ms *ModelStatus) *TrainingRun {
	if p.Spec.Retrain == nil {
		return nil
	}
	if run, ok := ms.Run(p.Spec.Retrain.Generation); ok && run.Phase == RunFailed {
		return run
	}
	return nil
}

// ActionError marks an action failure with the condition reason it reports.
type ActionError struct {
	Reason string
	Err    error
}

func (e *ActionError) Error() string { return e.Err.Error() }
func (e *ActionError) Unwrap() error { return e.Err }

func reasonOf(err error) string {
	var ae *ActionError
	if errors.As(err, &ae) {
		return ae.Reason
	}
	return "ActionFailed"
}
