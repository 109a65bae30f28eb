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
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medimind/modelops/internal/runner/kfp"
	"github.com/medimind/modelops/internal/testutil/contract"
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
	URL      string
	t        testing.TB
	srv      *httptest.Server
	contract *contract.Contract
	// Token, when set, must come as "Authorization: Bearer <Token>".
	Token string
	// Namespace, when set, makes the fake multi-user: listing needs ?namespace= of it.
	Namespace string
	// User, when set, must come in the header UserHeader (default kubeflow-userid), as an
	// API server behind an authenticating proxy requires.
	User, UserHeader string

	mu          sync.Mutex
	now         func() time.Time
	runs        []*kfp.Run
	pipelines   []*pipeline
	experiments []kfp.Experiment
	requests    []string
}

// pipeline is an uploaded pipeline with its versions, oldest first.
type pipeline struct {
	kfp.Pipeline
	versions []version
}

type version struct {
	kfp.PipelineVersion
	tasks []string
}

// New starts a fake that knows pipeline "p1" (named sepsis-train) with one version "v1"
// whose tasks are extract, validate, train, evaluate and register.
func New(t testing.TB) *Server {
	t.Helper()
	c, err := contract.Load("Kubeflow Pipelines", description, contract.Options{StrictQuery: true})
	if err != nil {
		t.Fatalf("kfpfake: %v", err)
	}
	s := &Server{t: t, contract: c, now: time.Now}
	s.AddVersion("p1", "sepsis-train", "v1", "v1", time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC), "extract", "validate", "train", "evaluate", "register")
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// AddVersion uploads a version of pipeline id (named name, created when new) with tasks.
func (s *Server) AddVersion(id, name, versionID, versionName string, created time.Time, tasks ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pipeline(id)
	if p == nil {
		p = &pipeline{Pipeline: kfp.Pipeline{PipelineID: id, DisplayName: name, Namespace: s.Namespace, CreatedAt: &created}}
		s.pipelines = append(s.pipelines, p)
	}
	p.versions = append(p.versions, version{PipelineVersion: kfp.PipelineVersion{PipelineID: id, PipelineVersionID: versionID, DisplayName: versionName, CreatedAt: &created}, tasks: tasks})
}

// Experiments returns the experiments created.
func (s *Server) Experiments() []kfp.Experiment {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]kfp.Experiment(nil), s.experiments...)
}

func (s *Server) pipeline(id string) *pipeline {
	for _, p := range s.pipelines {
		if p.PipelineID == id {
			return p
		}
	}
	return nil
}

