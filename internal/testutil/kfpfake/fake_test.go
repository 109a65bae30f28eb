package kfpfake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/medimind/modelops/internal/runner/kfp"
)

// TestBadRequestsAreRefusedAsKFPDoes: 400 with grpc-gateway's error body (error, code 3
// InvalidArgument, message) for a run without a name and for a filter that is not JSON.
func TestBadRequestsAreRefusedAsKFPDoes(t *testing.T) {
	s := New(t)
	do := func(method, path, body string) (int, kfp.RuntimeError) {
		t.Helper()
		req, _ := http.NewRequest(method, s.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var e kfp.RuntimeError
		_ = json.Unmarshal(b, &e)
		return resp.StatusCode, e
	}
	code, e := do("POST", "/apis/v2beta1/runs", `{"pipeline_version_reference":{"pipeline_id":"p1","pipeline_version_id":"v1"}}`)
	if code != 400 || e.Code != 3 || !strings.Contains(e.Message, "run name is empty") || e.Error == "" {
		t.Errorf("a run without a name: %d %+v", code, e)
	}
	code, e = do("GET", "/apis/v2beta1/runs?filter="+url.QueryEscape("display_name=x"), "")
	if code != 400 || e.Code != 3 || !strings.Contains(e.Message, "filter") {
		t.Errorf("a filter that is not JSON: %d %+v", code, e)
	}
	code, e = do("GET", "/apis/v2beta1/runs/nope", "")
	if code != 404 || e.Code != 5 {
		t.Errorf("an unknown run: %d %+v", code, e)
	}
	if len(s.Runs()) != 0 {
		t.Errorf("runs were created: %+v", s.Runs())
	}
}

// TestARunWalksThroughItsStates: each move appends to the run's state history, a failed task
// carries its error, and termination goes through CANCELING to CANCELED.
func TestARunWalksThroughItsStates(t *testing.T) {
	s := New(t)
	id := s.AddRun(kfp.Run{DisplayName: "r", PipelineVersionReference: &kfp.PipelineVersionReference{PipelineID: "p1", PipelineVersionID: "v1"}})
	s.Run(id)
	s.Pause(id)
	s.Run(id)
	s.FailTask(id, "validate", "schema mismatch in column age")
	run := s.Runs()[0]
	var states []string
	for _, h := range run.StateHistory {
		states = append(states, h.State)
	}
	if got := strings.Join(states, ","); got != "PENDING,RUNNING,PAUSED,RUNNING,FAILED" {
		t.Errorf("state history %s", got)
	}
	for _, task := range run.RunDetails.TaskDetails {
		switch task.DisplayName {
		case "extract":
			if task.State != kfp.StateSucceeded {
				t.Errorf("extract %s", task.State)
			}
		case "validate":
			if task.State != kfp.StateFailed || task.Error == nil || task.Error.Message != "schema mismatch in column age" {
				t.Errorf("validate %+v", task)
			}
		}
	}
	other := s.AddRun(kfp.Run{DisplayName: "r2", PipelineVersionReference: &kfp.PipelineVersionReference{PipelineID: "p1", PipelineVersionID: "v1"}})
	s.Run(other)
	resp, err := http.Post(s.URL+"/apis/v2beta1/runs/"+other+":terminate", "application/json", strings.NewReader("{}"))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("terminate: %v %v", resp, err)
	}
	resp.Body.Close()
	if st := s.Runs()[1].State; st != kfp.StateCanceling {
		t.Errorf("after terminate %s, want CANCELING", st)
	}
	resp, _ = http.Get(s.URL + "/apis/v2beta1/runs/" + other)
	var got kfp.Run
	_ = json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if got.State != kfp.StateCanceled || got.FinishedAt == nil {
		t.Errorf("the next read: %s, want CANCELED with finished_at", got.State)
	}
}
