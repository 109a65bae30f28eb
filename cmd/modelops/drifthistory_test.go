package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/medimind/modelops/internal/drifthistory"
	"github.com/medimind/modelops/internal/testutil/gitserver"
	"github.com/medimind/modelops/reconciler"
)

const adaptivePolicy = `apiVersion: modelops.medimind.io/v1alpha1
kind: ModelPolicy
metadata:
  name: sepsis-risk
spec:
  production: {version: "12"}
  data:
    reference: {path: data/ref.csv}
    current: {path: data/cur.csv}
    groups:
      omics: {features: [gene_a, gene_b]}
      clinical: {features: [lactate]}
  drift:
    interval: 6h
    adaptive: {min: 1h, max: 24h}
`

const noDataPolicy = `apiVersion: modelops.medimind.io/v1alpha1
kind: ModelPolicy
metadata:
  name: readmission-30d
spec:
  production: {version: "3"}
`

// driftCSV is 200 rows of three numeric columns; shift moves the two omics columns far
// enough that every test finds drift in them, and leaves lactate alone.
func driftCSV(shift float64) []byte {
	var b strings.Builder
	b.WriteString("gene_a,gene_b,lactate\n")
	for i := range 200 {
		fmt.Fprintf(&b, "%g,%g,%g\n", float64(i%17)+float64(i*7%13)/10+shift, float64(i%23)/3+shift, 1+float64(i%11)/5)
	}
	return []byte(b.String())
}

