package drift

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/medimind/modelops/internal/dataset"
)

// testdata/reference_omics.json holds part two of the definitions (batch effects,
// correlation drift) computed by SciPy 1.10 (scripts/drift_reference.py).
type omicsRef struct {
	Kruskal []struct {
		Name   string      `json:"name"`
		Groups [][]float64 `json:"groups"`
		H, P   jsonNum
	} `json:"kruskal"`
	Contingency []struct {
		Name      string      `json:"name"`
		Table     [][]float64 `json:"table"`
		Statistic jsonNum     `json:"statistic"`
		P         jsonNum     `json:"p"`
		Dof       int         `json:"dof"`
	} `json:"contingency"`
	BH []struct {
		P []float64 `json:"p"`
		Q []float64 `json:"q"`
	} `json:"bh"`
	Spearman []struct {
		Name string    `json:"name"`
		X    []jsonNum `json:"x"`
		Y    []jsonNum `json:"y"`
		R    jsonNum   `json:"r"`
		N    int       `json:"n"`
	} `json:"spearman"`
	Batch []struct {
		Name     string          `json:"name"`
		Labels   []*string       `json:"batch"`
		Numeric  []float64       `json:"batch_numeric"`
		MinRows  int             `json:"minRows"`
		Alpha    float64         `json:"alpha"`
		Share    float64         `json:"share"`
		Features []omicsFeature  `json:"features"`
		Groups   []BatchGroup    `json:"groups"`
		Expected json.RawMessage `json:"expected"`
	} `json:"batch"`
	Correlation []struct {
		Name     string                     `json:"name"`
		A        []string                   `json:"a"`
		B        []string                   `json:"b"`
		Alpha    float64                    `json:"alpha"`
		Share    float64                    `json:"share"`
		RefRaw   map[string]json.RawMessage `json:"ref"`
		CurRaw   map[string]json.RawMessage `json:"cur"`
		Expected struct {
			Tested, Changed int
			Share           float64
			Drifted         bool
			Pairs           []struct {
				A, B                 string
				RReference, RCurrent jsonNum
				NReference, NCurrent int
				Z, PValue, QValue    *jsonNum
				Tested, Changed      bool
			}
		} `json:"expected"`
	} `json:"correlation"`
}

type omicsFeature struct {
	Name   string          `json:"name"`
	Kind   Kind            `json:"kind"`
	Values json.RawMessage `json:"values"`
}

func loadOmicsReference(t *testing.T) omicsRef {
	t.Helper()
	b, err := os.ReadFile("testdata/reference_omics.json")
	if err != nil {
		t.Fatal(err)
	}
	var f omicsRef
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("decode testdata/reference_omics.json: %v", err)
	}
	return f
}

func floats(xs []jsonNum) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = float64(x)
	}
	return out
}

func checkClose(t *testing.T, what string, got, want float64) {
	t.Helper()
	if !close(got, want) {
		t.Errorf("%s = %.17g, want %.17g", what, got, want)
	}
}

func TestReferenceKruskalContingencyBH(t *testing.T) {
	f := loadOmicsReference(t)
	for _, c := range f.Kruskal {
		h, p := KruskalWallis(c.Groups)
		checkClose(t, c.Name+": H", h, float64(c.H))
		checkClose(t, c.Name+": p", p, float64(c.P))
	}
	for _, c := range f.Contingency {
		stat, p, dof := ChiSquareContingency(c.Table)
		checkClose(t, c.Name+": chi2", stat, float64(c.Statistic))
		checkClose(t, c.Name+": p", p, float64(c.P))
		if dof != c.Dof {
			t.Errorf("%s: dof %d, want %d", c.Name, dof, c.Dof)
		}
	}
	for _, c := range f.BH {
		q := BenjaminiHochberg(c.P)
		for i := range q {
			checkClose(t, "q", q[i], c.Q[i])
		}
	}
	for _, c := range f.Spearman {
		r, n := Spearman(floats(c.X), floats(c.Y))
		checkClose(t, c.Name+": r", r, float64(c.R))
		if n != c.N {
			t.Errorf("%s: n %d, want %d", c.Name, n, c.N)
		}
	}
	if len(f.Kruskal) < 5 || len(f.Contingency) < 4 || len(f.Spearman) < 4 {
		t.Errorf("too few reference cases")
	}
}

