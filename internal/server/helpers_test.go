package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/medimind/modelops/reconciler"
)

const (
	testToken  = "tok-9f8e7d6c5b4a"
	testSecret = "whsec-1a2b3c4d5e"
)

// description is the embedded OpenAPI document, loaded and validated once.
var description = sync.OnceValues(func() (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openAPI)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, err
	}
	return doc, nil
})

// response is a response read in full and validated against the description.
type response struct {
	status int
	header http.Header
	body   []byte
}

// client sends requests to a real server on loopback and validates every response
// against openapi.yaml: a response the description does not allow fails the test.
type client struct {
	t      *testing.T
	srv    *httptest.Server
	router routers.Router
	doc    *openapi3.T
}

func newClient(t *testing.T, h http.Handler) *client {
	t.Helper()
	doc, err := description()
	if err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatalf("openapi router: %v", err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &client{t: t, srv: srv, router: router, doc: doc}
}

// do sends method path with body and headers (name, value pairs).
func (c *client) do(method, path, body string, headers ...string) response {
	c.t.Helper()
	req, err := http.NewRequest(method, c.srv.URL+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return c.send(req)
}

func (c *client) send(req *http.Request) response {
	c.t.Helper()
	resp, err := c.srv.Client().Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	c.validate(req, resp, b)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func (c *client) validate(req *http.Request, resp *http.Response, body []byte) {
	c.t.Helper()
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		// No operation for this method and path (404/405): the answer must still be the
		// description's Error object.
		if !errors.Is(err, routers.ErrPathNotFound) && !errors.Is(err, routers.ErrMethodNotAllowed) {
			c.t.Fatalf("find route of %s %s: %v", req.Method, req.URL.Path, err)
		}
		schema := c.doc.Components.Schemas["Error"].Value
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			c.t.Fatalf("%s %s answered %d with a body that is not JSON: %q", req.Method, req.URL.Path, resp.StatusCode, body)
		}
		if err := schema.VisitJSON(v); err != nil {
			c.t.Fatalf("%s %s answered %d with a body that is not an Error: %v", req.Method, req.URL.Path, resp.StatusCode, err)
		}
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		c.t.Fatalf("%s %s: response %d does not match openapi.yaml: %v\nbody: %s", req.Method, req.URL.Path, resp.StatusCode, err, body)
	}
}

// fakeBackend is a Backend whose answers the test sets; it records what it was asked.
type fakeBackend struct {
	mu        sync.Mutex
	models    []ModelStatus
	drift     reconciler.DriftResult
	proposal  reconciler.Proposal
	outcome   CandidateOutcome
	err       error
	calls     []string
	retrain   []RetrainRequest
	candidate []reconciler.RunResult
}

func (f *fakeBackend) record(call string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
	return f.err
}

func (f *fakeBackend) Status(ctx context.Context) ([]ModelStatus, error) {
	if err := f.record("status"); err != nil {
		return nil, err
	}
	return f.models, nil
}

func (f *fakeBackend) CheckDrift(ctx context.Context, model string) (reconciler.DriftResult, error) {
	if err := f.record("drift " + model); err != nil {
		return reconciler.DriftResult{}, err
	}
	return f.drift, nil
}

func (f *fakeBackend) Retrain(ctx context.Context, model string, req RetrainRequest) (reconciler.Proposal, error) {
	if err := f.record("retrain " + model); err != nil {
		return reconciler.Proposal{}, err
	}
	f.mu.Lock()
	f.retrain = append(f.retrain, req)
	f.mu.Unlock()
	return f.proposal, nil
}

func (f *fakeBackend) RegisterCandidate(ctx context.Context, model string, c reconciler.RunResult) (CandidateOutcome, error) {
	if err := f.record("candidate " + model); err != nil {
		return CandidateOutcome{}, err
	}
	f.mu.Lock()
	f.candidate = append(f.candidate, c)
	f.mu.Unlock()
	return f.outcome, nil
}

func (f *fakeBackend) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

var _ Backend = (*fakeBackend)(nil)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
