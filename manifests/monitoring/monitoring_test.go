package monitoring_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/medimind/modelops/internal/server"
	"github.com/medimind/modelops/reconciler"
)

const (
	ruleFile      = "prometheusrule.yaml"
	unitTestFile  = "alerts_test.yaml"
	dashboardFile = "dashboard.json"
	readme        = "../../README.md"
	runbookPrefix = "https://github.com/medimind/modelops/blob/main/README.md#"
)

// promtool finds promtool. Without it the tests fail rather than skip: they are the only
// check of the rules and queries by Prometheus's own parser and rule engine.
func promtool(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("the promtool binary is not on PATH; the alerts and dashboard queries are checked with it (apt-get install prometheus, as .ci/run does)")
	}
	return bin
}

func runPromtool(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command(promtool(t), args...).CombinedOutput()
	return string(out), err
}

type rule struct {
	Alert       string            `json:"alert,omitempty"`
	Record      string            `json:"record,omitempty"`
	Expr        string            `json:"expr"`
	For         string            `json:"for,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type ruleGroup struct {
	Name  string `json:"name"`
	Rules []rule `json:"rules"`
}

type ruleFileContent struct {
	Groups []ruleGroup `json:"groups"`
}

// prometheusRule decodes prometheusrule.yaml strictly: an unknown field is an error, as the
// Operator's CRD would reject it.
func prometheusRule(t *testing.T) ruleFileContent {
	t.Helper()
	b, err := os.ReadFile(ruleFile)
	if err != nil {
		t.Fatal(err)
	}
	var pr struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name   string            `json:"name"`
			Labels map[string]string `json:"labels"`
		} `json:"metadata"`
		Spec ruleFileContent `json:"spec"`
	}
	if err := yaml.UnmarshalStrict(b, &pr); err != nil {
		t.Fatalf("decode %s: %v", ruleFile, err)
	}
	if pr.APIVersion != "monitoring.coreos.com/v1" || pr.Kind != "PrometheusRule" {
		t.Fatalf("%s is %s %s, want monitoring.coreos.com/v1 PrometheusRule", ruleFile, pr.APIVersion, pr.Kind)
	}
	if len(pr.Spec.Groups) == 0 {
		t.Fatalf("%s has no rule groups", ruleFile)
	}
	return pr.Spec
}

func alerts(t *testing.T, rf ruleFileContent) []rule {
	t.Helper()
	var out []rule
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				out = append(out, r)
			}
		}
	}
	return out
}

// writeRulesBesideUnitTests writes rf as a Prometheus rule file, rules.yaml, into a new
// directory together with a copy of alerts_test.yaml (whose rule_files names rules.yaml).
func writeRulesBesideUnitTests(t *testing.T, rf ruleFileContent) string {
	t.Helper()
	dir := t.TempDir()
	b, err := yaml.Marshal(rf)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	tests, err := os.ReadFile(unitTestFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, unitTestFile), tests, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestAlertRulesPassPromtoolCheckAndUnitTests(t *testing.T) {
	dir := writeRulesBesideUnitTests(t, prometheusRule(t))
	if out, err := runPromtool(t, "check", "rules", filepath.Join(dir, "rules.yaml")); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	out, err := runPromtool(t, "test", "rules", filepath.Join(dir, unitTestFile))
	if err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
	if !strings.Contains(out, "SUCCESS") {
		t.Fatalf("promtool test rules printed no SUCCESS:\n%s", out)
	}
}

// TestUnitTestsCatchAnAlertThatNeverFires replaces each alert's expression in turn by one
// that is never true: promtool's unit tests must then fail, so every alert's firing case is
// really checked.
func TestUnitTestsCatchAnAlertThatNeverFires(t *testing.T) {
	rf := prometheusRule(t)
	for gi, g := range rf.Groups {
		for ri, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			t.Run(r.Alert, func(t *testing.T) {
				broken := ruleFileContent{Groups: slices.Clone(rf.Groups)}
				broken.Groups[gi].Rules = slices.Clone(g.Rules)
				broken.Groups[gi].Rules[ri].Expr = "vector(1) < 0"
				dir := writeRulesBesideUnitTests(t, broken)
				out, err := runPromtool(t, "test", "rules", filepath.Join(dir, unitTestFile))
				if err == nil {
					t.Fatalf("promtool test rules passed with %s never firing:\n%s", r.Alert, out)
				}
				if !strings.Contains(out, "alertname: "+r.Alert) {
					t.Errorf("promtool failed, but not on %s:\n%s", r.Alert, out)
				}
			})
		}
	}
}

// unitTests decodes alerts_test.yaml, promtool's unit test format.
type unitTests struct {
	RuleFiles []string `json:"rule_files"`
	Tests     []struct {
		Name       string `json:"name"`
		AlertTests []struct {
			EvalTime  string           `json:"eval_time"`
			AlertName string           `json:"alertname"`
			ExpAlerts []map[string]any `json:"exp_alerts"`
		} `json:"alert_rule_test"`
	} `json:"tests"`
}

func TestEveryAlertIsUnitTestedFiringAndNotFiring(t *testing.T) {
	b, err := os.ReadFile(unitTestFile)
	if err != nil {
		t.Fatal(err)
	}
	var ut unitTests
	if err := yaml.Unmarshal(b, &ut); err != nil {
		t.Fatalf("decode %s: %v", unitTestFile, err)
	}
	if !slices.Equal(ut.RuleFiles, []string{"rules.yaml"}) {
		t.Errorf("rule_files = %v, want [rules.yaml], the file the test writes", ut.RuleFiles)
	}
	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range ut.Tests {
		for _, at := range tc.AlertTests {
			if len(at.ExpAlerts) > 0 {
				fires[at.AlertName] = true
			} else {
				quiet[at.AlertName] = true
			}
		}
	}
	for _, a := range alerts(t, prometheusRule(t)) {
		if !fires[a.Alert] {
			t.Errorf("%s: no unit test where it fires", a.Alert)
		}
		if !quiet[a.Alert] {
			t.Errorf("%s: no unit test where it does not fire", a.Alert)
		}
	}
}

// headingAnchors returns the anchors GitHub gives the headings of a Markdown file: lower
// case, punctuation other than '-' and '_' dropped, spaces turned into '-'.
func headingAnchors(t *testing.T, path string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	inFence := false
	for line := range strings.Lines(string(b)) {
		line = strings.TrimRight(line, "\n")
		if strings.HasPrefix(line, "```") {
			inFence = !inFence
		}
		if inFence || !strings.HasPrefix(line, "#") {
			continue
		}
		title := strings.TrimSpace(strings.TrimLeft(line, "#"))
		var a strings.Builder
		for _, r := range strings.ToLower(title) {
			switch {
			case r == ' ':
				a.WriteRune('-')
			case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
				a.WriteRune(r)
			}
		}
		anchors[a.String()] = true
	}
	return anchors
}