// adaptiveRepo is a local repository with a model checked on an adaptive schedule, its
// current data drifted, and a model without data.
func adaptiveRepo(t *testing.T) string {
	t.Helper()
	repo := filepath.Join(t.TempDir(), "repo")
	for name, data := range map[string][]byte{
		"models/sepsis-risk.yaml":     []byte(adaptivePolicy),
		"models/readmission-30d.yaml": []byte(noDataPolicy),
		"data/ref.csv":                driftCSV(0),
		"data/cur.csv":                driftCSV(100),
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(repo, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(repo, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gitserver.MustGit(t, repo, "init", "-q", "-b", "main")
	gitserver.MustGit(t, repo, "add", "-A")
	gitserver.MustGit(t, repo, "commit", "-q", "-m", "Add sepsis-risk and readmission-30d")
	return repo
}

// addStatusFile commits a file to the status branch with git's plumbing, as a newer
// modelops writing a report this one does not write would.
func addStatusFile(t *testing.T, repo, name string, data []byte) {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "blob")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GIT_INDEX_FILE", filepath.Join(dir, "index"))
	defer os.Unsetenv("GIT_INDEX_FILE")
	git := func(args ...string) string { return strings.TrimSpace(gitserver.MustGit(t, repo, args...)) }
	git("read-tree", "modelops/status")
	git("update-index", "--add", "--cacheinfo", "100644,"+git("hash-object", "-w", file)+","+name)
	commit := git("commit-tree", git("write-tree"), "-p", "modelops/status", "-m", "modelops: add "+name)
	git("update-ref", "refs/heads/modelops/status", commit)
}

// TestAdaptiveDriftScheduleFollowsTheReportsAcrossARestart runs the reconciler on a real
// repository on a simulated clock: two drifted reports halve the 6h interval twice, two
// without drift (once the data is fixed) double it back; a reconciler started afresh on the
// same repository (a restart: new state directory, nothing in memory) schedules the next
// check at the adapted time, and `modelops plan` says when and why.
func TestAdaptiveDriftScheduleFollowsTheReportsAcrossARestart(t *testing.T) {
	repo := adaptiveRepo(t)
	t0 := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	now := t0
	open := func() *stack {
		t.Helper()
		s, err := openStack(t.Context(), &repoOptions{repo: repo, branch: "main", stateDir: filepath.Join(t.TempDir(), "state"),
			authorName: "modelops[bot]", authorEmail: "bot@example.com", now: func() time.Time { return now }}, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	checks := func(s *stack) []string {
		t.Helper()
		res, err := s.reconciler.Cycle(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, a := range res.Actions {
			if a.Action.Kind == reconciler.ActionCheckDrift {
				out = append(out, a.Action.Reason)
			}
		}
		return out
	}
	s := open()
	for i, step := range []struct {
		at      time.Duration
		fixData bool
		want    string
	}{
		{at: 0, want: "no drift report yet"},
		{at: 3 * time.Hour, want: "adaptive interval 3h0m0s halved from 6h0m0s"},
		{at: 4*time.Hour + 30*time.Minute, fixData: true, want: "adaptive interval 1h30m0s halved from 3h0m0s"},
		{at: 7*time.Hour + 30*time.Minute, want: "adaptive interval 3h0m0s doubled from 1h30m0s"},
	} {
		if step.fixData {
			if err := os.WriteFile(filepath.Join(repo, "data", "cur.csv"), driftCSV(0), 0o644); err != nil {
				t.Fatal(err)
			}
			gitserver.MustGit(t, repo, "commit", "-q", "-am", "Fix the assay feed")
		}
		if i > 0 {
			now = t0.Add(step.at - time.Minute)
			if got := checks(s); len(got) != 0 {
				t.Fatalf("cycle %d a minute early checked drift: %v", i+1, got)
			}
		}
		now = t0.Add(step.at)
		if got := checks(s); len(got) != 1 || !strings.Contains(got[0], step.want) {
			t.Fatalf("cycle %d at +%s: drift checks %q, want one with %q", i+1, step.at, got, step.want)
		}
	}

	// The fourth report had no drift: 3h doubles to 6h. A new reconciler knows it from the
	// status branch alone.
	last := t0.Add(7*time.Hour + 30*time.Minute)
	restarted := open()
	now = last.Add(6*time.Hour - time.Minute)
	if got := checks(restarted); len(got) != 0 {
		t.Fatalf("after the restart, a minute before the adapted interval: %v", got)
	}
	code, out, errOut := runCLI(t, "plan", "--repo", repo, "--state-dir", filepath.Join(t.TempDir(), "state"), "-o", "json")
	if code != 0 {
		t.Fatalf("plan: exit %d: %s", code, errOut)
	}
	var plan planOutput
	if err := json.Unmarshal([]byte(out), &plan); err != nil {
		t.Fatal(err)
	}
	if len(plan.Drift) != 1 {
		t.Fatalf("plan's drift schedules: %+v, want sepsis-risk's alone (readmission-30d has no data)", plan.Drift)
	}
	d := plan.Drift[0]
	if d.Model != "sepsis-risk" || !d.Due.Equal(last.Add(6*time.Hour)) || d.Interval.Duration != 6*time.Hour || !d.LastReport.Equal(last) ||
		d.LastOutcome != reconciler.DriftOutcomeNoDrift || d.Adaptive == nil || d.Adaptive.Step != reconciler.AdaptiveDoubled || d.Adaptive.Previous.Duration != 3*time.Hour {
		t.Errorf("plan's schedule: %+v (adaptive %+v)", d, d.Adaptive)
	}
	if code, out, _ := runCLI(t, "plan", "--repo", repo, "--state-dir", filepath.Join(t.TempDir(), "state")); code != 0 ||
		!strings.Contains(out, "Next drift checks:") || !strings.Contains(out, "sepsis-risk  now (due 2026-11-02T21:30:00Z)  6h0m0s") {
		t.Errorf("plan's table:\n%s", out)
	}
	now = last.Add(6 * time.Hour)
	if got := checks(restarted); len(got) != 1 || !strings.Contains(got[0], "adaptive interval 6h0m0s doubled from 3h0m0s") {
		t.Fatalf("after the restart, at the adapted interval: %v", got)
	}
}

// TestDriftHistoryShowsEveryReportOfAModel builds a status branch with real reports (drifted,
// then fixed data) and two reports of a newer engine (windows, quality, batch and
// correlation; one that tested no column), and reads it back with modelops drift history.
func TestDriftHistoryShowsEveryReportOfAModel(t *testing.T) {
	repo := adaptiveRepo(t)
	t0 := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	now := t0
	s, err := openStack(t.Context(), &repoOptions{repo: repo, branch: "main", stateDir: filepath.Join(t.TempDir(), "state"),
		authorName: "modelops[bot]", authorEmail: "bot@example.com", now: func() time.Time { return now }}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Duration{0, 3 * time.Hour, 4*time.Hour + 30*time.Minute, 7*time.Hour + 30*time.Minute} {
		if at == 4*time.Hour+30*time.Minute {
			if err := os.WriteFile(filepath.Join(repo, "data", "cur.csv"), driftCSV(0), 0o644); err != nil {
				t.Fatal(err)
			}
			gitserver.MustGit(t, repo, "commit", "-q", "-am", "Fix the assay feed")
		}
		now = t0.Add(at)
		if _, err := s.reconciler.Cycle(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	addStatusFile(t, repo, "reports/sepsis-risk/drift-20261103T080000Z.json", []byte(`{"drifted": false, "share": 0.25, "datasetShare": 0.5,
		"columns": [{"name": "gene_a", "drifted": true}, {"name": "gene_b", "drifted": false}, {"name": "lactate", "drifted": false}, {"name": "hr", "drifted": false}],
		"groups": [{"name": "omics", "columns": ["gene_a", "gene_b"], "drifted": true, "share": 0.5}],
		"windows": {"reference": {"from": "2026-05-07T08:00:00Z", "to": "2026-10-27T08:00:00Z", "rows": 50210, "droppedRows": 4},
		            "current": {"from": "2026-10-27T08:00:00Z", "to": "2026-11-03T08:00:00Z", "rows": 1311, "droppedRows": 0}},
		"quality": [{"column": "gene_a", "issue": "missing", "reference": 0.01, "current": 0.2, "threshold": 0.1}],
		"batch": {"column": "lab", "effect": true, "batches": [{"name": "lab-1", "rows": 700, "driftedShare": 0, "suspect": false},
		          {"name": "lab-3", "rows": 611, "driftedShare": 0.5, "suspect": true}], "groups": [], "features": []},
		"correlation": [{"groups": ["omics", "clinical"], "tested": 2, "changed": 1, "share": 0.5, "drifted": true, "pairs": []}]}`))
	addStatusFile(t, repo, "reports/sepsis-risk/drift-20261104T080000Z.json", []byte(`{"drifted": false, "share": 0, "datasetShare": 0.5, "columns": [], "groups": [],
		"windows": {"current": {"from": "2026-10-28T08:00:00Z", "to": "2026-11-04T08:00:00Z", "rows": 12, "droppedRows": 0}}}`))

	state := filepath.Join(t.TempDir(), "state")
	code, out, errOut := runCLI(t, "drift", "history", "sepsis-risk", "--repo", repo, "--state-dir", state, "-o", "json")
	if code != 0 {
		t.Fatalf("drift history: exit %d: %s", code, errOut)
	}
	var h drifthistory.History
	if err := json.Unmarshal([]byte(out), &h); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// The JSON holds the documented fields (drift history --help), by those names.
	var raw struct {
		Reports []map[string]json.RawMessage `json:"reports"`
	}
	var top map[string]json.RawMessage
	json.Unmarshal([]byte(out), &top)
	json.Unmarshal([]byte(out), &raw)
	keys := func(m map[string]json.RawMessage) string {
		var ks []string
		for k := range m {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		return strings.Join(ks, " ")
	}
	if got, want := keys(top), "branch commit model reports"; got != want {
		t.Errorf("the history's fields: %s, want %s", got, want)
	}
	if len(raw.Reports) == 6 {
		if got, want := keys(raw.Reports[0]), "columns datasetShare driftedColumns groups interval report share time verdict"; got != want {
			t.Errorf("a report's fields: %s, want %s", got, want)
		}
		if got, want := keys(raw.Reports[4]), "batch columns correlation datasetShare driftedColumns groups qualityFindings report share time verdict windows"; got != want {
			t.Errorf("a newer report's fields: %s, want %s", got, want)
		}
	}
	statusTip := strings.TrimSpace(gitserver.MustGit(t, repo, "rev-parse", "modelops/status"))
	if h.Model != "sepsis-risk" || h.Branch != "modelops/status" || h.Commit != statusTip || len(h.Reports) != 6 {
		t.Fatalf("history of %s on %s at %s with %d reports, want 6 at %s:\n%s", h.Model, h.Branch, h.Commit, len(h.Reports), statusTip, out)
	}
	var verdicts, intervals []string
	for _, e := range h.Reports {
		verdicts = append(verdicts, string(e.Verdict))
		iv := "-"
		if e.Interval != nil {
			iv = e.Interval.Duration.String()
		}
		intervals = append(intervals, iv)
	}
	if got, want := strings.Join(verdicts, " "), "drifted drifted no-drift no-drift no-drift insufficient-data"; got != want {
		t.Errorf("verdicts %s, want %s", got, want)
	}
	// Each report made by the reconciler keeps the interval it was made at.
	if got, want := strings.Join(intervals, " "), "6h0m0s 3h0m0s 1h30m0s 3h0m0s - -"; got != want {
		t.Errorf("intervals %s, want %s", got, want)
	}
	first := h.Reports[0]
	if !first.Time.Equal(t0) || first.Columns != 3 || first.DriftedColumns != 2 || first.Share < 0.66 || first.Share > 0.67 ||
		len(first.Groups) != 2 || first.Groups[1].Name != "omics" || !first.Groups[1].Drifted || first.Groups[0].Drifted {
		t.Errorf("the first report: %+v", first)
	}
	if first.Windows != nil || first.QualityFindings != nil || first.Batch != nil || first.Correlation != nil {
		t.Errorf("the first report has fields its report lacks: %+v", first)
	}
	newer := h.Reports[4]
	if newer.Windows == nil || newer.Windows.Reference.Rows != 50210 || newer.Windows.Current.Rows != 1311 || newer.QualityFindings == nil || *newer.QualityFindings != 1 ||
		newer.Batch == nil || strings.Join(newer.Batch.Suspect, ",") != "lab-3" || len(newer.Correlation) != 1 || !newer.Correlation[0].Drifted {
		t.Errorf("the newer engine's report: %+v", newer)
	}

	// The table on a file or pipe: no sparkline, every column some report has.
	code, out, _ = runCLI(t, "drift", "history", "sepsis-risk", "--repo", repo, "--state-dir", state)
	for _, want := range []string{
		"Drift history of sepsis-risk: 6 report(s) (modelops/status at " + statusTip[:12] + ").",
		"INTERVAL", "WINDOWS", "QUALITY", "BATCH", "CORRELATION",
		"2026-11-02T08:00:00Z  drifted", "clinical 0.00, omics 1.00*", "1h30m0s",
		"ref 50210 rows, cur 1311 rows", "1 finding(s)", "EFFECT (lab), suspect lab-3", "1/1 pairs drifted: omics×clinical",
		"2026-11-04T08:00:00Z  insufficient-data",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the table lacks %q:\n%s", want, out)
		}
	}
	if code != 0 || strings.ContainsAny(out, "▁▂▃▄▅▆▇█") {
		t.Errorf("exit %d; a table written to a file has no sparkline:\n%s", code, out)
	}

	// --since keeps the reports made at or after a time, or within a duration of now.
	code, out, _ = runCLI(t, "drift", "history", "sepsis-risk", "--repo", repo, "--state-dir", state, "-o", "json", "--since", "2026-11-02T12:30:00Z")
	h = drifthistory.History{}
	if err := json.Unmarshal([]byte(out), &h); code != 0 || err != nil || len(h.Reports) != 4 || !h.Reports[0].Time.Equal(h.Since) || !h.Since.Equal(t0.Add(4*time.Hour+30*time.Minute)) {
		t.Errorf("--since 12:30: exit %d, %d reports since %s (%v), want the last 4, the first made at 12:30", code, len(h.Reports), h.Since, err)
	}
	if code, out, _ := runCLI(t, "drift", "history", "sepsis-risk", "--repo", repo, "--state-dir", state, "--since", "1d"); code != 0 || !strings.Contains(out, "0 report(s) since") {
		t.Errorf("--since 1d (every report is older than a day): exit %d\n%s", code, out)
	}

	// A model without data has no report yet; one that does not exist is invalid input.
	if code, out, _ := runCLI(t, "drift", "history", "readmission-30d", "--repo", repo, "--state-dir", state); code != 0 || !strings.Contains(out, "readmission-30d: 0 report(s)") {
		t.Errorf("a model without reports: exit %d\n%s", code, out)
	}
	expectInvalidInput(t, []string{"drift", "history", "sepsis-riks", "--repo", repo, "--state-dir", state},
		`no model "sepsis-riks": no policy at the tip of main and nothing on modelops/status`)
	expectInvalidInput(t, []string{"drift", "history", "../sepsis-risk", "--repo", repo, "--state-dir", state},
		`no model "../sepsis-risk": a model name is a DNS-1123 label`)
	expectInvalidInput(t, []string{"drift", "history", "sepsis-risk", "--repo", repo, "--state-dir", state, "--since", "last week"},
		`--since: expected a duration (7d, 48h), a date (2026-01-31) or an RFC 3339 time, got "last week"`)
	expectInvalidInput(t, []string{"drift", "history", "--repo", repo}, "history takes one MODEL")
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"7d":                   now.Add(-7 * 24 * time.Hour),
		"1d12h":                now.Add(-36 * time.Hour),
		"90m":                  now.Add(-90 * time.Minute),
		"0d":                   now,
		"2026-11-30":           time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC),
		"2026-11-30T08:00:00Z": time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC),
	} {
		if got, err := parseSince(in, now); err != nil || !got.Equal(want) {
			t.Errorf("parseSince(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "d", "7 days", "-5h", "3dd", "99999999999d"} {
		if _, err := parseSince(bad, now); err == nil {
			t.Errorf("parseSince(%q) accepted", bad)
		}
	}
}
