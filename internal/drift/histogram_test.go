package drift

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/medimind/modelops/internal/dataset"
)

func seq(from, to float64) []float64 {
	var v []float64
	for x := from; x <= to; x++ {
		v = append(v, x)
	}
	return v
}

func near(a, b []float64, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(a[i]-b[i]) > tol {
			return false
		}
	}
	return true
}

// TestHistogramsMatchNumPy: a numeric column the distances bin gets NumPy's Sturges bins over
// the pooled range, one with few values ten equal-width bins; the shares are NumPy's, rounded
// to four decimals. References from NumPy 1.24:
//
//	e = np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")
//	np.round(np.histogram(ref, e)[0] / len(ref), 4)
//	np.round(np.histogram(ref, bins=10, range=(1, 5))[0] / len(ref), 4)
func TestHistogramsMatchNumPy(t *testing.T) {
	ref := &dataset.Table{Source: "ref", Columns: []dataset.Column{
		{Name: "lactate", Float: append(seq(0, 29), math.NaN())},
		{Name: "grade", Float: []float64{1, 1, 2, 2, 3}},
	}}
	cur := &dataset.Table{Source: "cur", Columns: []dataset.Column{
		{Name: "lactate", Float: seq(10, 39)},
		{Name: "grade", Float: []float64{2, 3, 3, 4, 5}},
	}}
	rep, err := Compare(context.Background(), ref, cur, Options{Histograms: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		column         string
		edges, rf, cur []float64
	}{
		{"lactate",
			[]float64{0, 5.571428571428571, 11.142857142857142, 16.714285714285715, 22.285714285714285, 27.857142857142854, 33.42857142857143, 39},
			[]float64{0.2, 0.2, 0.1667, 0.2, 0.1667, 0.0667, 0},
			[]float64{0, 0.0667, 0.1667, 0.2, 0.1667, 0.2, 0.2}},
		{"grade",
			[]float64{1, 1.4, 1.8, 2.2, 2.6, 3, 3.4000000000000004, 3.8000000000000003, 4.2, 4.6, 5},
			[]float64{0.4, 0, 0.4, 0, 0, 0.2, 0, 0, 0, 0},
			[]float64{0, 0, 0.2, 0, 0, 0.4, 0, 0.2, 0, 0.2}},
	} {
		i := slices.IndexFunc(rep.Columns, func(c ColumnReport) bool { return c.Name == tc.column })
		h := rep.Columns[i].Histogram
		if h == nil {
			t.Fatalf("%s: no histogram", tc.column)
		}
		if !near(h.Edges(), tc.edges, 1e-12) || !near(h.Reference, tc.rf, 0) || !near(h.Current, tc.cur, 0) || len(h.Categories) != 0 {
			t.Errorf("%s: edges %v reference %v current %v\nwant %v %v %v", tc.column, h.Edges(), h.Reference, h.Current, tc.edges, tc.rf, tc.cur)
		}
	}

	// Without Histograms the report is as before: no histogram field at all.
	rep, err = Compare(context.Background(), ref, cur, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(rep)
	if strings.Contains(string(b), "histogram") {
		t.Fatalf("a report without Histograms holds one: %s", b)
	}
}

// TestCategoryHistogramKeepsTheTopCategories: a column of 15 categories keeps the 12 with the
// largest shares on both sides together (a category new in the current data included) and
// gathers the other 3 in one last bin; a numeric column forced categorical names its values.
func TestCategoryHistogramKeepsTheTopCategories(t *testing.T) {
	var refVals, curVals []string
	// Category cK appears K+1 times on each side; "ward7" only in the current data, 40 times.
	for k := range 15 {
		refVals = append(refVals, repeat(fmt.Sprintf("c%02d", k), k+1)...)
		curVals = append(curVals, repeat(fmt.Sprintf("c%02d", k), k+1)...)
	}
	curVals = append(curVals, repeat("ward7", 40)...)
	ref := &dataset.Table{Source: "ref", Columns: []dataset.Column{stringColumn("ward", refVals...), {Name: "stage", Float: []float64{1, 1, 2, 2.5}}}}
	cur := &dataset.Table{Source: "cur", Columns: []dataset.Column{stringColumn("ward", curVals...), {Name: "stage", Float: []float64{2.5, 2.5, 4, 1}}}}
	rep, err := Compare(context.Background(), ref, cur, Options{Histograms: true, Categorical: []string{"stage"}})
	if err != nil {
		t.Fatal(err)
	}
	h := rep.Columns[0].Histogram
	// Reference: 120 values, cK is (K+1)/120. Current: 160 values, ward7 40/160 = 0.25, which
	// ranks it first (0 + 0.25 against c14's 0.125 + 0.094).
	wantNames := []string{"ward7", "c14", "c13", "c12", "c11", "c10", "c09", "c08", "c07", "c06", "c05", "c04"}
	if !slices.Equal(h.Categories, wantNames) || h.Others != 4 || len(h.Reference) != 13 || len(h.Current) != 13 {
		t.Fatalf("categories %v others %d (%d/%d shares), want %v and 4 others", h.Categories, h.Others, len(h.Reference), len(h.Current), wantNames)
	}
	if h.Reference[1] != 0.125 || h.Reference[0] != 0 || h.Current[0] != 0.25 || h.Current[1] != 0.0938 {
		t.Errorf("ward7 %v/%v, c14 %v/%v: want 0, 40/160, 15/120, 15/160", h.Reference[0], h.Current[0], h.Reference[1], h.Current[1])
	}
	// The others: c00…c03, 1+2+3+4 = 10 values of 120 and of 160.
	if h.Reference[12] != 0.0833 || h.Current[12] != 0.0625 {
		t.Errorf("others %v/%v, want 10/120 and 10/160", h.Reference[12], h.Current[12])
	}
	// stage: 1 and 2.5 tie at 0.75 (ordered by name), then 2 (0.25) and 4 (0.25).
	s := rep.Columns[1].Histogram
	if !slices.Equal(s.Categories, []string{"1", "2.5", "2", "4"}) || s.Others != 0 || !slices.Equal(s.Reference, []float64{0.5, 0.25, 0.25, 0}) || !slices.Equal(s.Current, []float64{0.25, 0.5, 0, 0.25}) {
		t.Errorf("stage: %+v", s)
	}
}

// TestHistogramIsBounded: a column of 2^20 pooled distinct values, which Sturges' rule
// would split in 21 bins, and a wide categorical column stay within the caps.
func TestHistogramIsBounded(t *testing.T) {
	big := func(n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = float64(i)
		}
		return v
	}
	cats := make([]string, 500)
	for i := range cats {
		cats[i] = fmt.Sprint("v", i)
	}
	ref := &dataset.Table{Source: "ref", Columns: []dataset.Column{{Name: "x", Float: big(1 << 19)}, stringColumn("k", cats...)}}
	cur := &dataset.Table{Source: "cur", Columns: []dataset.Column{{Name: "x", Float: big(1 << 19)}, stringColumn("k", cats...)}}
	rep, err := Compare(context.Background(), ref, cur, Options{Histograms: true})
	if err != nil {
		t.Fatal(err)
	}
	if e := SturgesEdges(0, 1<<19-1, 1<<20); len(e)-1 <= MaxHistogramBins {
		t.Fatalf("the case is not over the cap: Sturges gives %d bins", len(e)-1)
	}
	if h := rep.Columns[0].Histogram; len(h.Edges()) != MaxHistogramBins+1 || len(h.Reference) != MaxHistogramBins || h.Range[0] != 0 || h.Range[1] != 1<<19-1 {
		t.Errorf("x: %d edges over %v, want %d over [0, 2^19-1]", len(h.Edges()), h.Range, MaxHistogramBins+1)
	}
	if h := rep.Columns[1].Histogram; len(h.Categories) != MaxHistogramCategories || h.Others != 500-MaxHistogramCategories {
		t.Errorf("k: %d categories and %d others", len(h.Categories), h.Others)
	}
}
