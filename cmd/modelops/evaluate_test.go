package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// evaluateData holds the prediction logs whose figures scripts/metrics_reference.py
// computed with sklearn and NumPy.
const evaluateData = "../../internal/metrics/testdata"

// evaluateFields are the documented fields of every evaluation object.
var evaluateFields = []string{"samples", "positives", "unlabelled", "auc", "precision", "recall",
	"threshold", "latencyP95Ms", "coverage"}

// decodeEvaluation decodes `modelops evaluate -o json` generically and checks that the
// top level and every version hold exactly the documented fields.
func decodeEvaluation(t *testing.T, out string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	var res map[string]any
	if err := dec.Decode(&res); err != nil {
		t.Fatalf("output is not one JSON object: %v\n%s", err, out)
	}
	if dec.More() {
		t.Fatalf("output holds more than one JSON value:\n%s", out)
	}
	checkKeys := func(where string, m map[string]any, want []string) {
		var got []string
		for k := range m {
			got = append(got, k)
		}
		slices.Sort(got)
		want = slices.Sorted(slices.Values(want))
		if !slices.Equal(got, want) {
			t.Errorf("%s has fields %q, want %q", where, got, want)
		}
	}
	checkKeys("top level", res, append(slices.Clone(evaluateFields), "byVersion"))
	byVersion, ok := res["byVersion"].(map[string]any)
	if !ok {
		t.Fatalf("byVersion is %T, want an object", res["byVersion"])
	}
	for v, e := range byVersion {
		checkKeys("byVersion "+v, e.(map[string]any), evaluateFields)
	}
	return res
}

// referenceExpected returns the expected result of the named case of reference.json,
// decoded generically.
func referenceExpected(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(evaluateData, "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Cases []struct {
			Name     string         `json:"name"`
			Expected map[string]any `json:"expected"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	for _, c := range ref.Cases {
		if c.Name == name {
			return c.Expected
		}
	}
	t.Fatalf("no reference case %q", name)
	return nil
}

// sameFigures compares two evaluation objects field by field, numbers to 1e-12
// (relative for latency), nulls exactly.
func sameFigures(t *testing.T, where string, got, want map[string]any) {
	t.Helper()
	for _, f := range evaluateFields {
		g, w := got[f], want[f]
		if (g == nil) != (w == nil) {
			t.Errorf("%s: %s = %v, want %v", where, f, g, w)
			continue
		}
		if w == nil {
			continue
		}
		gf, wf := g.(float64), w.(float64)
		if math.Abs(gf-wf) > 1e-12*math.Max(1, math.Abs(wf)) {
			t.Errorf("%s: %s = %.17g, want %.17g", where, f, gf, wf)
		}
	}
}

func TestEvaluateJSONMatchesTheReference(t *testing.T) {
	for _, tc := range []struct {
		name string // in reference.json
		args []string
	}{
		{"several versions", []string{"--predictions", filepath.Join(evaluateData, "versions.csv"),
			"--categories", "site0,site1,site2,site3,site4,site5,site6,site7,site8,site9,site10,site11,site12,site13"}},
		{"several versions, version 13", []string{"--predictions", filepath.Join(evaluateData, "versions.csv"),
			"--version", "13", "--threshold", "0.6"}},
		{"several versions in a window", []string{"--predictions", filepath.Join(evaluateData, "versions.csv"),
			"--since", "2024-03-01T08:20:00Z", "--until", "2024-03-02T09:20:00Z", "--threshold", "0.4", "-o", "json"}},
		{"one class", []string{"--predictions", filepath.Join(evaluateData, "one_class.csv")}},
		{"no latency", []string{"--predictions", filepath.Join(evaluateData, "no_latency.csv")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, append([]string{"evaluate"}, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d, stderr %s", code, errOut)
			}
			got := decodeEvaluation(t, out)
			want := referenceExpected(t, tc.name)
			sameFigures(t, "top level", got, want)
			gotV, wantV := got["byVersion"].(map[string]any), want["byVersion"].(map[string]any)
			if len(gotV) != len(wantV) {
				t.Errorf("byVersion has %d versions, want %d", len(gotV), len(wantV))
			}
			for v, w := range wantV {
				g, ok := gotV[v].(map[string]any)
				if !ok {
					t.Errorf("byVersion lacks %q", v)
					continue
				}
				sameFigures(t, "version "+v, g, w.(map[string]any))
			}
		})
	}
}

func TestEvaluateTable(t *testing.T) {
	code, out, errOut := runCLI(t, "evaluate", "--predictions", filepath.Join(evaluateData, "ties.csv"), "-o", "table", "--threshold", "0.3")
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 6 {
		t.Fatalf("table has %d lines, want header, all, 12, 13, blank, threshold:\n%s", len(lines), out)
	}
	for i, prefix := range []string{"VERSION", "(all) ", "12 ", "13 ", "", "threshold 0.3 "} {
		if !strings.HasPrefix(lines[i], prefix) {
			t.Errorf("line %d %q, want it to start with %q", i+1, lines[i], prefix)
		}
	}
	// ties (reference.json): 400 samples, AUC 0.8402..., no coverage.
	if f := strings.Fields(lines[1]); len(f) != 9 || f[1] != "400" || f[4] != "0.8402" || f[8] != "-" {
		t.Errorf("all row %q, want 400 samples, auc 0.8402, coverage -", lines[1])
	}
}

func TestEvaluatePolicy(t *testing.T) {
	dir := t.TempDir()
	log, err := os.ReadFile(filepath.Join(evaluateData, "ties.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "logs", "p.csv"), log, 0o644); err != nil {
		t.Fatal(err)
	}
	policy := filepath.Join(dir, "model.yaml")
	if err := os.WriteFile(policy, []byte(`apiVersion: modelops.medimind.io/v1alpha1
kind: ModelPolicy
metadata:
  name: sepsis-risk
spec:
  metrics:
    predictions: {path: logs/p.csv}
  promotion:
    categories: [icu, ward, er, clinic, home]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "evaluate", "--policy", policy, "--data-root", dir)
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	sameFigures(t, "policy's categories", decodeEvaluation(t, out), referenceExpected(t, "ties with categories"))

	// --categories replaces the policy's list.
	code, out, errOut = runCLI(t, "evaluate", "--policy", policy, "--data-root", dir, "--categories", "icu,ward,er,clinic",
		"--version", "13")
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	sameFigures(t, "flag's categories", decodeEvaluation(t, out), referenceExpected(t, "ties at threshold 0.5 of version 13"))
}

