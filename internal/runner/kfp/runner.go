package kfp

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/medimind/modelops/internal/faultpoint"
	"github.com/medimind/modelops/policies"
	"github.com/medimind/modelops/reconciler"
)

var _ reconciler.Runner = (*Runner)(nil)

// The parameters modelops adds to every run; a pipeline declares them as inputs.
const (
	ParamModel      = policies.PipelineParameterPrefix + "model"
	ParamGeneration = policies.PipelineParameterPrefix + "generation"
	ParamCommit     = policies.PipelineParameterPrefix + "commit"
)

// Polling bounds: the first poll of a run comes MinPoll after the last, doubling while the
// state stays the same, up to MaxPoll.
const (
	DefaultMinPoll = 10 * time.Second
	DefaultMaxPoll = 5 * time.Minute
	// maxBody bounds what is read of one API answer.
	maxBody = 8 << 20
)

// ResultReader finds the result of a succeeded run (a model registry).
type ResultReader interface {
	Result(ctx context.Context, model string, generation int64, run *Run) (*reconciler.RunResult, error)
}

// Config says where and how the runner reaches the API server.
type Config struct {
	// Host is the API server's base URL (spec.kubeflow.host).
	Host string
	// Namespace is the profile namespace of a multi-user installation, or "".
	Namespace string
	// User, when set, is sent in UserHeader (default kubeflow-userid) to an API server
	// that trusts a user header.
	User, UserHeader string
	// Token returns the Bearer token to send, read anew for each request (a file may be
	// rotated); nil or "" sends none.
	Token func() (string, error)
	// Client defaults to a client with a 30s timeout.
	Client *http.Client
	// Results reads a succeeded run's result; nil records none.
	Results ResultReader
	// Now defaults to time.Now; MinPoll and MaxPoll to DefaultMinPoll and DefaultMaxPoll.
	Now              func() time.Time
	MinPoll, MaxPoll time.Duration
}

// Runner launches and watches pipeline runs on one KFP API server.
type Runner struct {
	cfg  Config
	base *url.URL

	mu   sync.Mutex
	runs map[runKey]*tracked
}

type runKey struct {
	model      string
	generation int64
}

// tracked is what the runner remembers of a run between polls.
type tracked struct {
	id        string
	timeout   time.Duration
	last      reconciler.TrainingRun
	state     string
	polled    time.Time
	interval  time.Duration
	finalised bool
}

