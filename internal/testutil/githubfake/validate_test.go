package githubfake

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-github/v62/github"

	"github.com/medimind/modelops/internal/testutil/githubfake/openapi"
)

// withResponseTamper lets a test corrupt responses after the handler and
// before validation.
func withResponseTamper(f func(op string, status int, body []byte) (int, []byte)) Option {
	return func(c *config) { c.responseTamper = f }
}

func TestEveryOperationHasAHandler(t *testing.T) {
	v, err := loadValidator()
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, item := range v.Doc.Paths.Map() {
		for _, op := range item.Operations() {
			ops = append(ops, op.OperationID)
			if handlers[op.OperationID] == nil {
				t.Errorf("operation %s has no handler", op.OperationID)
			}
		}
	}
	for op := range handlers {
		if !slices.Contains(ops, op) {
			t.Errorf("handler %s serves no operation of the subset", op)
		}
	}
	if !strings.HasPrefix(openapi.Version(), "@octokit/openapi@") || v.Doc.Info.Version != strings.TrimPrefix(openapi.Version(), "@octokit/openapi@") {
		t.Errorf("subset version %q, VERSION %q", v.Doc.Info.Version, openapi.Version())
	}
}

// TestScriptOperationsMatchSubset keeps the script's operation list and the
// committed subset together: the subset must be the script's output.
func TestScriptOperationsMatchSubset(t *testing.T) {
	script, err := os.ReadFile("../../../scripts/github-openapi-subset.py")
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, m := range regexp.MustCompile(`\("(/[^"]*)", "(get|put|post|patch|delete)"\)`).FindAllStringSubmatch(string(script), -1) {
		listed[m[2]+" "+m[1]] = true
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openapi.Subset, &doc); err != nil {
		t.Fatal(err)
	}
	inSubset := map[string]bool{}
	for p, item := range doc.Paths {
		for m := range item {
			if m != "parameters" {
				inSubset[m+" "+p] = true
			}
		}
	}
	for op := range inSubset {
		if !listed[op] {
			t.Errorf("subset has %s, the script does not list it", op)
		}
	}
	for op := range listed {
		if !inSubset[op] {
			t.Errorf("script lists %s, the subset lacks it: run scripts/github-openapi-subset.py", op)
		}
	}
	if len(listed) == 0 {
		t.Fatal("found no operations in the script")
	}
}

func TestValidatorRejectsMalformedResponse(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(op string, status int, body []byte) (int, []byte)
		want   string
	}{
		{"a pull request without its number", func(op string, st int, b []byte) (int, []byte) {
			if op != "pulls/get" {
				return st, b
			}
			var m map[string]any
			_ = json.Unmarshal(b, &m)
			delete(m, "number")
			out, _ := json.Marshal(m)
			return st, out
		}, `property "number" is missing`},
		{"a pull request state outside the enum", func(op string, st int, b []byte) (int, []byte) {
			if op != "pulls/get" {
				return st, b
			}
			return st, bytes.Replace(b, []byte(`"state":"open"`), []byte(`"state":"merged"`), 1)
		}, `value is not one of the allowed values`},
		{"a status the operation does not document", func(op string, st int, b []byte) (int, []byte) {
			if op != "pulls/get" {
				return st, b
			}
			return http.StatusAccepted, b
		}, `status 202 is neither documented`},
		{"an error body that is not GitHub's", func(op string, st int, b []byte) (int, []byte) {
			if op != "pulls/get" {
				return st, b
			}
			return http.StatusInternalServerError, []byte(`{"message": 5}`)
		}, `"/message": value must be a string`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recordingTB{TB: t}
			s := New(rec, withResponseTamper(tc.tamper))
			s.Seed(t, "main", "testdata/seed")
			pushBranch(t, s, "feature", "f.txt", "f\n")
			gh := s.Client(InstallationToken)
			if _, _, err := gh.PullRequests.Create(ctx, "medimind", "policies", &github.NewPullRequest{Title: github.String("t"), Head: github.String("feature"), Base: github.String("main")}); err != nil {
				t.Fatal(err)
			}
			if errs := rec.Errors(); len(errs) != 0 {
				t.Fatalf("untampered create reported %v", errs)
			}
			_, _, _ = gh.PullRequests.Get(ctx, "medimind", "policies", 1)
			errs := rec.Errors()
			if len(errs) != 1 || !strings.Contains(errs[0], "violates GitHub's description") || !strings.Contains(errs[0], "GET /repos/medimind/policies/pulls/1") || !strings.Contains(errs[0], tc.want) {
				t.Fatalf("reported %q, want one violation of GET /repos/medimind/policies/pulls/1 containing %q", errs, tc.want)
			}
		})
	}
}

func TestValidatorRejectsInvalidAndUnexpectedRequests(t *testing.T) {
	rec := &recordingTB{TB: t}
	s := New(rec)
	s.Seed(t, "main", "testdata/seed")
	do := func(method, path, body string) *http.Response {
		req, err := http.NewRequest(method, s.URL()+strings.TrimPrefix(path, "/"), strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+InstallationToken)
		resp, err := s.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}

	if resp := do("POST", "/repos/medimind/policies/statuses/"+gitOut(t, s, "rev-parse", "main"), `{"state":"green"}`); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("status state outside the enum: %d, want 422", resp.StatusCode)
	}
	errs := rec.Errors()
	if len(errs) != 1 || !strings.Contains(errs[0], "request POST /repos/medimind/policies/statuses/") || !strings.Contains(errs[0], "violates GitHub's description") {
		t.Fatalf("reported %q, want one request violation", errs)
	}
	if resp := do("POST", "/repos/medimind/policies/issues/1/comments", `{"body": `); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("truncated JSON: %d, want 400", resp.StatusCode)
	}
	if errs := rec.Errors(); len(errs) != 2 || !strings.Contains(errs[1], "request POST /repos/medimind/policies/issues/1/comments") {
		t.Fatalf("reported %q, want the truncated body as the second violation", errs)
	}
	rec.mu.Lock()
	rec.errs = rec.errs[:1]
	rec.mu.Unlock()
	if resp := do("GET", "/repos/medimind/policies/branches", ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unexpected path: %d, want 404", resp.StatusCode)
	}
	if resp := do("DELETE", "/repos/medimind/policies/pulls/1", ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unexpected method: %d, want 404", resp.StatusCode)
	}
	errs = rec.Errors()
	if len(errs) != 3 || !strings.Contains(errs[1], "unexpected request GET /repos/medimind/policies/branches") || !strings.Contains(errs[2], "unexpected request DELETE /repos/medimind/policies/pulls/1") {
		t.Fatalf("reported %q, want two unexpected requests", errs)
	}
}
