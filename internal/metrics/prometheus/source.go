package prometheus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/medimind/modelops/internal/metrics"
	"github.com/medimind/modelops/policies"
	"github.com/medimind/modelops/reconciler"
)

var _ reconciler.Metrics = (*Source)(nil)

// The metric names a policy's queries may define (policies.PrometheusQueryKeys).
const (
	MetricAUC        = policies.MetricAUC
	MetricPrecision  = policies.MetricPrecision
	MetricRecall     = policies.MetricRecall
	MetricLatencyP95 = "latencyP95"
	MetricSamples    = "samples"
	MetricCoverage   = "coverage"
)

// VersionLabel is the label naming the model version of a series.
const VersionLabel = "model_version"

// DefaultTimeout bounds each query, on the client and on the server.
const DefaultTimeout = 30 * time.Second

var (
	// ErrNoData is wrapped when a query returns nothing, or nothing for a version asked for.
	ErrNoData = errors.New("no data")
	// ErrInvalidResult is wrapped when a query's answer is not one finite value in range per
	// version, or comes with warnings.
	ErrInvalidResult = errors.New("invalid query result")
	// ErrUnavailable is wrapped when Prometheus cannot be reached or fails on its side
	// (server error, timeout); trying again later may succeed.
	ErrUnavailable = errors.New("prometheus unavailable")
)

// Readings are the figures of each model version at one instant.
type Readings struct {
	// At is the evaluation time of the queries.
	At time.Time
	// Metrics lists, sorted, the metric names the queries define. A figure whose metric is
	// not listed is left zero (nil for pointer fields).
	Metrics []string
	// ByVersion holds the figures of each version. Of metrics.Evaluation, Samples, AUC,
	// Precision, Recall, LatencyP95Ms and Coverage are read; the rest stays zero.
	ByVersion map[string]*metrics.Evaluation
}

// Has reports whether the readings include metric.
func (r *Readings) Has(metric string) bool { return slices.Contains(r.Metrics, metric) }

// Source runs a policy's PromQL queries against its Prometheus server. It is safe for
// concurrent use.
type Source struct {
	spec    policies.PrometheusSpec
	api     v1.API
	cfg     config
	metrics []string // sorted keys of spec.Queries
}

type config struct {
	rt      http.RoundTripper
	timeout time.Duration
	now     func() time.Time
	token   tokenSource
}

// Option configures a Source.
type Option func(*config)

// WithRoundTripper sends requests through rt instead of api.DefaultRoundTripper (TLS
// settings, proxies, tests).
func WithRoundTripper(rt http.RoundTripper) Option { return func(c *config) { c.rt = rt } }

// WithTimeout bounds each query (DefaultTimeout by default); Prometheus is asked to give up
// at the same time. A query that times out wraps ErrUnavailable.
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithClock sets the time Production queries at, and Query when given a zero time.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithBearerTokenFile authenticates with the bearer token in file, read on every request so
// that a rotated token (a Kubernetes service-account token) is picked up. The token never
// appears in errors.
func WithBearerTokenFile(path string) Option {
	return func(c *config) { c.token = fileToken(path) }
}

// WithBearerTokenEnv authenticates with the bearer token in the environment variable name,
// read on every request. The token never appears in errors.
func WithBearerTokenEnv(name string) Option {
	return func(c *config) { c.token = envToken(name) }
}

// New returns a source for spec. spec.URL must be an http or https URL and every query key
// one of the metric names. A zero spec gives a source whose Query fails and whose
// Production reads each policy's own spec: the form the reconciler needs, which holds one
// Metrics for every policy.
func New(spec policies.PrometheusSpec, opts ...Option) (*Source, error) {
	cfg := config{rt: api.DefaultRoundTripper, timeout: DefaultTimeout, now: time.Now}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.timeout <= 0 {
		return nil, fmt.Errorf("timeout %v: want a positive duration", cfg.timeout)
	}
	return newSource(spec, cfg)
}