// rawColumn decodes a JSON sample into a column (numbers with "nan"/"inf", or strings
// with null for missing) through the part-one decoder.
func rawColumn(t *testing.T, name string, raw json.RawMessage) dataset.Column {
	c := side(t, raw, nil)
	c.Name = name
	return c
}

func TestReferenceBatchEffects(t *testing.T) {
	f := loadOmicsReference(t)
	if len(f.Batch) < 3 {
		t.Fatalf("only %d batch cases", len(f.Batch))
	}
	for _, c := range f.Batch {
		t.Run(c.Name, func(t *testing.T) {
			batchCol := dataset.Column{Name: "lab", Codes: make([]int32, len(c.Labels))}
			if c.Numeric != nil {
				batchCol = dataset.Column{Name: "lab", Float: c.Numeric}
			} else {
				index := map[string]int32{}
				for i, l := range c.Labels {
					if l == nil {
						batchCol.Codes[i] = -1
						continue
					}
					code, ok := index[*l]
					if !ok {
						code = int32(len(batchCol.Dict))
						index[*l] = code
						batchCol.Dict = append(batchCol.Dict, *l)
					}
					batchCol.Codes[i] = code
				}
			}
			feats := make([]BatchFeature, len(c.Features))
			for i, fe := range c.Features {
				col := rawColumn(t, fe.Name, fe.Values)
				feats[i] = BatchFeature{Column: &col, Kind: fe.Kind}
			}
			rep, err := BatchEffects("lab", LabelBatches(&batchCol), feats, c.Groups, BatchOptions{MinRows: c.MinRows, Alpha: c.Alpha, Share: c.Share})
			if err != nil {
				t.Fatal(err)
			}
			var want struct {
				Features []struct {
					Name, Test        string
					Statistic, Pvalue jsonNum
					Qvalue            *float64
					Effect, Tested    bool
				}
				Groups  []BatchGroupReport
				Batches []BatchInfo
				Effect  bool
			}
			if err := json.Unmarshal(c.Expected, &want); err != nil {
				t.Fatal(err)
			}
			for i, w := range want.Features {
				g := rep.Features[i]
				if g.Name != w.Name || g.Test != w.Test || g.Effect != w.Effect || (g.PValue != nil) != w.Tested {
					t.Errorf("feature %s: got %+v, want %+v", w.Name, g, w)
					continue
				}
				if w.Tested {
					checkClose(t, w.Name+": statistic", float64(*g.Statistic), float64(w.Statistic))
					checkClose(t, w.Name+": p", float64(*g.PValue), float64(w.Pvalue))
					checkClose(t, w.Name+": q", float64(*g.QValue), *w.Qvalue)
				} else if g.Statistic != nil || g.QValue != nil {
					t.Errorf("feature %s: untested but has values", w.Name)
				}
			}
			for i, w := range want.Groups {
				g := rep.Groups[i]
				if g.Name != w.Name || g.Tested != w.Tested || g.Effect != w.Effect || !close(g.Share, w.Share) {
					t.Errorf("group: got %+v, want %+v", g, w)
				}
			}
			if len(rep.Batches) != len(want.Batches) {
				t.Fatalf("batches: got %+v, want %+v", rep.Batches, want.Batches)
			}
			for i, w := range want.Batches {
				if rep.Batches[i].Name != w.Name || rep.Batches[i].Rows != w.Rows {
					t.Errorf("batch: got %+v, want %+v", rep.Batches[i], w)
				}
			}
			if rep.Effect != want.Effect {
				t.Errorf("effect %v, want %v", rep.Effect, want.Effect)
			}
		})
	}
}

