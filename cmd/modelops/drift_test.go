package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const driftData = "testdata/drift"

// The hand-made files in testdata/drift (30 rows each) are built so that every verdict
// can be worked out by hand:
//   - id: 1..30 against 101..130; left out with --exclude id or by the policy.
//   - age: the same 30 values in another order: KS D = 0, p = 1, no drift.
//   - heart_rate: 60..89 against 90..119, every current value above every reference one:
//     KS D = 1 and, exactly, p = 2 / C(60, 30).
//   - ward: A, B, C against A, B, C, D; D never occurs in the reference, so chi-square
//     has an expected count of 0: χ² = inf (null in JSON), p = 0, drift.
//   - sex: 15 M and 15 F on both sides: z = 0, p = 1.
//
// So 2 of the 4 compared columns drift: share 0.5, which is dataset drift at the default
// share (>= 0.5) and not at the policy's 0.6.
var (
	driftRef = filepath.Join(driftData, "reference.csv")
	driftCur = filepath.Join(driftData, "current.csv")
)

// jsonReport decodes `modelops drift -o json` generically, so that the test checks the
// documented field names rather than the Go types that produce them.
type jsonReport struct {
	raw     map[string]any
	columns map[string]map[string]any
	groups  map[string]map[string]any
}

func decodeDrift(t *testing.T, out string) jsonReport {
	t.Helper()
	r := jsonReport{columns: map[string]map[string]any{}, groups: map[string]map[string]any{}}
	dec := json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(&r.raw); err != nil {
		t.Fatalf("output is not one JSON object: %v\n%s", err, out)
	}
	if dec.More() {
		t.Fatalf("output holds more than one JSON value:\n%s", out)
	}
	for _, key := range []string{"drifted", "share", "datasetShare", "columns", "groups"} {
		if _, ok := r.raw[key]; !ok {
			t.Errorf("report lacks %q", key)
		}
	}
	cols, _ := r.raw["columns"].([]any)
	for _, c := range cols {
		col := c.(map[string]any)
		for _, key := range []string{"name", "kind", "nReference", "nCurrent", "missingReference", "missingCurrent", "invalidReference", "invalidCurrent", "test", "score", "threshold", "drifted", "scoreKind", "stats"} {
			if _, ok := col[key]; !ok {
				t.Errorf("column %v lacks %q", col["name"], key)
			}
		}
		r.columns[col["name"].(string)] = col
	}
	groups, ok := r.raw["groups"].([]any)
	if !ok {
		t.Errorf("groups is %T, want an array", r.raw["groups"])
	}
	for _, g := range groups {
		group := g.(map[string]any)
		r.groups[group["name"].(string)] = group
	}
	return r
}

// stat returns stats[test] of a column.
func (r jsonReport) stat(t *testing.T, column, test string) map[string]any {
	t.Helper()
	c, ok := r.columns[column]
	if !ok {
		t.Fatalf("no column %q in the report", column)
	}
	s, ok := c["stats"].(map[string]any)[test].(map[string]any)
	if !ok {
		t.Fatalf("column %q has no stats for %s: %v", column, test, c["stats"])
	}
	return s
}

// allDifferentP is the exact two-sided KS p-value when all n values of one sample exceed
// all n of the other: 2 / C(2n, n).
func allDifferentP(n int64) float64 {
	var c big.Int
	c.Binomial(2*n, n)
	p, _ := new(big.Float).Quo(big.NewFloat(2), new(big.Float).SetInt(&c)).Float64()
	return p
}

func near(got any, want float64) bool {
	g, ok := got.(float64)
	return ok && (g == want || math.Abs(g-want) <= 1e-9*math.Abs(want))
}

