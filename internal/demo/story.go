package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/medimind/modelops/examples"
	"github.com/medimind/modelops/internal/drift"
	forgelocal "github.com/medimind/modelops/internal/forge/local"
	"github.com/medimind/modelops/internal/git"
	"github.com/medimind/modelops/policies"
	"github.com/medimind/modelops/reconciler"
)

// StoryModel is the model whose retrain the story follows.
const StoryModel = "sepsis-risk"

// DefaultStart is the simulated time of the first cycle.
var DefaultStart = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

// Loop is the reconcile loop the story drives (*reconciler.Reconciler).
type Loop interface {
	Cycle(ctx context.Context) (*reconciler.CycleResult, error)
}

// Forge is the embedded proposal forge (*local.Forge of internal/forge/local).
type Forge interface {
	Get(ctx context.Context, id string) (forgelocal.Record, error)
	Merge(ctx context.Context, id string, by git.Signature) (string, error)
}

// Stack is the reconcile stack on the demo's repository, built by the caller.
type Stack struct {
	Loop   Loop
	Forge  Forge
	Runner reconciler.Runner
	Status reconciler.StatusStore
	// StatusFile reads a file at the tip of the status branch.
	StatusFile func(ctx context.Context, path string) ([]byte, error)
	// TrafficDir is where the file router writes <model>.json.
	TrafficDir string
	// Audit writes the audit timeline of model as a table.
	Audit func(ctx context.Context, w io.Writer, model string) error
}

// OpenFunc builds the reconcile stack on the local repository repoDir, keeping training runs
// under stateDir, with now as the clock of every part.
type OpenFunc func(ctx context.Context, repoDir, stateDir string, now func() time.Time) (*Stack, error)

// Options configure Run.
type Options struct {
	// Dir receives the repository (Dir/policy-repo) and the runner's state (Dir/state); it
	// must be empty or missing. Empty makes a temporary directory, left in place.
	Dir string
	// TrainCommand runs the demo trainer; it replaces every policy's spec.retrain.job.command.
	TrainCommand []string
	// Open builds the stack (required).
	Open OpenFunc
	// Out receives the story (default os.Stdout).
	Out io.Writer
	// Start is the simulated time of the first cycle (default DefaultStart).
	Start time.Time
	// RunTimeout bounds the real time waited for the training run (default 2 minutes).
	RunTimeout time.Duration
	// MaxCycles bounds the cycles before the drift trigger must have fired (default 12).
	MaxCycles int
	// Seed seeds the synthetic data (default DefaultSeed).
	Seed uint64
}

// Outcome is what Run did.
type Outcome struct {
	Dir, RepoDir, StateDir string
	// Merge is the merge commit of the retrain proposal.
	Merge string
	// Generation is the generation the merge launched, Run its training run as recorded.
	Generation int64
	Run        reconciler.TrainingRun
	// Cycles counts the reconcile cycles run.
	Cycles int
}

// Run tells the retrain story: it builds the repository, runs reconcile cycles on a
// simulated clock until the drift trigger proposes a retrain of StoryModel, merges the
// proposal as Reviewer, lets the next cycle launch training, waits for it (real time), runs a
// cycle that records the result and one more that must repeat nothing. It returns an error
// when any step of the story does not happen as told.
func Run(ctx context.Context, o Options) (*Outcome, error) {
	if o.Open == nil {
		return nil, errors.New("demo: no stack builder (Options.Open)")
	}
	if len(o.TrainCommand) == 0 {
		return nil, errors.New("demo: no trainer command (Options.TrainCommand)")
	}
	if o.Out == nil {
		o.Out = os.Stdout
	}
	if o.Start.IsZero() {
		o.Start = DefaultStart
	}
	if o.RunTimeout <= 0 {
		o.RunTimeout = 2 * time.Minute
	}
	if o.MaxCycles <= 0 {
		o.MaxCycles = 12
	}
	if o.Seed == 0 {
		o.Seed = DefaultSeed
	}
	s := &story{o: o, w: o.Out, clk: &clock{t: o.Start}}
	if err := s.run(ctx); err != nil {
		return s.out, err
	}
	return s.out, nil
}

// clock is the simulated clock shared by the whole stack.
type clock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type story struct {
	o   Options
	w   io.Writer
	clk *clock
	st  *Stack
	out *Outcome
	set *policies.Set
	// n counts cycles.
	n int
}

