package drift

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/medimind/modelops/internal/dataset"
	"gonum.org/v1/gonum/stat/distuv"
)

func normalColumn(name string, n int, mu float64, seed uint64) dataset.Column {
	d := distuv.Normal{Mu: mu, Sigma: 1, Src: rand.NewPCG(seed, seed*0x9e3779b97f4a7c15^0xda3e39cb94b95bdb)}
	v := make([]float64, n)
	for i := range v {
		v[i] = d.Rand()
	}
	return dataset.Column{Name: name, Float: v}
}

func stringColumn(name string, values ...string) dataset.Column {
	c := dataset.Column{Name: name}
	index := map[string]int32{}
	for _, v := range values {
		if v == "" {
			c.Codes = append(c.Codes, -1)
			continue
		}
		code, ok := index[v]
		if !ok {
			code = int32(len(c.Dict))
			index[v] = code
			c.Dict = append(c.Dict, v)
		}
		c.Codes = append(c.Codes, code)
	}
	return c
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// fourColumns returns tables where columns a and c drift strongly and b and d do not.
func fourColumns() (ref, cur *dataset.Table) {
	ref = &dataset.Table{Source: "ref.csv", Columns: []dataset.Column{
		normalColumn("a", 500, 0, 1), normalColumn("b", 500, 0, 3),
		normalColumn("c", 500, 0, 5), normalColumn("d", 500, 0, 7),
	}}
	cur = &dataset.Table{Source: "cur.csv", Columns: []dataset.Column{
		// The current table lists its columns in another order.
		normalColumn("d", 400, 0, 8), normalColumn("c", 400, 3, 6),
		normalColumn("b", 400, 0, 4), normalColumn("a", 400, 3, 2),
	}}
	return ref, cur
}

func ptr(f float64) *float64 { return &f }

func TestCompareShareRuleAndOrder(t *testing.T) {
	ref, cur := fourColumns()
	rep, err := Compare(context.Background(), ref, cur, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range rep.Columns {
		names = append(names, c.Name)
		if c.Test != TestKS || c.Kind != KindNumeric || c.NReference != 500 || c.NCurrent != 400 {
			t.Errorf("column %s: test %s kind %s n %d/%d, want ks numeric 500/400", c.Name, c.Test, c.Kind, c.NReference, c.NCurrent)
		}
		if len(c.Stats) != 1 || c.Stats[TestKS].Statistic == nil {
			t.Errorf("column %s: stats %v, want ks with its statistic only", c.Name, c.Stats)
		}
	}
	if !slices.Equal(names, []string{"a", "b", "c", "d"}) {
		t.Errorf("columns in order %v, want the reference order a b c d", names)
	}
	drifted := []bool{rep.Columns[0].Drifted, rep.Columns[1].Drifted, rep.Columns[2].Drifted, rep.Columns[3].Drifted}
	if !slices.Equal(drifted, []bool{true, false, true, false}) {
		t.Fatalf("drifted %v, want a and c", drifted)
	}
	// Two of four is a share of 0.5, which is dataset drift (>=).
	if rep.Share != 0.5 || !rep.Drifted || rep.DatasetShare != 0.5 {
		t.Errorf("share %v drifted %v datasetShare %v, want 0.5 true 0.5", rep.Share, rep.Drifted, rep.DatasetShare)
	}
	rep, err = Compare(context.Background(), ref, cur, Options{DatasetShare: ptr(0.51)})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Drifted {
		t.Error("share 0.5 below a dataset share of 0.51 must not drift")
	}
}

func TestCompareGroupsAndExclude(t *testing.T) {
	ref, cur := fourColumns()
	opts := Options{
		Exclude: []string{"d"},
		Groups: []Group{
			{Name: "ac", Pattern: "^[ac]$"},
			{Name: "b", Features: []string{"b"}},
			{Name: "strict", Pattern: "^[abc]$", Share: ptr(0.9)},
			{Name: "none", Pattern: "^zzz"},
		},
	}
	rep, err := Compare(context.Background(), ref, cur, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Columns) != 3 {
		t.Fatalf("got %d columns, want 3 (d excluded)", len(rep.Columns))
	}
	want := []GroupReport{
		{Name: "ac", Columns: []string{"a", "c"}, Drifted: true, Share: 1},
		{Name: "b", Columns: []string{"b"}, Drifted: false, Share: 0},
		{Name: "strict", Columns: []string{"a", "b", "c"}, Drifted: false, Share: 2.0 / 3},
		{Name: "none", Columns: []string{}, Drifted: false, Share: 0},
	}
	for i, g := range rep.Groups {
		w := want[i]
		if g.Name != w.Name || !slices.Equal(g.Columns, w.Columns) || g.Drifted != w.Drifted || !close(g.Share, w.Share) {
			t.Errorf("group %d = %+v, want %+v", i, g, w)
		}
	}
	_, err = Compare(context.Background(), ref, cur, Options{Groups: []Group{{Name: "g", Features: []string{"nope"}}}})
	if !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown group feature: err = %v, want ErrInvalidInput naming it", err)
	}
}

func TestCompareTestSelection(t *testing.T) {
	ref, cur := fourColumns()
	ctx := context.Background()

	rep, err := Compare(ctx, ref, cur, Options{AllTests: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rep.Columns {
		var got []string
		for k := range c.Stats {
			got = append(got, string(k))
		}
		slices.Sort(got)
		if !slices.Equal(got, []string{"jensenshannon", "kl_div", "ks", "psi", "wasserstein"}) || c.Test != TestKS {
			t.Errorf("all tests on %s: test %s stats %v", c.Name, c.Test, got)
		}
		if c.Stats[TestPSI].Statistic != nil || c.Stats[TestKS].Statistic == nil {
			t.Errorf("%s: only p-value tests carry a statistic", c.Name)
		}
	}

	rep, err = Compare(ctx, ref, cur, Options{NumericTest: TestPSI, Threshold: ptr(1e6)})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rep.Columns {
		if c.Test != TestPSI || c.Threshold != 1e6 || c.Drifted {
			t.Errorf("%s: test %s threshold %v drifted %v, want psi 1e6 false", c.Name, c.Test, c.Threshold, c.Drifted)
		}
	}

	rep, err = Compare(ctx, ref, cur, Options{Tests: []Test{TestChiSquare, TestWasserstein, TestKS}})
	if err != nil {
		t.Fatal(err)
	}
	if c := rep.Columns[0]; c.Test != TestWasserstein || len(c.Stats) != 2 {
		t.Errorf("listed tests: test %s stats %v, want wasserstein first, then ks", c.Test, c.Stats)
	}

	for _, bad := range []Options{
		{NumericTest: TestChiSquare},
		{CategoricalTest: TestKS},
		{Tests: []Test{"anderson"}},
		{DatasetShare: ptr(1.5)},
		{Threshold: ptr(math.NaN())},
		{Groups: []Group{{Name: "g", Pattern: "("}}},
		{Categorical: []string{"missing"}},
		{Categorical: []string{"a"}, Numeric: []string{"a"}},
	} {
		if _, err := Compare(ctx, ref, cur, bad); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("options %+v: err = %v, want ErrInvalidInput", bad, err)
		}
	}
}

func TestCompareCategorical(t *testing.T) {
	ref := &dataset.Table{Source: "ref", Columns: []dataset.Column{
		stringColumn("ward", append(repeat("icu", 30), append(repeat("er", 30), "", "")...)...),
		{Name: "grade", Float: []float64{1, 2, 2, 3, 3, 3, math.NaN()}},
	}}
	cur := &dataset.Table{Source: "cur", Columns: []dataset.Column{
		stringColumn("ward", append(repeat("icu", 30), append(repeat("er", 25), repeat("ward7", 5)...)...)...),
		{Name: "grade", Float: []float64{1, 1, 2, 3, math.Inf(1)}},
	}}
	rep, err := Compare(context.Background(), ref, cur, Options{Categorical: []string{"grade"}})
	if err != nil {
		t.Fatal(err)
	}
	ward, grade := rep.Columns[0], rep.Columns[1]
	// A category unseen in the reference makes χ² infinite: p = 0, drift.
	if ward.Kind != KindCategorical || ward.Test != TestChiSquare || ward.Score != 0 || !ward.Drifted {
		t.Errorf("ward: %+v, want chisquare p=0 drifted", ward)
	}
	if !math.IsInf(float64(*ward.Stats[TestChiSquare].Statistic), 1) {
		t.Errorf("ward: χ² = %v, want +Inf", *ward.Stats[TestChiSquare].Statistic)
	}
	if ward.MissingReference != 2 || ward.NReference != 60 || ward.NCurrent != 60 {
		t.Errorf("ward: n %d/%d missing %d, want 60/60 and 2", ward.NReference, ward.NCurrent, ward.MissingReference)
	}
	if grade.Kind != KindCategorical || grade.Test != TestChiSquare || grade.MissingReference != 1 || grade.MissingCurrent != 1 {
		t.Errorf("grade: %+v, want categorical chisquare with one missing per side", grade)
	}
}

func TestCompareErrors(t *testing.T) {
	ctx := context.Background()
	ref := &dataset.Table{Source: "ref.csv", Columns: []dataset.Column{
		{Name: "x", Float: []float64{1, 2}}, {Name: "y", Float: []float64{1, 2}},
	}}
	cases := []struct {
		name string
		ref  *dataset.Table
		cur  *dataset.Table
		want []string
	}{
		{"column only in reference", ref,
			&dataset.Table{Source: "cur.csv", Columns: []dataset.Column{{Name: "x", Float: []float64{1}}}},
			[]string{`"y"`, "ref.csv", "cur.csv"}},
		{"column only in current", ref,
			&dataset.Table{Source: "cur.csv", Columns: []dataset.Column{
				{Name: "x", Float: []float64{1}}, {Name: "y", Float: []float64{1}}, {Name: "z", Float: []float64{1}}}},
			[]string{`"z"`}},
		{"current empty after cleaning", ref,
			&dataset.Table{Source: "cur.csv", Columns: []dataset.Column{
				{Name: "x", Float: []float64{1}}, {Name: "y", Float: []float64{math.NaN(), math.Inf(-1)}}}},
			[]string{`"y"`, "no values"}},
		{"reference empty after cleaning",
			&dataset.Table{Source: "ref.csv", Columns: []dataset.Column{{Name: "x", Float: []float64{math.NaN()}}}},
			&dataset.Table{Source: "cur.csv", Columns: []dataset.Column{{Name: "x", Float: []float64{1}}}},
			[]string{`"x"`, "ref.csv", "no values"}},
		{"numbers against text", ref,
			&dataset.Table{Source: "cur.csv", Columns: []dataset.Column{
				{Name: "x", Float: []float64{1}}, stringColumn("y", "a")}},
			[]string{`"y"`, "text"}},
		{"no columns", &dataset.Table{Source: "ref.csv"}, &dataset.Table{Source: "cur.csv"}, []string{"no columns"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Compare(ctx, c.ref, c.cur, Options{})
			if !errors.Is(err, ErrInvalidInput) {
				t.Fatalf("err = %v, want ErrInvalidInput", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %s", err, w)
				}
			}
		})
	}
}

func TestCompareCancelled(t *testing.T) {
	ref, cur := fourColumns()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Compare(ctx, ref, cur, Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestParallelRecoversPanics(t *testing.T) {
	err := parallel(context.Background(), 3, func(i int, _ *scratch) error {
		if i == 1 {
			var m map[string]int
			m["boom"]++ // a nil-map write panics
		}
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "internal error") {
		t.Fatalf("err = %v, want the panic as an error", err)
	}
}

// TestProfileConcurrentReuse compares one profile with several current tables at once
// (run with -race) and checks each result equals a fresh Compare.
func TestProfileConcurrentReuse(t *testing.T) {
	ref, _ := fourColumns()
	opts := Options{AllTests: true}
	p, err := NewProfile(context.Background(), ref, opts)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for k := 0; k < 4; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cur := &dataset.Table{Source: "cur", Columns: []dataset.Column{
				normalColumn("a", 300, float64(k)*0.2, uint64(20+k)), normalColumn("b", 300, 0, uint64(40+k)),
				normalColumn("c", 300, 0, uint64(60+k)), normalColumn("d", 300, 1, uint64(80+k)),
			}}
			got, err := p.Compare(context.Background(), cur)
			if err != nil {
				t.Error(err)
				return
			}
			want, err := Compare(context.Background(), ref, cur, opts)
			if err != nil {
				t.Error(err)
				return
			}
			gb, _ := json.Marshal(got)
			wb, _ := json.Marshal(want)
			if string(gb) != string(wb) {
				t.Errorf("profile reuse differs from a fresh comparison:\n%s\n%s", gb, wb)
			}
		}()
	}
	wg.Wait()
}

func TestReportJSONContract(t *testing.T) {
	ref := &dataset.Table{Source: "ref", Columns: []dataset.Column{stringColumn("only", "x", "x", "x")}}
	cur := &dataset.Table{Source: "cur", Columns: []dataset.Column{stringColumn("only", "x", "x")}}
	// One category: auto would pick z (p = 1); chi-square has no degrees of freedom.
	rep, err := Compare(context.Background(), ref, cur, Options{CategoricalTest: TestChiSquare, Groups: []Group{{Name: "all", Pattern: "."}}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"drifted", "share", "datasetShare", "columns", "groups"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("report JSON lacks %q: %s", k, b)
		}
	}
	col := doc["columns"].([]any)[0].(map[string]any)
	for _, k := range []string{"name", "kind", "nReference", "nCurrent", "missingReference", "missingCurrent", "test", "score", "threshold", "drifted", "stats"} {
		if _, ok := col[k]; !ok {
			t.Errorf("column JSON lacks %q: %s", k, b)
		}
	}
	// p = NaN is written as null and does not drift.
	if col["test"] != "chisquare" || col["score"] != nil || col["drifted"] != false {
		t.Errorf("one-key column: %v", col)
	}
	stat := col["stats"].(map[string]any)["chisquare"].(map[string]any)
	if _, ok := stat["statistic"]; !ok {
		t.Errorf("chisquare stats lack the statistic: %v", stat)
	}
	g := doc["groups"].([]any)[0].(map[string]any)
	if g["name"] != "all" || len(g["columns"].([]any)) != 1 {
		t.Errorf("group JSON: %v", g)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(float64(back.Columns[0].Score)) {
		t.Errorf("null score reads back as %v, want NaN", back.Columns[0].Score)
	}
}

func TestReportSaysWhatEachScoreIsAndCountsInvalidValues(t *testing.T) {
	ref := &dataset.Table{Source: "ref.csv", Columns: []dataset.Column{
		normalColumn("small", 500, 0, 1), normalColumn("big", 2000, 0, 3),
	}}
	small := normalColumn("small", 500, 0, 2)
	// Three cells of the current column were not numbers, tolerated as missing by the
	// reader (Invalid), and one more is simply missing.
	for i := range 4 {
		small.Float[i] = math.NaN()
	}
	small.Invalid = 3
	cur := &dataset.Table{Source: "cur.csv", Columns: []dataset.Column{small, normalColumn("big", 2000, 0, 4)}}
	rep, err := Compare(context.Background(), ref, cur, Options{AllTests: true})
	if err != nil {
		t.Fatal(err)
	}
	s, b := rep.Columns[0], rep.Columns[1]
	if s.Test != TestKS || s.ScoreKind != ScorePValue || b.Test != TestWasserstein || b.ScoreKind != ScoreDistance {
		t.Errorf("small: %s %s, big: %s %s; want ks p_value and wasserstein distance", s.Test, s.ScoreKind, b.Test, b.ScoreKind)
	}
	for _, c := range rep.Columns {
		for test, r := range c.Stats {
			if r.ScoreKind != ScoreKindOf(test) {
				t.Errorf("%s: stats[%s].scoreKind = %q", c.Name, test, r.ScoreKind)
			}
		}
	}
	if s.InvalidCurrent != 3 || s.MissingCurrent != 1 || s.NCurrent != 496 {
		t.Errorf("small: invalid %d, missing %d, n %d; want 3, 1, 496", s.InvalidCurrent, s.MissingCurrent, s.NCurrent)
	}
	out, err := json.Marshal(rep.Columns[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{`"scoreKind":"p_value"`, `"invalidCurrent":3`, `"invalidReference":0`, `"missingCurrent":1`, `"threshold":0.05`} {
		if !strings.Contains(string(out), field) {
			t.Errorf("JSON %s lacks %s", out, field)
		}
	}
}
