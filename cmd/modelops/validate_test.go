package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// runCLI runs execute in-process with stdout and stderr captured in files.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	dir := t.TempDir()
	outF, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	errF, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	oldOut, oldErr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = outF, errF
	code = execute(context.Background(), args)
	os.Stdout, os.Stderr = oldOut, oldErr
	outF.Close()
	errF.Close()
	o, _ := os.ReadFile(outF.Name())
	e, _ := os.ReadFile(errF.Name())
	return code, string(o), string(e)
}

// expectInvalidInput runs the CLI with args and checks it exits 2, prints nothing on
// stdout, and says each of want on stderr.
func expectInvalidInput(t *testing.T, args []string, want ...string) {
	t.Helper()
	code, out, errOut := runCLI(t, args...)
	if code != 2 {
		t.Errorf("exit %d, want 2 (stderr %q)", code, errOut)
	}
	for _, w := range want {
		if !strings.Contains(errOut, w) {
			t.Errorf("stderr %q lacks %q", errOut, w)
		}
	}
	if out != "" {
		t.Errorf("stdout %q, want nothing on invalid input", out)
	}
}

const badPolicy = `apiVersion: modelops.medimind.io/v1alpha1
kind: ModelPolicy
metadata:
  name: sepsis-risk
spec:
  production: {version: "12"}
  canary:
    version: "13"
    weight: 150
  canaryAnalyis: {}
`

func writeRepo(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	good, err := os.ReadFile("../../examples/policy-repo/models/readmission-30d.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{
		"repo/models/readmission-30d.yaml": string(good),
		"repo/models/sepsis-risk.yaml":     badPolicy,
	} {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestValidateCommand(t *testing.T) {
	root := writeRepo(t)
	examples, err := filepath.Abs("../../examples/policy-repo")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(root)
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{
			name:       "the example repository is valid and exits 0",
			args:       []string{"validate", examples},
			wantCode:   0,
			wantStdout: "3 policies valid\n",
		},
		{
			name:       "one valid file exits 0",
			args:       []string{"validate", "repo/models/readmission-30d.yaml"},
			wantCode:   0,
			wantStdout: "1 policy valid\n",
		},
		{
			name:     "an invalid policy in a directory exits 2 with every error, relative to the current directory",
			args:     []string{"validate", "repo"},
			wantCode: 2,
			wantStderr: filepath.FromSlash("repo/models/sepsis-risk.yaml") + ":9:13: spec.canary.weight: must be between 0 and 100, got 150\n" +
				filepath.FromSlash("repo/models/sepsis-risk.yaml") + ":10:3: spec.canaryAnalyis: unknown field, did you mean canaryAnalysis?\n",
		},
		{
			name:     "the default path is the current directory",
			args:     []string{"validate"},
			wantCode: 2,
			wantStderr: filepath.FromSlash("repo/models/sepsis-risk.yaml") + ":9:13: spec.canary.weight: must be between 0 and 100, got 150\n" +
				filepath.FromSlash("repo/models/sepsis-risk.yaml") + ":10:3: spec.canaryAnalyis: unknown field, did you mean canaryAnalysis?\n",
		},
		{
			name:       "a path that does not exist is a failure, exit 1",
			args:       []string{"validate", "nowhere"},
			wantCode:   1,
			wantStderr: "modelops: validate nowhere: no such file or directory\n",
		},
		{
			name:       "an unknown output format is a failure, exit 1",
			args:       []string{"validate", "-o", "yaml", "repo"},
			wantCode:   1,
			wantStderr: "modelops: unknown output format \"yaml\", expected text or json\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.args...)
			if code != tt.wantCode || stdout != tt.wantStdout || stderr != tt.wantStderr {
				t.Errorf("modelops %s:\n exit %d, want %d\n stdout %q\n want   %q\n stderr %q\n want   %q",
					strings.Join(tt.args, " "), code, tt.wantCode, stdout, tt.wantStdout, stderr, tt.wantStderr)
			}
		})
	}
}