func TestReferenceCorrelationDrift(t *testing.T) {
	f := loadOmicsReference(t)
	if len(f.Correlation) < 2 {
		t.Fatalf("only %d correlation cases", len(f.Correlation))
	}
	for _, c := range f.Correlation {
		t.Run(c.Name, func(t *testing.T) {
			tables := [2]*dataset.Table{{Source: "ref"}, {Source: "cur"}}
			for w, raw := range []map[string]json.RawMessage{c.RefRaw, c.CurRaw} {
				for _, name := range append(append([]string{}, c.A...), c.B...) {
					tables[w].Columns = append(tables[w].Columns, rawColumn(t, name, raw[name]))
				}
			}
			opts := DefaultCorrelationOptions()
			opts.Alpha, opts.Share, opts.Top = c.Alpha, c.Share, len(c.A)*len(c.B)
			rep, err := CorrelationDrift(context.Background(), [2]string{"a", "b"}, c.A, c.B, tables[0], tables[1], opts)
			if err != nil {
				t.Fatal(err)
			}
			e := c.Expected
			if rep.Tested != e.Tested || rep.Changed != e.Changed || rep.Drifted != e.Drifted || !close(rep.Share, e.Share) {
				t.Errorf("got tested %d changed %d share %v drifted %v, want %d %d %v %v",
					rep.Tested, rep.Changed, rep.Share, rep.Drifted, e.Tested, e.Changed, e.Share, e.Drifted)
			}
			got := map[[2]string]CorrelationPair{}
			for _, p := range rep.Pairs {
				got[[2]string{p.A, p.B}] = p
			}
			for _, w := range e.Pairs {
				g, ok := got[[2]string{w.A, w.B}]
				if ok != w.Tested {
					t.Errorf("pair %s×%s: tested %v, want %v", w.A, w.B, ok, w.Tested)
					continue
				}
				if !ok {
					continue
				}
				name := w.A + "×" + w.B
				checkClose(t, name+": rReference", float64(g.RReference), float64(w.RReference))
				checkClose(t, name+": rCurrent", float64(g.RCurrent), float64(w.RCurrent))
				checkClose(t, name+": z", float64(g.Z), float64(*w.Z))
				checkClose(t, name+": p", float64(g.PValue), float64(*w.PValue))
				checkClose(t, name+": q", float64(g.QValue), float64(*w.QValue))
				if g.NReference != w.NReference || g.NCurrent != w.NCurrent || g.Changed != w.Changed {
					t.Errorf("%s: n %d/%d changed %v, want %d/%d %v", name, g.NReference, g.NCurrent, g.Changed, w.NReference, w.NCurrent, w.Changed)
				}
			}
			for i := 1; i < len(rep.Pairs); i++ {
				if math.Abs(float64(rep.Pairs[i].Z)) > math.Abs(float64(rep.Pairs[i-1].Z)) {
					t.Errorf("pairs not ordered by |Z|")
				}
			}
		})
	}
}

// TestReferenceQuality checks the §9 findings against pandas (quality_cases in
// scripts/drift_reference.py): every finding, in order, with its figures.
func TestReferenceQuality(t *testing.T) {
	var f struct {
		Quality []struct {
			Name        string   `json:"name"`
			Categorical []string `json:"categorical"`
			Options     struct {
				Missing, OutOfRange, NewCategories float64
			} `json:"options"`
			Ref, Cur []struct {
				Name    string          `json:"name"`
				Values  json.RawMessage `json:"values"`
				Invalid int             `json:"invalid"`
			}
			Expected []struct {
				Column                        string
				Issue                         QualityIssue
				Reference, Current, Threshold *float64
			} `json:"expected"`
		} `json:"quality"`
	}
	b, err := os.ReadFile("testdata/reference_omics.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Quality) < 2 {
		t.Fatalf("only %d quality cases", len(f.Quality))
	}
	for _, c := range f.Quality {
		t.Run(c.Name, func(t *testing.T) {
			tables := [2]*dataset.Table{{Source: "ref"}, {Source: "cur"}}
			for w, cols := range [][]struct {
				Name    string          `json:"name"`
				Values  json.RawMessage `json:"values"`
				Invalid int             `json:"invalid"`
			}{c.Ref, c.Cur} {
				for _, col := range cols {
					dc := rawColumn(t, col.Name, col.Values)
					dc.Invalid = col.Invalid
					tables[w].Columns = append(tables[w].Columns, dc)
				}
			}
			got := Quality(tables[0], tables[1], QualityOptions{MissingIncrease: c.Options.Missing,
				OutOfRangeShare: c.Options.OutOfRange, NewCategoriesShare: c.Options.NewCategories, Categorical: c.Categorical})
			if len(got) != len(c.Expected) {
				t.Fatalf("%d findings, want %d:\n got %+v\nwant %+v", len(got), len(c.Expected), got, c.Expected)
			}
			num := func(what string, g *Number, w *float64) {
				switch {
				case (g == nil) != (w == nil):
					t.Errorf("%s: got %v, want %v", what, g, w)
				case g != nil:
					checkClose(t, what, float64(*g), *w)
				}
			}
			for i, w := range c.Expected {
				g := got[i]
				if g.Column != w.Column || g.Issue != w.Issue {
					t.Errorf("finding %d: %s %s, want %s %s", i, g.Column, g.Issue, w.Column, w.Issue)
					continue
				}
				name := w.Column + " " + string(w.Issue)
				num(name+": reference", g.Reference, w.Reference)
				num(name+": current", g.Current, w.Current)
				num(name+": threshold", g.Threshold, w.Threshold)
			}
		})
	}
}

