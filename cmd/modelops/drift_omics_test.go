package main

import (
	"path/filepath"
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