func (s *story) printf(format string, args ...any) { fmt.Fprintf(s.w, format, args...) }

func (s *story) run(ctx context.Context) error {
	if err := s.setup(); err != nil {
		return err
	}
	st, err := s.o.Open(ctx, s.out.RepoDir, s.out.StateDir, s.clk.Now)
	if err != nil {
		return fmt.Errorf("demo: build the reconcile stack: %w", err)
	}
	s.st = st
	p := s.set.Get(StoryModel)
	interval := p.Spec.Drift.Interval.Duration
	gen := p.Spec.Retrain.Generation + 1
	s.out.Generation = gen

	s.printf("\n== 1. Reconcile cycles every %s of simulated time (the %s drift interval), from %s\n",
		interval, StoryModel, s.clk.Now().Format(time.RFC3339))
	for {
		if s.n > 0 {
			s.clk.advance(interval)
		}
		res, err := s.cycle(ctx)
		if err != nil {
			return err
		}
		if proposed(res, StoryModel, reconciler.TriggerDrift) {
			break
		}
		if s.n >= s.o.MaxCycles {
			return fmt.Errorf("demo: the drift trigger of %s did not fire in %d cycles", StoryModel, s.n)
		}
	}

	id := StoryModel + "/" + string(reconciler.ProposalRetrain)
	s.printf("\n== 2. %s reviews the proposal and merges it\n", Reviewer.Name)
	merge, err := s.st.Forge.Merge(ctx, id, git.Signature{Name: Reviewer.Name, Email: Reviewer.Email})
	if err != nil {
		return fmt.Errorf("demo: merge %s: %w", id, err)
	}
	s.out.Merge = merge
	if err := checkoutTip(s.out.RepoDir); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if c, err := commitInfo(s.out.RepoDir, merge); err == nil {
		s.printf("  merge commit %s by %s <%s>: %q\n", short(merge), c.Author.Name, c.Author.Email, firstLine(c.Message))
		s.printf("  parents %s (main) and %s (the proposal branch); %s now reads generation %d\n",
			short(c.ParentHashes[0].String()), short(c.ParentHashes[1].String()), p.File, gen)
	} else {
		s.printf("  merge commit %s\n", short(merge))
	}

	s.printf("\n== 3. The next cycle launches training generation %d, once\n", gen)
	s.clk.advance(interval)
	res, err := s.cycle(ctx)
	if err != nil {
		return err
	}
	if !hasAction(res, StoryModel, reconciler.ActionLaunchTraining, gen) {
		return fmt.Errorf("demo: the cycle after the merge did not launch generation %d of %s", gen, StoryModel)
	}
	waitStart := time.Now()
	run, err := s.wait(ctx, gen)
	if err != nil {
		return err
	}
	s.printf("  the job ended %s after %s of real time; the simulated clock stood still meanwhile\n",
		run.Phase, time.Since(waitStart).Round(10*time.Millisecond))

	s.printf("\n== 4. The next cycle records the run's result on the status branch\n")
	s.clk.advance(interval)
	if _, err := s.cycle(ctx); err != nil {
		return err
	}
	recorded, err := s.recordedRun(ctx, gen)
	if err != nil {
		return err
	}
	s.out.Run = recorded
	s.printResult(recorded)
	if recorded.Phase != reconciler.RunSucceeded {
		return fmt.Errorf("demo: training generation %d of %s ended %s: %s", gen, StoryModel, recorded.Phase, recorded.Message)
	}

	s.printf("\n== 5. One more cycle: nothing is repeated\n")
	s.clk.advance(interval)
	res, err = s.cycle(ctx)
	if err != nil {
		return err
	}
	for _, a := range res.Actions {
		if a.Action.Model == StoryModel && (a.Action.Kind == reconciler.ActionLaunchTraining || a.Action.Kind == reconciler.ActionProposeRetrain) {
			return fmt.Errorf("demo: the last cycle repeated %s for %s", a.Action.Kind, StoryModel)
		}
	}
	status, err := s.st.Status.Load(ctx)
	if err != nil {
		return fmt.Errorf("demo: load status: %w", err)
	}
	ms := status.Model(StoryModel)
	s.printf("  %s: no launch (generation %d was launched once; %d training run recorded), no new retrain proposal\n",
		StoryModel, ms.LaunchedGeneration, len(ms.Runs))
	s.printf("  (only drift reports after the launch count towards the next retrain: %s)\n", s.driftWindow(StoryModel, ms))

	if err := s.canaryAct(ctx, recorded.Result.Version); err != nil {
		return err
	}
	if s.st.Audit != nil {
		s.printf("\n== 9. modelops audit %s: why the model changed, from git history\n", StoryModel)
		if err := s.st.Audit(ctx, s.w, StoryModel); err != nil {
			return fmt.Errorf("demo: audit: %w", err)
		}
	}
	s.whereToLook()
	return nil
}

