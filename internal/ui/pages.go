package ui

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/medimind/modelops/internal/audit"
	"github.com/medimind/modelops/internal/drift"
	"github.com/medimind/modelops/reconciler"
)

// pages holds one template set per page, each with the shared layout.
type pages struct{ byName map[string]*template.Template }

var funcs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"percent": percent,
	"short": func(s string) string {
		if len(s) > 10 {
			return s[:10]
		}
		return s
	},
	"num": num,
	// condBad is a condition that needs a person: not Ready, or Stalled.
	"condBad": func(c reconciler.Condition) bool {
		return c.Type == reconciler.ConditionReady && c.Status != reconciler.ConditionTrue ||
			c.Type == reconciler.ConditionStalled && c.Status == reconciler.ConditionTrue
	},
	"isWeb": func(u string) bool { return strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") },
	"took": func(r reconciler.TrainingRun) string {
		switch {
		case r.Started.IsZero():
			return ""
		case r.Finished.IsZero():
			return "running since " + r.Started.UTC().Format("2006-01-02 15:04")
		}
		return "took " + r.Finished.Sub(r.Started).Round(time.Second).String()
	},
	"numptr": func(n *drift.Number) string {
		if n == nil {
			return "—"
		}
		return num(float64(*n))
	},
	"pnum": func(p *float64) string {
		if p == nil {
			return "—"
		}
		return num(*p)
	},
}

func num(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	return fmt.Sprintf("%.4g", v)
}

func parsePages() (*pages, error) {
	p := &pages{byName: map[string]*template.Template{}}
	for _, name := range []string{"login", "overview", "model", "report", "error"} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/charts.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("ui: parse the %s page: %w", name, err)
		}
		p.byName[name] = t
	}
	return p, nil
}

// layoutData is what every page has.
type layoutData struct {
	Title string
	User  string
	Page  any
}

// render writes a page; it renders into a buffer first so a template error is a clean 500.
func (u *UI) render(w http.ResponseWriter, status int, name string, page any) {
	u.renderAs(w, status, name, "", page)
}