func TestEveryAlertHasASummaryDescriptionAndRunbookSection(t *testing.T) {
	anchors := headingAnchors(t, readme)
	if !anchors["monitoring-and-alerts"] {
		t.Errorf("README.md has no section \"Monitoring and alerts\"")
	}
	seen := map[string]bool{}
	for _, a := range alerts(t, prometheusRule(t)) {
		if seen[a.Alert] {
			t.Errorf("alert %s defined twice", a.Alert)
		}
		seen[a.Alert] = true
		for _, key := range []string{"summary", "description", "runbook_url"} {
			if strings.TrimSpace(a.Annotations[key]) == "" {
				t.Errorf("%s: annotation %s is empty", a.Alert, key)
			}
		}
		if s := a.Labels["severity"]; s != "critical" && s != "warning" {
			t.Errorf("%s: severity %q, want critical or warning", a.Alert, s)
		}
		anchor, ok := strings.CutPrefix(a.Annotations["runbook_url"], runbookPrefix)
		if !ok {
			t.Errorf("%s: runbook_url %q does not point into the README (%s...)", a.Alert, a.Annotations["runbook_url"], runbookPrefix)
			continue
		}
		if !anchors[anchor] {
			t.Errorf("%s: runbook_url anchor #%s is no heading of README.md", a.Alert, anchor)
		}
	}
}

// dashboard is the part of a Grafana dashboard the tests read.
type dashboard struct {
	UID        string  `json:"uid"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name     string `json:"name"`
			AllValue string `json:"allValue"`
		} `json:"list"`
	} `json:"templating"`
	Annotations struct {
		List []struct {
			Name string `json:"name"`
			Expr string `json:"expr"`
		} `json:"list"`
	} `json:"annotations"`
}

type panel struct {
	ID      int    `json:"id"`
	Type    string `json:"type"`
	Title   string `json:"title"`
	GridPos struct {
		X, Y, W, H int
	} `json:"gridPos"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
	// Panels are those of a collapsed row.
	Panels []panel `json:"panels"`
}

