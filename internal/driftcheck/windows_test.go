package driftcheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/medimind/modelops/internal/datafs"
	"github.com/medimind/modelops/internal/drift"
	"github.com/medimind/modelops/policies"
)

// logDir holds the logs of the window reference cases (scripts/drift_reference.py).
var logDir = filepath.Join("..", "dataset", "testdata", "windows")

type windowSpec struct {
	Last, Ago string
	MinRows   int64
}

type windowCase struct {
	Name               string
	Source             string
	At                 time.Time
	Reference, Current windowSpec
	Expected           struct {
		Reference, Current drift.WindowReport
		InsufficientData   bool
		// X is SciPy's result for column x, with the test Evidently's rule picks.
		X *struct {
			Test      drift.Test
			Statistic float64
			Pvalue    float64
			Drifted   bool
		}
	}
}

func windowCases(t *testing.T) []windowCase {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(logDir, "..", "windows_reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Cases []windowCase }
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Cases
}

// logPolicy is a policy whose data are the windows of c's log at source.
func logPolicy(t *testing.T, c windowCase, source string) *policies.Policy {
	t.Helper()
	window := func(w windowSpec) string {
		s := fmt.Sprintf("{last: %s, minRows: %d", w.Last, w.MinRows)
		if w.Ago != "" {
			s += ", ago: " + w.Ago
		}
		return s + "}"
	}
	src := fmt.Sprintf(`apiVersion: modelops.medimind.io/v1alpha1
kind: ModelPolicy
metadata: {name: microbiome}
spec:
  data:
    source: {%s, timestamp: ts}
    reference: %s
    current: %s
    exclude: [id]
`, source, window(c.Reference), window(c.Current))
	ps, err := policies.Parse("models/microbiome.yaml", []byte(src))
	if err != nil {
		t.Fatalf("parse %s: %v", src, err)
	}
	return ps[0]
}

func near(a, b float64) bool {
	return a == b || math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b)) || math.Abs(a-b) <= 1e-12
}

// checkWindows compares a report over a log with the reference case.
func checkWindows(t *testing.T, c windowCase, rep *drift.Report) {
	t.Helper()
	w := rep.Windows
	if w == nil {
		t.Fatal("no windows in the report")
	}
	for _, side := range []struct {
		name      string
		got, want drift.WindowReport
		min       int64
	}{{"reference", w.Reference, c.Expected.Reference, c.Reference.MinRows}, {"current", w.Current, c.Expected.Current, c.Current.MinRows}} {
		side.want.MinRows = side.min
		if side.got != side.want {
			t.Errorf("%s window = %+v\nwant (pandas)    %+v", side.name, side.got, side.want)
		}
	}
	if w.InsufficientData != c.Expected.InsufficientData {
		t.Errorf("insufficientData = %v, want %v", w.InsufficientData, c.Expected.InsufficientData)
	}
	if c.Expected.InsufficientData {
		if rep.Drifted || len(rep.Columns) != 0 {
			t.Errorf("insufficient data compared columns: drifted %v, %d columns", rep.Drifted, len(rep.Columns))
		}
		return
	}
	if len(rep.Columns) != 1 || rep.Columns[0].Name != "x" {
		t.Fatalf("columns = %+v, want x alone (id excluded, ts not a feature)", rep.Columns)
	}
	x, want := rep.Columns[0], c.Expected.X
	st := x.Stats[x.Test]
	if x.Test != want.Test || st.Statistic == nil || !near(float64(*st.Statistic), want.Statistic) || !near(float64(x.Score), want.Pvalue) || x.Drifted != want.Drifted {
		t.Errorf("x = %s statistic %v p %v drifted %v; SciPy: %s %v p %v drifted %v", x.Test, st.Statistic, x.Score, x.Drifted,
			want.Test, want.Statistic, want.Pvalue, want.Drifted)
	}
}

