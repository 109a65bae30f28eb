package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/medimind/modelops/reconciler"
)

func ptr(f float64) *float64 { return &f }

func apiServer(t *testing.T, b *fakeBackend, opts ...Option) *client {
	t.Helper()
	s, err := New(append([]Option{WithAPI(b, testToken)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return newClient(t, s)
}

func bearer() []string {
	return []string{"Authorization", "Bearer " + testToken, "Content-Type", "application/json"}
}

// errorOf decodes an error body.
func errorOf(t *testing.T, r response) errorBody {
	t.Helper()
	var e apiError
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("error body %q: %v", r.body, err)
	}
	return e.Error
}

func TestStatusListsEveryModel(t *testing.T) {
	at := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	b := &fakeBackend{models: []ModelStatus{
		{
			Model: "readmission-30d", File: "models/readmission-30d.yaml",
			Production: &Version{Version: "3", URI: "models:/readmission-30d/3"},
			Errors:     []string{"models/readmission-30d.yaml:9:5: spec.canary.weight: must be 0..100"},
		},
		{
			Model: "sepsis-risk", File: "models/sepsis-risk.yaml",
			Production:   &Version{Version: "12", URI: "models:/sepsis-risk/12"},
			Canary:       &Version{Version: "13", URI: "models:/sepsis-risk/13"},
			CanaryWeight: 10,
			Conditions:   []reconciler.Condition{{Type: reconciler.ConditionReady, Status: reconciler.ConditionTrue, Reason: reconciler.ReconciledReason, LastTransition: at}},
			LastDrift: &reconciler.DriftRecord{At: at, Commit: "4f2a9c1", Drifted: true, Share: 0.6, DriftedColumns: 6, Columns: 10,
				QualityFindings: 2, SuspectBatches: []string{"C"}, BatchColumn: "lab_id"},
			Proposals: []reconciler.Proposal{{Model: "sepsis-risk", Kind: reconciler.ProposalRetrain, State: reconciler.ProposalOpen, Key: "generation-7", Digest: "d", Title: "Retrain sepsis-risk", Branch: "modelops/sepsis-risk/retrain", URL: "https://github.example/pr/4"}},
		},
	}}
	c := apiServer(t, b)
	r := c.do("GET", "/api/v1/status", "")
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var got statusResponse
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Models) != 2 || got.Models[1].CanaryWeight != 10 || got.Models[1].LastDrift.Share != 0.6 ||
		got.Models[1].Proposals[0].URL != "https://github.example/pr/4" || len(got.Models[0].Errors) != 1 {
		t.Errorf("status = %s", r.body)
	}
	// A model without conditions or proposals shows empty lists, not null.
	if !strings.Contains(string(r.body), `"conditions":[]`) || !strings.Contains(string(r.body), `"proposals":[]`) {
		t.Errorf("empty lists not rendered as []: %s", r.body)
	}
}

func TestDriftRunsTheCheckAndReturnsTheReport(t *testing.T) {
	report := `{"drifted":true,"share":0.6,"datasetShare":0.5,"columns":[{"name":"age"}],"groups":[]}`
	b := &fakeBackend{drift: reconciler.DriftResult{Drifted: true, Share: 0.6, DriftedColumns: 6, Columns: 10, Report: []byte(report)}}
	c := apiServer(t, b)
	for _, body := range []string{"", "{}"} {
		r := c.do("POST", "/api/v1/models/sepsis-risk/drift", body, bearer()...)
		if r.status != http.StatusOK {
			t.Fatalf("body %q: status %d: %s", body, r.status, r.body)
		}
		var got driftResponse
		if err := json.Unmarshal(r.body, &got); err != nil {
			t.Fatal(err)
		}
		if got.Model != "sepsis-risk" || !got.Drifted || got.DriftedColumns != 6 || string(got.Report) != report {
			t.Errorf("drift = %s", r.body)
		}
	}
	if !slices.Equal(b.calls, []string{"drift sepsis-risk", "drift sepsis-risk"}) {
		t.Errorf("backend calls %v", b.calls)
	}
}

func TestRetrainOpensTheProposal(t *testing.T) {
	b := &fakeBackend{proposal: reconciler.Proposal{Model: "sepsis-risk", Kind: reconciler.ProposalRetrain, State: reconciler.ProposalOpen,
		Key: "generation-7", Digest: "abc", Title: "Retrain sepsis-risk (generation 7)", Branch: "modelops/sepsis-risk/retrain", URL: "https://github.example/pr/9"}}
	c := apiServer(t, b)
	r := c.do("POST", "/api/v1/models/sepsis-risk/retrain", `{"reason": " new labels from ward 4 ", "by": "dr.lee"}`, bearer()...)
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var got retrainResponse
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	if got.Proposal.URL != "https://github.example/pr/9" {
		t.Errorf("proposal = %+v", got.Proposal)
	}
	if len(b.retrain) != 1 || b.retrain[0] != (RetrainRequest{Reason: "new labels from ward 4", By: "dr.lee"}) {
		t.Errorf("backend got %+v", b.retrain)
	}
}

func TestCandidateReturnsTheVerdictAndProposal(t *testing.T) {
	passing := reconciler.PromotionVerdict{Version: "14", ProductionVersion: "12", Passed: true, Criteria: []reconciler.Criterion{
		{Name: reconciler.CriterionAUCImprovement, Op: reconciler.OpAtLeast, Wanted: 0.03, Got: ptr(0.04), Candidate: ptr(0.92), Production: ptr(0.88), Pass: true},
		{Name: reconciler.CriterionLatency, Op: reconciler.OpUnder, Wanted: 200, Got: ptr(120), Candidate: ptr(120), Pass: true},
	}}
	failing := reconciler.PromotionVerdict{Version: "14", Criteria: []reconciler.Criterion{
		{Name: reconciler.CriterionAUCImprovement, Op: reconciler.OpAtLeast, Wanted: 0.03, NotJudged: true, Note: "production's auc is unknown: not judged"},
	}}
	prop := &reconciler.Proposal{Model: "sepsis-risk", Kind: reconciler.ProposalPromote, State: reconciler.ProposalOpen, Key: "version-14", Digest: "x", Title: "Promote sepsis-risk 14", Branch: "modelops/sepsis-risk/promote"}
	body := `{"version":"14","uri":"models:/sepsis-risk/14","metrics":{"auc":0.92,"precision":0.8,"recall":0.75,"samples":12000,"latencyMs":120,"coverage":0.97}}`
	for _, tc := range []struct {
		name    string
		outcome CandidateOutcome
	}{
		{"a passing candidate is proposed", CandidateOutcome{Verdict: passing, Proposal: prop}},
		{"a failing candidate gets its verdict and no proposal", CandidateOutcome{Verdict: failing}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &fakeBackend{outcome: tc.outcome}
			c := apiServer(t, b)
			r := c.do("POST", "/api/v1/models/sepsis-risk/candidates", body, bearer()...)
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			var got candidateResponse
			if err := json.Unmarshal(r.body, &got); err != nil {
				t.Fatal(err)
			}
			if got.Passed != tc.outcome.Verdict.Passed || len(got.Verdict.Criteria) != len(tc.outcome.Verdict.Criteria) || (got.Proposal != nil) != (tc.outcome.Proposal != nil) {
				t.Errorf("response %s", r.body)
			}
			c0 := b.candidate[0]
			if c0.Version != "14" || c0.Metrics.Samples != 12000 || *c0.Metrics.AUC != 0.92 || *c0.Metrics.LatencyMs != 120 {
				t.Errorf("backend got %+v", c0)
			}
		})
	}
}

