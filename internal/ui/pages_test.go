package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/medimind/modelops/internal/drift"
	"github.com/medimind/modelops/reconciler"
)

// TestCanaryChartMarksTheRollback: a canary rolled back after two checks draws one point per
// check, the DeLong interval as a band, and the rollback as a mark inside the plot.
func TestCanaryChartMarksTheRollback(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC)
	check := func(at time.Time, weight int, diff float64, passed bool) reconciler.CanaryCheck {
		return reconciler.CanaryCheck{Weight: weight, Passed: passed, CanaryObservation: reconciler.CanaryObservation{At: at,
			AUC: &reconciler.AUCInterval{Diff: diff, Lower: diff - 0.02, Upper: diff + 0.02, Confidence: 0.95}}}
	}
	ms := &reconciler.ModelStatus{LastCanary: &reconciler.CanaryStatus{Version: "14", Outcome: reconciler.CanaryRolledBack,
		Ended:  t0.Add(13 * time.Hour),
		Checks: []reconciler.CanaryCheck{check(t0, 10, -0.01, true), check(t0.Add(12*time.Hour), 25, -0.08, false)}}}
	v := newCanaryView(ms)
	if v == nil || v.Chart == nil {
		t.Fatal("no canary chart")
	}
	c := v.Chart
	if len(c.Series) != 1 || len(c.Series[0].Dots) != 2 || len(v.Checks) != 2 {
		t.Fatalf("series %+v, checks %d: want one series of two points", c.Series, len(v.Checks))
	}
	if len(c.Bands) != 1 || !strings.HasPrefix(c.Bands[0].Path, "M") {
		t.Fatalf("bands %+v: want the interval as one band", c.Bands)
	}
	if len(c.Marks) != 1 || c.Marks[0].X < c.Left || c.Marks[0].X > c.Right || !strings.Contains(c.Marks[0].Label, "rolled back") {
		t.Fatalf("marks %+v: want the rollback marked inside the plot [%g, %g]", c.Marks, c.Left, c.Right)
	}
	// The failed check is lower on the chart than the passing one (SVG y grows downwards).
	if d := c.Series[0].Dots; d[1].Y <= d[0].Y {
		t.Fatalf("the -0.08 difference is drawn at y=%g, above the -0.01 at y=%g", d[1].Y, d[0].Y)
	}

	// A promoted canary has no rollback mark.
	ms.LastCanary.Outcome = reconciler.CanaryPromoted
	if v := newCanaryView(ms); len(v.Chart.Marks) != 0 {
		t.Fatalf("a promoted canary is marked: %+v", v.Chart.Marks)
	}
}

// TestColumnsSayTheScorePlainly: a p-value is drifted below its threshold, a distance at or
// above it, and the table sorts by score.
func TestColumnsSayTheScorePlainly(t *testing.T) {
	rep := &drift.Report{Columns: []drift.ColumnReport{
		{Name: "lactate", Test: drift.TestKS, Score: 0.001, Threshold: 0.05, Drifted: true},
		{Name: "heart_rate", Test: drift.TestWasserstein, Score: 0.3, Threshold: 0.1, Drifted: true},
		{Name: "age", Test: drift.TestPSI, Score: 0.02, Threshold: 0.1},
	}}
	v := newReportView("sepsis-risk", reconciler.DriftRecord{Report: "reports/sepsis-risk/drift-20260302T060000Z.json"}, rep, "score", "")
	if v.ID != "drift-20260302T060000Z" {
		t.Fatalf("id %q", v.ID)
	}
	var names []string
	for _, c := range v.Columns {
		names = append(names, c.Name)
	}
	if strings.Join(names, ",") != "lactate,age,heart_rate" {
		t.Fatalf("sorted by score: %v", names)
	}
	if p := v.Columns[0].Plain; v.Columns[0].Measure != "p-value" || !strings.Contains(p, "p-value 0.001; drifted when below 0.05: drifted") {
		t.Fatalf("ks column: %s %q", v.Columns[0].Measure, p)
	}
	if p := v.Columns[2].Plain; v.Columns[2].Measure != "distance" || !strings.Contains(p, "distance 0.3; drifted when at or above 0.1: drifted") {
		t.Fatalf("wasserstein column: %s %q", v.Columns[2].Measure, p)
	}
	if f := newReportView("m", reconciler.DriftRecord{}, rep, "", "RATE"); len(f.Columns) != 1 || f.Columns[0].Name != "heart_rate" {
		t.Fatalf("filter RATE: %+v", f.Columns)
	}
}

// TestEveryPageParses: the templates are parsed when the UI is built, so a broken one stops
// `modelops run --ui` at start rather than at the first visit.
func TestEveryPageParses(t *testing.T) {
	if _, err := parsePages(); err != nil {
		t.Fatal(err)
	}
}

// The report page lists the recommendations and the part-two checks when the report has
// them, the names escaped.
func TestReportPageShowsThePartTwoChecks(t *testing.T) {
	p, err := parsePages()
	if err != nil {
		t.Fatal(err)
	}
	n := func(f float64) *drift.Number { x := drift.Number(f); return &x }
	rep := &drift.Report{Drifted: true, Share: 0.5, DatasetShare: 0.5,
		Columns:     []drift.ColumnReport{{Name: "gene_1", Test: drift.TestKS, Score: 0.001, Threshold: 0.05, Drifted: true}},
		Quality:     []drift.QualityFinding{{Column: "lactate", Issue: drift.QualityMissingIncrease, Reference: n(0), Current: n(0.3), Threshold: n(0.1)}},
		Batch:       &drift.BatchReport{Column: "lab_id", Effect: true, Batches: []drift.BatchInfo{{Name: "<C>", Rows: 90, DriftedShare: 1, Suspect: true}}},
		Correlation: []drift.CorrelationReport{{Groups: [2]string{"sensor", "omics"}, Tested: 4, Changed: 2, Share: 0.5, Drifted: true}},
	}
	rep.Recommendations = drift.Recommend(rep)
	var b strings.Builder
	v := newReportView("sepsis-risk", reconciler.DriftRecord{Report: "reports/sepsis-risk/drift-20260302T060000Z.json"}, rep, "", "")
	if err := p.byName["report"].Execute(&b, layoutData{Title: v.title(), Page: v}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<ul id="recommendations"><li>Drift is concentrated in batch &lt;C&gt; of lab_id`,
		`<th scope="row">lactate</th><td>missing_increase</td><td>0</td><td>0.3</td><td>0.1</td>`,
		`<h2>Batch effects (lab_id)</h2>`, `<th scope="row">&lt;C&gt;</th><td>90</td><td>100%</td><td><span class="bad">suspect</span>`,
		`<th scope="row">sensor × omics</th><td>4</td><td>2</td><td>50%</td>`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	b.Reset()
	plain := newReportView("m", reconciler.DriftRecord{}, &drift.Report{Columns: rep.Columns}, "", "")
	if err := p.byName["report"].Execute(&b, layoutData{Page: plain}); err != nil {
		t.Fatal(err)
	}
	for _, absent := range []string{"Recommendations", "Data quality", "Batch effects", "Correlation drift"} {
		if strings.Contains(b.String(), absent) {
			t.Errorf("a report without part two shows %q", absent)
		}
	}
}