func TestReportOverALogEqualsTheReference(t *testing.T) {
	cases := windowCases(t)
	if len(cases) < 7 {
		t.Fatalf("%d window cases, want at least 7", len(cases))
	}
	data := os.DirFS(logDir)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			p := logPolicy(t, c, "path: "+c.Source)
			rep, err := New(nil).ReportAt(context.Background(), p, data, c.At)
			if err != nil {
				t.Fatal(err)
			}
			checkWindows(t, c, rep)
			res, err := New(nil).Check(context.Background(), p, data, c.At)
			if err != nil {
				t.Fatal(err)
			}
			if res.InsufficientData != c.Expected.InsufficientData || res.InsufficientData && res.Drifted {
				t.Errorf("result = %+v, want insufficient data %v", res, c.Expected.InsufficientData)
			}
			if !strings.Contains(string(res.Report), `"windows": {`) {
				t.Errorf("the JSON report has no windows:\n%s", res.Report)
			}
		})
	}
}

func TestReportOverALogDownloaded(t *testing.T) {
	srv := httptest.NewServer(http.FileServer(http.Dir(logDir)))
	defer srv.Close()
	for _, c := range windowCases(t) {
		if !strings.HasSuffix(c.Source, ".csv") {
			continue // a URL names one file
		}
		t.Run(c.Name, func(t *testing.T) {
			p := logPolicy(t, c, fmt.Sprintf("url: %q", srv.URL+"/"+c.Source))
			rep, err := New(srv.Client()).ReportAt(context.Background(), p, nil, c.At)
			if err != nil {
				t.Fatal(err)
			}
			checkWindows(t, c, rep)
		})
	}
	c := windowCases(t)[0]
	p := logPolicy(t, c, fmt.Sprintf("url: %q", srv.URL+"/missing.csv"))
	if _, err := New(srv.Client()).ReportAt(context.Background(), p, nil, c.At); err == nil || !strings.Contains(err.Error(), "/missing.csv: 404") {
		t.Errorf("a missing log = %v, want the URL's 404", err)
	}
}

// A log in the data root follows the root's rules: a partition that is a relative link
// inside the root is read, one leading out of it is refused.
func TestLogPartitionsFollowTheDataRootsLinkRules(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, content string) {
		t.Helper()
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var day1, day2 strings.Builder
	day1.WriteString("ts,x\n")
	day2.WriteString("ts,x\n")
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&day1, "2026-12-01T%02d:%02d:00Z,%d\n", i/2, 30*(i%2), i)
		fmt.Fprintf(&day2, "2026-12-02T%02d:%02d:00Z,%d\n", i/2, 30*(i%2), i+100)
	}
	write("logs/date=2026-12-01/a.csv", day1.String())
	write("archive/day2/a.csv", day2.String())
	if err := os.Symlink("../archive/day2", filepath.Join(dir, "logs", "date=2026-12-02")); err != nil {
		t.Fatal(err)
	}
	outside := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "escaping"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "escaping", "date=2026-12-02")); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	data := datafs.New(root.FS(), "the data root", "")
	c := windowCase{At: time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC),
		Reference: windowSpec{Last: "1d", Ago: "1d", MinRows: 10}, Current: windowSpec{Last: "1d", MinRows: 10}}
	rep, err := New(nil).ReportAt(context.Background(), logPolicy(t, c, "path: logs"), data, c.At)
	if err != nil {
		t.Fatal(err)
	}
	if w := rep.Windows; w.Reference.Rows != 40 || w.Current.Rows != 40 || !rep.Drifted {
		t.Errorf("windows %+v drifted %v, want 40 rows a side through the link, and drift", w, rep.Drifted)
	}
	_, err = New(nil).ReportAt(context.Background(), logPolicy(t, c, "path: escaping"), data, c.At)
	if !errors.Is(err, datafs.ErrLink) {
		t.Errorf("a partition linking out of the root: err = %v, want a refused link", err)
	}
}