// query is one PromQL expression of the dashboard, named after where it is.
type query struct{ name, expr string }

func dashboardQueries(t *testing.T) []query {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("decode %s: %v", dashboardFile, err)
	}
	// Grafana replaces the variables before it sends a query: so does the test, with the
	// value "All" has for the dashboard's variables and a typical value for Grafana's own.
	vars := map[string]string{"$__rate_interval": "2m", "$__interval": "1m", "$__range": "1d"}
	for _, v := range d.Templating.List {
		vars["$"+v.Name] = orDefault(v.AllValue, ".*")
	}
	replacer := strings.NewReplacer(longestFirst(vars)...)
	leftover := regexp.MustCompile(`\$\{?[A-Za-z_][A-Za-z0-9_]*`)

	var qs []query
	add := func(name, expr string) {
		if strings.TrimSpace(expr) == "" {
			t.Errorf("%s: empty query", name)
			return
		}
		e := replacer.Replace(expr)
		if v := leftover.FindString(e); v != "" {
			t.Errorf("%s: query %q uses %s, which the dashboard does not define", name, expr, v)
		}
		qs = append(qs, query{name, e})
	}
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			if p.Type != "row" && len(p.Targets) == 0 {
				t.Errorf("panel %d %q has no query", p.ID, p.Title)
			}
			for _, tg := range p.Targets {
				add(fmt.Sprintf("panel %d %q target %s", p.ID, p.Title, tg.RefID), tg.Expr)
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, a := range d.Annotations.List {
		add(fmt.Sprintf("annotation %q", a.Name), a.Expr)
	}
	if len(qs) == 0 {
		t.Fatalf("%s has no queries", dashboardFile)
	}
	return qs
}

func orDefault(v, fallback string) string {
	if v == "" {
		return fallback
	}
	return v
}

// longestFirst returns the old/new pairs of vars for strings.NewReplacer, longest name first,
// so that $__rate_interval is not read as $__rate followed by text.
func longestFirst(vars map[string]string) []string {
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	slices.SortFunc(names, func(a, b string) int { return len(b) - len(a) })
	var pairs []string
	for _, k := range names {
		pairs = append(pairs, k, vars[k])
	}
	return pairs
}

// TestDashboardQueriesParse makes a recording rule of every query of the dashboard and has
// promtool check the rule file: Prometheus's own parser reads each expression.
func TestDashboardQueriesParse(t *testing.T) {
	qs := dashboardQueries(t)
	var rf ruleFileContent
	g := ruleGroup{Name: "dashboard"}
	for i, q := range qs {
		g.Rules = append(g.Rules, rule{Record: fmt.Sprintf("dashboard:query_%d", i), Expr: q.expr})
	}
	rf.Groups = append(rf.Groups, g)
	b, err := yaml.Marshal(rf)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "dashboard-rules.yaml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runPromtool(t, "check", "rules", path)
	if err != nil {
		// promtool names the rule's index: map it back to the panel.
		for i, q := range qs {
			if strings.Contains(out, fmt.Sprintf("dashboard:query_%d", i)) || strings.Contains(out, fmt.Sprintf("rule %d,", i+1)) {
				t.Logf("query %d is %s: %s", i, q.name, q.expr)
			}
		}
		t.Fatalf("promtool check rules on the dashboard's queries: %v\n%s", err, out)
	}
	if !strings.Contains(out, fmt.Sprintf("%d rules found", len(qs))) {
		t.Fatalf("promtool did not read the %d queries:\n%s", len(qs), out)
	}
}

// exposedMetrics returns the names of the series the reconciler's /metrics serves once each
// recorder of server.Metrics has been called.
func exposedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	m := server.NewMetrics()
	now := time.Now()
	m.ObserveCycle(now, now.Add(time.Second), &reconciler.CycleResult{Actions: []reconciler.ActionResult{{Action: reconciler.Action{Kind: reconciler.ActionCheckDrift}}}}, nil)
	m.CountError(reconciler.DriftCheckFailedReason)
	m.SetDriftShare("m", 0.1)
	m.SetDriftShareThreshold("m", 0.5)
	m.SetCanaryWeight("m", 10)
	m.SetRateLimit("core", 5000)
	m.SetModelConditions("m", []reconciler.Condition{{Type: reconciler.ConditionReady, Status: reconciler.ConditionTrue, Reason: reconciler.ReconciledReason}})
	m.CountTrainingFailures("m", 1)
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range families {
		names[f.GetName()] = true
		if f.GetType().String() == "HISTOGRAM" {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				names[f.GetName()+suffix] = true
			}
		}
	}
	return names
}