func TestDriftJSONOnHandMadeFiles(t *testing.T) {
	code, out, errOut := runCLI(t, "drift", "--reference", driftRef, "--current", driftCur, "--exclude", "id", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	r := decodeDrift(t, out)
	if len(r.columns) != 4 || r.columns["id"] != nil {
		t.Fatalf("columns %v, want age, heart_rate, ward, sex (id excluded)", r.columns)
	}
	if r.raw["drifted"] != true || !near(r.raw["share"], 0.5) || !near(r.raw["datasetShare"], 0.5) {
		t.Errorf("dataset verdict drifted=%v share=%v datasetShare=%v, want true 0.5 0.5 (2 of 4 columns, rule >=)", r.raw["drifted"], r.raw["share"], r.raw["datasetShare"])
	}
	tests := []struct {
		column, test string
		score        float64
		statistic    any // float64, or nil for JSON null
		drifted      bool
	}{
		{"age", "ks", 1, 0.0, false},
		{"heart_rate", "ks", allDifferentP(30), 1.0, true},
		{"ward", "chisquare", 0, nil, true},
		{"sex", "z", 1, 0.0, false},
	}
	for _, tc := range tests {
		c := r.columns[tc.column]
		if c["test"] != tc.test || !near(c["score"], tc.score) || c["drifted"] != tc.drifted || !near(c["threshold"], 0.05) {
			t.Errorf("%s: test %v score %v threshold %v drifted %v, want %s %v 0.05 %v", tc.column, c["test"], c["score"], c["threshold"], c["drifted"], tc.test, tc.score, tc.drifted)
		}
		s := r.stat(t, tc.column, tc.test)
		if st, ok := tc.statistic.(float64); ok && !near(s["statistic"], st) || tc.statistic == nil && s["statistic"] != nil {
			t.Errorf("%s: statistic %v, want %v", tc.column, s["statistic"], tc.statistic)
		}
		if !near(s["score"], tc.score) || s["drifted"] != tc.drifted {
			t.Errorf("%s: stats.%s = %v, want score %v drifted %v", tc.column, tc.test, s, tc.score, tc.drifted)
		}
		if c["scoreKind"] != "p_value" || s["scoreKind"] != "p_value" {
			t.Errorf("%s: scoreKind %v, stats.%s.scoreKind %v, want p_value", tc.column, c["scoreKind"], tc.test, s["scoreKind"])
		}
		if c["nReference"] != 30.0 || c["nCurrent"] != 30.0 || c["missingReference"] != 0.0 || c["missingCurrent"] != 0.0 {
			t.Errorf("%s: counts %v %v %v %v, want 30 30 0 0", tc.column, c["nReference"], c["nCurrent"], c["missingReference"], c["missingCurrent"])
		}
	}
	if got, want := r.columns["ward"]["kind"], "categorical"; got != want {
		t.Errorf("ward kind %v, want %s", got, want)
	}
	if got, want := r.columns["age"]["kind"], "numeric"; got != want {
		t.Errorf("age kind %v, want %s", got, want)
	}
}

func TestDriftInvalidValuesIgnoredAreCounted(t *testing.T) {
	code, out, errOut := runCLI(t, "drift", "--reference", driftRef, "--current", filepath.Join(driftData, "bad-number.csv"),
		"--exclude", "id", "--invalid-values", "ignore", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	hr := decodeDrift(t, out).columns["heart_rate"]
	if hr["kind"] != "numeric" || hr["test"] != "ks" || hr["invalidCurrent"] != 1.0 || hr["missingCurrent"] != 0.0 {
		t.Errorf("heart_rate = %v, want numeric, ks, 1 invalid value and none missing", hr)
	}
}

func TestDriftDefaultsToJSONWhenStdoutIsNotATerminal(t *testing.T) {
	code, out, errOut := runCLI(t, "drift", "--reference", driftRef, "--current", driftCur)
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	r := decodeDrift(t, out)
	// Without --exclude, id (1..30 against 101..130) is compared and drifts too.
	if len(r.columns) != 5 || r.columns["id"]["drifted"] != true || !near(r.raw["share"], 0.6) {
		t.Errorf("columns %d, id drifted %v, share %v; want 5, true, 0.6", len(r.columns), r.columns["id"]["drifted"], r.raw["share"])
	}
	if errOut != "" {
		t.Errorf("stderr %q, want nothing (no progress display when stderr is not a terminal)", errOut)
	}
}

func TestDriftTests(t *testing.T) {
	t.Run("all runs every test that applies and keeps the automatic verdict", func(t *testing.T) {
		code, out, errOut := runCLI(t, "drift", "--reference", driftRef, "--current", driftCur, "--exclude", "id", "--tests", "all", "-o", "json")
		if code != 0 {
			t.Fatalf("exit %d, stderr %s", code, errOut)
		}
		r := decodeDrift(t, out)
		for _, test := range []string{"ks", "wasserstein", "psi", "kl_div", "jensenshannon"} {
			// age is the same sample on both sides: every distance is 0.
			want := 0.0
			if test == "ks" {
				want = 1
			}
			if s := r.stat(t, "age", test); !near(s["score"], want) || s["drifted"] != false {
				t.Errorf("age %s = %v, want score %v, no drift", test, s, want)
			}
		}
		for _, test := range []string{"chisquare", "z", "psi", "kl_div", "jensenshannon"} {
			r.stat(t, "ward", test)
		}
		if n := len(r.columns["ward"]["stats"].(map[string]any)); n != 5 {
			t.Errorf("ward has %d stats, want the 5 categorical tests", n)
		}
		if r.columns["sex"]["test"] != "z" || r.columns["heart_rate"]["test"] != "ks" {
			t.Errorf("chosen tests %v %v, want z and ks (the automatic choice)", r.columns["sex"]["test"], r.columns["heart_rate"]["test"])
		}
	})
	t.Run("a list makes the first test that applies the verdict", func(t *testing.T) {
		code, out, errOut := runCLI(t, "drift", "--reference", driftRef, "--current", driftCur, "--exclude", "id", "--tests", "wasserstein,chisquare", "-o", "json")
		if code != 0 {
			t.Fatalf("exit %d, stderr %s", code, errOut)
		}
		r := decodeDrift(t, out)
		// sex with equal counts: χ² = 0, p = 1. heart_rate: W1 = 30 (every value
		// moves by 30) over the reference's population std sqrt((30²-1)/12).
		wantW := 30 / math.Sqrt((30*30-1)/12.0)
		if c := r.columns["heart_rate"]; c["test"] != "wasserstein" || !near(c["score"], wantW) || !near(c["threshold"], 0.1) {
			t.Errorf("heart_rate: %v %v threshold %v, want wasserstein %v 0.1", c["test"], c["score"], c["threshold"], wantW)
		}
		if c := r.columns["sex"]; c["test"] != "chisquare" || !near(c["score"], 1) || !near(r.stat(t, "sex", "chisquare")["statistic"], 0) {
			t.Errorf("sex: %v %v, want chisquare p=1", c["test"], c["score"])
		}
		if _, ok := r.columns["age"]["stats"].(map[string]any)["ks"]; ok {
			t.Error("age has ks stats although --tests did not list ks")
		}
	})
	t.Run("threshold applies to every test", func(t *testing.T) {
		// 1.69e-17 > 1e-18: heart_rate no longer drifts; ward's p = 0 still does.
		code, out, errOut := runCLI(t, "drift", "--reference", driftRef, "--current", driftCur, "--exclude", "id", "--threshold", "1e-18", "-o", "json")
		if code != 0 {
			t.Fatalf("exit %d, stderr %s", code, errOut)
		}
		r := decodeDrift(t, out)
		if r.columns["heart_rate"]["drifted"] != false || r.columns["ward"]["drifted"] != true || !near(r.columns["age"]["threshold"], 1e-18) {
			t.Errorf("heart_rate drifted %v, ward drifted %v, threshold %v; want false, true, 1e-18", r.columns["heart_rate"]["drifted"], r.columns["ward"]["drifted"], r.columns["age"]["threshold"])
		}
		if r.raw["drifted"] != false || !near(r.raw["share"], 0.25) {
			t.Errorf("dataset drifted %v share %v, want false 0.25", r.raw["drifted"], r.raw["share"])
		}
	})
}

func TestDriftPolicy(t *testing.T) {
	policy := filepath.Join(driftData, "policy.yaml")
	tests := []struct {
		name        string
		args        []string
		columns     int
		share       float64
		threshold   float64
		drifted     bool
		sexTest     string
		ageTest     string
		groupShares map[string]float64
	}{
		{
			name:    "the policy's columns, groups and dataset share apply",
			args:    nil,
			columns: 4, share: 0.5, threshold: 0.6, drifted: false, sexTest: "z", ageTest: "chisquare",
			groupShares: map[string]float64{"vitals": 0.5, "demographics": 0.5},
		},
		{
			name:    "--share overrides the policy's datasetShare",
			args:    []string{"--share", "0.5"},
			columns: 4, share: 0.5, threshold: 0.5, drifted: true, sexTest: "z", ageTest: "chisquare",
			groupShares: map[string]float64{"vitals": 0.5, "demographics": 0.5},
		},
		{
			name:    "an empty --exclude replaces the policy's exclude list",
			args:    []string{"--exclude", ""},
			columns: 5, share: 0.6, threshold: 0.6, drifted: true, sexTest: "z", ageTest: "chisquare",
			groupShares: map[string]float64{"vitals": 0.5, "demographics": 0.5},
		},
		{
			name:    "--numeric takes a column off the policy's categorical list",
			args:    []string{"--numeric", "age"},
			columns: 4, share: 0.5, threshold: 0.6, drifted: false, sexTest: "z", ageTest: "ks",
			groupShares: map[string]float64{"vitals": 0.5, "demographics": 0.5},
		},
		{
			name:    "--tests overrides the policy's tests",
			args:    []string{"--tests", "ks,chisquare"},
			columns: 4, share: 0.5, threshold: 0.6, drifted: false, sexTest: "chisquare", ageTest: "chisquare",
			groupShares: map[string]float64{"vitals": 0.5, "demographics": 0.5},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"drift", "--policy", policy, "--data-root", driftData, "-o", "json"}, tc.args...)
			code, out, errOut := runCLI(t, args...)
			if code != 0 {
				t.Fatalf("exit %d, stderr %s", code, errOut)
			}
			r := decodeDrift(t, out)
			if len(r.columns) != tc.columns || !near(r.raw["share"], tc.share) || !near(r.raw["datasetShare"], tc.threshold) || r.raw["drifted"] != tc.drifted {
				t.Errorf("%d columns, share %v, datasetShare %v, drifted %v; want %d, %v, %v, %v",
					len(r.columns), r.raw["share"], r.raw["datasetShare"], r.raw["drifted"], tc.columns, tc.share, tc.threshold, tc.drifted)
			}
			if r.columns["sex"]["test"] != tc.sexTest || r.columns["age"]["test"] != tc.ageTest {
				t.Errorf("sex tested with %v, age with %v; want %s and %s", r.columns["sex"]["test"], r.columns["age"]["test"], tc.sexTest, tc.ageTest)
			}
			// age is the same sample on both sides, whichever test runs on it.
			if !near(r.columns["age"]["score"], 1) || r.columns["age"]["drifted"] != false {
				t.Errorf("age score %v drifted %v, want p = 1, no drift", r.columns["age"]["score"], r.columns["age"]["drifted"])
			}
			if len(r.groups) != len(tc.groupShares) {
				t.Errorf("groups %v, want %v", r.groups, tc.groupShares)
			}
			for name, share := range tc.groupShares {
				g := r.groups[name]
				if g == nil || !near(g["share"], share) || g["drifted"] != (share >= tc.threshold) {
					t.Errorf("group %s = %v, want share %v", name, g, share)
				}
			}
			if got := fmt.Sprint(r.groups["demographics"]["columns"]); got != "[ward sex]" {
				t.Errorf("demographics (pattern ^(ward|sex)$) has columns %s, want [ward sex]", got)
			}
		})
	}
}