func newSource(spec policies.PrometheusSpec, cfg config) (*Source, error) {
	s := &Source{spec: spec, cfg: cfg}
	if spec.URL == "" && len(spec.Queries) == 0 {
		return s, nil
	}
	u, err := url.Parse(spec.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("prometheus url %q: want an http or https URL", spec.URL)
	}
	for k, q := range spec.Queries {
		if !slices.Contains(policies.PrometheusQueryKeys, k) {
			return nil, fmt.Errorf("prometheus query %q: unknown metric, want one of %s", k, strings.Join(policies.PrometheusQueryKeys, ", "))
		}
		if strings.TrimSpace(q) == "" {
			return nil, fmt.Errorf("prometheus query %s: empty query", k)
		}
		s.metrics = append(s.metrics, k)
	}
	slices.Sort(s.metrics)
	rt := cfg.rt
	if cfg.token != nil {
		rt = &bearerTransport{token: cfg.token, next: rt}
	}
	client, err := api.NewClient(api.Config{Address: spec.URL, RoundTripper: rt})
	if err != nil {
		return nil, fmt.Errorf("create prometheus client for %s: %w", spec.URL, err)
	}
	s.api = v1.NewAPI(client)
	return s, nil
}

// Query runs every query of the spec at instant at (the clock's now when zero) and returns
// the figures per version. versions are the versions serving: when given, ByVersion holds
// exactly them, a query lacking one fails with ErrNoData, and a scalar answer is allowed
// when exactly one is given (it is that version's). Without versions every version
// answered is kept and scalars are refused. The first failing query, in metric-name
// order, fails the whole reading.
func (s *Source) Query(ctx context.Context, at time.Time, versions ...string) (*Readings, error) {
	if s.api == nil {
		return nil, errors.New("query prometheus: no url and queries configured")
	}
	if at.IsZero() {
		at = s.cfg.now()
	}
	versions = slices.Compact(slices.Sorted(slices.Values(versions)))
	r := &Readings{At: at, Metrics: slices.Clone(s.metrics), ByVersion: map[string]*metrics.Evaluation{}}
	for _, v := range versions {
		r.ByVersion[v] = &metrics.Evaluation{}
	}
	for _, m := range s.metrics {
		values, err := s.queryMetric(ctx, m, at, versions)
		if err != nil {
			return nil, err
		}
		for v, x := range values {
			e := r.ByVersion[v]
			if e == nil {
				e = &metrics.Evaluation{}
				r.ByVersion[v] = e
			}
			set(e, m, x)
		}
	}
	return r, nil
}

// set stores the value x of metric m in e.
func set(e *metrics.Evaluation, m string, x float64) {
	switch m {
	case MetricAUC:
		e.AUC = &x
	case MetricPrecision:
		e.Precision = x
	case MetricRecall:
		e.Recall = x
	case MetricLatencyP95:
		e.LatencyP95Ms = &x
	case MetricSamples:
		// increase() extrapolates, so a count may come back fractional.
		e.Samples = int64(math.Round(x))
	case MetricCoverage:
		e.Coverage = &x
	}
}

// queryMetric runs the query of metric m and returns its value per version.
func (s *Source) queryMetric(ctx context.Context, m string, at time.Time, versions []string) (map[string]float64, error) {
	q := s.spec.Queries[m]
	qctx, cancel := context.WithTimeout(ctx, s.cfg.timeout)
	defer cancel()
	val, warnings, _, err := s.api.Query(qctx, q, at, v1.WithTimeout(s.cfg.timeout))
	if err != nil {
		if ctx.Err() == nil && retryable(err) {
			return nil, fmt.Errorf("query %s (%s): %w: %w", m, q, ErrUnavailable, err)
		}
		return nil, fmt.Errorf("query %s (%s): %w", m, q, err)
	}
	if len(warnings) > 0 {
		return nil, fmt.Errorf("query %s (%s): %w: prometheus warned: %s", m, q, ErrInvalidResult, strings.Join(warnings, "; "))
	}
	values, err := perVersion(val, versions)
	if err == nil {
		err = checkRange(m, values)
	}
	if err != nil {
		return nil, fmt.Errorf("query %s (%s): %w", m, q, err)
	}
	return values, nil
}

