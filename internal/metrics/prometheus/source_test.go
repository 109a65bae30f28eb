package prometheus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/medimind/modelops/policies"
)

// allQueries reads every figure straight from the exporter's gauges.
func allQueries() map[string]string {
	q := map[string]string{}
	for metric, name := range gaugeNames {
		q[metric] = name
	}
	return q
}

func testSource(t *testing.T, queries map[string]string, opts ...Option) *Source {
	t.Helper()
	s, err := New(policies.PrometheusSpec{URL: promURL, Queries: queries}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestQueryReadsEachVersionsFigures(t *testing.T) {
	s := testSource(t, allQueries())
	r, err := s.Query(context.Background(), time.Time{}, "12", "13")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Metrics) != 6 || !r.Has(MetricAUC) || !r.Has(MetricCoverage) {
		t.Errorf("Metrics = %v, want the six queried", r.Metrics)
	}
	if len(r.ByVersion) != 2 {
		t.Fatalf("ByVersion has %d versions, want the 2 asked for (11 is exported but not serving)", len(r.ByVersion))
	}
	for _, v := range []string{"12", "13"} {
		e, want := r.ByVersion[v], exported[v]
		if e == nil {
			t.Fatalf("no figures for version %s", v)
		}
		got := map[string]float64{
			MetricAUC: *e.AUC, MetricPrecision: e.Precision, MetricRecall: e.Recall,
			MetricLatencyP95: *e.LatencyP95Ms, MetricSamples: float64(e.Samples), MetricCoverage: *e.Coverage,
		}
		for metric, w := range want {
			if got[metric] != w {
				t.Errorf("version %s %s = %v, want the exported %v", v, metric, got[metric], w)
			}
		}
	}
}

func TestQueryWithoutVersionsKeepsEveryVersion(t *testing.T) {
	s := testSource(t, map[string]string{MetricAUC: "modelops_test_auc", MetricSamples: "sum by (model_version) (modelops_test_samples)"})
	r, err := s.Query(context.Background(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.ByVersion) != len(exported) {
		t.Fatalf("ByVersion = %v, want every exported version", r.ByVersion)
	}
	for v, want := range exported {
		e := r.ByVersion[v]
		if *e.AUC != want[MetricAUC] || e.Samples != int64(want[MetricSamples]) {
			t.Errorf("version %s: auc %v samples %d; want %v and %v", v, *e.AUC, e.Samples, want[MetricAUC], want[MetricSamples])
		}
		if e.LatencyP95Ms != nil || e.Precision != 0 {
			t.Errorf("version %s: figures without a query are set: %+v", v, e)
		}
	}
}

func TestScalarIsTheOnlyServingVersions(t *testing.T) {
	s := testSource(t, map[string]string{MetricAUC: `scalar(modelops_test_auc{model_version="12"})`})
	r, err := s.Query(context.Background(), time.Time{}, "12")
	if err != nil {
		t.Fatal(err)
	}
	if got := *r.ByVersion["12"].AUC; got != exported["12"][MetricAUC] {
		t.Errorf("auc = %v, want %v", got, exported["12"][MetricAUC])
	}
	_, err = s.Query(context.Background(), time.Time{}, "12", "13")
	if !errors.Is(err, ErrInvalidResult) || !strings.Contains(err.Error(), "a scalar, but 2 versions serve") {
		t.Errorf("scalar with two versions serving: %v, want ErrInvalidResult saying so", err)
	}
}

func TestBadResultsAreClearErrors(t *testing.T) {
	tests := []struct {
		name     string
		query    string
		versions []string
		sentinel error
		want     string
	}{
		{"series without the version label", "sum(modelops_test_auc)", nil, ErrInvalidResult, "has no model_version label; aggregate by (model_version)"},
		{"several series for one version", "modelops_test_replica_auc", nil, ErrInvalidResult, `several series for model_version "12"`},
		{"range vector", "modelops_test_auc[1m]", nil, ErrInvalidResult, "a range vector; want an instant vector"},
		{"NaN", "modelops_test_auc * 0 / 0", nil, ErrInvalidResult, "value NaN; want a finite number"},
		{"infinity", "modelops_test_auc / 0", nil, ErrInvalidResult, "value +Inf; want a finite number"},
		{"fraction above 1", "modelops_test_auc + 1", []string{"12"}, ErrInvalidResult, `model_version "12": invalid query result: value 1.9125; want a fraction in 0..1`},
		{"nothing returned", "modelops_test_no_such_metric", nil, ErrNoData, "empty result"},
		{"a serving version missing", "modelops_test_auc", []string{"12", "14"}, ErrNoData, `no data for model_version "14"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := testSource(t, map[string]string{MetricAUC: tc.query})
			_, err := s.Query(context.Background(), time.Time{}, tc.versions...)
			if !errors.Is(err, tc.sentinel) {
				t.Fatalf("Query = %v, want an error wrapping %v", err, tc.sentinel)
			}
			msg := err.Error()
			for _, w := range []string{"query auc (" + tc.query + ")", tc.want} {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			if errors.Is(err, ErrUnavailable) {
				t.Errorf("error %q is marked retryable", msg)
			}
		})
	}
}

func TestQueryErrorCarriesPrometheusErrorType(t *testing.T) {
	s := testSource(t, map[string]string{MetricAUC: "modelops_test_auc{"})
	_, err := s.Query(context.Background(), time.Time{})
	var apiErr *v1.Error
	if !errors.As(err, &apiErr) || apiErr.Type != v1.ErrBadData {
		t.Fatalf("Query = %v, want a *v1.Error of type bad_data", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "query auc (modelops_test_auc{)") || !strings.Contains(msg, "bad_data") {
		t.Errorf("error %q does not name the query and the error type", msg)
	}
	if errors.Is(err, ErrUnavailable) {
		t.Errorf("a parse error is marked retryable: %v", err)
	}
}

// injectWarnings adds warnings to the real server's answers: Prometheus 2.x sends them
// for partial answers of remote storage, which a local server cannot produce.
type injectWarnings struct{ next http.RoundTripper }

func (w injectWarnings) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := w.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	var body map[string]any
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &body); err != nil {
		return nil, err
	}
	body["warnings"] = []string{"remote read of store-2 failed: partial response"}
	b, _ = json.Marshal(body)
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	resp.Header.Del("Content-Length")
	return resp, nil
}

func TestWarningsAreAnError(t *testing.T) {
	s := testSource(t, allQueries(), WithRoundTripper(injectWarnings{http.DefaultTransport}))
	_, err := s.Query(context.Background(), time.Time{}, "12")
	if !errors.Is(err, ErrInvalidResult) || !strings.Contains(err.Error(), "prometheus warned: remote read of store-2 failed: partial response") {
		t.Fatalf("Query = %v, want ErrInvalidResult listing the warning", err)
	}
}

func TestPrometheusDownIsRetryable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s, err := New(policies.PrometheusSpec{URL: "http://" + addr, Queries: map[string]string{MetricAUC: "modelops_test_auc"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Query(context.Background(), time.Time{}, "12")
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("Query = %v, want ErrUnavailable wrapping connection refused", err)
	}
	if !strings.Contains(err.Error(), "query auc (modelops_test_auc)") {
		t.Errorf("error %q does not name the query", err)
	}
}

// stall holds every request until its context ends, as an overloaded server would.
type stall struct{}

func (stall) RoundTrip(req *http.Request) (*http.Response, error) {
	<-req.Context().Done()
	return nil, req.Context().Err()
}

// overloaded answers every request with 503, as a Prometheus still replaying its WAL does.
type overloaded struct{}

func (overloaded) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusServiceUnavailable, Status: "503 Service Unavailable",
		Body: io.NopCloser(strings.NewReader("Service Unavailable")), Header: http.Header{}, Request: req}, nil
}

func TestServerErrorIsRetryable(t *testing.T) {
	s := testSource(t, map[string]string{MetricAUC: "modelops_test_auc"}, WithRoundTripper(overloaded{}))
	_, err := s.Query(context.Background(), time.Time{}, "12")
	var apiErr *v1.Error
	if !errors.Is(err, ErrUnavailable) || !errors.As(err, &apiErr) || apiErr.Type != v1.ErrServer {
		t.Fatalf("Query = %v, want ErrUnavailable wrapping a server_error", err)
	}
}

func TestTimeoutIsRetryable(t *testing.T) {
	s := testSource(t, map[string]string{MetricAUC: "modelops_test_auc"}, WithRoundTripper(stall{}), WithTimeout(50*time.Millisecond))
	_, err := s.Query(context.Background(), time.Time{}, "12")
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Query = %v, want ErrUnavailable wrapping the deadline", err)
	}

	// The caller's own cancellation is not Prometheus being unavailable.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = s.Query(ctx, time.Time{}, "12")
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrUnavailable) {
		t.Errorf("Query with a cancelled context = %v, want context.Canceled, not retryable", err)
	}
}

func TestQueryAtAnInstantBeforeTheDataHasNone(t *testing.T) {
	past := time.Now().Add(-time.Hour)
	s := testSource(t, map[string]string{MetricAUC: "modelops_test_auc"}, WithClock(func() time.Time { return past }))
	if _, err := s.Query(context.Background(), time.Time{}, "12"); !errors.Is(err, ErrNoData) {
		t.Errorf("Query at the clock's hour-old now = %v, want ErrNoData", err)
	}
	r, err := s.Query(context.Background(), time.Now(), "12")
	if err != nil || *r.ByVersion["12"].AUC != exported["12"][MetricAUC] {
		t.Errorf("Query at now = %+v, %v; want the exported AUC", r, err)
	}
}

// recordAuth forwards to the real server and remembers the Authorization header.
type recordAuth struct {
	mu   sync.Mutex
	seen []string
}

func (r *recordAuth) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.seen = append(r.seen, req.Header.Get("Authorization"))
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func TestBearerTokenFromFileIsSentAndNeverShown(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte("s3cret-one\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rec := &recordAuth{}
	s := testSource(t, map[string]string{MetricAUC: "modelops_test_auc"}, WithRoundTripper(rec), WithBearerTokenFile(path))
	if _, err := s.Query(context.Background(), time.Time{}, "12"); err != nil {
		t.Fatal(err)
	}
	// A rotated token is used from the next request on.
	if err := os.WriteFile(path, []byte("s3cret-two"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Query(context.Background(), time.Time{}, "12"); err != nil {
		t.Fatal(err)
	}
	if len(rec.seen) != 2 || rec.seen[0] != "Bearer s3cret-one" || rec.seen[1] != "Bearer s3cret-two" {
		t.Errorf("Authorization headers = %q, want the token of the file at each request", rec.seen)
	}

	// A failing query never shows the token.
	bad := testSource(t, map[string]string{MetricAUC: "modelops_test_auc{"}, WithRoundTripper(rec), WithBearerTokenFile(path))
	_, err := bad.Query(context.Background(), time.Time{})
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Query = %v, want an error without the token", err)
	}

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	_, err = s.Query(context.Background(), time.Time{}, "12")
	if err == nil || !strings.Contains(err.Error(), "read bearer token") || errors.Is(err, ErrUnavailable) {
		t.Errorf("Query without the token file = %v, want a non-retryable error reading the token", err)
	}
}

func TestBearerTokenFromEnv(t *testing.T) {
	t.Setenv("MODELOPS_TEST_PROM_TOKEN", "env-token")
	rec := &recordAuth{}
	s := testSource(t, map[string]string{MetricAUC: "modelops_test_auc"}, WithRoundTripper(rec), WithBearerTokenEnv("MODELOPS_TEST_PROM_TOKEN"))
	if _, err := s.Query(context.Background(), time.Time{}, "12"); err != nil {
		t.Fatal(err)
	}
	if len(rec.seen) != 1 || rec.seen[0] != "Bearer env-token" {
		t.Errorf("Authorization headers = %q, want Bearer env-token", rec.seen)
	}
}

func TestNewRejectsBadSpec(t *testing.T) {
	tests := []struct {
		name string
		spec policies.PrometheusSpec
		opts []Option
		want string
	}{
		{"not http", policies.PrometheusSpec{URL: "ftp://prom", Queries: map[string]string{MetricAUC: "x"}}, nil, `prometheus url "ftp://prom": want an http or https URL`},
		{"unknown metric", policies.PrometheusSpec{URL: "http://prom", Queries: map[string]string{"f1": "x"}}, nil, `prometheus query "f1": unknown metric`},
		{"empty query", policies.PrometheusSpec{URL: "http://prom", Queries: map[string]string{MetricAUC: " "}}, nil, "prometheus query auc: empty query"},
		{"zero timeout", policies.PrometheusSpec{URL: "http://prom"}, []Option{WithTimeout(0)}, "want a positive duration"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.spec, tc.opts...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	s, err := New(policies.PrometheusSpec{})
	if err != nil {
		t.Fatalf("New with a zero spec: %v", err)
	}
	if _, err := s.Query(context.Background(), time.Time{}); err == nil {
		t.Error("Query of a zero spec succeeded")
	}
}

func policy(queries map[string]string, production string, trigger *policies.PerformanceTrigger) *policies.Policy {
	p := &policies.Policy{}
	p.Metadata.Name = "sepsis-risk"
	p.Spec.Production = &policies.ModelVersion{Version: production}
	p.Spec.Canary = &policies.Canary{Version: "13"}
	p.Spec.Metrics = &policies.MetricsSpec{Prometheus: &policies.PrometheusSpec{URL: promURL, Queries: queries}}
	if trigger != nil {
		p.Spec.Retrain = &policies.RetrainSpec{OnPerformanceDrop: trigger}
	}
	return p
}

func TestProductionReadsTheWatchedMetricOfProduction(t *testing.T) {
	ctx := context.Background()
	// One source serves every policy, each with its own spec, as the reconciler holds it.
	s, err := New(policies.PrometheusSpec{})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := s.Production(ctx, policy(allQueries(), "12", nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	if rec == nil || rec.Version != "12" || rec.Metric != "auc" || rec.Value != exported["12"][MetricAUC] || rec.Samples != 15234 || !rec.At.IsZero() {
		t.Errorf("Production = %+v, want version 12's AUC %v with 15234 samples and a zero At", rec, exported["12"][MetricAUC])
	}

	rec, err = s.Production(ctx, policy(allQueries(), "11", &policies.PerformanceTrigger{Metric: "recall"}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if rec == nil || rec.Version != "11" || rec.Metric != "recall" || rec.Value != exported["11"][MetricRecall] {
		t.Errorf("Production watching recall = %+v, want version 11's recall %v", rec, exported["11"][MetricRecall])
	}

	// A scalar query serves when only production does.
	rec, err = s.Production(ctx, policy(map[string]string{MetricAUC: `scalar(modelops_test_auc{model_version="13"})`}, "13", nil), nil)
	if err != nil || rec == nil || rec.Value != exported["13"][MetricAUC] || rec.Samples != 0 {
		t.Errorf("Production of a scalar query = %+v, %v; want AUC %v and no samples", rec, err, exported["13"][MetricAUC])
	}
}

func TestProductionWithoutDataIsNil(t *testing.T) {
	ctx := context.Background()
	s, _ := New(policies.PrometheusSpec{})
	tests := []struct {
		name string
		p    *policies.Policy
	}{
		{"no prometheus metrics", &policies.Policy{}},
		{"a version Prometheus has no series of", policy(allQueries(), "14", nil)},
		{"zero samples", policy(map[string]string{MetricAUC: "modelops_test_auc", MetricSamples: "modelops_test_samples * 0"}, "12", nil)},
		{"no query for an unwatched metric", policy(map[string]string{MetricLatencyP95: "modelops_test_latency_p95_ms"}, "12", &policies.PerformanceTrigger{Disabled: true})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := s.Production(ctx, tc.p, nil)
			if err != nil || rec != nil {
				t.Errorf("Production = %+v, %v; want nil, nil", rec, err)
			}
		})
	}
}

func TestProductionErrors(t *testing.T) {
	ctx := context.Background()
	s, _ := New(policies.PrometheusSpec{})
	_, err := s.Production(ctx, policy(map[string]string{MetricAUC: "modelops_test_auc"}, "12", &policies.PerformanceTrigger{Metric: "precision"}), nil)
	if err == nil || !strings.Contains(err.Error(), "sepsis-risk: spec.metrics.prometheus.queries has no precision query, which spec.retrain.onPerformanceDrop watches") {
		t.Errorf("Production without the watched query = %v, want an error naming it", err)
	}
	_, err = s.Production(ctx, policy(map[string]string{MetricAUC: "sum(modelops_test_auc)"}, "12", nil), nil)
	if !errors.Is(err, ErrInvalidResult) || !strings.Contains(err.Error(), "read production metrics of sepsis-risk: query auc (sum(modelops_test_auc))") {
		t.Errorf("Production with a label-less vector = %v, want ErrInvalidResult naming model and query", err)
	}
}

func TestSamplesAreRoundedAndBounded(t *testing.T) {
	ctx := context.Background()
	s := testSource(t, map[string]string{MetricSamples: "modelops_test_samples + 0.4"})
	r, err := s.Query(ctx, time.Time{}, "12", "13", "12")
	if err != nil {
		t.Fatal(err)
	}
	if got := r.ByVersion["12"].Samples; got != 15234 || len(r.ByVersion) != 2 {
		t.Errorf("samples of 12 = %d over %d versions, want 15234 (rounded) over 2", got, len(r.ByVersion))
	}
	for query, want := range map[string]string{
		"-modelops_test_samples":        "want a count in 0..2^53",
		"modelops_test_samples * 1e300": "want a count in 0..2^53",
	} {
		_, err := testSource(t, map[string]string{MetricSamples: query}).Query(ctx, time.Time{}, "12")
		if !errors.Is(err, ErrInvalidResult) || !strings.Contains(err.Error(), want) {
			t.Errorf("samples %s: %v, want ErrInvalidResult containing %q", query, err, want)
		}
	}
	_, err = testSource(t, map[string]string{MetricLatencyP95: "-modelops_test_latency_p95_ms"}).Query(ctx, time.Time{}, "12")
	if !errors.Is(err, ErrInvalidResult) || !strings.Contains(err.Error(), `model_version "12": invalid query result: value -118.5; want a number >= 0`) {
		t.Errorf("negative latency: %v, want ErrInvalidResult naming the version and value", err)
	}
}
