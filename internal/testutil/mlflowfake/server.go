package mlflowfake

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/routers"
	"github.com/medimind/modelops/internal/testutil/contract"
)

// Prefix is where the REST API is served.
const Prefix = "/api/2.0/mlflow/"

// Option configures a Server.
type Option func(*Server)

// WithClock makes the fake tell the time with now (default time.Now): it decides when a
// pending version becomes READY and stamps the timestamps.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithReadyAfter is how long a new version stays PENDING_REGISTRATION (default 0: it is
// READY at once, as with MLflow's local stores).
func WithReadyAfter(d time.Duration) Option { return func(s *Server) { s.readyAfter = d } }

// WithBearerToken makes the fake require "Authorization: Bearer token" (MLflow behind an
// auth proxy, or Databricks with a personal access token).
func WithBearerToken(token string) Option {
	return func(s *Server) { s.wantAuth = "Bearer " + token }
}

// WithBasicAuth makes the fake require these Basic credentials (MLflow's basic-auth app).
func WithBasicAuth(user, password string) Option {
	return func(s *Server) {
		r := &http.Request{Header: http.Header{}}
		r.SetBasicAuth(user, password)
		s.wantAuth = r.Header.Get("Authorization")
	}
}

// WithPageSize is the page size of a search when the request sets no max_results
// (default 10000, MLflow's).
func WithPageSize(n int) Option { return func(s *Server) { s.pageSize = n } }

// Call is a request the fake answered.
type Call struct {
	Method string
	// Endpoint is the path below Prefix, e.g. "registered-models/alias".
	Endpoint      string
	Query         string
	Body          string
	Authorization string
	Status        int
}

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	tb  testing.TB
	srv *httptest.Server
	v   *contract.Contract

	now        func() time.Time
	readyAfter time.Duration
	wantAuth   string
	pageSize   int

	mu     sync.Mutex
	models map[string]*model
	runs   map[string]RunSpec
	faults []*Fault
	calls  []Call
}

// New starts a fake on a loopback address; it is closed when the test ends.
func New(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	v, err := loadValidator()
	if err != nil {
		tb.Fatalf("mlflowfake: %v", err)
	}
	s := &Server{tb: tb, v: v, now: time.Now, pageSize: 10000, models: map[string]*model{}, runs: map[string]RunSpec{}}
	for _, o := range opts {
		o(s)
	}
	s.srv = httptest.NewServer(s)
	tb.Cleanup(s.srv.Close)
	return s
}

// URL is the tracking URI of the fake (without a trailing slash).
func (s *Server) URL() string { return s.srv.URL }

// Calls returns the requests answered so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// response is a handler's answer: 200 with body, or an MLflow error.
type response struct {
	status int
	header http.Header
	body   any
}

func ok(body any) *response { return &response{status: http.StatusOK, body: body} }

// empty is the answer of the RPCs whose response message has no field.
func empty() *response { return ok(map[string]any{}) }

// mlflowError is MLflow's error answer with the status MLflow maps code to.
func mlflowError(code, format string, args ...any) *response {
	return &response{status: statusOf[code], body: map[string]any{"error_code": code, "message": fmt.Sprintf(format, args...)}}
}

var statusOf = map[string]int{
	"RESOURCE_DOES_NOT_EXIST": http.StatusNotFound,
	"RESOURCE_ALREADY_EXISTS": http.StatusBadRequest,
	"INVALID_PARAMETER_VALUE": http.StatusBadRequest,
	"BAD_REQUEST":             http.StatusBadRequest,
	"PERMISSION_DENIED":       http.StatusForbidden,
	"UNAUTHENTICATED":         http.StatusUnauthorized,
	"ENDPOINT_NOT_FOUND":      http.StatusNotFound,
	"REQUEST_LIMIT_EXCEEDED":  http.StatusTooManyRequests,
	"INTERNAL_ERROR":          http.StatusInternalServerError,
	"TEMPORARILY_UNAVAILABLE": http.StatusServiceUnavailable,
}

// request is what a handler reads.
type request struct {
	query map[string][]string
	body  map[string]any
}