func (u *UI) renderAs(w http.ResponseWriter, status int, name, user string, page any) {
	var buf bytes.Buffer
	title := map[string]string{"login": "Log in", "overview": "Models", "error": "Error"}[name]
	if t, ok := page.(interface{ title() string }); ok {
		title = t.title()
	}
	if err := u.pages.byName[name].Execute(&buf, layoutData{Title: title, User: user, Page: page}); err != nil {
		u.o.Log.Error("ui: render", "page", name, "error", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (u *UI) renderError(w http.ResponseWriter, status int, msg string) {
	u.render(w, status, "error", errorPage{Status: status, Message: msg})
}

type errorPage struct {
	Status  int
	Message string
}

// snapshotError answers a failed read of the reconciler's state.
func (u *UI) snapshotError(w http.ResponseWriter, err error) {
	u.o.Log.Error("ui: read the status", "error", err)
	u.renderError(w, http.StatusServiceUnavailable, "The reconciler's state could not be read: "+err.Error())
}

// ---- Overview ----

type overviewPage struct {
	Rows    []overviewRow
	Total   int
	Failing int
	Q       string
	Sort    string
	OnlyBad bool
}

type overviewRow struct {
	reconciler.ModelSummary
	// Trouble says why the model needs a person; empty when it does not.
	Trouble string
	Spark   *sparkline
}

// sparkReports is how many recent drift reports the overview's sparklines show.
const sparkReports = 20

func (u *UI) overview(w http.ResponseWriter, r *http.Request, user string) {
	snap, err := u.o.Source.Snapshot(r.Context())
	if err != nil {
		u.snapshotError(w, err)
		return
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	page := overviewPage{Q: q, Sort: r.URL.Query().Get("sort"), OnlyBad: r.URL.Query().Get("failing") == "1"}
	for _, m := range snap.Summaries() {
		row := overviewRow{ModelSummary: m, Trouble: trouble(m)}
		if ms := snap.Status.Models[m.Model]; ms != nil {
			hist := ms.Drift[max(0, len(ms.Drift)-sparkReports):]
			shares := make([]float64, len(hist))
			for i, d := range hist {
				shares[i] = d.Share
			}
			row.Spark = newSparkline(shares, fmt.Sprintf("drifted share of the last %d reports, oldest first: %s", len(hist), joinPercents(shares)))
		}
		page.Total++
		if row.Trouble != "" {
			page.Failing++
		}
		if q != "" && !strings.Contains(strings.ToLower(m.Model), strings.ToLower(q)) {
			continue
		}
		if page.OnlyBad && row.Trouble == "" {
			continue
		}
		page.Rows = append(page.Rows, row)
	}
	switch page.Sort {
	case "drift":
		slices.SortStableFunc(page.Rows, func(a, b overviewRow) int { return cmp.Compare(driftShare(b), driftShare(a)) })
	case "state":
		slices.SortStableFunc(page.Rows, func(a, b overviewRow) int {
			return cmp.Compare(boolRank(b.Trouble != ""), boolRank(a.Trouble != ""))
		})
	default:
		page.Sort = "model"
	}
	u.renderAs(w, http.StatusOK, "overview", user, page)
}

func driftShare(r overviewRow) float64 {
	if r.LastDrift == nil {
		return -1
	}
	return r.LastDrift.Share
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

func joinPercents(vs []float64) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = percent(v)
	}
	return strings.Join(s, ", ")
}

// trouble says why a model needs a person: an invalid policy, a stalled or failed
// reconcile, a failed training run, drift. Empty when all is well.
func trouble(m reconciler.ModelSummary) string {
	if len(m.Errors) > 0 {
		return "invalid policy"
	}
	for _, c := range m.Conditions {
		switch {
		case c.Type == reconciler.ConditionStalled && c.Status == reconciler.ConditionTrue:
			return "stalled: " + c.Reason
		case c.Type == reconciler.ConditionReady && c.Status == reconciler.ConditionFalse:
			return "not ready: " + c.Reason
		}
	}
	if m.LastRun != nil && m.LastRun.Phase == reconciler.RunFailed {
		return "training failed"
	}
	if m.LastDrift != nil && m.LastDrift.Drifted {
		return "data drifted"
	}
	return ""
}

// ---- Model ----

type modelPage struct {
	reconciler.ModelSummary
	Trouble    string
	DriftChart *chart
	// Reports are the drift reports, newest first.
	Reports []reportLink
	Latest  *reportView
	Canary  *canaryView
	Runs    []runRow
	// Gate is the promotion gate's verdict on the last candidate.
	Gate       *reconciler.PromotionVerdict
	GateOf     string
	Audit      []audit.Event
	AuditError string
	// RepoURL is the repository's web address, or "" (Options.RepoURL).
	RepoURL string
}

func (p modelPage) title() string { return p.Model }

type reportLink struct {
	ID string
	reconciler.DriftRecord
}

type runRow struct {
	reconciler.TrainingRun
	Duration string
}

// chartReports bounds the reports read for the per-group drift chart (the status keeps 100).
const chartReports = 100

func (u *UI) model(w http.ResponseWriter, r *http.Request, user string) {
	ctx := r.Context()
	name := r.PathValue("model")
	snap, err := u.o.Source.Snapshot(ctx)
	if err != nil {
		u.snapshotError(w, err)
		return
	}
	page := modelPage{RepoURL: strings.TrimSuffix(u.o.RepoURL, "/")}
	found := false
	for _, m := range snap.Summaries() {
		if m.Model == name {
			page.ModelSummary, page.Trouble, found = m, trouble(m), true
		}
	}
	if !found {
		u.renderError(w, http.StatusNotFound, fmt.Sprintf("No model %q at the tip.", name))
		return
	}
	ms := snap.Status.Models[name]
	if ms == nil {
		ms = &reconciler.ModelStatus{Model: name}
	}
	hist := ms.Drift[max(0, len(ms.Drift)-chartReports):]
	for i := len(ms.Drift) - 1; i >= 0; i-- {
		if d := ms.Drift[i]; d.Report != "" {
			page.Reports = append(page.Reports, reportLink{ID: reportID(d.Report), DriftRecord: d})
		}
	}
	page.DriftChart = u.driftChart(r, hist)
	if n := len(hist); n > 0 && hist[n-1].Report != "" {
		rep, err := u.readReport(r, hist[n-1].Report)
		if err != nil {
			u.o.Log.Warn("ui: read the latest drift report", "model", name, "error", err)
		} else {
			page.Latest = newReportView(name, hist[n-1], rep, "/ui/models/"+name, r.URL.Query())
		}
	}
	page.Canary = newCanaryView(ms)
	for i := len(ms.Runs) - 1; i >= 0; i-- {
		run := ms.Runs[i]
		row := runRow{TrainingRun: run, Duration: "—"}
		if !run.Started.IsZero() && !run.Finished.IsZero() {
			row.Duration = run.Finished.Sub(run.Started).Round(time.Second).String()
		}
		page.Runs = append(page.Runs, row)
		if page.Gate == nil && run.Promotion != nil {
			page.Gate, page.GateOf = run.Promotion, fmt.Sprintf("generation %d", run.Generation)
		}
	}
	if n := len(ms.Candidates); n > 0 {
		if c := ms.Candidates[n-1]; page.Gate == nil || c.Verdict.JudgedAt.After(page.Gate.JudgedAt) {
			page.Gate, page.GateOf = &c.Verdict, "registered candidate "+c.Verdict.Version
		}
	}
	if tl, err := u.o.Source.Audit(ctx, name); err != nil {
		page.AuditError = err.Error()
	} else {
		page.Audit = slices.Clone(tl.Events)
		slices.Reverse(page.Audit)
	}
	u.renderAs(w, http.StatusOK, "model", user, page)
}

// driftChart draws the drifted share of every report over time: all columns, and each
// feature group of the report (read from the report files on the status branch).
func (u *UI) driftChart(r *http.Request, hist []reconciler.DriftRecord) *chart {
	if len(hist) == 0 {
		return nil
	}
	all := line{Name: "all columns"}
	groups := map[string]*line{}
	var order []string
	for _, d := range hist {
		verdict := "no drift"
		switch {
		case d.InsufficientData:
			verdict = "insufficient data"
		case d.Drifted:
			verdict = "drifted"
		}
		all.Points = append(all.Points, point{At: d.At, V: d.Share,
			Title: fmt.Sprintf("%s: %d of %d columns drifted (%s), %s", d.At.UTC().Format("2006-01-02 15:04"), d.DriftedColumns, d.Columns, percent(d.Share), verdict)})
		if d.Report == "" {
			continue
		}
		rep, err := u.readReport(r, d.Report)
		if err != nil {
			u.o.Log.Warn("ui: read a drift report", "report", d.Report, "error", err)
			continue
		}
		for _, g := range rep.Groups {
			l, ok := groups[g.Name]
			if !ok {
				l = &line{Name: g.Name}
				groups[g.Name] = l
				order = append(order, g.Name)
			}
			l.Points = append(l.Points, point{At: d.At, V: g.Share,
				Title: fmt.Sprintf("%s, group %s: %s of %d columns drifted", d.At.UTC().Format("2006-01-02 15:04"), g.Name, percent(g.Share), len(g.Columns))})
		}
	}
	lines := []line{all}
	for _, name := range order {
		lines = append(lines, *groups[name])
	}
	c, _, ys := newTimeChart("drift-chart", "Drifted share of columns per report over time, overall and per feature group", lines, 0, 1, percent)
	if rep, err := u.readReport(r, hist[len(hist)-1].Report); err == nil && hist[len(hist)-1].Report != "" {
		c.Rules = append(c.Rules, rule{Y: round1(ys.at(rep.DatasetShare)), Label: "dataset drift at " + percent(rep.DatasetShare)})
	}
	return c
}

// reportView is a drift report as a table.
type reportView struct {
	Model   string
	ID      string
	Record  reconciler.DriftRecord
	Report  *drift.Report
	Columns []columnRow
	Sort    string
	Q       string
	Shown   int
	// Base is the page's path; Selected the column whose histograms Hist draws (the ?col
	// of the page, else the first column listed).
	Base     string
	Selected string
	Hist     *histChart
}

func (v reportView) title() string { return v.Model + " — drift report " + v.ID }

type columnRow struct {
	drift.ColumnReport
	// Measure says what the score is: a p-value (drifted when below the threshold) or a
	// distance (drifted when at or above it).
	Measure string
	Plain   string
	Score   float64
}

func pValueTest(t drift.Test) bool {
	return t == drift.TestKS || t == drift.TestChiSquare || t == drift.TestZ
}

func newReportView(model string, rec reconciler.DriftRecord, rep *drift.Report, base string, query url.Values) *reportView {
	sortBy, q := query.Get("sort"), query.Get("q")
	v := &reportView{Model: model, ID: reportID(rec.Report), Record: rec, Report: rep, Sort: sortBy, Q: q, Base: base}
	for _, c := range rep.Columns {
		if q != "" && !strings.Contains(strings.ToLower(c.Name), strings.ToLower(q)) {
			continue
		}
		row := columnRow{ColumnReport: c, Score: float64(c.Score)}
		verdict := "no drift"
		if c.Drifted {
			verdict = "drifted"
		}
		if pValueTest(c.Test) {
			row.Measure = "p-value"
			row.Plain = fmt.Sprintf("p-value %s; drifted when below %s: %s", num(row.Score), num(c.Threshold), verdict)
		} else {
			row.Measure = "distance"
			row.Plain = fmt.Sprintf("distance %s; drifted when at or above %s: %s", num(row.Score), num(c.Threshold), verdict)
		}
		v.Columns = append(v.Columns, row)
	}
	switch sortBy {
	case "score":
		slices.SortStableFunc(v.Columns, func(a, b columnRow) int { return cmp.Compare(a.Score, b.Score) })
	case "drifted":
		slices.SortStableFunc(v.Columns, func(a, b columnRow) int { return cmp.Compare(boolRank(b.Drifted), boolRank(a.Drifted)) })
	case "test":
		slices.SortStableFunc(v.Columns, func(a, b columnRow) int { return cmp.Compare(a.Test, b.Test) })
	default:
		v.Sort = "name"
		slices.SortStableFunc(v.Columns, func(a, b columnRow) int { return cmp.Compare(a.Name, b.Name) })
	}
	v.Shown = len(v.Columns)
	v.selectColumn(query.Get("col"))
	return v
}

// selectColumn picks the column whose histograms the page draws: the one asked for, else the
// first one listed. A report written before histograms were kept has none to draw.
func (v *reportView) selectColumn(name string) {
	i := slices.IndexFunc(v.Report.Columns, func(c drift.ColumnReport) bool { return c.Name == name })
	if i < 0 {
		if len(v.Columns) == 0 {
			return
		}
		i = slices.IndexFunc(v.Report.Columns, func(c drift.ColumnReport) bool { return c.Name == v.Columns[0].Name })
	}
	c := v.Report.Columns[i]
	v.Selected = c.Name
	v.Hist = newHistChart(c.Name, c.Histogram)
}

// reportIDPattern is the file name of a drift report without .json (reconciler.DriftReportPath).
var reportIDPattern = regexp.MustCompile(`^drift-[0-9]{8}T[0-9]{6}Z$`)

func reportID(p string) string { return strings.TrimSuffix(path.Base(p), ".json") }

// report shows one drift report of the status branch, complete.
func (u *UI) report(w http.ResponseWriter, r *http.Request, user string) {
	model, id := r.PathValue("model"), r.PathValue("id")
	snap, err := u.o.Source.Snapshot(r.Context())
	if err != nil {
		u.snapshotError(w, err)
		return
	}
	var rec *reconciler.DriftRecord
	if ms := snap.Status.Models[model]; ms != nil && reportIDPattern.MatchString(id) {
		for i := range ms.Drift {
			if reportID(ms.Drift[i].Report) == id {
				rec = &ms.Drift[i]
			}
		}
	}
	if rec == nil {
		u.renderError(w, http.StatusNotFound, fmt.Sprintf("No drift report %q of model %q in the status.", id, model))
		return
	}
	rep, err := u.readReport(r, rec.Report)
	if err != nil {
		u.renderError(w, http.StatusNotFound, fmt.Sprintf("The drift report %s could not be read from the status branch: %v", rec.Report, err))
		return
	}
	u.renderAs(w, http.StatusOK, "report", user, newReportView(model, *rec, rep, "/ui/models/"+model+"/reports/"+id, r.URL.Query()))
}

// readReport reads and parses a drift report; reports never change once written (their path
// holds their time), so parsed ones are kept.
func (u *UI) readReport(r *http.Request, p string) (*drift.Report, error) {
	if p == "" {
		return nil, errors.New("no report path")
	}
	if rep, ok := u.reports.get(p); ok {
		return rep, nil
	}
	b, err := u.o.Source.StatusFile(r.Context(), p)
	if err != nil {
		return nil, err
	}
	var rep drift.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("parse %s: %w", p, err)
	}
	u.reports.put(p, &rep)
	return &rep, nil
}

// reportCache keeps parsed reports, dropping them all when it is full (reports are read
// again from git when needed; a bounded map is enough for a page's hundred reports).
type reportCache struct {
	mu sync.Mutex
	m  map[string]*drift.Report
}

const maxCachedReports = 2000

func newReportCache() *reportCache { return &reportCache{m: map[string]*drift.Report{}} }

func (c *reportCache) get(p string) (*drift.Report, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.m[p]
	return r, ok
}

func (c *reportCache) put(p string, r *drift.Report) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxCachedReports {
		clear(c.m)
	}
	c.m[p] = r
}

// ---- Canary ----

type canaryView struct {
	// Chart is the AUC difference with its DeLong band; Weight the traffic weight's steps;
	// Latency the p95 latency of both versions. Each marks a rollback.
	Chart   *chart
	Weight  *chart
	Latency *chart
	Checks  []canaryRow
	// Outcome says how the last canary ended (rolled back, promoted, removed).
	Outcome string
	Ended   time.Time
}

type canaryRow struct {
	reconciler.CanaryCheck
	Version string
}

func newCanaryView(ms *reconciler.ModelStatus) *canaryView {
	v := &canaryView{}
	var diff, lower, upper, weight, canaryP95, prodP95 []point
	var rollback time.Time
	var span []time.Time
	for _, cs := range []*reconciler.CanaryStatus{ms.LastCanary, ms.Canary} {
		if cs == nil {
			continue
		}
		for _, ch := range cs.Checks {
			at := ch.At.UTC().Format("2006-01-02 15:04")
			v.Checks = append(v.Checks, canaryRow{CanaryCheck: ch, Version: cs.Version})
			span = append(span, ch.At)
			weight = append(weight, point{At: ch.At, V: float64(ch.Weight), Title: fmt.Sprintf("%s: version %s at weight %d%%", at, cs.Version, ch.Weight)})
			if p := ch.Canary.LatencyP95Ms; p != nil {
				canaryP95 = append(canaryP95, point{At: ch.At, V: *p, Title: fmt.Sprintf("%s, weight %d%%: canary %s p95 latency %s ms", at, ch.Weight, cs.Version, num(*p))})
			}
			if p := ch.Production.LatencyP95Ms; p != nil {
				prodP95 = append(prodP95, point{At: ch.At, V: *p, Title: fmt.Sprintf("%s: production %s p95 latency %s ms", at, ch.Production.Version, num(*p))})
			}
			if a := ch.AUC; a != nil {
				verdict := "passed"
				if !ch.Passed {
					verdict = "failed"
				}
				diff = append(diff, point{At: ch.At, V: a.Diff, Title: fmt.Sprintf("%s, weight %d%%: AUC difference %s (%.0f%% interval %s to %s), %s",
					at, ch.Weight, num(a.Diff), a.Confidence*100, num(a.Lower), num(a.Upper), verdict)})
				lower = append(lower, point{At: ch.At, V: a.Lower})
				upper = append(upper, point{At: ch.At, V: a.Upper})
			}
		}
		if cs == ms.LastCanary {
			v.Outcome, v.Ended = cs.Outcome, cs.Ended
			when := cs.Ended.UTC().Format("2006-01-02 15:04")
			switch {
			case cs.Ended.IsZero():
			case cs.Outcome == reconciler.CanaryRolledBack:
				rollback = cs.Ended
				weight = append(weight, point{At: cs.Ended, V: 0, Title: fmt.Sprintf("%s: version %s rolled back, weight 0%%", when, cs.Version)})
				span = append(span, cs.Ended)
			case cs.Outcome == reconciler.CanaryPromoted:
				weight = append(weight, point{At: cs.Ended, V: 100, Title: fmt.Sprintf("%s: version %s promoted, weight 100%%", when, cs.Version)})
				span = append(span, cs.Ended)
			}
		}
	}
	if len(v.Checks) == 0 {
		return nil
	}
	markRollback := func(c *chart, x func(time.Time) float64) {
		if !rollback.IsZero() {
			c.Marks = append(c.Marks, mark{X: min(max(x(rollback), c.Left), c.Right), Label: "rolled back " + rollback.UTC().Format("2006-01-02 15:04")})
		}
	}
	if len(diff) > 0 {
		lo, hi := 0.0, 0.0
		for i := range lower {
			lo, hi = min(lo, lower[i].V), max(hi, upper[i].V)
		}
		pad := (hi - lo) * 0.1
		c, x, ys := newTimeChart("canary-chart", "AUC of the canary minus production per check, with its DeLong confidence interval as a band",
			[]line{{Name: "AUC difference (canary − production)", Points: diff}}, lo-pad, hi+pad, num, span...)
		var up, down []string
		for i := range lower {
			up = append(up, fmt.Sprintf("%g,%g", x(upper[i].At), round1(ys.at(upper[i].V))))
			down = append([]string{fmt.Sprintf("%g,%g", x(lower[i].At), round1(ys.at(lower[i].V)))}, down...)
		}
		c.Bands = append(c.Bands, band{Path: "M" + strings.Join(append(up, down...), " L") + " Z", Title: "DeLong confidence interval"})
		c.Rules = append(c.Rules, rule{Y: round1(ys.at(0)), Label: "no difference"})
		markRollback(c, x)
		v.Chart = c
	}
	c, x, _ := newTimeChart("canary-weight-chart", "The canary's traffic weight per check, in steps, until its rollback or promotion",
		[]line{{Name: "canary weight", Points: weight, Step: true}}, 0, 100, func(w float64) string { return fmt.Sprintf("%.0f%%", w) }, span...)
	markRollback(c, x)
	v.Weight = c
	if len(canaryP95)+len(prodP95) > 0 {
		top := 0.0
		for _, p := range append(slices.Clone(canaryP95), prodP95...) {
			top = max(top, p.V)
		}
		c, x, _ := newTimeChart("canary-latency-chart", "The p95 latency of the canary and of production per check, in milliseconds",
			[]line{{Name: "production p95 latency (ms)", Points: prodP95}, {Name: "canary p95 latency (ms)", Points: canaryP95}},
			0, niceTop(top), func(ms float64) string { return num(ms) + " ms" }, span...)
		markRollback(c, x)
		v.Latency = c
	}
	return v
}