func TestAPIRefusesBadRequests(t *testing.T) {
	okCandidate := `{"version":"14","uri":"models:/x/14","metrics":{"auc":0.9}}`
	big := `{"reason":"` + strings.Repeat("x", DefaultMaxBodyBytes) + `"}`
	for _, tc := range []struct {
		name     string
		path     string
		body     string
		headers  []string
		status   int
		code     string
		contains string
	}{
		{"no token", "/api/v1/models/m/retrain", `{"reason":"r"}`, []string{"Content-Type", "application/json"}, 401, CodeUnauthorized, "bearer token is required"},
		{"wrong token", "/api/v1/models/m/drift", ``, []string{"Authorization", "Bearer nope"}, 401, CodeUnauthorized, "not valid"},
		{"basic auth", "/api/v1/models/m/drift", ``, []string{"Authorization", "Basic " + testToken}, 401, CodeUnauthorized, "bearer token is required"},
		{"token with a suffix", "/api/v1/models/m/drift", ``, []string{"Authorization", "Bearer " + testToken + "x"}, 401, CodeUnauthorized, "not valid"},
		{"unknown field", "/api/v1/models/m/retrain", `{"reason":"r","priority":1}`, bearer(), 400, CodeBadRequest, `field "priority": unknown field`},
		{"unknown nested field", "/api/v1/models/m/candidates", `{"version":"1","uri":"u","metrics":{"auc":0.9,"f1":0.8}}`, bearer(), 400, CodeBadRequest, `field "f1": unknown field`},
		{"wrong type", "/api/v1/models/m/candidates", `{"version":"1","uri":"u","metrics":{"samples":"many"}}`, bearer(), 400, CodeBadRequest, `field "metrics.samples": got a JSON string, want an integer`},
		{"two values", "/api/v1/models/m/retrain", `{"reason":"r"} {"reason":"s"}`, bearer(), 400, CodeBadRequest, "more than one JSON value"},
		{"trailing garbage", "/api/v1/models/m/retrain", `{"reason":"r"}x`, bearer(), 400, CodeBadRequest, "more than one JSON value"},
		{"duplicate key", "/api/v1/models/m/candidates", `{"version":"14","uri":"models:/m/14","version":"15","metrics":{}}`, bearer(), 400, CodeBadRequest, `key "version" appears twice in the top-level object`},
		{"duplicate nested key", "/api/v1/models/m/candidates", `{"version":"14","uri":"models:/m/14","metrics":{"auc":0.6,"auc":0.99}}`, bearer(), 400, CodeBadRequest, `key "auc" appears twice in metrics`},
		{"duplicate reason", "/api/v1/models/m/retrain", `{"reason":"approved","reason":"declined"}`, bearer(), 400, CodeBadRequest, `key "reason" appears twice`},
		{"not JSON", "/api/v1/models/m/retrain", `{"reason":`, bearer(), 400, CodeBadRequest, "ends in the middle"},
		{"syntax error", "/api/v1/models/m/retrain", `{"reason" "r"}`, bearer(), 400, CodeBadRequest, "not valid JSON at byte"},
		{"empty body", "/api/v1/models/m/retrain", ``, bearer(), 400, CodeBadRequest, "body is empty"},
		{"blank reason", "/api/v1/models/m/retrain", `{"reason":"  "}`, bearer(), 400, CodeBadRequest, `field "reason": required`},
		{"NUL in the reason", "/api/v1/models/m/retrain", `{"reason":"drift\u0000 hidden"}`, bearer(), 400, CodeBadRequest, `field "reason": character 6 is the control character U+0000`},
		{"newline in by", "/api/v1/models/m/retrain", `{"reason":"r","by":"ana\nModelops-Action: launch"}`, bearer(), 400, CodeBadRequest, `field "by": character 4 is the control character U+000A`},
		{"body on drift", "/api/v1/models/m/drift", `{"threshold":0.1}`, bearer(), 400, CodeBadRequest, `field "threshold": unknown field`},
		{"too large", "/api/v1/models/m/retrain", big, bearer(), 413, CodeTooLarge, "larger than 1048576 bytes"},
		{"form body", "/api/v1/models/m/retrain", `reason=r`, []string{"Authorization", "Bearer " + testToken, "Content-Type", "application/x-www-form-urlencoded"}, 415, CodeUnsupportedMedia, "want application/json"},
		{"candidate without version", "/api/v1/models/m/candidates", `{"uri":"u","metrics":{}}`, bearer(), 400, CodeBadRequest, `field "version": required`},
		{"auc out of range", "/api/v1/models/m/candidates", `{"version":"1","uri":"models:/m/1","metrics":{"auc":1.2,"samples":-1}}`, bearer(), 400, CodeBadRequest, `field "metrics.auc": 1.2 is outside 0..1; field "metrics.samples": -1 is negative`},
		{"newline in version", "/api/v1/models/m/candidates", `{"version":"14\nMerge now","uri":"models:/m/14","metrics":{}}`, bearer(), 400, CodeBadRequest, `field "version": "14\nMerge now" contains control characters`},
		{"javascript uri", "/api/v1/models/m/candidates", `{"version":"14","uri":"javascript:alert(1)","metrics":{}}`, bearer(), 400, CodeBadRequest, `field "uri": "javascript:alert(1)": the scheme must be one of`},
		{"model name not a label", "/api/v1/models/Sepsis_Risk/candidates", okCandidate, bearer(), 404, CodeUnknownModel, "DNS-1123"},
		{"no such endpoint", "/api/v1/models/m/promote", `{}`, bearer(), 404, CodeNotFound, "no endpoint POST /api/v1/models/m/promote"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &fakeBackend{}
			c := apiServer(t, b)
			r := c.do("POST", tc.path, tc.body, tc.headers...)
			e := errorOf(t, r)
			if r.status != tc.status || e.Code != tc.code || !strings.Contains(e.Message, tc.contains) {
				t.Errorf("got %d %s %q; want %d %s containing %q", r.status, e.Code, e.Message, tc.status, tc.code, tc.contains)
			}
			if tc.status == 401 && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer ") {
				t.Errorf("401 without a Bearer WWW-Authenticate challenge: %q", r.header.Get("WWW-Authenticate"))
			}
			if b.callCount() != 0 {
				t.Errorf("a refused request reached the backend: %v", b.calls)
			}
		})
	}
}

