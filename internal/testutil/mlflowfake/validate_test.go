package mlflowfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// recorder is a testing.TB that keeps the fake's complaints instead of failing the test,
// so that a test can assert the fake complains.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recorder) complaints() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.errs, "\n")
}

func send(t *testing.T, s *Server, method, target, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL()+target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

func TestRequestsBreakingTheContractFailTheTest(t *testing.T) {
	for _, tc := range []struct {
		name, method, target, body, complaint string
		status                                int
	}{
		{"unknown body field", "POST", "/api/2.0/mlflow/registered-models/alias", `{"name":"m","alias":"a","version":"1","force":true}`, "force", 400},
		{"version as a number", "POST", "/api/2.0/mlflow/registered-models/alias", `{"name":"m","alias":"a","version":1}`, "version", 400},
		{"missing required field", "POST", "/api/2.0/mlflow/model-versions/set-tag", `{"name":"m","version":"1","key":"k"}`, "value", 400},
		{"wrong method", "POST", "/api/2.0/mlflow/model-versions/get", `{"name":"m","version":"1"}`, "unexpected request", 404},
		{"unknown path", "GET", "/api/2.0/mlflow/registered-models/get-alias?name=m", "", "unexpected request", 404},
		{"unknown query parameter", "GET", "/api/2.0/mlflow/registered-models/get?name=m&verbose=1", "", "verbose", 400},
		{"missing query parameter", "GET", "/api/2.0/mlflow/model-versions/get?name=m", "", "version", 400},
		{"body on a GET", "GET", "/api/2.0/mlflow/registered-models/get?name=m", `{"name":"m"}`, "body", 400},
		{"mistyped max_results", "GET", "/api/2.0/mlflow/model-versions/search?max_results=many", "", "max_results", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			s := New(rec)
			s.CreateVersion("m", VersionSpec{Source: "s3://m"})
			status, body := send(t, s, tc.method, tc.target, tc.body)
			if status != tc.status {
				t.Errorf("status %d, want %d (%v)", status, tc.status, body)
			}
			if got := rec.complaints(); !strings.Contains(got, tc.complaint) {
				t.Errorf("complaints %q do not name %q", got, tc.complaint)
			}
			if code, _ := body["error_code"].(string); code == "" {
				t.Errorf("answer %v is not MLflow's error", body)
			}
		})
	}
}

func TestValidRequestsPassTheContract(t *testing.T) {
	rec := &recorder{TB: t}
	s := New(rec)
	for _, c := range []struct{ method, target, body string }{
		{"POST", "/api/2.0/mlflow/registered-models/create", `{"name":"m","tags":[{"key":"team","value":"icu"}]}`},
		{"POST", "/api/2.0/mlflow/model-versions/create", `{"name":"m","source":"s3://m/1","run_id":"r1","tags":[{"key":"modelops.generation","value":"3"}]}`},
		{"POST", "/api/2.0/mlflow/registered-models/alias", `{"name":"m","alias":"champion","version":"1"}`},
		{"GET", "/api/2.0/mlflow/registered-models/alias?name=m&alias=champion", ""},
		{"GET", "/api/2.0/mlflow/registered-models/get?name=m", ""},
		{"GET", "/api/2.0/mlflow/model-versions/search?filter=name+%3D+%27m%27&max_results=1&order_by=version_number+DESC", ""},
		{"POST", "/api/2.0/mlflow/model-versions/set-tag", `{"name":"m","version":"1","key":"k","value":"v"}`},
		{"DELETE", "/api/2.0/mlflow/registered-models/alias", `{"name":"m","alias":"champion"}`},
		{"DELETE", "/api/2.0/mlflow/model-versions/delete", `{"name":"m","version":"1"}`},
		{"GET", "/api/2.0/mlflow/runs/get?run_id=nope", ""},
	} {
		status, body := send(t, s, c.method, c.target, c.body)
		if status != http.StatusOK && !strings.HasSuffix(c.target, "nope") {
			t.Errorf("%s %s: %d %v", c.method, c.target, status, body)
		}
	}
	if got := rec.complaints(); got != "" {
		t.Fatalf("valid requests drew complaints:\n%s", got)
	}
}

func TestAnswersBreakingTheContractFailTheTest(t *testing.T) {
	rec := &recorder{TB: t}
	s := New(rec)
	// A fault with an error code the contract does not know, and a status without the
	// error body's shape, are caught on the way out as a handler's mistake would be.
	s.Inject(Fault{Endpoint: "registered-models/get", Status: http.StatusTeapot, Code: "I_AM_A_TEAPOT", Times: 1})
	send(t, s, "GET", "/api/2.0/mlflow/registered-models/get?name=m", "")
	if got := rec.complaints(); !strings.Contains(got, "breaks the contract") || !strings.Contains(got, "error_code") {
		t.Fatalf("complaints %q, want the answer's error_code refused", got)
	}
}

func TestEveryContractOperationHasAHandler(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(Contract)
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]bool{}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			ops[op.OperationID] = true
			if handlers[op.OperationID] == nil {
				t.Errorf("operation %s has no handler", op.OperationID)
			}
		}
	}
	for id := range handlers {
		if !ops[id] {
			t.Errorf("handler %s serves no operation of the contract", id)
		}
	}
}

func TestSearchFilterSyntax(t *testing.T) {
	for _, tc := range []struct {
		filter string
		want   int // versions, or -1 for INVALID_PARAMETER_VALUE
	}{
		{"name = 'm'", 2},
		{"name='m' and run_id = \"r2\"", 1},
		{"tags.`modelops.generation` = '7'", 2},
		{"`tags`.`modelops.generation` = '7' AND name = 'n'", 1},
		{"tags.modelops.generation = '7'", 2},
		{"name != 'm'", 1},
		{"name = 'm' OR name = 'n'", -1},
		{"name LIKE 'm%'", -1},
		{"name = m", -1},
	} {
		rec := &recorder{TB: t}
		s := New(rec)
		s.CreateVersion("m", VersionSpec{Source: "s3://a", RunID: "r1", Tags: map[string]string{"modelops.generation": "7"}})
		s.CreateVersion("m", VersionSpec{Source: "s3://b", RunID: "r2"})
		s.CreateVersion("n", VersionSpec{Source: "s3://c", Tags: map[string]string{"modelops.generation": "7"}})
		status, body := send(t, s, "GET", "/api/2.0/mlflow/model-versions/search?filter="+urlQuery(tc.filter), "")
		got, _ := body["model_versions"].([]any)
		switch {
		case tc.want < 0 && (status != 400 || body["error_code"] != "INVALID_PARAMETER_VALUE"):
			t.Errorf("%s: %d %v, want 400 INVALID_PARAMETER_VALUE", tc.filter, status, body)
		case tc.want >= 0 && (status != 200 || len(got) != tc.want):
			t.Errorf("%s: %d, %d versions, want %d", tc.filter, status, len(got), tc.want)
		}
		if c := rec.complaints(); c != "" {
			t.Errorf("%s: %s", tc.filter, c)
		}
	}
}

func urlQuery(s string) string {
	r := strings.NewReplacer(" ", "+", "'", "%27", "=", "%3D", "`", "%60", "\"", "%22", "%", "%25", "!", "%21")
	return r.Replace(s)
}