// TestReferenceBatchSuspects checks each batch's drifted share and the suspects (§10)
// against part one's tests computed by SciPy for every batch and every pool of the other
// batches (suspect_cases in scripts/drift_reference.py).
func TestReferenceBatchSuspects(t *testing.T) {
	var f struct {
		Suspects []struct {
			Name         string    `json:"name"`
			DatasetShare float64   `json:"datasetShare"`
			Labels       []*string `json:"batch"`
			Features     []struct {
				Name   string          `json:"name"`
				Kind   Kind            `json:"kind"`
				RefRaw json.RawMessage `json:"ref"`
				CurRaw json.RawMessage `json:"cur"`
			} `json:"features"`
			Expected []BatchInfo `json:"expected"`
		} `json:"suspects"`
	}
	b, err := os.ReadFile("testdata/reference_omics.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Suspects) < 2 {
		t.Fatalf("only %d suspect cases", len(f.Suspects))
	}
	for _, c := range f.Suspects {
		t.Run(c.Name, func(t *testing.T) {
			ref, cur := &dataset.Table{Source: "ref"}, &dataset.Table{Source: "cur", Rows: len(c.Labels)}
			var cats []string
			for _, fe := range c.Features {
				ref.Columns = append(ref.Columns, rawColumn(t, fe.Name, fe.RefRaw))
				cur.Columns = append(cur.Columns, rawColumn(t, fe.Name, fe.CurRaw))
				if fe.Kind == KindCategorical {
					cats = append(cats, fe.Name)
				}
			}
			ref.Rows = ref.Columns[0].Len()
			if err := dataset.Align(ref, cur, dataset.Options{}); err != nil {
				t.Fatal(err)
			}
			lab := dataset.Column{Name: "lab"}
			index := map[string]int32{}
			for _, l := range c.Labels {
				if l == nil {
					lab.Codes = append(lab.Codes, -1)
					continue
				}
				code, ok := index[*l]
				if !ok {
					code = int32(len(lab.Dict))
					index[*l] = code
					lab.Dict = append(lab.Dict, *l)
				}
				lab.Codes = append(lab.Codes, code)
			}
			ctx := context.Background()
			share := c.DatasetShare
			p, err := NewProfile(ctx, ref, Options{DatasetShare: &share, Categorical: cats})
			if err != nil {
				t.Fatal(err)
			}
			labels := LabelBatches(&lab)
			rep, err := BatchEffects("lab", labels, nil, nil, DefaultBatchOptions())
			if err != nil {
				t.Fatal(err)
			}
			if err := BatchSuspects(ctx, p, cur, labels, rep); err != nil {
				t.Fatal(err)
			}
			if len(rep.Batches) != len(c.Expected) {
				t.Fatalf("batches %+v, want %+v", rep.Batches, c.Expected)
			}
			for i, w := range c.Expected {
				g := rep.Batches[i]
				if g.Name != w.Name || g.Rows != w.Rows || g.Suspect != w.Suspect || !close(g.DriftedShare, w.DriftedShare) {
					t.Errorf("batch %+v, want %+v", g, w)
				}
			}
		})
	}
}