func TestBackendErrorsMapToStatusCodes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		err     error
		status  int
		code    string
		details []string
	}{
		{"unknown model", fmt.Errorf("find sepsis-risk: %w", ErrUnknownModel), 404, CodeUnknownModel, nil},
		{"invalid policy", &PolicyError{Model: "sepsis-risk", Errors: []string{
			"models/sepsis-risk.yaml:12:7: spec.canary.weight: must be 0..100",
			"models/sepsis-risk.yaml:20:5: spec.drift.interval: not a duration"}}, 409, CodeInvalidPolicy, []string{
			"models/sepsis-risk.yaml:12:7: spec.canary.weight: must be 0..100",
			"models/sepsis-risk.yaml:20:5: spec.drift.interval: not a duration"}},
		{"conflict", fmt.Errorf("sepsis-risk is suspended: %w", ErrConflict), 409, CodeConflict, nil},
		{"invalid input", fmt.Errorf("version 14 already registered: %w", ErrInvalidInput), 422, CodeInvalidInput, nil},
		{"unavailable", fmt.Errorf("no cycle yet: %w", ErrUnavailable), 503, CodeUnavailable, nil},
		{"anything else", errors.New("push https://x-access-token:ghs_abc@github.example/m.git: rejected"), 500, CodeInternal, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs := &syncBuffer{}
			b := &fakeBackend{err: tc.err}
			c := apiServer(t, b, WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
			for _, req := range []struct{ path, body string }{
				{"/api/v1/models/sepsis-risk/drift", ""},
				{"/api/v1/models/sepsis-risk/retrain", `{"reason":"r"}`},
				{"/api/v1/models/sepsis-risk/candidates", `{"version":"1","uri":"models:/m/1","metrics":{}}`},
			} {
				r := c.do("POST", req.path, req.body, bearer()...)
				e := errorOf(t, r)
				if r.status != tc.status || e.Code != tc.code || !slices.Equal(e.Details, tc.details) {
					t.Errorf("%s: got %d %+v; want %d %s %v", req.path, r.status, e, tc.status, tc.code, tc.details)
				}
				if tc.status == 500 && strings.Contains(string(r.body), "ghs_abc") {
					t.Errorf("500 body leaks the backend's error: %s", r.body)
				}
			}
			if tc.status == 500 && !strings.Contains(logs.String(), "api request failed") {
				t.Errorf("500 not logged: %s", logs.String())
			}
			if tc.status == 500 || tc.status == 503 {
				if r := c.do("GET", "/api/v1/status", ""); r.status != tc.status {
					t.Errorf("GET status: got %d, want %d", r.status, tc.status)
				}
			}
		})
	}
}

