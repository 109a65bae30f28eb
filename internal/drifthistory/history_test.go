package drifthistory

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/medimind/modelops/policies"
	"github.com/medimind/modelops/reconciler"
)

// The reports of one model as the status branch holds them: an old report (two files'
// drift, no optional fields), one of a newer engine with every optional field, one that
// tested no column, and a canary report beside them.
var tree = fstest.MapFS{
	"reports/sepsis/drift-20261102T080000Z.json": {Data: []byte(`{"drifted": true, "share": 0.6667, "datasetShare": 0.5,
		"columns": [{"name": "a", "drifted": true, "score": null}, {"name": "b", "drifted": true}, {"name": "c", "drifted": false}],
		"groups": [{"name": "omics", "columns": ["a", "b"], "drifted": true, "share": 1}, {"name": "clinical", "columns": ["c"], "drifted": false, "share": 0}]}`)},
	"reports/sepsis/drift-20261102T110000Z.json": {Data: []byte(`{"drifted": false, "share": 0, "datasetShare": 0.5,
		"columns": [{"name": "a", "drifted": false}],
		"groups": [],
		"windows": {"reference": {"from": "2026-05-01T00:00:00Z", "to": "2026-10-28T00:00:00Z", "rows": 50000, "droppedRows": 3},
		            "current": {"from": "2026-10-28T00:00:00Z", "to": "2026-11-02T11:00:00Z", "rows": 1200, "droppedRows": 0}},
		"quality": [{"column": "a", "issue": "missing"}, {"column": "b", "issue": "outOfRange"}],
		"batch": {"column": "lab", "effect": true, "batches": [{"name": "lab-1", "rows": 300, "suspect": false}, {"name": "lab-3", "rows": 80, "suspect": true}], "groups": [], "features": []},
		"correlation": [{"groups": ["sensor", "omics"], "tested": 40, "changed": 9, "share": 0.225, "drifted": true, "pairs": [{"a": "hr", "b": "gene_1"}]},
		                {"groups": ["clinical", "sensor"], "tested": 10, "changed": 0, "share": 0, "drifted": false, "pairs": []}]}`)},
	"reports/sepsis/drift-20261102T140000Z.json":     {Data: []byte(`{"drifted": false, "share": 0, "datasetShare": 0.5, "columns": [], "groups": [], "quality": []}`)},
	"reports/sepsis/canary-13-20261102T090000Z.json": {Data: []byte(`{}`)},
}

func TestReadTakesEveryReportAndItsOptionalFields(t *testing.T) {
	records := []reconciler.DriftRecord{{Report: "reports/sepsis/drift-20261102T110000Z.json", Interval: policies.Duration{Duration: 3 * time.Hour}}}
	got, err := Read(tree, "sepsis", time.Time{}, records)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d entries, want the 3 drift reports", len(got))
	}
	old, full, empty := got[0], got[1], got[2]
	if !old.Time.Equal(time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)) || old.Verdict != reconciler.DriftOutcomeDrifted ||
		old.Columns != 3 || old.DriftedColumns != 2 || len(old.Groups) != 2 || old.Groups[0] != (Group{"omics", 1, true}) {
		t.Errorf("the old report: %+v", old)
	}
	if old.Windows != nil || old.QualityFindings != nil || old.Batch != nil || old.Correlation != nil || old.Interval != nil {
		t.Errorf("the old report has optional fields it does not hold: %+v", old)
	}
	if full.Verdict != reconciler.DriftOutcomeNoDrift || full.Interval == nil || full.Interval.Duration != 3*time.Hour ||
		full.Windows == nil || full.Windows.Reference.Rows != 50000 || full.Windows.Reference.DroppedRows != 3 || full.Windows.Current.To != "2026-11-02T11:00:00Z" ||
		full.QualityFindings == nil || *full.QualityFindings != 2 ||
		full.Batch == nil || !full.Batch.Effect || strings.Join(full.Batch.Suspect, ",") != "lab-3" ||
		len(full.Correlation) != 2 || !full.Correlation[0].Drifted || full.Correlation[0].Changed != 9 {
		t.Errorf("the newer report: %+v", full)
	}
	if empty.Verdict != reconciler.DriftOutcomeInsufficient || empty.QualityFindings == nil || *empty.QualityFindings != 0 {
		t.Errorf("the report that tested no column: %+v", empty)
	}

	since, err := Read(tree, "sepsis", time.Date(2026, 11, 2, 11, 0, 0, 0, time.UTC), nil)
	if err != nil || len(since) != 2 || since[0].Interval != nil {
		t.Errorf("since 11:00: %d entries, %v; want the last two, no interval without records", len(since), err)
	}
	if _, err := Read(tree, "other", time.Time{}, nil); !errors.Is(err, ErrNoReports) {
		t.Errorf("a model without reports: %v, want ErrNoReports", err)
	}
	if got, err := Read(tree, "sepsis", time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), nil); err != nil || len(got) != 0 {
		t.Errorf("since after the last report: %v, %v; want none and no error", got, err)
	}
}

func TestWriteTable(t *testing.T) {
	entries, err := Read(tree, "sepsis", time.Time{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := &History{Model: "sepsis", Branch: "modelops/status", Commit: "0123456789abcdef", Reports: entries}
	var plain, term bytes.Buffer
	if err := h.WriteTable(&plain, false); err != nil {
		t.Fatal(err)
	}
	h.WriteTable(&term, true)
	out := plain.String()
	for _, want := range []string{
		"Drift history of sepsis: 3 report(s) (modelops/status at 0123456789ab).",
		"TIME", "WINDOWS", "QUALITY", "BATCH", "CORRELATION",
		"2026-11-02T08:00:00Z  drifted",
		"omics 1.00*, clinical 0.00",
		"ref 50000 rows, cur 1200 rows", "2 finding(s)", "EFFECT (lab), suspect lab-3", "1/2 pairs drifted: sensor×omics",
		"insufficient-data",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the table lacks %q:\n%s", want, out)
		}
	}
	if strings.ContainsAny(out, "▁█") || strings.Contains(out, "INTERVAL") {
		t.Errorf("the plain table has a sparkline or an interval column no report has:\n%s", out)
	}
	if !strings.Contains(term.String(), "share  ▆▁▁  (0 to 1, oldest first; dataset drifts at 0.50)") {
		t.Errorf("the terminal table's sparkline:\n%s", term.String())
	}
}

func TestSparkline(t *testing.T) {
	got := Sparkline([]float64{0, 0.124, 0.125, 0.3, 0.5, 0.74, 0.875, 0.99, 1, 1.5, -1})
	if want := "▁▁▂▃▅▆████▁"; got != want {
		// 1.5 and -1 are out of range: drawn at the ends.
		t.Errorf("Sparkline = %s, want %s", got, want)
	}
}