// setup builds the repository: the example policies committed by the reviewer, the demo's
// adjustments for local training, and the synthetic data.
func (s *story) setup() error {
	dir := s.o.Dir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "modelops-demo-")
		if err != nil {
			return fmt.Errorf("demo: make a temporary directory: %w", err)
		}
		dir = tmp
	} else {
		empty, err := isEmptyOrMissing(dir)
		if err != nil {
			return fmt.Errorf("demo: read %s: %w", dir, err)
		}
		if !empty {
			return fmt.Errorf("demo: %s is not empty; give --dir a new or empty directory", dir)
		}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	s.out = &Outcome{Dir: abs, RepoDir: filepath.Join(abs, "policy-repo"), StateDir: filepath.Join(abs, "state")}
	repo := s.out.RepoDir

	s.printf("modelops demo: the retrain story on the embedded defaults\n")
	s.printf("(local git repository, local proposals, local process runner, status branch; nothing leaves this machine)\n")
	s.printf("\n== 0. A policy repository in %s\n", repo)
	initial, err := initRepo(repo, examples.PolicyRepo(), Reviewer, "Add the model policies\n\nsepsis-risk, deterioration-wearable and readmission-30d, as reviewed.")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	s.printf("  %s  %-14s  the example policies (git init with go-git, branch main)\n", short(initial), Reviewer.Name)

	set, err := policies.LoadDir(repo)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if len(set.Errors) > 0 {
		return fmt.Errorf("demo: the example policies are invalid: %w", set.Err())
	}
	s.set = set

	// Training jobs name container entrypoints (python ...) that do not exist here: point
	// them at the demo trainer, through a commit that says so.
	var lines []string
	for _, p := range set.Policies {
		if p.Spec.Retrain == nil || p.Spec.Retrain.Job == nil {
			continue
		}
		path := filepath.Join(repo, filepath.FromSlash(p.File))
		src, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("demo: read %s: %w", path, err)
		}
		edit := policies.SetJobCommand{From: p.Spec.Retrain.Job.Command, To: s.o.TrainCommand, DroppedArgs: p.Spec.Retrain.Job.Args}
		edited, err := policies.Apply(src, p.Metadata.Name, edit)
		if err != nil {
			return fmt.Errorf("demo: %s: %w", p.File, err)
		}
		note := ""
		if c := p.Spec.Canary; c != nil && p.Metadata.Name == StoryModel {
			// The story trains, promotes and canaries its own candidate.
			if edited, err = policies.Apply(edited, StoryModel, policies.RemoveCanary{Version: c.Version}); err != nil {
				return fmt.Errorf("demo: %s: %w", p.File, err)
			}
			note = fmt.Sprintf("; spec.canary %s removed (the story starts from version %s alone)", c.Version, p.Spec.Production.Version)
		}
		if err := os.WriteFile(path, edited, 0o644); err != nil {
			return fmt.Errorf("demo: write %s: %w", path, err)
		}
		line := fmt.Sprintf("%s: spec.retrain.job.command [%s] → [%s]", p.File, strings.Join(edit.From, " "), strings.Join(edit.To, " "))
		if len(edit.DroppedArgs) > 0 {
			line += fmt.Sprintf("; args [%s] dropped", strings.Join(edit.DroppedArgs, " "))
		}
		line += note
		lines = append(lines, line)
	}
	adjust, err := commitIn(repo, demoAuthor, "demo: train with the demo trainer on this machine\n\n"+
		"The policies' training images do not exist here; the local runner runs the demo trainer\n"+
		"(a logistic regression on the reference data) instead.\n\n- "+strings.Join(lines, "\n- "))
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	s.printf("  %s  %-14s  the demo adjusts the copied policies so that training runs locally:\n", short(adjust), demoAuthor.Name)
	for _, l := range lines {
		s.printf("      %s\n", l)
	}

	// Serving logs are the serving process's to write; like in production they stay out of
	// git, and the reconciler reads them from the data root.
	if err := os.WriteFile(filepath.Join(repo, ".gitignore"), []byte("# prediction logs: written by the serving process, read by modelops from the data root\nlogs/\n"), 0o644); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	files, err := WriteData(repo, set, s.o.Seed)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	var flines []string
	for _, f := range files {
		l := fmt.Sprintf("%-31s %5d rows × %2d columns", f.Path, f.Rows, f.Columns)
		if f.Planted != "" {
			l += "  drift planted: " + f.Planted
		}
		if f.Note != "" {
			l += "  " + f.Note
		}
		flines = append(flines, l)
	}
	data, err := commitIn(repo, demoAuthor, fmt.Sprintf("demo: synthetic reference and current data (seed %d)\n\n- %s", s.o.Seed, strings.Join(flines, "\n- ")))
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	s.printf("  %s  %-14s  synthetic data (gonum distributions, seed %d), label column %q:\n", short(data), demoAuthor.Name, s.o.Seed, Label)
	for _, l := range flines {
		s.printf("      %s\n", l)
	}
	return nil
}