func TestValidateCommandPrintsJSON(t *testing.T) {
	t.Chdir(writeRepo(t))
	code, stdout, stderr := runCLI(t, "validate", "-o", "json", "repo")
	if code != 2 {
		t.Errorf("exit %d, want 2 (stderr %q)", code, stderr)
	}
	if stderr != "" {
		t.Errorf("stderr %q, want nothing: the errors are in the JSON", stderr)
	}
	var got validateResult
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	file := filepath.FromSlash("repo/models/sepsis-risk.yaml")
	want := validateResult{
		Valid:    false,
		Policies: []validatePolicy{{Name: "readmission-30d", File: filepath.FromSlash("repo/models/readmission-30d.yaml")}},
		Errors: []validateProblem{
			{File: file, Line: 9, Column: 13, Field: "spec.canary.weight", Message: "must be between 0 and 100, got 150"},
			{File: file, Line: 10, Column: 3, Field: "spec.canaryAnalyis", Message: "unknown field, did you mean canaryAnalysis?"},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("JSON result:\n got %+v\nwant %+v", got, want)
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(stdout), &raw); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"valid", "policies", "errors"} {
		if _, ok := raw[key]; !ok {
			t.Errorf("JSON has no %q key: %s", key, stdout)
		}
	}

	code, stdout, _ = runCLI(t, "validate", "-o", "json", "repo/models/readmission-30d.yaml")
	if code != 0 || !strings.Contains(stdout, `"valid": true`) || !strings.Contains(stdout, `"errors": []`) {
		t.Errorf("valid file: exit %d, stdout %s", code, stdout)
	}
}

func TestValidateCommandChecksNamesAcrossTheFilesGiven(t *testing.T) {
	good, err := os.ReadFile("../../examples/policy-repo/models/readmission-30d.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, name := range []string{"a.yaml", "b.yaml"} {
		if err := os.WriteFile(filepath.Join(dir, name), good, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	code, stdout, stderr := runCLI(t, "validate", "a.yaml", "b.yaml")
	line := 1 + strings.Count(string(good[:strings.Index(string(good), "  name: readmission-30d")]), "\n")
	want := fmt.Sprintf(`a.yaml:%[1]d:9: metadata.name: duplicate name "readmission-30d", also defined at b.yaml:%[1]d:9`+"\n"+
		`b.yaml:%[1]d:9: metadata.name: duplicate name "readmission-30d", also defined at a.yaml:%[1]d:9`+"\n", line)
	if code != 2 || stdout != "" || stderr != want {
		t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant exit 2 and\n%s", code, stdout, stderr, want)
	}
	if code, _, _ := runCLI(t, "validate", "a.yaml"); code != 0 {
		t.Errorf("one of the files alone: exit %d, want 0", code)
	}
}

// TestValidateChecksAnInlinePipelineAsTheLaunchWill: a compiled pipeline that misses an input
// the run passes is reported at the policy's spec field before anything is merged, and the
// example pipeline passes.
func TestValidateChecksAnInlinePipelineAsTheLaunchWill(t *testing.T) {
	dir := t.TempDir()
	ir, err := os.ReadFile("../../examples/kubeflow/sepsis-train.pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	policy := "apiVersion: modelops.medimind.io/v1alpha1\nkind: ModelPolicy\nmetadata:\n  name: sepsis-risk\nspec:\n  retrain:\n    generation: 1\n    pipeline:\n      spec: pipelines/train.yaml\n      parameters: {%s: 5}\n"
	write := func(name, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("pipelines/train.yaml", string(ir))
	write("models/sepsis.yaml", fmt.Sprintf(policy, "epochs"))
	if code, out, errOut := runCLI(t, "validate", dir); code != 0 {
		t.Fatalf("the example pipeline: exit %d\n%s%s", code, out, errOut)
	}
	write("models/sepsis.yaml", fmt.Sprintf(policy, "learning_rate"))
	want := filepath.Join(dir, "models/sepsis.yaml") + ":9:13: spec.retrain.pipeline.spec: " + filepath.Join(dir, "pipelines/train.yaml") + ":"
	code, _, errOut := runCLI(t, "validate", dir)
	if code != 2 || !strings.Contains(errOut, want) || !strings.Contains(errOut, "does not declare learning_rate") {
		t.Fatalf("exit %d, want 2 and %q ... learning_rate:\n%s", code, want, errOut)
	}
}