func TestDriftPolicyPathsAreRelativeToTheDataRoot(t *testing.T) {
	// Without --data-root the policy's reference.csv is looked for in the current
	// directory, where there is none.
	code, _, errOut := runCLI(t, "drift", "--policy", filepath.Join(driftData, "policy.yaml"))
	if code != 2 || !strings.Contains(errOut, "reference.csv: not in --data-root .") {
		t.Errorf("exit %d, stderr %q; want 2 naming the missing reference.csv", code, errOut)
	}
	// A copy of the data in another root works.
	root := t.TempDir()
	for _, name := range []string{"reference.csv", "current.csv"} {
		data, err := os.ReadFile(filepath.Join(driftData, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errOut := runCLI(t, "drift", "--policy", filepath.Join(driftData, "policy.yaml"), "--data-root", root, "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	if r := decodeDrift(t, out); len(r.columns) != 4 {
		t.Errorf("%d columns, want 4", len(r.columns))
	}
}

func TestDriftMarkdownAndTableGolden(t *testing.T) {
	tests := []struct {
		golden string
		args   []string
	}{
		{"markdown.golden", []string{"--policy", filepath.Join(driftData, "policy.yaml"), "--data-root", driftData, "-o", "markdown", "--report-link", "https://example.com/status/drift/sepsis-risk.json"}},
		{"table.golden", []string{"--policy", filepath.Join(driftData, "policy.yaml"), "--data-root", driftData, "-o", "table"}},
	}
	for _, tc := range tests {
		t.Run(tc.golden, func(t *testing.T) {
			code, out, errOut := runCLI(t, append([]string{"drift"}, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d, stderr %s", code, errOut)
			}
			path := filepath.Join(driftData, tc.golden)
			if *update {
				if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read golden file (run go test -update to create it): %v", err)
			}
			if out != string(want) {
				t.Errorf("output differs from %s (run go test -update after checking the change):\n--- got\n%s\n--- want\n%s", path, out, want)
			}
		})
	}
}

func TestDriftInvalidInputExitsTwo(t *testing.T) {
	file := func(name string) string { return filepath.Join(driftData, name) }
	tests := []struct {
		name string
		args []string
		want []string // substrings of stderr
	}{
		{"a non-numeric value in a numeric column names file, line and column",
			[]string{"--reference", driftRef, "--current", file("bad-number.csv"), "--numeric", "heart_rate"},
			[]string{"bad-number.csv", "line 3", `column "heart_rate"`, `"sixty-one"`}},
		{"a non-numeric value in a column numeric in the reference is an error too",
			[]string{"--reference", driftRef, "--current", file("bad-number.csv")},
			[]string{"bad-number.csv", "line 3", `column "heart_rate"`, `want a number, got "sixty-one"`}},
		{"a file over a limit names the file and the limit",
			[]string{"--reference", driftRef, "--current", driftCur, "--max-rows", "10"},
			[]string{"reference.csv", "11 rows, more than the limit maxRows = 10"}},
		{"an unknown --invalid-values",
			[]string{"--reference", driftRef, "--current", driftCur, "--invalid-values", "skip"},
			[]string{`--invalid-values "skip"`, "error or ignore"}},
		{"a --max-bytes that is not a quantity",
			[]string{"--reference", driftRef, "--current", driftCur, "--max-bytes", "16GB"},
			[]string{`--max-bytes "16GB"`, "16Gi"}},
		{"a column absent from one side names the file and the column",
			[]string{"--reference", driftRef, "--current", file("missing-column.csv")},
			[]string{"missing-column.csv", `"ward"`, "reference.csv"}},
		{"an empty file",
			[]string{"--reference", driftRef, "--current", file("empty.csv")},
			[]string{"empty.csv", "empty file"}},
		{"a short row names the line",
			[]string{"--reference", driftRef, "--current", file("ragged.csv")},
			[]string{"ragged.csv", "line 3"}},
		{"a file that does not exist",
			[]string{"--reference", file("nope.csv"), "--current", driftCur},
			[]string{"nope.csv", "no such file"}},
		{"a column named in --categorical that the file lacks",
			[]string{"--reference", driftRef, "--current", driftCur, "--categorical", "bloodtype"},
			[]string{"reference.csv", `"bloodtype"`, "no such column"}},
		{"an unknown test",
			[]string{"--reference", driftRef, "--current", driftCur, "--tests", "ks,anderson"},
			[]string{`unknown test "anderson"`, "chisquare"}},
		{"a test that does not apply to a column's kind",
			[]string{"--reference", driftRef, "--current", driftCur, "--tests", "ks"},
			[]string{"--tests ks does not apply to categorical column", `"ward"`, "chisquare, z"}},
		{"auto combined with test names",
			[]string{"--reference", driftRef, "--current", driftCur, "--tests", "auto,ks"},
			[]string{`"auto" cannot be combined`}},
		{"a threshold that is not a number",
			[]string{"--reference", driftRef, "--current", driftCur, "--threshold", "low"},
			[]string{"--threshold", `"low"`}},
		{"a negative threshold",
			[]string{"--reference", driftRef, "--current", driftCur, "--threshold", "-0.1"},
			[]string{"--threshold -0.1", ">= 0"}},
		{"a share above 1",
			[]string{"--reference", driftRef, "--current", driftCur, "--share", "1.5"},
			[]string{"--share 1.5", "between 0 and 1"}},
		{"an unknown output format",
			[]string{"--reference", driftRef, "--current", driftCur, "-o", "yaml"},
			[]string{`--output "yaml"`, "table, json or markdown"}},
		{"an unknown flag",
			[]string{"--reference", driftRef, "--current", driftCur, "--shar", "0.5"},
			[]string{"unknown flag: --shar"}},
		{"no current dataset",
			[]string{"--reference", driftRef},
			[]string{"--reference and --current are required"}},
		{"an argument",
			[]string{"--reference", driftRef, "--current", driftCur, "extra.csv"},
			[]string{"no arguments", "extra.csv"}},
		{"an invalid policy reports every problem with file:line:col",
			[]string{"--policy", file("policy-invalid.yaml"), "--data-root", driftData},
			[]string{"policy-invalid.yaml:10:18: spec.drift.numericTest", "policy-invalid.yaml:11:19: spec.drift.datasetShare"}},
		{"a policy group naming a column that is not compared",
			[]string{"--policy", file("policy.yaml"), "--data-root", driftData, "--exclude", "id,age"},
			[]string{`group "vitals"`, `"age"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			expectInvalidInput(t, append([]string{"drift"}, tc.args...), tc.want...)
		})
	}
}

func TestDriftFailuresExitOne(t *testing.T) {
	t.Run("a directory cannot be read", func(t *testing.T) {
		code, _, errOut := runCLI(t, "drift", "--reference", t.TempDir(), "--current", driftCur)
		if code != 1 {
			t.Errorf("exit %d, want 1 (stderr %q)", code, errOut)
		}
	})
	t.Run("a server error on download", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "boom", http.StatusInternalServerError)
		}))
		defer srv.Close()
		code, _, errOut := runCLI(t, "drift", "--reference", srv.URL+"/reference.csv", "--current", driftCur)
		if code != 1 || !strings.Contains(errOut, "500") {
			t.Errorf("exit %d, stderr %q; want 1 naming the status", code, errOut)
		}
	})
	t.Run("a cancelled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		opts := driftOptions{reference: driftRef, current: driftCur, output: "json", dataRoot: "."}
		err := runDrift(ctx, opts, &bytes.Buffer{}, &bytes.Buffer{})
		var exit *exitError
		if !errors.Is(err, context.Canceled) || errors.As(err, &exit) {
			t.Errorf("runDrift with a cancelled context: %v, want context.Canceled as a failure (exit 1)", err)
		}
	})
}

func TestDriftDownloadsURLs(t *testing.T) {
	srv := httptest.NewServer(http.FileServer(http.Dir(driftData)))
	defer srv.Close()
	code, out, errOut := runCLI(t, "drift", "--reference", srv.URL+"/reference.csv", "--current", srv.URL+"/current.csv", "--exclude", "id", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	if r := decodeDrift(t, out); !near(r.columns["heart_rate"]["score"], allDifferentP(30)) {
		t.Errorf("heart_rate p = %v over HTTP, want %v", r.columns["heart_rate"]["score"], allDifferentP(30))
	}
	// Errors about a downloaded file name its URL, not the temporary file.
	code, _, errOut = runCLI(t, "drift", "--reference", srv.URL+"/reference.csv", "--current", srv.URL+"/bad-number.csv", "--numeric", "heart_rate")
	if code != 2 || !strings.Contains(errOut, srv.URL+"/bad-number.csv: line 3") {
		t.Errorf("exit %d, stderr %q; want 2 naming the URL and line 3", code, errOut)
	}
	code, _, errOut = runCLI(t, "drift", "--reference", srv.URL+"/nope.csv", "--current", driftCur)
	if code != 2 || !strings.Contains(errOut, "404") {
		t.Errorf("exit %d, stderr %q; want 2 (a missing file) naming the 404", code, errOut)
	}
}

// writeWide writes a CSV of n numeric columns and 20 rows, shifted by shift.
func writeWide(t *testing.T, path string, n int, shift float64) {
	t.Helper()
	var b strings.Builder
	for j := range n {
		if j > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "c%d", j)
	}
	b.WriteByte('\n')
	for i := range 20 {
		for j := range n {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%g", float64(i)+shift)
		}
		b.WriteByte('\n')
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDriftProgressOnlyForWideInputOnATerminal(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []int{200, 201} {
		writeWide(t, filepath.Join(dir, fmt.Sprintf("ref%d.csv", n)), n, 0)
		writeWide(t, filepath.Join(dir, fmt.Sprintf("cur%d.csv", n)), n, 5)
	}
	tests := []struct {
		columns  int
		terminal bool
		want     bool
	}{
		{201, true, true},
		{200, true, false},
		{201, false, false},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%d columns, terminal %v", tc.columns, tc.terminal), func(t *testing.T) {
			opts := driftOptions{
				reference: filepath.Join(dir, fmt.Sprintf("ref%d.csv", tc.columns)),
				current:   filepath.Join(dir, fmt.Sprintf("cur%d.csv", tc.columns)),
				output:    "json", dataRoot: ".", progress: tc.terminal,
			}
			var out, errOut bytes.Buffer
			if err := runDrift(context.Background(), opts, &out, &errOut); err != nil {
				t.Fatal(err)
			}
			shown := strings.Contains(errOut.String(), fmt.Sprintf("comparing %d columns", tc.columns))
			if shown != tc.want {
				t.Errorf("progress shown %v, want %v; stderr %q", shown, tc.want, errOut.String())
			}
			if !tc.want && errOut.Len() != 0 {
				t.Errorf("stderr %q, want nothing", errOut.String())
			}
			if r := decodeDrift(t, out.String()); len(r.columns) != tc.columns {
				t.Errorf("%d columns in the report, want %d", len(r.columns), tc.columns)
			}
		})
	}
}

// TestDriftStateDirKeepsTheReferenceProfile: with --state-dir the first run stores the
// reference's prepared profile, the second reads it instead of the reference; the JSON
// and Markdown outputs are the same bytes as without the cache, and a policy's --tests
// list is still checked against the (cached) reference's column kinds.
func TestDriftStateDirKeepsTheReferenceProfile(t *testing.T) {
	state := t.TempDir()
	args := []string{"drift", "--reference", driftRef, "--current", driftCur, "--exclude", "id", "--tests", "all"}
	for _, format := range []string{"json", "markdown"} {
		code, want, errOut := runCLI(t, append(args, "-o", format)...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		for run := range 2 {
			code, got, errOut := runCLI(t, append(args, "-o", format, "--state-dir", state)...)
			if code != 0 || got != want {
				t.Fatalf("%s, run %d with --state-dir: exit %d (%s), output differs: %v", format, run+1, code, errOut, got != want)
			}
		}
	}
	entries, err := filepath.Glob(filepath.Join(state, "profiles", "*.profile"))
	if err != nil || len(entries) != 1 {
		t.Fatalf("profiles %v (%v), want one entry (the options that differ only in output share it)", entries, err)
	}
	code, _, errOut := runCLI(t, "drift", "--reference", driftRef, "--current", driftCur, "--exclude", "id", "--tests", "ks", "--state-dir", state)
	if code != 2 || !strings.Contains(errOut, `categorical column "ward"`) {
		t.Fatalf("--tests ks on a cached reference with text columns: exit %d, %s; want 2 naming ward", code, errOut)
	}
}

// TestDriftMemoryBudget: a budget too small for the tables compares them a few columns at
// a time, with the same output; a malformed budget is invalid input.
func TestDriftMemoryBudget(t *testing.T) {
	args := []string{"drift", "--reference", driftRef, "--current", driftCur, "--exclude", "id", "--tests", "all", "-o", "json"}
	code, want, errOut := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, budget := range []string{"2KiB", "3Ki", "1Gi"} {
		code, got, errOut := runCLI(t, append(args, "--memory", budget)...)
		if code != 0 || got != want {
			t.Fatalf("--memory %s: exit %d (%s), output differs: %v", budget, code, errOut, got != want)
		}
	}
	code, _, errOut = runCLI(t, append(args, "--memory", "lots")...)
	if code != 2 || !strings.Contains(errOut, `--memory "lots"`) {
		t.Fatalf("--memory lots: exit %d, %s", code, errOut)
	}
}