// cycle runs one reconcile cycle and tells what it did.
func (s *story) cycle(ctx context.Context) (*reconciler.CycleResult, error) {
	s.n++
	s.out.Cycles = s.n
	now := s.clk.Now()
	res, err := s.st.Loop.Cycle(ctx)
	if err != nil {
		return nil, fmt.Errorf("demo: cycle %d: %w", s.n, err)
	}
	s.printf("\nCycle %d  %s  (main at %s)\n", s.n, now.Format("Mon 2006-01-02 15:04 MST"), short(res.Commit))
	status, err := s.st.Status.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("demo: load status: %w", err)
	}
	var failed []string
	for _, ar := range res.Actions {
		a := ar.Action
		prefix := fmt.Sprintf("  %-23s ", a.Model)
		switch {
		case ar.Error != "":
			s.printf("%s%s FAILED: %s\n", prefix, a.Kind, ar.Error)
			failed = append(failed, fmt.Sprintf("%s %s: %s", a.Kind, a.Model, ar.Error))
			continue
		case ar.Skipped:
			s.printf("%s%s waits for its retry: %s\n", prefix, a.Kind, ar.Detail)
			continue
		}
		switch a.Kind {
		case reconciler.ActionCheckDrift:
			if err := s.tellDrift(ctx, prefix, a.Model, now, status.Model(a.Model)); err != nil {
				return nil, err
			}
		case reconciler.ActionProposeRetrain:
			if err := s.tellProposal(ctx, prefix, a, now); err != nil {
				return nil, err
			}
		case reconciler.ActionLaunchTraining:
			s.printf("%straining generation %d LAUNCHED (%s)\n", prefix, a.Generation, a.Reason)
			s.printf("%s  %s\n", pad(prefix), ar.Detail)
		default:
			s.printf("%s%s: %s (%s)\n", prefix, a.Kind, ar.Detail, a.Reason)
		}
	}
	for _, inv := range res.Invalid {
		s.printf("  invalid policy, left alone: %s\n", inv)
	}
	if len(failed) > 0 {
		return nil, fmt.Errorf("demo: cycle %d: %s", s.n, strings.Join(failed, "; "))
	}
	return res, nil
}