func TestRouterAnswersJSONForUnknownRoutesAndMethods(t *testing.T) {
	c := apiServer(t, &fakeBackend{})
	r := c.do("GET", "/api/v1/models/sepsis-risk/drift", "")
	if r.status != http.StatusMethodNotAllowed || errorOf(t, r).Code != CodeMethodNotAllowed || !strings.Contains(r.header.Get("Allow"), "POST") {
		t.Errorf("GET on drift: %d %s, Allow %q", r.status, r.body, r.header.Get("Allow"))
	}
	r = c.do("GET", "/nothing/here", "")
	if r.status != http.StatusNotFound || errorOf(t, r).Code != CodeNotFound {
		t.Errorf("unknown path: %d %s", r.status, r.body)
	}
}

func TestOpenAPIIsServedAndDescribesEveryRoute(t *testing.T) {
	m := NewMetrics()
	s, err := New(WithAPI(&fakeBackend{}, testToken), WithMetrics(m), WithGitHubWebhook([]byte(testSecret), func() {}),
		WithMLflowWebhook([]byte(testSecret), func() {}))
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, s)
	r := c.do("GET", "/api/v1/openapi.yaml", "")
	if r.status != http.StatusOK || string(r.body) != string(OpenAPI()) || r.header.Get("Content-Type") != "application/yaml" {
		t.Fatalf("openapi.yaml: %d %s", r.status, r.header.Get("Content-Type"))
	}
	// Every pattern the server registers is in the description, and nothing more.
	served := map[string]bool{}
	for _, p := range []string{"GET /healthz", "GET /readyz", "GET /metrics", "GET /api/v1/openapi.yaml", "GET /api/v1/status",
		"POST /api/v1/models/{model}/drift", "POST /api/v1/models/{model}/retrain", "POST /api/v1/models/{model}/candidates", "POST /webhooks/github", "POST /webhooks/mlflow"} {
		method, path, _ := strings.Cut(p, " ")
		req, _ := http.NewRequest(method, "http://x"+strings.ReplaceAll(path, "{model}", "m"), nil)
		if _, pattern := s.mux.Handler(req); pattern != p {
			t.Errorf("server does not route %s (got %q)", p, pattern)
		}
		served[p] = true
	}
	doc, _ := description()
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !served[method+" "+path] {
				t.Errorf("openapi.yaml describes %s %s, which the server does not serve", method, path)
			}
		}
	}
}

func TestNewRefusesUnsafeConfigurations(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []Option
		want string
	}{
		{"API without a token", []Option{WithAPI(&fakeBackend{}, "")}, "token is empty"},
		{"webhook without a secret", []Option{WithGitHubWebhook(nil, func() {})}, "secret is empty"},
		{"webhook without a callback", []Option{WithGitHubWebhook([]byte(testSecret), nil)}, "no reconcile callback"},
		{"no delivery memory", []Option{WithGitHubWebhook([]byte(testSecret), func() {}), WithDeliveryMemory(0)}, "delivery memory 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.opts...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New: %v, want %q", err, tc.want)
			}
		})
	}
}
