package ui

import (
	"bytes"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/medimind/modelops/internal/audit"
	"github.com/medimind/modelops/internal/drift"
	"github.com/medimind/modelops/reconciler"
)

// TestCanaryChartMarksTheRollback: a canary rolled back after two checks draws one point per
// check, the DeLong interval as a band, and the rollback as a mark inside the plot.
func TestCanaryChartMarksTheRollback(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC)
	check := func(at time.Time, weight int, diff float64, passed bool) reconciler.CanaryCheck {
		p95, prod := 80.0+float64(weight), 60.0
		return reconciler.CanaryCheck{Weight: weight, Passed: passed, CanaryObservation: reconciler.CanaryObservation{At: at,
			Canary: reconciler.VersionFigures{Version: "14", LatencyP95Ms: &p95}, Production: reconciler.VersionFigures{Version: "12", LatencyP95Ms: &prod},
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

	// The weight steps from 10% to 25% at the second check and falls to 0 at the rollback:
	// three points, each held until the next (two corners between them).
	w := v.Weight
	if w == nil || len(w.Series) != 1 || len(w.Series[0].Dots) != 3 || len(w.Marks) != 1 {
		t.Fatalf("weight chart %+v: want three points and the rollback mark", w)
	}
	if d := w.Series[0].Dots; d[2].Y != w.Bottom || d[1].Y >= d[0].Y || d[2].X != w.Right {
		t.Errorf("weight dots %+v: want 10%%, higher 25%%, then 0 at the rollback at the right edge", d)
	}
	if pts := strings.Fields(w.Series[0].Points); len(pts) != 5 || !strings.HasSuffix(pts[1], ","+fmt.Sprint(w.Series[0].Dots[0].Y)) {
		t.Errorf("weight polyline %q: want steps (a corner holding each weight)", w.Series[0].Points)
	}
	// The latency chart draws both versions' p95, canary above production, and the rollback.
	l := v.Latency
	if l == nil || len(l.Series) != 2 || len(l.Series[1].Dots) != 2 || len(l.Marks) != 1 || l.Series[1].Dots[0].Y >= l.Series[0].Dots[0].Y {
		t.Fatalf("latency chart %+v: want production and canary lines, the canary's 90 ms above production's 60, and the rollback", l)
	}
	// Its axis rounds the largest p95, 105 ms, up to 200 ms in steps of 50.
	if y := l.YTicks; y[4].Text != "200 ms" || y[1].Text != "50 ms" {
		t.Errorf("latency ticks %+v, want 0 to 200 ms in steps of 50", y)
	}
	// The charts share their time axis: the first check is at the left edge of each.
	if c.Series[0].Dots[0].X != w.Series[0].Dots[0].X || l.Series[0].Dots[0].X != w.Series[0].Dots[0].X {
		t.Errorf("the charts' first checks are at x %g, %g and %g", c.Series[0].Dots[0].X, w.Series[0].Dots[0].X, l.Series[0].Dots[0].X)
	}

	// A promoted canary has no rollback mark; its weight ends at 100%.
	ms.LastCanary.Outcome = reconciler.CanaryPromoted
	v = newCanaryView(ms)
	if len(v.Chart.Marks) != 0 || len(v.Weight.Marks) != 0 || len(v.Latency.Marks) != 0 {
		t.Fatalf("a promoted canary is marked: %+v", v.Chart.Marks)
	}
	if d := v.Weight.Series[0].Dots; d[2].Y != v.Weight.Top {
		t.Errorf("a promoted canary's weight ends at y %g, want the top %g (100%%)", d[2].Y, v.Weight.Top)
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
	v := newReportView("sepsis-risk", reconciler.DriftRecord{Report: "reports/sepsis-risk/drift-20260302T060000Z.json"}, rep, "/ui/models/sepsis-risk", url.Values{"sort": {"score"}})
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
	if f := newReportView("m", reconciler.DriftRecord{}, rep, "/ui/models/m", url.Values{"q": {"RATE"}}); len(f.Columns) != 1 || f.Columns[0].Name != "heart_rate" {
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

// TestColumnHistogramFollowsTheSelectedColumn: the page draws the histograms of the column
// its ?col names (else of the first one listed), bars as tall as their shares, categories as
// rows; every column's name links to its histograms, which works with JavaScript off.
func TestColumnHistogramFollowsTheSelectedColumn(t *testing.T) {
	rep := &drift.Report{Columns: []drift.ColumnReport{
		{Name: "lactate", Test: drift.TestKS, Histogram: &drift.Histogram{Range: []float64{0, 6}, Reference: []float64{0.5, 0.25, 0.25}, Current: []float64{0.1, 0.3, 0.6}}},
		{Name: "ward", Test: drift.TestChiSquare, Kind: drift.KindCategorical, Histogram: &drift.Histogram{Categories: []string{"icu", "er"}, Others: 3, Reference: []float64{0.5, 0.3, 0.2}, Current: []float64{0.2, 0.2, 0.6}}},
		{Name: "age", Test: drift.TestKS},
	}}
	rec := reconciler.DriftRecord{Report: "reports/sepsis-risk/drift-20260302T060000Z.json"}
	v := newReportView("sepsis-risk", rec, rep, "/ui/models/sepsis-risk", url.Values{"col": {"lactate"}, "sort": {"score"}})
	h := v.Hist
	if v.Selected != "lactate" || h == nil || h.Horizontal || len(h.Bins) != 3 {
		t.Fatalf("selected %q, chart %+v: want lactate's three bins", v.Selected, h)
	}
	// The largest share, 0.6, rounds the axis up to 80% in steps of 20%: the 0.6 bar is 3/4
	// of the plot's height, the 0.5 one 5/8.
	if h.YTicks[4].Text != "80%" || h.YTicks[1].Text != "20%" {
		t.Errorf("y ticks %+v, want 0%% to 80%% in steps of 20%%", h.YTicks)
	}
	if b := h.Bins[2].Cur; b.Y+b.H != h.Bottom || b.H != round1((h.Bottom-h.Top)*0.75) {
		t.Errorf("the 0.6 bar spans y %g..%g, want 3/4 of the plot %g..%g", b.Y, b.Y+b.H, h.Top, h.Bottom)
	}
	if got, want := h.Bins[0].Ref.H, round1((h.Bottom-h.Top)*0.625); got != want {
		t.Errorf("the 0.5 bar is %g high, want %g", got, want)
	}
	// The axis names the first, middle and last edges; the end ones stay inside the chart.
	if x := h.XTicks; len(x) != 3 || x[0].Text != "0" || x[1].Text != "2" || x[2].Text != "6" || x[2].Anchor != "end" || x[2].X != h.Right {
		t.Errorf("x ticks %+v", h.XTicks)
	}
	if h.Bins[2].Title != "[4, 6]: reference 25%, current 60%" || h.Bins[0].Title != "[0, 2): reference 50%, current 10%" {
		t.Errorf("titles %q, %q", h.Bins[0].Title, h.Bins[2].Title)
	}

	v = newReportView("sepsis-risk", rec, rep, "/ui/models/sepsis-risk", url.Values{"col": {"ward"}})
	if h := v.Hist; h == nil || !h.Horizontal || len(h.Bins) != 3 || h.Bins[2].Label != "3 others" || h.Bins[0].Label != "icu" {
		t.Fatalf("ward: %+v, want icu, er and 3 others as rows", h)
	}
	// An unknown column falls back to the first one listed (sorted by name: age), which was
	// written without a histogram.
	v = newReportView("sepsis-risk", rec, rep, "/ui/models/sepsis-risk", url.Values{"col": {"nope"}})
	if v.Selected != "age" || v.Hist != nil {
		t.Fatalf("selected %q with %+v, want age without a chart", v.Selected, v.Hist)
	}

	p, err := parsePages()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	v = newReportView("sepsis-risk", rec, rep, "/ui/models/sepsis-risk/reports/drift-20260302T060000Z", url.Values{"col": {"ward"}, "q": {"a"}})
	if err := p.byName["report"].ExecuteTemplate(&buf, "content", v); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	for _, want := range []string{
		`href="/ui/models/sepsis-risk/reports/drift-20260302T060000Z?col=lactate&amp;sort=name&amp;q=a#column-histogram"`,
		`data-column="ward"`, `aria-current="true" data-col="ward"`, `<title>er: reference 30%, current 20%</title>`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("the report page lacks %s", want)
		}
	}
}

// TestAuditLinksCommitsAndPullRequests: with the repository's web address the timeline links
// each commit and pull request there; without it, it shows the SHA and the number as text.
func TestAuditLinksCommitsAndPullRequests(t *testing.T) {
	p, err := parsePages()
	if err != nil {
		t.Fatal(err)
	}
	sha := "0123456789abcdef0123456789abcdef01234567"
	page := modelPage{ModelSummary: reconciler.ModelSummary{Model: "sepsis-risk"}, Audit: []audit.Event{
		{Model: "sepsis-risk", Kinds: []audit.Kind{"retrain"}, Commit: sha, Subject: "Merge pull request #42", PullRequest: 42},
	}}
	render := func(repoURL string) string {
		t.Helper()
		page.RepoURL = repoURL
		var buf bytes.Buffer
		if err := p.byName["model"].ExecuteTemplate(&buf, "content", page); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	html := render("https://github.com/medimind/policies")
	for _, want := range []string{
		`<a href="https://github.com/medimind/policies/commit/` + sha + `"><code>0123456789</code></a>`,
		`<a href="https://github.com/medimind/policies/pull/42">pull request #42</a>`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("with the web address the timeline lacks %s", want)
		}
	}
	html = render("")
	if strings.Contains(html, "/commit/") || strings.Contains(html, "/pull/") || !strings.Contains(html, "commit <code>0123456789</code>, pull request #42") {
		t.Errorf("without a web address the timeline should show the SHA and number as text")
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
	v := newReportView("sepsis-risk", reconciler.DriftRecord{Report: "reports/sepsis-risk/drift-20260302T060000Z.json"}, rep, "", nil)
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
	plain := newReportView("m", reconciler.DriftRecord{}, &drift.Report{Columns: rep.Columns}, "", nil)
	if err := p.byName["report"].Execute(&b, layoutData{Page: plain}); err != nil {
		t.Fatal(err)
	}
	for _, absent := range []string{"Recommendations", "Data quality", "Batch effects", "Correlation drift"} {
		if strings.Contains(b.String(), absent) {
			t.Errorf("a report without part two shows %q", absent)
		}
	}
}
