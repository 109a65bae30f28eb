// Package kfpfake is a stateful fake of the Kubeflow Pipelines v2beta1 run API, on a
// loopback listener, for the subset modelops uses (openapi.yaml, written from KFP's
// swagger). Every request and every answer is validated against that description; a
// mismatch fails the test that owns the fake.
//
// Runs walk through the states a real run goes through, driven by the test (Run, Pause,
// FailTask, Succeed); termination moves a run to CANCELING, and the next read finds it
// CANCELED, as Argo's termination is asynchronous. Bad requests are refused as grpc-gateway
// refuses them: 400 with {"error", "code", "message", "details"}.
package kfpfake

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/medimind/modelops/internal/runner/kfp"
)

//go:embed openapi.yaml
var description []byte

// gRPC codes the fake answers with.
const (
	codeInvalidArgument = 3
	codeNotFound        = 5
	codeUnauthenticated = 16
)

// Server is the fake API server.
type Server struct {
	URL string
	t   testing.TB
	srv *httptest.Server
	rt  routers.Router
	// Token, when set, must come as "Authorization: Bearer <Token>".
	Token string
	// Namespace, when set, makes the fake multi-user: listing needs ?namespace= of it.
	Namespace string

	mu       sync.Mutex
	now      func() time.Time
	runs     []*kfp.Run
	versions map[string][]string // pipeline version ID → its tasks
	requests []string
}

// New starts a fake that knows pipeline version "v1" of pipeline "p1" with the tasks
// extract, validate, train, evaluate and register.
func New(t testing.TB) *Server {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(description)
	if err != nil {
		t.Fatalf("kfpfake: load openapi.yaml: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("kfpfake: openapi.yaml: %v", err)
	}
	rt, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatalf("kfpfake: router: %v", err)
	}
	s := &Server{t: t, rt: rt, now: time.Now,
		versions: map[string][]string{"p1/v1": {"extract", "validate", "train", "evaluate", "register"}}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// SetClock sets the fake's clock (created_at, state history).
func (s *Server) SetClock(now func() time.Time) { s.mu.Lock(); s.now = now; s.mu.Unlock() }

// Requests lists the requests served, as "METHOD path".
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// Runs returns copies of every run, oldest first.
func (s *Server) Runs() []kfp.Run {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]kfp.Run, len(s.runs))
	for i, r := range s.runs {
		out[i] = clone(r)
	}
	return out
}

// AddRun stores run as if created by someone else (another reconciler before a crash).
func (s *Server) AddRun(run kfp.Run) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.create(run).RunID
}

func clone(r *kfp.Run) kfp.Run {
	b, _ := json.Marshal(r)
	var c kfp.Run
	_ = json.Unmarshal(b, &c)
	return c
}

