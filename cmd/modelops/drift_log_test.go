package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/medimind/modelops/internal/testutil/gitserver"
	"github.com/medimind/modelops/reconciler"
)

// logData holds the logs of the window reference cases (scripts/drift_reference.py): the
// partitioned log's reference window [2026-11-16, 2026-11-30) has 72 rows and the current
// [2026-11-30, 2026-12-07) 38, one row without a timestamp dropped in each; sparse.csv's
// current window holds 3 rows.
var logData = filepath.Join("..", "..", "internal", "dataset", "testdata", "windows")

// driftWindows decodes the windows of `modelops drift -o json`.
func driftWindows(t *testing.T, out string) (windows map[string]any, rep map[string]any) {
	t.Helper()
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	w, ok := rep["windows"].(map[string]any)
	if !ok {
		t.Fatalf("report has no windows:\n%s", out)
	}
	return w, rep
}

// windowIs checks a window of the JSON report: from, to, rows, droppedRows.
func windowIs(t *testing.T, w map[string]any, side, from, to string, rows, dropped float64) {
	t.Helper()
	got, _ := w[side].(map[string]any)
	if got["from"] != from || got["to"] != to || got["rows"] != rows || got["droppedRows"] != dropped {
		t.Errorf("%s window = %v, want from %s to %s, %v rows, %v dropped", side, got, from, to, rows, dropped)
	}
}