// tellDrift prints a drift check's verdict from its full report on the status branch.
func (s *story) tellDrift(ctx context.Context, prefix, model string, at time.Time, ms *reconciler.ModelStatus) error {
	path := reconciler.DriftReportPath(model, at)
	b, err := s.st.StatusFile(ctx, path)
	if err != nil {
		return fmt.Errorf("demo: read drift report %s: %w", path, err)
	}
	var rep drift.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return fmt.Errorf("demo: parse drift report %s: %w", path, err)
	}
	drifted := map[string]bool{}
	tests := map[drift.Test]int{}
	n := 0
	for _, c := range rep.Columns {
		drifted[c.Name] = c.Drifted
		tests[c.Test]++
		if c.Drifted {
			n++
		}
	}
	verdict := "no drift"
	if rep.Drifted {
		verdict = "DRIFT"
	}
	s.printf("%sdrift check: %-8s %d of %d columns drifted (share %.2f, dataset threshold %.2f)\n",
		prefix, verdict, n, len(rep.Columns), rep.Share, rep.DatasetShare)
	var groups []string
	for _, g := range rep.Groups {
		k := 0
		for _, c := range g.Columns {
			if drifted[c] {
				k++
			}
		}
		word := ""
		if g.Drifted {
			word = " DRIFTED"
		}
		groups = append(groups, fmt.Sprintf("%s %d/%d%s", g.Name, k, len(g.Columns), word))
	}
	if len(groups) > 0 {
		s.printf("%s  groups: %s\n", pad(prefix), strings.Join(groups, ", "))
	}
	if s.n == 1 {
		var ts []string
		for t, k := range tests {
			ts = append(ts, fmt.Sprintf("%s ×%d", t, k))
		}
		sort.Strings(ts)
		s.printf("%s  tests: %s; report %s\n", pad(prefix), strings.Join(ts, ", "), path)
	}
	if w := s.driftWindow(model, ms); w != "" {
		s.printf("%s  retrain on drift: %s\n", pad(prefix), w)
	}
	return nil
}

