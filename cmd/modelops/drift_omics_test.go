package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// --quality makes a column in the reference only a finding instead of an error, and
// the report ends with the recommendation it fires.
func TestDriftQualityFlagReportsARemovedColumn(t *testing.T) {
	missing := filepath.Join(driftData, "missing-column.csv")
	if code, _, _ := runCLI(t, "drift", "--reference", driftRef, "--current", missing, "--exclude", "id", "-o", "json"); code != 2 {
		t.Fatalf("without --quality a missing column exits %d, want 2", code)
	}
	code, out, errOut := runCLI(t, "drift", "--reference", driftRef, "--current", missing, "--exclude", "id", "--quality", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	r := decodeDrift(t, out)
	if len(r.columns) != 3 || r.columns["ward"] != nil {
		t.Errorf("columns %v, want age, heart_rate, sex (ward is in the reference only)", r.columns)
	}
	q, _ := r.raw["quality"].([]any)
	found := false
	for _, f := range q {
		f := f.(map[string]any)
		if f["column"] == "ward" && f["issue"] == "removed" && f["reference"] == nil && f["current"] == nil && f["threshold"] == nil {
			found = true
		}
	}
	if !found {
		t.Errorf("quality %v lacks ward removed with null figures", r.raw["quality"])
	}
	recs, _ := r.raw["recommendations"].([]any)
	if len(recs) == 0 || recs[len(recs)-1].(map[string]any)["rule"] != "schema_change" {
		t.Errorf("recommendations %v, want schema_change", r.raw["recommendations"])
	}
	for _, key := range []string{"batch", "correlation"} {
		if _, ok := r.raw[key]; ok {
			t.Errorf("%s reported without being asked for", key)
		}
	}
}

// --batch-column works without a policy: the column is never a feature, every batch
// present is listed with its rows, and a feature whose batches are all below minRows
// (30) is listed untested with null figures.
func TestDriftBatchColumnWithoutAPolicy(t *testing.T) {
	code, out, errOut := runCLI(t, "drift", "--reference", driftRef, "--current", driftCur, "--exclude", "id", "--batch-column", "sex", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	r := decodeDrift(t, out)
	if len(r.columns) != 3 || r.columns["sex"] != nil {
		t.Fatalf("columns %v, want age, heart_rate, ward: the batch column is not a feature", r.columns)
	}
	b, ok := r.raw["batch"].(map[string]any)
	if !ok || b["column"] != "sex" || b["effect"] != false {
		t.Fatalf("batch %v, want column sex without effect", r.raw["batch"])
	}
	batches := b["batches"].([]any)
	if len(batches) != 2 {
		t.Fatalf("batches %v, want F and M", batches)
	}
	for i, name := range []string{"F", "M"} {
		x := batches[i].(map[string]any)
		// heart_rate and ward drift within each batch as in the whole; the other batch
		// drifts as much, so neither is suspect.
		if x["name"] != name || x["rows"] != 15.0 || x["suspect"] != false || !near(x["driftedShare"], 2.0/3) {
			t.Errorf("batch %v, want %s with 15 rows, drifted share 2/3, not suspect", x, name)
		}
	}
	for _, f := range b["features"].([]any) {
		f := f.(map[string]any)
		if f["statistic"] != nil || f["pValue"] != nil || f["qValue"] != nil || f["effect"] != false {
			t.Errorf("feature %v was tested although both batches hold 15 < 30 rows", f)
		}
	}
	if recs, ok := r.raw["recommendations"].([]any); !ok || len(recs) != 0 {
		t.Errorf("recommendations %v, want an empty list", r.raw["recommendations"])
	}
	if code, _, errOut := runCLI(t, "drift", "--reference", driftRef, "--current", driftCur, "--batch-column", "lab", "-o", "json"); code != 2 {
		t.Errorf("an unknown batch column exits %d (%s), want 2", code, errOut)
	}
}

// A policy's spec.drift.quality, batch and correlation drive modelops drift --policy: the
// thresholds, the batch column and the group pairs come from it, and the Markdown report
// ends with the recommendations.
func TestDriftPolicyRunsThePartTwoChecks(t *testing.T) {
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy.yaml")
	src := `apiVersion: modelops.medimind.io/v1alpha1
kind: ModelPolicy
metadata: {name: sepsis-risk}
spec:
  data:
    reference: {path: reference.csv}
    current: {path: current.csv}
    exclude: [id]
    groups:
      demographics: {features: [age, ward]}
      vitals: {features: [heart_rate]}
  drift:
    quality: {newCategories: {share: 0.5}}
    batch: {column: sex, minRows: 10, alpha: 0.05}
    correlation: {pairs: [[demographics, vitals]]}
`
	if err := os.WriteFile(policy, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "drift", "--policy", policy, "--data-root", driftData, "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	r := decodeDrift(t, out)
	if r.columns["sex"] != nil || len(r.columns) != 3 {
		t.Errorf("columns %v, want age, heart_rate, ward: sex is the batch column", r.columns)
	}
	// ward's D, unseen in the reference, is a quarter of the current rows: below the
	// policy's 0.5, so no new_categories finding; heart_rate lies wholly above the
	// reference's range.
	q, _ := r.raw["quality"].([]any)
	if len(q) != 1 || q[0].(map[string]any)["column"] != "heart_rate" || q[0].(map[string]any)["issue"] != "out_of_range" ||
		!near(q[0].(map[string]any)["current"], 1) {
		t.Errorf("quality %v, want heart_rate out_of_range at share 1 only", r.raw["quality"])
	}
	b := r.raw["batch"].(map[string]any)
	for _, f := range b["features"].([]any) {
		// With minRows 10 both batches of 15 rows enter the tests.
		if f := f.(map[string]any); f["pValue"] == nil {
			t.Errorf("feature %v untested with minRows 10", f)
		}
	}
	// ward is text: age × heart_rate is the one pair, rising together in the reference
	// (r = 1) and not in the current data.
	c, _ := r.raw["correlation"].([]any)
	if len(c) != 1 || c[0].(map[string]any)["tested"] != 1.0 {
		t.Fatalf("correlation %v, want demographics × vitals with one pair tested", r.raw["correlation"])
	}
	pair := c[0].(map[string]any)["pairs"].([]any)[0].(map[string]any)
	if pair["a"] != "age" || pair["b"] != "heart_rate" || !near(pair["rReference"], 1) || pair["nReference"] != 30.0 || pair["nCurrent"] != 30.0 {
		t.Errorf("pair %v, want age × heart_rate with r = 1 in the reference over 30 rows", pair)
	}
	code, md, errOut := runCLI(t, "drift", "--policy", policy, "--data-root", driftData, "-o", "markdown")
	if code != 0 {
		t.Fatalf("markdown: exit %d, stderr %s", code, errOut)
	}
	for _, want := range []string{"### Data quality", "### Batch effects (sex)", "### Correlation drift", "### Recommendations", "(`out_of_range`)"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}