// New returns a runner for cfg.Host.
func New(cfg Config) (*Runner, error) {
	u, err := url.Parse(strings.TrimSuffix(cfg.Host, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("kubeflow host %q: want an http(s) URL", cfg.Host)
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MinPoll <= 0 {
		cfg.MinPoll = DefaultMinPoll
	}
	if cfg.MaxPoll < cfg.MinPoll {
		cfg.MaxPoll = max(DefaultMaxPoll, cfg.MinPoll)
	}
	return &Runner{cfg: cfg, base: u, runs: map[runKey]*tracked{}}, nil
}

// Host is the API server the runner talks to.
func (r *Runner) Host() string { return r.base.String() }

// DisplayName is the run name of (model, generation) launched by commit.
func DisplayName(model string, generation int64, commit string) string {
	return namePrefix(model, generation) + shortCommit(commit)
}

func namePrefix(model string, generation int64) string {
	return fmt.Sprintf("modelops-%s-g%d-", model, generation)
}

func shortCommit(c string) string {
	if len(c) > 7 {
		return c[:7]
	}
	return c
}

// UIURL links to the run in the KFP dashboard.
func (r *Runner) UIURL(runID string) string {
	return r.base.String() + "/#/runs/details/" + url.PathEscape(runID)
}

// Start finds the run of (req.Model, req.Generation) in the experiment, or creates it.
func (r *Runner) Start(ctx context.Context, req reconciler.JobRequest) (reconciler.TrainingRun, error) {
	p := req.Pipeline
	if p == nil {
		return reconciler.TrainingRun{}, fmt.Errorf("%s: spec.retrain.pipeline is not set; the Kubeflow runner runs only pipelines", req.PolicyFile)
	}
	key := runKey{req.Model, req.Generation}
	if t := r.tracked(key); t != nil {
		return r.Get(ctx, req.Model, req.Generation)
	}
	name := DisplayName(req.Model, req.Generation, req.Commit)
	// Looked for in every experiment of the namespace: an experiment given by name may not
	// exist yet, and a run's name is unique to (model, generation, commit) anyway.
	found, err := r.find(ctx, req.Model, req.Generation, p.ExperimentID, Predicate{Key: "display_name", Operation: OpEquals, StringValue: name})
	if err != nil {
		return reconciler.TrainingRun{}, err
	}
	if found == nil {
		l, err := r.resolve(ctx, req)
		if err != nil {
			return reconciler.TrainingRun{}, fmt.Errorf("%s: spec.retrain.pipeline: %w", req.PolicyFile, err)
		}
		params := map[string]any{}
		for k, v := range p.Parameters {
			params[k] = v
		}
		params[ParamModel], params[ParamGeneration], params[ParamCommit] = req.Model, req.Generation, req.Commit
		body := Run{
			ExperimentID: l.experimentID,
			DisplayName:  name,
			Description: describe(req.Model, req.Generation, req.Commit, req.PolicyFile, map[string]string{
				tagTimeout: p.Timeout.Duration.String(), tagRegisteredModel: req.RegisteredModel, tagSource: l.source,
			}),
			PipelineVersionReference: l.ref,
			PipelineSpec:             l.spec,
			RuntimeConfig:            &RuntimeConfig{Parameters: params, PipelineRoot: p.PipelineRoot},
			ServiceAccount:           p.ServiceAccount,
		}
		q := url.Values{}
		if l.experimentID != "" {
			q.Set("experiment_id", l.experimentID)
		}
		var created Run
		if err := r.call(ctx, http.MethodPost, "/apis/v2beta1/runs", q, body, &created); err != nil {
			return reconciler.TrainingRun{}, fmt.Errorf("create pipeline run %s: %w", name, err)
		}
		faultpoint.Hit("kfp-after-create")
		found = &created
	}
	t := &tracked{id: found.RunID, timeout: timeoutOf(found), interval: r.cfg.MinPoll}
	r.mu.Lock()
	r.runs[key] = t
	r.mu.Unlock()
	return r.observe(ctx, key, t, found), nil
}

// Get returns the run of (model, generation), polling the API server when the last poll is
// older than the run's poll interval and the run is not terminal.
func (r *Runner) Get(ctx context.Context, model string, generation int64) (reconciler.TrainingRun, error) {
	key := runKey{model, generation}
	t := r.tracked(key)
	if t == nil {
		found, err := r.find(ctx, model, generation, "", Predicate{Key: "display_name", Operation: OpIsSubstring, StringValue: namePrefix(model, generation)})
		if err != nil {
			return reconciler.TrainingRun{}, err
		}
		if found == nil {
			return reconciler.TrainingRun{}, reconciler.ErrRunNotFound
		}
		t = &tracked{id: found.RunID, timeout: timeoutOf(found), interval: r.cfg.MinPoll}
		r.mu.Lock()
		r.runs[key] = t
		r.mu.Unlock()
		return r.observe(ctx, key, t, found), nil
	}
	r.mu.Lock()
	due := !t.finalised && !r.cfg.Now().Before(t.polled.Add(t.interval))
	last := t.last
	r.mu.Unlock()
	if !due {
		return last, nil
	}
	var run Run
	err := r.call(ctx, http.MethodGet, "/apis/v2beta1/runs/"+url.PathEscape(t.id), nil, nil, &run)
	var api *APIError
	if errors.As(err, &api) && api.Status == http.StatusNotFound {
		r.forget(key)
		return reconciler.TrainingRun{}, reconciler.ErrRunNotFound
	}
	if err != nil {
		return reconciler.TrainingRun{}, fmt.Errorf("get pipeline run %s: %w", t.id, err)
	}
	return r.observe(ctx, key, t, &run), nil
}

// Cancel terminates the run of (model, generation) unless it finished or does not exist.
func (r *Runner) Cancel(ctx context.Context, model string, generation int64) error {
	run, err := r.Get(ctx, model, generation)
	if errors.Is(err, reconciler.ErrRunNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if run.Phase.Finished() {
		return nil
	}
	if err := r.terminate(ctx, run.ID); err != nil {
		return err
	}
	// The next Get polls at once, to read the run's CANCELING or CANCELED state.
	if t := r.tracked(runKey{model, generation}); t != nil {
		r.mu.Lock()
		t.polled = time.Time{}
		r.mu.Unlock()
	}
	return nil
}

func (r *Runner) terminate(ctx context.Context, id string) error {
	err := r.call(ctx, http.MethodPost, "/apis/v2beta1/runs/"+url.PathEscape(id)+":terminate", nil, struct{}{}, nil)
	var api *APIError
	if errors.As(err, &api) && api.Status == http.StatusNotFound {
		return nil
	}
	if err != nil {
		return fmt.Errorf("terminate pipeline run %s: %w", id, err)
	}
	return nil
}

func (r *Runner) tracked(key runKey) *tracked {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.runs[key]
}

func (r *Runner) forget(key runKey) {
	r.mu.Lock()
	delete(r.runs, key)
	r.mu.Unlock()
}

// find lists the runs matching pred (in experiment, when set) and returns the one modelops
// made for (model, generation), or nil.
func (r *Runner) find(ctx context.Context, model string, generation int64, experiment string, pred Predicate) (*Run, error) {
	filter, err := json.Marshal(Filter{Predicates: []Predicate{pred}})
	if err != nil {
		return nil, err
	}
	q := url.Values{"filter": {string(filter)}, "page_size": {"100"}}
	if r.cfg.Namespace != "" {
		q.Set("namespace", r.cfg.Namespace)
	}
	if experiment != "" {
		q.Set("experiment_id", experiment)
	}
	for {
		var page ListRunsResponse
		if err := r.call(ctx, http.MethodGet, "/apis/v2beta1/runs", q, nil, &page); err != nil {
			return nil, fmt.Errorf("list pipeline runs of %s generation %d: %w", model, generation, err)
		}
		for i := range page.Runs {
			if ownedBy(&page.Runs[i], model, generation) {
				return &page.Runs[i], nil
			}
		}
		if page.NextPageToken == "" {
			return nil, nil
		}
		q.Set("page_token", page.NextPageToken)
	}
}

// shortName matches the name a run of modelops has, after its (model, generation) prefix.
var shortName = regexp.MustCompile(`^[0-9a-f]{1,7}$`)

// ownedBy says whether run is the one modelops made for (model, generation): its name and
// its modelops_* parameters agree. A substring match alone is not enough ("modelops-a-g1-"
// is also in the name of model a-g1's runs).
func ownedBy(run *Run, model string, generation int64) bool {
	rest, ok := strings.CutPrefix(run.DisplayName, namePrefix(model, generation))
	if !ok || !shortName.MatchString(rest) || run.RuntimeConfig == nil {
		return false
	}
	params := run.RuntimeConfig.Parameters
	m, _ := params[ParamModel].(string)
	return m == model && fmt.Sprint(params[ParamGeneration]) == strconv.FormatInt(generation, 10)
}

// The run's description records, after its prose, what a restarted reconciler needs and the
// API server does not keep elsewhere: the timeout, the registered model that will hold the
// result, and what was resolved at launch. Each is "; modelops-<key>=<value>", the source
// last since it may hold spaces.
const (
	tagTimeout         = "timeout"
	tagRegisteredModel = "registered-model"
	tagSource          = "source"
)

var tagOrder = []string{tagTimeout, tagRegisteredModel, tagSource}

func describe(model string, generation int64, commit, file string, tags map[string]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "modelops training of %s generation %d (%s at %s)", model, generation, file, shortCommit(commit))
	for _, k := range tagOrder {
		if v := tags[k]; v != "" {
			fmt.Fprintf(&b, "; modelops-%s=%s", k, v)
		}
	}
	return b.String()
}

// tag reads the value of key from a description describe wrote.
func tag(description, key string) string {
	_, rest, ok := strings.Cut(description, "; modelops-"+key+"=")
	if !ok {
		return ""
	}
	if i := strings.Index(rest, "; modelops-"); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

func timeoutOf(run *Run) time.Duration {
	d, err := time.ParseDuration(tag(run.Description, tagTimeout))
	if err != nil {
		return 0
	}
	return d
}

// RegisteredModel is the registered model a run's result is registered under, as recorded
// at launch; "" when the policy has no spec.registry.
func RegisteredModel(run *Run) string { return tag(run.Description, tagRegisteredModel) }

// source says what run executes: as recorded at launch, else its version reference.
func source(run *Run) string {
	if s := tag(run.Description, tagSource); s != "" {
		return s
	}
	if ref := run.PipelineVersionReference; ref != nil {
		return sourceOf(ref)
	}
	return ""
}

// APIError is an answer of the API server other than 200.
type APIError struct {
	Status int
	Body   RuntimeError
}

func (e *APIError) Error() string {
	msg := e.Body.Message
	if msg == "" {
		msg = e.Body.Error
	}
	return fmt.Sprintf("%d %s (code %d): %s", e.Status, http.StatusText(e.Status), e.Body.Code, msg)
}

// call sends one request and decodes a 200 answer into out.
func (r *Runner) call(ctx context.Context, method, path string, q url.Values, in, out any) error {
	u := *r.base
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawPath = ""
	u.RawQuery = q.Encode()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.cfg.User != "" {
		req.Header.Set(cmp.Or(r.cfg.UserHeader, policies.DefaultKubeflowUserHeader), r.cfg.User)
	}
	if r.cfg.Token != nil {
		tok, err := r.cfg.Token()
		if err != nil {
			return fmt.Errorf("read the Kubeflow token: %w", err)
		}
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
	}
	resp, err := r.cfg.Client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		e := &APIError{Status: resp.StatusCode}
		if json.Unmarshal(b, &e.Body) != nil || (e.Body.Message == "" && e.Body.Error == "") {
			e.Body.Message = strings.TrimSpace(string(b[:min(len(b), 200)]))
		}
		return fmt.Errorf("%s %s: %w", method, path, e)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}