func TestDriftComparesWindowsOfALog(t *testing.T) {
	log := filepath.Join(logData, "partitions")
	code, out, errOut := runCLI(t, "drift", "--reference", log, "--current", log, "--timestamp", "ts",
		"--reference-window", "14d,ago=7d,min=20", "--current-window", "7d,min=20", "--at", "2026-12-07T00:00:00Z",
		"--exclude", "id", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	w, rep := driftWindows(t, out)
	windowIs(t, w, "reference", "2026-11-16T00:00:00Z", "2026-11-30T00:00:00Z", 72, 1)
	windowIs(t, w, "current", "2026-11-30T00:00:00Z", "2026-12-07T00:00:00Z", 38, 1)
	cols, _ := rep["columns"].([]any)
	if w["insufficientData"] != false || len(cols) != 1 || cols[0].(map[string]any)["name"] != "x" {
		t.Errorf("report = %s, want x compared (ts is not a feature)", out)
	}
}

func TestDriftWindowsFromAPolicy(t *testing.T) {
	dir := t.TempDir()
	policy := filepath.Join(dir, "microbiome.yaml")
	if err := os.WriteFile(policy, []byte(`apiVersion: modelops.medimind.io/v1alpha1
kind: ModelPolicy
metadata: {name: microbiome}
spec:
  data:
    source: {path: sparse.csv, timestamp: ts}
    reference: {last: 60d}
    current: {last: 7d, minRows: 5}
    exclude: [id]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "drift", "--policy", policy, "--data-root", logData, "--at", "2026-12-07", "-o", "json")
	if code != 0 {
		t.Fatalf("insufficient data must exit 0, got %d: %s", code, errOut)
	}
	w, rep := driftWindows(t, out)
	windowIs(t, w, "current", "2026-11-30T00:00:00Z", "2026-12-07T00:00:00Z", 3, 1)
	if w["insufficientData"] != true || rep["drifted"] != false {
		t.Errorf("report = %s, want insufficient data, not drifted", out)
	}
	// The window flags replace the policy's: two rows are enough.
	code, out, errOut = runCLI(t, "drift", "--policy", policy, "--data-root", logData, "--at", "2026-12-07",
		"--current-window", "7d,min=2", "-o", "markdown")
	if code != 0 || !strings.Contains(out, "**Dataset drift:") || strings.Contains(out, "Insufficient") {
		t.Errorf("with --current-window 7d,min=2: exit %d %s\n%s", code, errOut, out)
	}
	code, out, _ = runCLI(t, "drift", "--policy", policy, "--data-root", logData, "--at", "2026-12-07", "-o", "markdown")
	if code != 0 || !strings.Contains(out, "**Insufficient data:** the current window holds 3 of the 5 rows it needs.") {
		t.Errorf("markdown of insufficient data (exit %d):\n%s", code, out)
	}
}

func TestDriftWindowsOfTwoLogs(t *testing.T) {
	code, out, errOut := runCLI(t, "drift", "--reference", filepath.Join(logData, "sparse.csv"), "--current", filepath.Join(logData, "boundaries.csv"),
		"--timestamp", "ts", "--reference-window", "60d", "--current-window", "7d", "--at", "2026-12-07T00:00:00Z", "--exclude", "id", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	w, _ := driftWindows(t, out)
	// boundaries.csv's current window is that of its reference case: 17 rows.
	windowIs(t, w, "reference", "2026-10-08T00:00:00Z", "2026-12-07T00:00:00Z", 178, 1)
	windowIs(t, w, "current", "2026-11-30T00:00:00Z", "2026-12-07T00:00:00Z", 17, 0)
}

func TestDriftWindowFlagsExitTwoWhenMalformed(t *testing.T) {
	log := filepath.Join(logData, "sparse.csv")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--timestamp", "ts", "--reference-window", "60x", "--current-window", "7d"}, `--reference-window "60x": the window's length must be a positive duration`},
		{[]string{"--timestamp", "ts", "--reference-window", "60d,ago=1w", "--current-window", "7d"}, "ago must be a duration"},
		{[]string{"--timestamp", "ts", "--reference-window", "60d", "--current-window", "7d,min=0"}, "min must be a count of rows of 1 or more"},
		{[]string{"--timestamp", "ts", "--reference-window", "60d", "--current-window", "7d,last=3d"}, `unknown setting "last"`},
		{[]string{"--timestamp", "ts", "--reference-window", "60d"}, "give --reference-window and --current-window too"},
		{[]string{"--current-window", "7d"}, "name its timestamp column with --timestamp"},
		{[]string{"--timestamp", "ts", "--reference-window", "60d", "--current-window", "7d", "--at", "yesterday"}, `--at "yesterday"`},
		{[]string{"--timestamp", "ts", "--reference-window", "60d", "--current-window", "7d", "--numeric", "ts"}, `column "ts" is the timestamp of the log`},
		{[]string{"--timestamp", "when", "--reference-window", "60d", "--current-window", "7d"}, `column "when": no such column, which is the log's timestamp column`},
	} {
		args := append([]string{"drift", "--reference", log, "--current", log}, c.args...)
		code, _, errOut := runCLI(t, args...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, errOut, c.want)
		}
	}
}

// logPolicy is a model whose drift check compares windows of the log logs/features: the
// last 2 days against the 10 before, the current window needing minRows rows.
func logPolicy(name string, minRows int) string {
	return fmt.Sprintf(`apiVersion: modelops.medimind.io/v1alpha1
kind: ModelPolicy
metadata:
  name: %s
spec:
  data:
    source: {path: logs/features, timestamp: ts}
    reference: {last: 10d, ago: 2d, minRows: 20}
    current: {last: 2d, minRows: %d}
`, name, minRows)
}

// TestReconcileComparesWindowsOfALogInTheTree: the reconciler reads a log partitioned by day
// from the tree at the tip, ending its windows at the cycle's clock; the day partitions
// outside both windows hold a corrupt file that is never read. A model whose current window
// is short gets the verdict insufficient data: recorded with its counts, not a failure.
func TestReconcileComparesWindowsOfALogInTheTree(t *testing.T) {
	files := map[string]string{
		"models/enough.yaml": logPolicy("enough", 10),
		"models/short.yaml":  logPolicy("short", 100000),
	}
	today := time.Now().UTC().Truncate(24 * time.Hour)
	for k := 0; k <= 13; k++ {
		day := today.AddDate(0, 0, -k)
		var b strings.Builder
		b.WriteString("ts,x\n")
		for h := 0; h < 24; h += 2 {
			shift := 0
			if k <= 2 {
				shift = 50 // the current days drift
			}
			fmt.Fprintf(&b, "%s,%d\n", day.Add(time.Duration(h)*time.Hour).Format(time.RFC3339), (h*7+k*3)%20+shift)
		}
		files["logs/features/date="+day.Format(time.DateOnly)+"/part-0.csv"] = b.String()
	}
	old := today.AddDate(0, 0, -40).Format(time.DateOnly)
	files["logs/features/date="+old+"/part-0.parquet"] = "PAR1 not a Parquet file PAR1"
	bare := bareRepo(t, files)
	t.Chdir(bare)

	code, out, errOut := runCLI(t, "reconcile", "--once", "--repo", ".", "--state-dir", t.TempDir(), "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d, stderr %s\n%s", code, errOut, out)
	}
	for model, want := range map[string]bool{"enough": false, "short": true} {
		raw := gitserver.MustGit(t, bare, "show", "modelops/status:models/"+model+".json")
		var ms reconciler.ModelStatus
		if err := json.Unmarshal([]byte(raw), &ms); err != nil {
			t.Fatal(err)
		}
		d, ok := ms.LastDrift()
		if !ok || d.InsufficientData != want || (!want && !d.Drifted) {
			t.Fatalf("%s: last drift %+v, want insufficient data %v (and drift when enough)", model, d, want)
		}
		w, rep := driftWindows(t, gitserver.MustGit(t, bare, "show", "modelops/status:"+d.Report))
		cur, _ := w["current"].(map[string]any)
		if rows, _ := cur["rows"].(float64); rows < 12 || cur["to"] != d.At.UTC().Format(time.RFC3339Nano) {
			t.Errorf("%s: current window %v, want its rows ending at the cycle's clock %s", model, cur, d.At)
		}
		if w["insufficientData"] != want || want && rep["drifted"] != false {
			t.Errorf("%s: report windows %v drifted %v", model, w, rep["drifted"])
		}
	}
}