// serve validates the request, answers it and validates the answer.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	route, params, err := s.rt.FindRoute(r)
	if err != nil {
		s.t.Errorf("kfpfake: %s %s is not in openapi.yaml: %v", r.Method, r.URL.Path, err)
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true, SkipSettingDefaults: true}}
	if err := openapi3filter.ValidateRequest(r.Context(), in); err != nil {
		s.t.Errorf("kfpfake: %s %s does not match openapi.yaml: %v", r.Method, r.URL, err)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	status, out := s.answer(route.Operation.OperationID, params, r, body)
	b, _ := json.Marshal(out)
	rin := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status,
		Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(bytes.NewReader(b)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
	if err := openapi3filter.ValidateResponse(r.Context(), rin); err != nil {
		s.t.Errorf("kfpfake: answer %d to %s %s does not match openapi.yaml: %v", status, r.Method, r.URL.Path, err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func refuse(status, code int, format string, args ...any) (int, any) {
	msg := fmt.Sprintf(format, args...)
	return status, kfp.RuntimeError{Error: msg, Code: code, Message: msg, Details: []any{map[string]any{"@type": "type.googleapis.com/google.rpc.Status"}}}
}

func (s *Server) answer(op string, params map[string]string, r *http.Request, body []byte) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r.Method+" "+r.URL.Path)
	if s.Token != "" && r.Header.Get("Authorization") != "Bearer "+s.Token {
		return refuse(http.StatusUnauthorized, codeUnauthenticated, "Unauthenticated: Request header error: there is no user identity header")
	}
	switch op {
	case "RunService_CreateRun":
		var run kfp.Run
		if err := json.Unmarshal(body, &run); err != nil {
			return refuse(http.StatusBadRequest, codeInvalidArgument, "proto: syntax error: %v", err)
		}
		if run.DisplayName == "" {
			return refuse(http.StatusBadRequest, codeInvalidArgument, "Invalid input error: The run name is empty. Please specify a valid name")
		}
		ref := run.PipelineVersionReference
		if ref == nil || ref.PipelineID == "" || ref.PipelineVersionID == "" {
			return refuse(http.StatusBadRequest, codeInvalidArgument, "Invalid input error: Failed to create a run due to missing pipeline spec or pipeline version reference")
		}
		if _, ok := s.versions[ref.PipelineID+"/"+ref.PipelineVersionID]; !ok {
			return refuse(http.StatusNotFound, codeNotFound, "Failed to create a run: pipeline version %s of pipeline %s not found", ref.PipelineVersionID, ref.PipelineID)
		}
		if id := r.URL.Query().Get("experiment_id"); id != "" && run.ExperimentID != "" && id != run.ExperimentID {
			return refuse(http.StatusBadRequest, codeInvalidArgument, "Invalid input error: experiment_id %q differs from the run's %q", id, run.ExperimentID)
		}
		if run.RunID != "" || run.State != "" || run.CreatedAt != nil {
			return refuse(http.StatusBadRequest, codeInvalidArgument, "Invalid input error: run_id, state and created_at are output fields")
		}
		return http.StatusOK, clone(s.create(run))
	case "RunService_GetRun":
		run := s.run(params["run_id"])
		if run == nil {
			return refuse(http.StatusNotFound, codeNotFound, "Failed to get a run: Run %s not found", params["run_id"])
		}
		if run.State == kfp.StateCanceling {
			s.setState(run, kfp.StateCanceled, nil)
		}
		return http.StatusOK, clone(run)
	case "RunService_TerminateRun":
		run := s.run(params["run_id"])
		if run == nil {
			return refuse(http.StatusNotFound, codeNotFound, "Failed to terminate a run: Run %s not found", params["run_id"])
		}
		switch run.State {
		case kfp.StateSucceeded, kfp.StateFailed, kfp.StateCanceled, kfp.StateSkipped:
		default:
			s.setState(run, kfp.StateCanceling, nil)
		}
		return http.StatusOK, map[string]any{}
	case "RunService_ListRuns":
		return s.list(r)
	}
	return refuse(http.StatusNotImplemented, 12, "Unimplemented: %s", op)
}

func (s *Server) list(r *http.Request) (int, any) {
	q := r.URL.Query()
	if s.Namespace != "" && q.Get("namespace") != s.Namespace {
		return refuse(http.StatusBadRequest, codeInvalidArgument, "Invalid input error: ListRuns must filter by namespace %q in multi-user mode, got %q", s.Namespace, q.Get("namespace"))
	}
	var preds []kfp.Predicate
	if f := q.Get("filter"); f != "" {
		var filter kfp.Filter
		dec := json.NewDecoder(strings.NewReader(f))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&filter); err != nil {
			return refuse(http.StatusBadRequest, codeInvalidArgument, "Invalid input error: failed to parse the filter: %v", err)
		}
		for _, p := range filter.Predicates {
			if p.Key != "display_name" && p.Key != "name" || p.Operation != kfp.OpEquals && p.Operation != kfp.OpIsSubstring {
				return refuse(http.StatusBadRequest, codeInvalidArgument, "Invalid input error: unsupported predicate %+v", p)
			}
		}
		preds = filter.Predicates
	}
	size := 20
	if v := q.Get("page_size"); v != "" {
		size, _ = strconv.Atoi(v)
	}
	start := 0
	if tok := q.Get("page_token"); tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil {
			return refuse(http.StatusBadRequest, codeInvalidArgument, "Invalid input error: bad page token %q", tok)
		}
		start = n
	}
	var match []kfp.Run
	for _, run := range s.runs {
		if exp := q.Get("experiment_id"); exp != "" && run.ExperimentID != exp {
			continue
		}
		ok := true
		for _, p := range preds {
			switch p.Operation {
			case kfp.OpEquals:
				ok = ok && run.DisplayName == p.StringValue
			case kfp.OpIsSubstring:
				ok = ok && strings.Contains(run.DisplayName, p.StringValue)
			}
		}
		if ok {
			match = append(match, clone(run))
		}
	}
	resp := kfp.ListRunsResponse{TotalSize: len(match)}
	if start < len(match) {
		end := min(start+size, len(match))
		resp.Runs = match[start:end]
		if end < len(match) {
			resp.NextPageToken = strconv.Itoa(end)
		}
	}
	return http.StatusOK, resp
}

func (s *Server) run(id string) *kfp.Run {
	for _, r := range s.runs {
		if r.RunID == id {
			return r
		}
	}
	return nil
}

