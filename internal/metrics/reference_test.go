package metrics

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/medimind/modelops/internal/dataset"
)

// referenceCase is one case of testdata/reference.json (scripts/metrics_reference.py).
type referenceCase struct {
	Name    string `json:"name"`
	File    string `json:"file"`
	Options struct {
		Threshold  float64  `json:"threshold"`
		Version    string   `json:"version"`
		Categories []string `json:"categories"`
		Since      string   `json:"since"`
		Until      string   `json:"until"`
	} `json:"options"`
	Expected Result `json:"expected"`
}

func loadReference(t *testing.T) []referenceCase {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Cases []referenceCase `json:"cases"`
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Cases) == 0 {
		t.Fatal("no reference cases")
	}
	return ref.Cases
}

// options converts the case's options.
func (c *referenceCase) options(t *testing.T) Options {
	t.Helper()
	th := c.Options.Threshold
	opts := Options{Threshold: &th, Version: c.Options.Version, Categories: c.Options.Categories}
	for _, w := range []struct {
		s   string
		dst *time.Time
	}{{c.Options.Since, &opts.Since}, {c.Options.Until, &opts.Until}} {
		if w.s == "" {
			continue
		}
		tm, err := time.Parse(time.RFC3339, w.s)
		if err != nil {
			t.Fatal(err)
		}
		*w.dst = tm
	}
	return opts
}

// TestEvaluateReference checks every figure against sklearn and NumPy (to 1e-12), for
// each case read as CSV, as gzip CSV and as Parquet, and with a distinct-score cap of 3
// so that every version with more distinct scores takes the spill path.
func TestEvaluateReference(t *testing.T) {
	dir := t.TempDir()
	forms := map[string]func(t *testing.T, csvPath string) string{
		"csv": func(_ *testing.T, p string) string { return p },
		"gzip": func(t *testing.T, p string) string {
			out := filepath.Join(dir, filepath.Base(p)+".gz")
			gzipFile(t, p, out)
			return out
		},
		"parquet": func(t *testing.T, p string) string {
			out := filepath.Join(dir, strings.TrimSuffix(filepath.Base(p), ".csv")+".parquet")
			toParquet(t, p, out)
			return out
		},
	}
	for _, c := range loadReference(t) {
		for _, form := range []string{"csv", "gzip", "parquet"} {
			for _, cap := range []int{0, 3} {
				name := fmt.Sprintf("%s/%s/cap=%d", c.Name, form, cap)
				t.Run(name, func(t *testing.T) {
					path := forms[form](t, filepath.Join("testdata", c.File))
					opts := c.options(t)
					opts.maxDistinct = cap
					got, err := Evaluate(context.Background(), path, opts)
					if err != nil {
						t.Fatal(err)
					}
					compareResult(t, got, &c.Expected)
				})
			}
		}
	}
}

// compareResult compares a result with the reference's.
func compareResult(t *testing.T, got, want *Result) {
	t.Helper()
	compareEvaluation(t, "top level", &got.Evaluation, &want.Evaluation)
	var gotV, wantV []string
	for v := range got.ByVersion {
		gotV = append(gotV, v)
	}
	for v := range want.ByVersion {
		wantV = append(wantV, v)
	}
	slices.Sort(gotV)
	slices.Sort(wantV)
	if !slices.Equal(gotV, wantV) {
		t.Fatalf("byVersion has %q, want %q", gotV, wantV)
	}
	for _, v := range wantV {
		compareEvaluation(t, "version "+v, got.ByVersion[v], want.ByVersion[v])
	}
}

// tolerance is the agreement asked of every figure: absolute for shares (AUC,
// precision, recall, coverage), relative for latency.
const tolerance = 1e-12

func compareEvaluation(t *testing.T, where string, got, want *Evaluation) {
	t.Helper()
	if got.Samples != want.Samples || got.Positives != want.Positives || got.Unlabelled != want.Unlabelled {
		t.Errorf("%s: samples/positives/unlabelled %d/%d/%d, want %d/%d/%d", where,
			got.Samples, got.Positives, got.Unlabelled, want.Samples, want.Positives, want.Unlabelled)
	}
	if got.Threshold != want.Threshold {
		t.Errorf("%s: threshold %v, want %v", where, got.Threshold, want.Threshold)
	}
	near := func(name string, g, w float64, scale float64) {
		if math.Abs(g-w) > tolerance*scale {
			t.Errorf("%s: %s %.17g, want %.17g (diff %.3g)", where, name, g, w, g-w)
		}
	}
	optional := func(name string, g, w *float64, relative bool) {
		switch {
		case (g == nil) != (w == nil):
			t.Errorf("%s: %s %s, want %s", where, name, show(g), show(w))
		case g != nil:
			scale := 1.0
			if relative {
				scale = math.Max(math.Abs(*w), 1)
			}
			near(name, *g, *w, scale)
		}
	}
	optional("auc", got.AUC, want.AUC, false)
	near("precision", got.Precision, want.Precision, 1)
	near("recall", got.Recall, want.Recall, 1)
	optional("latencyP95Ms", got.LatencyP95Ms, want.LatencyP95Ms, true)
	optional("coverage", got.Coverage, want.Coverage, false)
}

func show(f *float64) string {
	if f == nil {
		return "null"
	}
	return fmt.Sprint(*f)
}

// gzipFile writes src gzipped to dst.
func gzipFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// toParquet converts a CSV log to Parquet with internal/dataset: score and latency as
// DOUBLE with nulls, the label as DOUBLE when every present label is a number and as a
// string otherwise, version, category and timestamp as strings.
func toParquet(t *testing.T, src, dst string) {
	t.Helper()
	tab, err := dataset.Read(src, dataset.Options{Categorical: []string{ColumnVersion, ColumnCategory, ColumnTimestamp}})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	if err := dataset.WriteParquet(w, tab); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