// tasksOf returns the tasks of a pipeline version, and whether it exists.
func (s *Server) tasksOf(ref *kfp.PipelineVersionReference) ([]string, bool) {
	if p := s.pipeline(ref.PipelineID); p != nil {
		for _, v := range p.versions {
			if v.PipelineVersionID == ref.PipelineVersionID {
				return v.tasks, true
			}
		}
	}
	return nil, false
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
	route, params, err := s.contract.Route(r)
	if err != nil {
		s.t.Errorf("kfpfake: %s %s is not in openapi.yaml: %v", r.Method, r.URL.Path, err)
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	if err := s.contract.ValidateRequest(r, body, route, params); err != nil {
		s.t.Errorf("kfpfake: %s %s does not match openapi.yaml: %v", r.Method, r.URL, err)
	}
	status, out := s.answer(route.Operation.OperationID, params, r, body)
	b, _ := json.Marshal(out)
	header := http.Header{"Content-Type": {"application/json"}}
	if err := s.contract.ValidateResponse(r, body, route, params, status, header, b); err != nil {
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
	if s.User != "" {
		header := s.UserHeader
		if header == "" {
			header = "kubeflow-userid"
		}
		if got := r.Header.Get(header); got != s.User {
			return refuse(http.StatusUnauthorized, codeUnauthenticated, "Unauthenticated: Request header error: there is no user identity header (%s)", header)
		}
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
		switch {
		case ref != nil && run.PipelineSpec != nil:
			return refuse(http.StatusBadRequest, codeInvalidArgument, "Invalid input error: a run takes a pipeline spec or a pipeline version reference, not both")
		case run.PipelineSpec != nil:
			if msg := checkSpec(run.PipelineSpec, run.RuntimeConfig); msg != "" {
				return refuse(http.StatusBadRequest, codeInvalidArgument, "Invalid input error: %s", msg)
			}
		case ref == nil || ref.PipelineID == "" || ref.PipelineVersionID == "":
			return refuse(http.StatusBadRequest, codeInvalidArgument, "Invalid input error: Failed to create a run due to missing pipeline spec or pipeline version reference")
		default:
			if _, ok := s.tasksOf(ref); !ok {
				return refuse(http.StatusNotFound, codeNotFound, "Failed to create a run: pipeline version %s of pipeline %s not found", ref.PipelineVersionID, ref.PipelineID)
			}
		}
		if id := run.ExperimentID; id != "" && id != "default-experiment" && !s.hasExperiment(id) {
			return refuse(http.StatusNotFound, codeNotFound, "Failed to create a run: experiment %s not found", id)
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
	case "PipelineService_GetPipelineByName":
		for _, p := range s.pipelines {
			if p.DisplayName == params["name"] && (s.Namespace == "" || r.URL.Query().Get("namespace") == p.Namespace) {
				return http.StatusOK, p.Pipeline
			}
		}
		return status(http.StatusNotFound, codeNotFound, "Failed to get a pipeline by name %q: ResourceNotFoundError: Pipeline %s not found", params["name"], params["name"])
	case "PipelineService_ListPipelineVersions":
		return s.listVersions(params["pipeline_id"], r.URL.Query())
	case "ExperimentService_ListExperiments":
		return s.listExperiments(r.URL.Query())
	case "ExperimentService_CreateExperiment":
		var e kfp.Experiment
		if err := json.Unmarshal(body, &e); err != nil {
			return refuse(http.StatusBadRequest, codeInvalidArgument, "proto: syntax error: %v", err)
		}
		if e.DisplayName == "" || e.ExperimentID != "" {
			return refuse(http.StatusBadRequest, codeInvalidArgument, "Invalid input error: Experiment name is empty, or an output field is set")
		}
		for _, x := range s.experiments {
			if x.DisplayName == e.DisplayName && x.Namespace == e.Namespace {
				return refuse(http.StatusConflict, 6, "Already exist error: Failed to create a new experiment. The name %v already exists. Please specify a new name", e.DisplayName)
			}
		}
		now := s.now().UTC().Truncate(time.Second)
		e.ExperimentID, e.CreatedAt, e.StorageState = fmt.Sprintf("e%07d", len(s.experiments)+1), &now, "AVAILABLE"
		s.experiments = append(s.experiments, e)
		return http.StatusOK, e
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
	start, size, msg := page(q)
	if msg != "" {
		return refuse(http.StatusBadRequest, codeInvalidArgument, "%s", msg)
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
	resp.Runs, resp.NextPageToken = pageOf(match, start, size)
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
	var tasks []string
	if ref := run.PipelineVersionReference; ref != nil {
		tasks, _ = s.tasksOf(ref)
	} else if dag, ok := specRoot(run.PipelineSpec)["dag"].(map[string]any); ok {
		inline, _ := dag["tasks"].(map[string]any)
		tasks = slices.Sorted(maps.Keys(inline))
	}
	for i, name := range tasks {
		run.RunDetails.TaskDetails = append(run.RunDetails.TaskDetails, kfp.TaskDetail{RunID: run.RunID,
			TaskID: fmt.Sprintf("%s-task-%d", run.RunID, i), DisplayName: name, ParentTaskID: root.TaskID,
			CreateTime: &now, State: kfp.StatePending, PodName: fmt.Sprintf("%s-%s-%d", run.DisplayName, name, i)})
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

func (s *Server) hasExperiment(id string) bool {
	for _, e := range s.experiments {
		if e.ExperimentID == id {
			return true
		}
	}
	return false
}

// status is an error answer of the pipeline service: google.rpc.Status, as its swagger says.
func status(code, grpcCode int, format string, args ...any) (int, any) {
	return code, kfp.Status{Code: grpcCode, Message: fmt.Sprintf(format, args...)}
}

// listVersions pages through a pipeline's versions; sort_by "created_at desc" lists the
// newest first, anything else but "" or "created_at" is refused.
func (s *Server) listVersions(id string, q url.Values) (int, any) {
	p := s.pipeline(id)
	if p == nil {
		return status(http.StatusNotFound, codeNotFound, "Failed to list pipeline versions: Pipeline %s not found", id)
	}
	vs := make([]kfp.PipelineVersion, len(p.versions))
	for i, v := range p.versions {
		vs[i] = v.PipelineVersion
	}
	switch q.Get("sort_by") {
	case "", "created_at", "created_at asc":
	case "created_at desc":
		slices.Reverse(vs)
	default:
		return status(http.StatusBadRequest, codeInvalidArgument, "Invalid input error: unsupported sort_by %q", q.Get("sort_by"))
	}
	start, size, msg := page(q)
	if msg != "" {
		return status(http.StatusBadRequest, codeInvalidArgument, "%s", msg)
	}
	resp := kfp.ListPipelineVersionsResponse{TotalSize: len(vs)}
	resp.PipelineVersions, resp.NextPageToken = pageOf(vs, start, size)
	return http.StatusOK, resp
}

// listExperiments answers ListExperiments filtered by display_name EQUALS.
func (s *Server) listExperiments(q url.Values) (int, any) {
	if s.Namespace != "" && q.Get("namespace") != s.Namespace {
		return refuse(http.StatusBadRequest, codeInvalidArgument, "Invalid input error: ListExperiments must filter by namespace %q in multi-user mode, got %q", s.Namespace, q.Get("namespace"))
	}
	name := ""
	if f := q.Get("filter"); f != "" {
		var filter kfp.Filter
		dec := json.NewDecoder(strings.NewReader(f))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&filter); err != nil || len(filter.Predicates) != 1 || filter.Predicates[0].Key != "display_name" || filter.Predicates[0].Operation != kfp.OpEquals {
			return refuse(http.StatusBadRequest, codeInvalidArgument, "Invalid input error: unsupported filter %s", f)
		}
		name = filter.Predicates[0].StringValue
	}
	start, size, msg := page(q)
	if msg != "" {
		return refuse(http.StatusBadRequest, codeInvalidArgument, "%s", msg)
	}
	var match []kfp.Experiment
	for _, e := range s.experiments {
		if (name == "" || e.DisplayName == name) && e.Namespace == q.Get("namespace") {
			match = append(match, e)
		}
	}
	resp := kfp.ListExperimentsResponse{TotalSize: len(match)}
	resp.Experiments, resp.NextPageToken = pageOf(match, start, size)
	return http.StatusOK, resp
}

// pageOf returns the page of items from start and the token of the next page ("" at the end).
func pageOf[T any](items []T, start, size int) ([]T, string) {
	if start >= len(items) {
		return nil, ""
	}
	end := min(start+size, len(items))
	if end < len(items) {
		return items[start:end], strconv.Itoa(end)
	}
	return items[start:end], ""
}

// page reads page_token and page_size (default 20).
func page(q url.Values) (start, size int, msg string) {
	size = 20
	if v := q.Get("page_size"); v != "" {
		size, _ = strconv.Atoi(v)
	}
	if tok := q.Get("page_token"); tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil {
			return 0, 0, fmt.Sprintf("Invalid input error: bad page token %q", tok)
		}
		start = n
	}
	return start, size, ""
}

// specRoot returns the root of an inline spec, which is the pipeline spec itself or, with a
// platform spec beside it, its pipeline_spec.
func specRoot(spec map[string]any) map[string]any {
	if inner, ok := spec["pipeline_spec"].(map[string]any); ok {
		spec = inner
	}
	root, _ := spec["root"].(map[string]any)
	return root
}

// checkSpec refuses an inline spec without a name or a DAG, or a run passing a parameter
// the pipeline does not declare.
func checkSpec(spec map[string]any, cfg *kfp.RuntimeConfig) string {
	inner := spec
	if p, ok := spec["pipeline_spec"].(map[string]any); ok {
		inner = p
	}
	info, _ := inner["pipelineInfo"].(map[string]any)
	if name, _ := info["name"].(string); name == "" {
		return "Failed to create a run: the pipeline spec has no pipelineInfo.name"
	}
	root := specRoot(spec)
	if _, ok := root["dag"].(map[string]any); !ok {
		return "Failed to create a run: the pipeline spec has no root.dag"
	}
	defs, _ := root["inputDefinitions"].(map[string]any)
	declared, _ := defs["parameters"].(map[string]any)
	if cfg != nil {
		for name := range cfg.Parameters {
			if _, ok := declared[name]; !ok {
				return fmt.Sprintf("Failed to create a run: parameter %s is not an input of the pipeline", name)
			}
		}
	}
	return ""
}