func TestEvaluateInvalidInputExitsTwo(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	badLabel := write("bad-label.csv", "model_version,score,label\n1,0.5,1\n1,0.4,maybe\n")
	noPredictions := write("policy.yaml", "apiVersion: modelops.medimind.io/v1alpha1\nkind: ModelPolicy\nmetadata:\n  name: m\nspec: {}\n")
	ties := filepath.Join(evaluateData, "ties.csv")
	tests := []struct {
		name string
		args []string
		want []string // substrings of stderr
	}{
		{"a bad label names file, line and column", []string{"--predictions", badLabel},
			[]string{"bad-label.csv: line 3: column \"label\": want a label 0 or 1 (or true/false), got \"maybe\""}},
		{"a log that does not exist", []string{"--predictions", filepath.Join(dir, "nope.csv")},
			[]string{"nope.csv", "no such file"}},
		{"an empty log", []string{"--predictions", write("empty.csv", "")}, []string{"empty.csv: empty file"}},
		{"a version the log lacks", []string{"--predictions", ties, "--version", "14"},
			[]string{`--version "14": not in`, "ties.csv (its versions are 12, 13)"}},
		{"a threshold that is not a number", []string{"--predictions", ties, "--threshold", "high"},
			[]string{"--threshold", `"high"`}},
		{"an infinite threshold", []string{"--predictions", ties, "--threshold", "inf"},
			[]string{"--threshold +Inf: want a finite number"}},
		{"a bad time", []string{"--predictions", ties, "--since", "yesterday"},
			[]string{`--since "yesterday": want a time such as 2024-03-01T12:00:00Z`}},
		{"an empty window", []string{"--predictions", ties, "--since", "2024-03-02", "--until", "2024-03-01"},
			[]string{"--since 2024-03-02 is not before --until 2024-03-01"}},
		{"an empty category", []string{"--predictions", ties, "--categories", "icu,,ward"},
			[]string{`--categories: empty category name in "icu,,ward"`}},
		{"categories without a category column", []string{"--predictions", badLabel, "--categories", "icu"},
			[]string{`column "category": no such column`}},
		{"an unknown output format", []string{"--predictions", ties, "-o", "yaml"},
			[]string{`--output "yaml": want table or json`}},
		{"an unknown flag", []string{"--predictions", ties, "--treshold", "0.4"},
			[]string{"unknown flag: --treshold"}},
		{"no log", nil, []string{"--predictions is required"}},
		{"a policy without a log", []string{"--policy", noPredictions}, []string{"--predictions is required"}},
		{"an argument", []string{"--predictions", ties, "extra.csv"}, []string{"no arguments", "extra.csv"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			expectInvalidInput(t, append([]string{"evaluate"}, tc.args...), tc.want...)
		})
	}
}

func TestEvaluateReadFailureExitsOne(t *testing.T) {
	code, _, errOut := runCLI(t, "evaluate", "--predictions", t.TempDir())
	if code != 1 {
		t.Errorf("exit %d, want 1 for a directory (stderr %q)", code, errOut)
	}
}
