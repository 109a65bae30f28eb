package demo

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/medimind/modelops/internal/git"
	"github.com/medimind/modelops/internal/metrics"
	routerfile "github.com/medimind/modelops/internal/router/file"
	"github.com/medimind/modelops/reconciler"
)

// The simulated serving process of the canary act.
const (
	// servingRate is the requests a minute the serving process scores.
	servingRate = 10
	// labelDelay is how long a prediction waits for its outcome label (sepsis is confirmed
	// hours after the score).
	labelDelay = 8 * time.Hour
	// servingPrevalence is the share of encounters that turn out septic.
	servingPrevalence = 0.2
	// canarySeparation is the canary's class separation in serving: the assay batch shift
	// of the current cohort hits the candidate's omics features, which held-out validation
	// on the reference cohort could not show. AUC = Φ(0.8/√2) ≈ 0.71.
	canarySeparation = 0.8
	// maxCanaryCycles bounds the cycles waited for the rollback.
	maxCanaryCycles = 12
)

// served is one prediction of the simulated serving process.
type served struct {
	at               time.Time
	version, unit    string
	score, latencyMs float64
	label            float64 // 0 or 1, known labelDelay after at
}

// server is the simulated serving process: it reads the router's file to split requests
// between production and canary and appends its predictions to the policy's log, labels
// arriving labelDelay after each prediction.
type server struct {
	logPath    string
	base       []byte // the log as the repository holds it
	trafficDir string
	model      string
	sampler    *sampler
	rows       []served
	until      time.Time // requests are served up to here
}

func (v *server) serveUntil(now time.Time) error {
	if v.until.IsZero() {
		v.until = now
		return nil
	}
	t, err := routerfile.Read(v.trafficDir, v.model)
	if err != nil {
		return fmt.Errorf("read the router's file: %w", err)
	}
	step := time.Minute / servingRate
	for at := v.until; at.Before(now); at = at.Add(step) {
		version, sep := t.Production, productionSeparation
		if t.Canary != "" && v.sampler.bernoulli(float64(t.Weight)/100) == 1 {
			version, sep = t.Canary, canarySeparation
		}
		y := v.sampler.bernoulli(servingPrevalence)
		v.rows = append(v.rows, served{
			at: at, version: version, unit: sepsisUnits[v.sampler.choice([]float64{0.2, 0.35, 0.3, 0.15})],
			score:     round(sigmoid(sep*(y-0.5)+v.sampler.normal(0, 1)), 6),
			latencyMs: round(v.sampler.lognormal(math.Log(45), 0.35), 2),
			label:     y,
		})
	}
	v.until = now
	return v.write(now)
}