func (rq *request) param(name string) string {
	if v, ok := rq.body[name].(string); ok {
		return v
	}
	if v := rq.query[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

type handler func(s *Server, rq *request) *response

// handlers are keyed by the contract's operationId.
var handlers = map[string]handler{
	"createRegisteredModel":      (*Server).createRegisteredModel,
	"getRegisteredModel":         (*Server).getRegisteredModel,
	"getModelVersionByAlias":     (*Server).getModelVersionByAlias,
	"setRegisteredModelAlias":    (*Server).setRegisteredModelAlias,
	"deleteRegisteredModelAlias": (*Server).deleteRegisteredModelAlias,
	"createModelVersion":         (*Server).createModelVersion,
	"getModelVersion":            (*Server).getModelVersion,
	"searchModelVersions":        (*Server).searchModelVersions,
	"setModelVersionTag":         (*Server).setModelVersionTag,
	"deleteModelVersion":         (*Server).deleteModelVersion,
	"getRun":                     (*Server).getRun,
}

// ServeHTTP validates the request, answers it (or lets a fault answer it), validates the
// answer and records the call.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.tb.Errorf("mlflowfake: %s %s: read request body: %v", r.Method, r.URL.Path, err)
		return
	}
	endpoint := strings.TrimPrefix(r.URL.Path, Prefix)
	call := Call{Method: r.Method, Endpoint: endpoint, Query: r.URL.RawQuery, Body: string(body), Authorization: r.Header.Get("Authorization")}
	route, params, err := s.v.Route(r)
	if err != nil {
		s.tb.Errorf("mlflowfake: unexpected request %s %s: %v", r.Method, r.URL.RequestURI(), err)
		call.Status = http.StatusNotFound
		s.record(call)
		writeJSON(w, http.StatusNotFound, nil, mustJSON(mlflowError("ENDPOINT_NOT_FOUND", "No API found for '%s %s'", r.Method, r.URL.Path).body))
		return
	}
	resp := s.answer(r, body, route, params, endpoint)
	out := mustJSON(resp.body)
	header := resp.header
	if header == nil {
		header = http.Header{}
	}
	header.Set("Content-Type", "application/json")
	if err := s.v.ValidateResponse(r, body, route, params, resp.status, header, out); err != nil {
		s.tb.Errorf("mlflowfake: answer %d to %s %s breaks the contract: %v", resp.status, r.Method, endpoint, err)
	}
	call.Status = resp.status
	s.record(call)
	writeJSON(w, resp.status, header, out)
}

func (s *Server) answer(r *http.Request, body []byte, route *routers.Route, params map[string]string, endpoint string) *response {
	if err := s.v.ValidateRequest(r, body, route, params); err != nil {
		s.tb.Errorf("mlflowfake: request %s %s breaks the contract: %v", r.Method, r.URL.RequestURI(), err)
		return mlflowError("INVALID_PARAMETER_VALUE", "Invalid request: %v", err)
	}
	if f := s.fault(r.Method, endpoint); f != nil {
		if f.Delay > 0 {
			select {
			case <-time.After(f.Delay):
			case <-r.Context().Done():
			}
		}
		if f.Status != 0 {
			return f.response()
		}
	}
	if s.wantAuth != "" && r.Header.Get("Authorization") != s.wantAuth {
		return mlflowError("UNAUTHENTICATED", "Invalid or missing credentials")
	}
	rq := &request{query: r.URL.Query()}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &rq.body); err != nil {
			return mlflowError("BAD_REQUEST", "%v", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return handlers[route.Operation.OperationID](s, rq)
}

func (s *Server) record(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func writeJSON(w http.ResponseWriter, status int, header http.Header, body []byte) {
	for k, v := range header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// pageToken is MLflow's: base64 of {"offset": n}.
func pageToken(offset int) string {
	return base64.StdEncoding.EncodeToString(mustJSON(map[string]int{"offset": offset}))
}

func parsePageToken(tok string) (int, bool) {
	raw, err := base64.StdEncoding.DecodeString(tok)
	if err != nil {
		return 0, false
	}
	var t struct {
		Offset *int `json:"offset"`
	}
	if json.Unmarshal(raw, &t) != nil || t.Offset == nil || *t.Offset < 0 {
		return 0, false
	}
	return *t.Offset, true
}