// perVersion maps a query's answer to one value per version (see Query).
func perVersion(val model.Value, versions []string) (map[string]float64, error) {
	out := map[string]float64{}
	switch v := val.(type) {
	case *model.Scalar:
		if len(versions) != 1 {
			return nil, fmt.Errorf("%w: a scalar, but %d versions serve; return a vector by (%s)", ErrInvalidResult, len(versions), VersionLabel)
		}
		if err := finite(float64(v.Value)); err != nil {
			return nil, err
		}
		out[versions[0]] = float64(v.Value)
		return out, nil
	case model.Vector:
		if len(v) == 0 {
			return nil, fmt.Errorf("%w: empty result", ErrNoData)
		}
		for _, smp := range v {
			version, ok := smp.Metric[VersionLabel]
			if !ok || version == "" {
				return nil, fmt.Errorf("%w: series %s has no %s label; aggregate by (%s)", ErrInvalidResult, smp.Metric, VersionLabel, VersionLabel)
			}
			name := string(version)
			if _, dup := out[name]; dup {
				return nil, fmt.Errorf("%w: several series for %s %q; aggregate by (%s)", ErrInvalidResult, VersionLabel, name, VersionLabel)
			}
			if err := finite(float64(smp.Value)); err != nil {
				return nil, fmt.Errorf("%s %q: %w", VersionLabel, name, err)
			}
			out[name] = float64(smp.Value)
		}
		if len(versions) == 0 {
			return out, nil
		}
		kept := make(map[string]float64, len(versions))
		for _, name := range versions {
			x, ok := out[name]
			if !ok {
				return nil, fmt.Errorf("%w for %s %q", ErrNoData, VersionLabel, name)
			}
			kept[name] = x
		}
		return kept, nil
	case model.Matrix:
		return nil, fmt.Errorf("%w: a range vector; want an instant vector", ErrInvalidResult)
	default:
		return nil, fmt.Errorf("%w: a %s; want an instant vector", ErrInvalidResult, val.Type())
	}
}

func finite(x float64) error {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return fmt.Errorf("%w: value %v; want a finite number", ErrInvalidResult, x)
	}
	return nil
}

// maxSamples is the largest count a float64 holds exactly.
const maxSamples = 1 << 53

// checkRange rejects values outside the metric's domain, naming the version.
func checkRange(m string, values map[string]float64) error {
	for _, v := range slices.Sorted(maps.Keys(values)) {
		x := values[v]
		switch m {
		case MetricAUC, MetricPrecision, MetricRecall, MetricCoverage:
			if x < 0 || x > 1 {
				return fmt.Errorf("%s %q: %w: value %v; want a fraction in 0..1", VersionLabel, v, ErrInvalidResult, x)
			}
		case MetricSamples:
			if x < 0 || x > maxSamples {
				return fmt.Errorf("%s %q: %w: value %v; want a count in 0..2^53", VersionLabel, v, ErrInvalidResult, x)
			}
		case MetricLatencyP95:
			if x < 0 {
				return fmt.Errorf("%s %q: %w: value %v; want a number >= 0", VersionLabel, v, ErrInvalidResult, x)
			}
		}
	}
	return nil
}