// driftWindow describes the drift trigger's window as the reconciler counts it: the last
// onDrift.of reports since the last launch.
func (s *story) driftWindow(model string, ms *reconciler.ModelStatus) string {
	p := s.set.Get(model)
	if p == nil || p.Spec.Retrain == nil {
		return ""
	}
	od := p.Spec.Retrain.OnDrift
	if od == nil || od.Disabled || od.Share == nil || od.Of == 0 {
		return ""
	}
	var recent []reconciler.DriftRecord
	for _, d := range ms.Drift {
		if d.At.After(ms.LastLaunch) {
			recent = append(recent, d)
		}
	}
	if len(recent) > od.Of {
		recent = recent[len(recent)-od.Of:]
	}
	k := 0
	for _, d := range recent {
		if d.Drifted {
			k++
		}
	}
	need := int(math.Ceil(*od.Share*float64(od.Of) - 1e-9))
	since := ""
	if !ms.LastLaunch.IsZero() {
		since = " since the launch at " + ms.LastLaunch.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("%d drifted of the last %d reports%s (fires at %d of %d)", k, len(recent), since, need, od.Of)
}

// tellProposal prints an opened or updated retrain proposal with an excerpt of its body.
func (s *story) tellProposal(ctx context.Context, prefix string, a reconciler.Action, now time.Time) error {
	id := a.Model + "/" + string(a.Proposal.Kind)
	rec, err := s.st.Forge.Get(ctx, id)
	if err != nil {
		return fmt.Errorf("demo: read proposal %s: %w", id, err)
	}
	verb := "OPENED"
	if !rec.Opened.Equal(now) {
		verb = "UPDATED in place (the same proposal, new evidence)"
	}
	s.printf("%sretrain proposal %s: %s trigger\n", prefix, verb, a.Proposal.Trigger)
	p := pad(prefix)
	s.printf("%s  %q on branch %s\n", p, rec.Title, rec.Branch)
	for _, line := range evidence(rec.Body, 3) {
		s.printf("%s  | %s\n", p, line)
	}
	s.printf("%s  read it: modelops proposals show %s --repo %s\n", p, id, s.out.RepoDir)
	return nil
}

// evidence returns up to n lines of the body's Evidence section.
func evidence(body string, n int) []string {
	_, rest, ok := strings.Cut(body, "### Evidence\n")
	if !ok {
		return nil
	}
	var out []string
	for _, l := range strings.Split(rest, "\n") {
		if strings.HasPrefix(l, "###") {
			break
		}
		if l = strings.TrimSpace(l); l != "" && len(out) < n {
			out = append(out, l)
		}
	}
	return out
}

// wait polls the runner until the run of gen finishes, for at most RunTimeout of real time.
func (s *story) wait(ctx context.Context, gen int64) (reconciler.TrainingRun, error) {
	s.printf("  waiting for the job (real time, at most %s)...\n", s.o.RunTimeout)
	ctx, cancel := context.WithTimeout(ctx, s.o.RunTimeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		run, err := s.st.Runner.Get(ctx, StoryModel, gen)
		if err != nil {
			return run, fmt.Errorf("demo: read run %s generation %d: %w", StoryModel, gen, err)
		}
		if run.Phase.Finished() {
			return run, nil
		}
		select {
		case <-ctx.Done():
			return run, fmt.Errorf("demo: training run %s did not finish within %s (see %s): %w",
				run.ID, s.o.RunTimeout, filepath.Join(run.ID, "log"), ctx.Err())
		case <-tick.C:
		}
	}
}

func (s *story) recordedRun(ctx context.Context, gen int64) (reconciler.TrainingRun, error) {
	status, err := s.st.Status.Load(ctx)
	if err != nil {
		return reconciler.TrainingRun{}, fmt.Errorf("demo: load status: %w", err)
	}
	run, ok := status.Model(StoryModel).Run(gen)
	if !ok {
		return reconciler.TrainingRun{}, fmt.Errorf("demo: the status branch records no run of %s generation %d", StoryModel, gen)
	}
	return *run, nil
}

func (s *story) printResult(run reconciler.TrainingRun) {
	s.printf("  run of generation %d (launched by %s): %s\n", run.Generation, short(run.Commit), run.Phase)
	if run.Message != "" {
		s.printf("    %s\n", strings.ReplaceAll(run.Message, "\n", "\n    "))
	}
	r := run.Result
	if r == nil {
		return
	}
	m := r.Metrics
	s.printf("    version   %s\n    uri       %s\n", r.Version, r.URI)
	s.printf("    auc       %s   (held-out split, rank formula)\n", num(m.AUC, "%.4f"))
	s.printf("    precision %s   recall %s   (at score >= %.1f)\n", num(m.Precision, "%.4f"), num(m.Recall, "%.4f"), DecisionThreshold)
	s.printf("    samples   %d   latencyMs %s per row   coverage %s\n", m.Samples, num(m.LatencyMs, "%.5f"), num(m.Coverage, "%.2f"))
	s.printf("    job log   %s\n", filepath.Join(run.ID, "log"))
}

func (s *story) whereToLook() {
	repo, state := s.out.RepoDir, s.out.StateDir
	s.printf("\n== Where to look\n")
	s.printf("  repository      %s\n", repo)
	s.printf("  history         git -C %s log --all --oneline --graph\n", repo)
	s.printf("  status branch   git -C %s ls-tree -r --name-only modelops/status\n", repo)
	s.printf("                  models/<model>.json (drift history, runs), reports/<model>/drift-*.json (full reports),\n")
	s.printf("                  proposals/<model>/<kind>.json (proposal records)\n")
	s.printf("                  e.g. git -C %s show modelops/status:models/%s.json\n", repo, StoryModel)
	s.printf("  proposals       modelops proposals list --all --repo %s\n", repo)
	s.printf("                  modelops proposals show %s/retrain --repo %s\n", StoryModel, repo)
	s.printf("  next cycle      modelops plan --repo %s --state-dir %s\n", repo, state)
	s.printf("                  (on the real clock, months after the story's simulated days: schedules are due)\n")
	s.printf("  training runs   %s\n", filepath.Join(state, "runs"))
	s.printf("  traffic         %s (the file router)\n", s.st.TrafficDir)
	s.printf("  audit           modelops audit %s --repo %s\n", StoryModel, repo)
}

func proposed(res *reconciler.CycleResult, model string, trig reconciler.Trigger) bool {
	for _, a := range res.Actions {
		if a.Error == "" && !a.Skipped && a.Action.Model == model && a.Action.Kind == reconciler.ActionProposeRetrain &&
			a.Action.Proposal != nil && a.Action.Proposal.Trigger == trig {
			return true
		}
	}
	return false
}

func hasAction(res *reconciler.CycleResult, model string, kind reconciler.ActionKind, gen int64) bool {
	for _, a := range res.Actions {
		if a.Error == "" && !a.Skipped && a.Action.Model == model && a.Action.Kind == kind && a.Action.Generation == gen {
			return true
		}
	}
	return false
}

func num(v *float64, format string) string {
	if v == nil {
		return "null"
	}
	return fmt.Sprintf(format, *v)
}

func pad(prefix string) string { return strings.Repeat(" ", len(prefix)) }

func short(commit string) string {
	if len(commit) > 10 {
		return commit[:10]
	}
	return commit
}