// create stores a new PENDING run with its tasks, as the API server does on CreateRun.
func (s *Server) create(run kfp.Run) *kfp.Run {
	now := s.now().UTC().Truncate(time.Second)
	run.RunID = fmt.Sprintf("%08x-0000-4000-8000-%012d", len(s.runs)+1, len(s.runs)+1)
	if run.ExperimentID == "" {
		run.ExperimentID = "default-experiment"
	}
	run.StorageState = "AVAILABLE"
	run.CreatedAt = &now
	run.State = kfp.StatePending
	run.StateHistory = []kfp.RuntimeStatus{{UpdateTime: &now, State: kfp.StatePending}}
	root := kfp.TaskDetail{RunID: run.RunID, TaskID: run.RunID + "-root", DisplayName: "root", CreateTime: &now, State: kfp.StatePending}
	run.RunDetails = &kfp.RunDetails{TaskDetails: []kfp.TaskDetail{root}}
	if ref := run.PipelineVersionReference; ref != nil {
		for i, name := range s.versions[ref.PipelineID+"/"+ref.PipelineVersionID] {
			run.RunDetails.TaskDetails = append(run.RunDetails.TaskDetails, kfp.TaskDetail{RunID: run.RunID,
				TaskID: fmt.Sprintf("%s-task-%d", run.RunID, i), DisplayName: name, ParentTaskID: root.TaskID,
				CreateTime: &now, State: kfp.StatePending, PodName: fmt.Sprintf("%s-%s-%d", run.DisplayName, name, i)})
		}
	}
	s.runs = append(s.runs, &run)
	return &run
}

// setState moves a run (and its root task) to state, appending to the state histories.
func (s *Server) setState(run *kfp.Run, state string, err *kfp.Status) {
	now := s.now().UTC().Truncate(time.Second)
	run.State, run.Error = state, err
	run.StateHistory = append(run.StateHistory, kfp.RuntimeStatus{UpdateTime: &now, State: state, Error: err})
	for i := range run.RunDetails.TaskDetails {
		t := &run.RunDetails.TaskDetails[i]
		if t.ParentTaskID == "" || state == kfp.StateCanceled && t.State != kfp.StateSucceeded && t.State != kfp.StateFailed {
			setTask(t, state, nil, now)
		}
	}
	switch state {
	case kfp.StateSucceeded, kfp.StateFailed, kfp.StateCanceled, kfp.StateSkipped:
		run.FinishedAt = &now
	}
}

func setTask(t *kfp.TaskDetail, state string, err *kfp.Status, now time.Time) {
	t.State, t.Error = state, err
	t.StateHistory = append(t.StateHistory, kfp.RuntimeStatus{UpdateTime: &now, State: state, Error: err})
	switch state {
	case kfp.StateRunning:
		t.StartTime = &now
	case kfp.StateSucceeded, kfp.StateFailed, kfp.StateCanceled:
		t.EndTime = &now
	}
}

func (s *Server) mustRun(id string) *kfp.Run {
	run := s.run(id)
	if run == nil {
		s.t.Fatalf("kfpfake: no run %s", id)
	}
	return run
}

// Run starts run id: RUNNING, its first task running.
func (s *Server) Run(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	run := s.mustRun(id)
	s.setState(run, kfp.StateRunning, nil)
	if len(run.RunDetails.TaskDetails) > 1 {
		setTask(&run.RunDetails.TaskDetails[1], kfp.StateRunning, nil, s.now().UTC())
	}
}

// Pause pauses run id.
func (s *Server) Pause(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setState(s.mustRun(id), kfp.StatePaused, nil)
}

// Succeed runs every task of run id to success.
func (s *Server) Succeed(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	run := s.mustRun(id)
	now := s.now().UTC()
	for i := range run.RunDetails.TaskDetails {
		if t := &run.RunDetails.TaskDetails[i]; t.ParentTaskID != "" && t.State != kfp.StateSucceeded {
			setTask(t, kfp.StateSucceeded, nil, now)
		}
	}
	s.setState(run, kfp.StateSucceeded, nil)
}

// FailTask fails task of run id with message: the tasks before it succeed, the run fails.
func (s *Server) FailTask(id, task, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	run := s.mustRun(id)
	now := s.now().UTC()
	for i := range run.RunDetails.TaskDetails {
		t := &run.RunDetails.TaskDetails[i]
		if t.ParentTaskID == "" {
			continue
		}
		if t.DisplayName == task {
			setTask(t, kfp.StateFailed, &kfp.Status{Code: 2, Message: message}, now)
			break
		}
		setTask(t, kfp.StateSucceeded, nil, now)
	}
	s.setState(run, kfp.StateFailed, &kfp.Status{Code: 2, Message: "run failed: task " + task + " failed"})
}