// retryable reports whether err is Prometheus being unreachable or failing on its side.
func retryable(err error) bool {
	var apiErr *v1.Error
	if errors.As(err, &apiErr) {
		switch apiErr.Type {
		case v1.ErrServer, v1.ErrTimeout, v1.ErrCanceled:
			return true
		}
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	// *url.Error is itself a net.Error; look at what it wraps, so that a failure before
	// the request is sent (an unreadable token) is not mistaken for the network.
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err
	}
	var opErr *net.OpError
	var dnsErr *net.DNSError
	if errors.As(err, &opErr) || errors.As(err, &dnsErr) {
		return true
	}
	// Not any net.Error: a syscall.Errno such as ENOENT is one too.
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return true
	}
	// The server closed the connection mid-answer.
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// Production reads the metric p's retrain.onPerformanceDrop watches (auc by default) for
// the production version, with samples when p defines that query, from p's own
// spec.metrics.prometheus. It returns nil when p has no Prometheus metrics or no
// production version, when Prometheus has no data for the version (ErrNoData), when its
// samples are 0, or when p defines no query for the metric and no trigger watches it. The
// record's At is left zero: the reconciler stamps it when the figure changes.
func (s *Source) Production(ctx context.Context, p *policies.Policy, _ fs.FS) (*reconciler.PerformanceRecord, error) {
	m := p.Spec.Metrics
	if m == nil || m.Prometheus == nil || p.Spec.Production == nil {
		return nil, nil
	}
	metric := policies.MetricAUC
	watched := false
	if rt := p.Spec.Retrain; rt != nil && rt.OnPerformanceDrop != nil {
		watched = !rt.OnPerformanceDrop.Disabled
		if rt.OnPerformanceDrop.Metric != "" {
			metric = rt.OnPerformanceDrop.Metric
		}
	}
	if _, ok := m.Prometheus.Queries[metric]; !ok {
		if watched {
			return nil, fmt.Errorf("read production metrics of %s: spec.metrics.prometheus.queries has no %s query, which spec.retrain.onPerformanceDrop watches", p.Metadata.Name, metric)
		}
		return nil, nil
	}
	// Only what the record holds is queried.
	spec := policies.PrometheusSpec{URL: m.Prometheus.URL, Queries: map[string]string{metric: m.Prometheus.Queries[metric]}}
	if q, ok := m.Prometheus.Queries[MetricSamples]; ok {
		spec.Queries[MetricSamples] = q
	}
	src, err := newSource(spec, s.cfg)
	if err != nil {
		return nil, fmt.Errorf("read production metrics of %s: %w", p.Metadata.Name, err)
	}
	version := p.Spec.Production.Version
	r, err := src.Query(ctx, s.cfg.now(), version)
	if errors.Is(err, ErrNoData) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read production metrics of %s: %w", p.Metadata.Name, err)
	}
	e := r.ByVersion[version]
	if r.Has(MetricSamples) && e.Samples == 0 {
		return nil, nil
	}
	var value float64
	switch metric {
	case policies.MetricAUC:
		value = *e.AUC
	case policies.MetricPrecision:
		value = e.Precision
	case policies.MetricRecall:
		value = e.Recall
	default:
		return nil, fmt.Errorf("read production metrics of %s: unknown metric %q", p.Metadata.Name, metric)
	}
	return &reconciler.PerformanceRecord{Version: version, Metric: metric, Value: value, Samples: e.Samples}, nil
}

// tokenSource returns the bearer token for a request.
type tokenSource func() (string, error)

func fileToken(path string) tokenSource {
	return func() (string, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("read bearer token: %w", err)
		}
		t := strings.TrimSpace(string(b))
		if t == "" {
			return "", fmt.Errorf("read bearer token: %s is empty", path)
		}
		return t, nil
	}
}

func envToken(name string) tokenSource {
	return func() (string, error) {
		t := strings.TrimSpace(os.Getenv(name))
		if t == "" {
			return "", fmt.Errorf("read bearer token: environment variable %s is not set", name)
		}
		return t, nil
	}
}

// bearerTransport adds the Authorization header to each request.
type bearerTransport struct {
	token tokenSource
	next  http.RoundTripper
}

// RoundTrip sends req with the bearer token, on a copy as RoundTripper requires.
func (t *bearerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	tok, err := t.token()
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+tok)
	return t.next.RoundTrip(r)
}