// TestQueriesReadOnlySeriesTheReconcilerExposes catches a misspelt metric, which promtool
// cannot: a query over a series that does not exist parses, and returns nothing.
func TestQueriesReadOnlySeriesTheReconcilerExposes(t *testing.T) {
	exposed := exposedMetrics(t)
	metric := regexp.MustCompile(`\bmodelops_[a-z0-9_]+`)
	check := func(where, expr string) {
		for _, name := range metric.FindAllString(expr, -1) {
			if !exposed[name] {
				t.Errorf("%s reads %s, which the reconciler does not expose", where, name)
			}
		}
	}
	for _, q := range dashboardQueries(t) {
		check(q.name, q.expr)
	}
	for _, a := range alerts(t, prometheusRule(t)) {
		check("alert "+a.Alert, a.Expr)
	}
}

// TestKustomizationDeploysTheRulesAndTheDashboard reads kustomization.yaml: it lists every
// manifest of the directory and generates the dashboard's ConfigMap with the label Grafana's
// sidecar looks for, under a fixed name.
func TestKustomizationDeploysTheRulesAndTheDashboard(t *testing.T) {
	b, err := os.ReadFile("kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		APIVersion         string   `json:"apiVersion"`
		Kind               string   `json:"kind"`
		Namespace          string   `json:"namespace"`
		Resources          []string `json:"resources"`
		ConfigMapGenerator []struct {
			Name    string   `json:"name"`
			Files   []string `json:"files"`
			Options struct {
				DisableNameSuffixHash bool              `json:"disableNameSuffixHash"`
				Labels                map[string]string `json:"labels"`
			} `json:"options"`
		} `json:"configMapGenerator"`
	}
	if err := yaml.UnmarshalStrict(b, &k); err != nil {
		t.Fatalf("decode kustomization.yaml: %v", err)
	}
	manifests, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, name := range manifests {
		if name != "kustomization.yaml" && name != unitTestFile {
			want = append(want, name)
		}
	}
	got := slices.Sorted(slices.Values(k.Resources))
	if !slices.Equal(got, want) {
		t.Errorf("resources (sorted) = %v, want the manifests %v", got, want)
	}
	if len(k.ConfigMapGenerator) != 1 {
		t.Fatalf("%d configMapGenerators, want the dashboard's", len(k.ConfigMapGenerator))
	}
	g := k.ConfigMapGenerator[0]
	if g.Options.Labels["grafana_dashboard"] != "1" {
		t.Errorf("dashboard ConfigMap labels %v lack grafana_dashboard: \"1\"", g.Options.Labels)
	}
	if !g.Options.DisableNameSuffixHash {
		t.Errorf("dashboard ConfigMap name gets a hash suffix: every change would leave the old ConfigMap behind")
	}
	if len(g.Files) != 1 || !strings.HasSuffix(g.Files[0], "="+dashboardFile) {
		t.Errorf("dashboard ConfigMap files %v, want one key holding %s", g.Files, dashboardFile)
	}
}

// TestDashboardLayout: Grafana places panels on a grid 24 wide; ids must be unique, and
// panels that overlap are pushed around on load, out of the intended order.
func TestDashboardLayout(t *testing.T) {
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	if d.UID == "" {
		t.Error("the dashboard has no uid: every import would make a new one")
	}
	ids := map[int]bool{}
	var placed []panel
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		g := p.GridPos
		if g.W <= 0 || g.H <= 0 || g.X < 0 || g.Y < 0 || g.X+g.W > 24 {
			t.Errorf("panel %d %q: gridPos %+v is off the 24-wide grid", p.ID, p.Title, g)
		}
		for _, q := range placed {
			h := q.GridPos
			if g.X < h.X+h.W && h.X < g.X+g.W && g.Y < h.Y+h.H && h.Y < g.Y+g.H {
				t.Errorf("panels %d %q and %d %q overlap", q.ID, q.Title, p.ID, p.Title)
			}
		}
		placed = append(placed, p)
	}
}