// write rewrites the log: the repository's rows, then the served ones, labelled when their
// label has arrived by now.
func (v *server) write(now time.Time) error {
	var b bytes.Buffer
	b.Write(v.base)
	for _, r := range v.rows {
		label := ""
		if !now.Before(r.at.Add(labelDelay)) {
			label = strconv.Itoa(int(r.label))
		}
		fmt.Fprintf(&b, "%s,%s,%g,%s,%g,%s\n", r.at.UTC().Format(time.RFC3339), r.version, r.score, label, r.latencyMs, r.unit)
	}
	tmp := v.logPath + ".tmp"
	if err := os.WriteFile(tmp, b.Bytes(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, v.logPath)
}

// canaryAct tells the promotion and canary part of the story: the reviewer merges the
// promotion proposal, the router moves 10% of traffic to the candidate, the simulated
// serving process scores requests with labels arriving late, the canary regresses, and the
// reconciler rolls it back by a commit and takes the traffic back.
func (s *story) canaryAct(ctx context.Context, candidate string) error {
	p := s.set.Get(StoryModel)
	interval := p.Spec.Drift.Interval.Duration
	id := StoryModel + "/" + string(reconciler.ProposalPromote)
	rec, err := s.st.Forge.Get(ctx, id)
	if err != nil {
		return fmt.Errorf("demo: the passing candidate %s got no promotion proposal: %w", candidate, err)
	}
	s.printf("\n== 6. The promotion gate passed candidate %s: the proposal carries the evaluation table\n", candidate)
	s.printf("  %q on branch %s\n", rec.Title, rec.Branch)
	if _, table, ok := strings.Cut(rec.Body, "### Evaluation\n\n"); ok {
		table, _, _ = strings.Cut(table, "\n\n")
		for _, l := range strings.Split(strings.TrimSpace(table), "\n") {
			s.printf("  | %s\n", strings.Trim(l, "| "))
		}
	}
	s.printf("  %s merges it\n", Reviewer.Name)
	if _, err := s.st.Forge.Merge(ctx, id, git.Signature{Name: Reviewer.Name, Email: Reviewer.Email}); err != nil {
		return fmt.Errorf("demo: merge %s: %w", id, err)
	}
	if err := checkoutTip(s.out.RepoDir); err != nil {
		return fmt.Errorf("demo: %w", err)
	}

	s.printf("\n== 7. Canary %s at %d%%: the router splits traffic, a serving process logs predictions,\n", candidate, p.Spec.CanaryAnalysis.Steps[0])
	s.printf("   labels arrive %s late; checks every %s compare canary and production on the same window\n",
		labelDelay, p.Spec.CanaryAnalysis.Interval.Duration)
	logPath := filepath.Join(s.out.RepoDir, filepath.FromSlash(p.Spec.Metrics.Predictions.Path))
	base, err := os.ReadFile(logPath)
	if err != nil {
		return fmt.Errorf("demo: read the prediction log: %w", err)
	}
	if !bytes.HasPrefix(base, []byte(servedHeader+"\n")) {
		return fmt.Errorf("demo: %s does not start with the header %s", logPath, servedHeader)
	}
	srv := &server{logPath: logPath, base: base, trafficDir: s.st.TrafficDir, model: StoryModel, sampler: newSampler(s.o.Seed, 11)}
	for i := 0; ; i++ {
		if i == maxCanaryCycles {
			return fmt.Errorf("demo: canary %s of %s was not rolled back in %d cycles", candidate, StoryModel, i)
		}
		if i > 0 {
			s.clk.advance(interval)
		}
		if err := srv.serveUntil(s.clk.Now()); err != nil {
			return fmt.Errorf("demo: serving: %w", err)
		}
		res, err := s.cycle(ctx)
		if err != nil {
			return err
		}
		if err := s.tellCanary(ctx); err != nil {
			return err
		}
		if rb := findAction(res, StoryModel, reconciler.ActionRollback); rb != nil {
			return s.tellRollback(ctx, rb)
		}
	}
}

// tellCanary prints the canary's state from the status branch.
func (s *story) tellCanary(ctx context.Context) error {
	status, err := s.st.Status.Load(ctx)
	if err != nil {
		return fmt.Errorf("demo: load status: %w", err)
	}
	ms := status.Model(StoryModel)
	cs := ms.Canary
	if cs == nil {
		return nil
	}
	t, err := routerfile.Read(s.st.TrafficDir, StoryModel)
	if err == nil {
		s.printf("  %-23s router file: production %s %d%%, canary %s %d%%\n", "", t.Production, 100-t.Weight, t.Canary, t.Weight)
	}
	if o := cs.Observation; o != nil {
		s.printf("  %-23s window since %s: labelled predictions canary %d, production %d (a check needs %d each)\n", "",
			o.Since.Format("Mon 15:04"), o.Canary.Samples, o.Production.Samples, *s.set.Get(StoryModel).Spec.CanaryAnalysis.MinSamples)
	}
	if n := len(cs.Checks); n > 0 {
		last := cs.Checks[n-1]
		verdict := "PASSED"
		if !last.Passed {
			verdict = "FAILED"
		}
		s.printf("  %-23s check %d %s: %s\n", "", n, verdict, last.Findings[0])
	}
	return nil
}

// tellRollback prints the rollback commit, then runs the cycle in which the router takes
// the traffic back and one that must do nothing more.
func (s *story) tellRollback(ctx context.Context, rb *reconciler.ActionResult) error {
	status, err := s.st.Status.Load(ctx)
	if err != nil {
		return err
	}
	last := status.Model(StoryModel).Canary
	if last == nil {
		last = status.Model(StoryModel).LastCanary
	}
	s.printf("\n== 8. The canary failed %d checks: modelops ROLLED IT BACK with a commit to main\n", last.Failed())
	tip, err := mainTip(s.out.RepoDir)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	c, err := commitInfo(s.out.RepoDir, tip)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if !hasTrailer(c.Message, "Modelops-Action", string(reconciler.ActionRollback)) {
		return fmt.Errorf("demo: the tip of main %s is not the rollback commit", short(tip))
	}
	s.printf("  commit %s by %s:\n", short(tip), c.Author.Name)
	for _, l := range strings.Split(strings.TrimRight(c.Message, "\n"), "\n") {
		s.printf("  | %s\n", l)
	}
	s.printf("  the promotion proposal that introduced the canary got a comment: %s proposals show %s/promote --repo %s\n", s.cli,
		StoryModel, s.out.RepoDir)

	s.clk.advance(time.Hour)
	res, err := s.cycle(ctx)
	if err != nil {
		return err
	}
	if findAction(res, StoryModel, reconciler.ActionApplyTraffic) == nil {
		return fmt.Errorf("demo: the cycle after the rollback did not take the traffic back")
	}
	t, err := routerfile.Read(s.st.TrafficDir, StoryModel)
	if err != nil || t.Canary != "" {
		return fmt.Errorf("demo: after the rollback the router serves %+v (%v)", t, err)
	}
	s.printf("  router file: production %s 100%%; the rollback commit itself triggered nothing else\n", t.Production)
	return checkoutTip(s.out.RepoDir)
}

func findAction(res *reconciler.CycleResult, model string, kind reconciler.ActionKind) *reconciler.ActionResult {
	for i, a := range res.Actions {
		if a.Error == "" && !a.Skipped && a.Action.Model == model && a.Action.Kind == kind {
			return &res.Actions[i]
		}
	}
	return nil
}

func hasTrailer(message, key, value string) bool {
	for _, t := range git.ParseTrailers(message) {
		if t.Key == key && t.Value == value {
			return true
		}
	}
	return false
}

// servedHeader is the prediction log's header, which the served rows follow.
var servedHeader = strings.Join([]string{metrics.ColumnTimestamp, metrics.ColumnVersion, metrics.ColumnScore,
	metrics.ColumnLabel, metrics.ColumnLatency, metrics.ColumnCategory}, ",")
