package drift

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/medimind/modelops/internal/dataset"
)

// labTables builds a reference of 600 rows and a current window of labs A, B, C (200
// rows each, 20 more without a lab) over three numeric features; the labs in shifted
// read every feature 2 higher.
func labTables(shifted map[string]bool) (ref, cur *dataset.Table) {
	src := rand.New(rand.NewPCG(7, 8))
	labs := []string{"A", "B", "C"}
	ref = &dataset.Table{Source: "ref", Rows: 600}
	cur = &dataset.Table{Source: "cur", Rows: 620}
	lab := dataset.Column{Name: "lab", Dict: labs}
	for i := range 620 {
		lab.Codes = append(lab.Codes, int32(i%3))
		if i >= 600 {
			lab.Codes[i] = -1
		}
	}
	for f := range 3 {
		name := fmt.Sprintf("f%d", f)
		r, c := make([]float64, 600), make([]float64, 620)
		for i := range r {
			r[i] = src.NormFloat64()
		}
		for i := range c {
			c[i] = src.NormFloat64()
			if lab.Codes[i] >= 0 && shifted[labs[lab.Codes[i]]] {
				c[i] += 2
			}
		}
		ref.Columns = append(ref.Columns, dataset.Column{Name: name, Float: r})
		cur.Columns = append(cur.Columns, dataset.Column{Name: name, Float: c})
	}
	cur.Columns = append(cur.Columns, lab)
	return ref, cur
}

func batchSuspects(t *testing.T, shifted map[string]bool) *BatchReport {
	t.Helper()
	ref, cur := labTables(shifted)
	ctx := context.Background()
	p, err := NewProfile(ctx, ref, Options{Exclude: []string{"lab"}})
	if err != nil {
		t.Fatal(err)
	}
	labels := LabelBatches(&cur.Columns[3])
	var feats []BatchFeature
	for i := range 3 {
		feats = append(feats, BatchFeature{Column: &cur.Columns[i], Kind: KindNumeric})
	}
	rep, err := BatchEffects("lab", labels, feats, []BatchGroup{{Name: "all", Features: []string{"f0", "f1", "f2"}}}, DefaultBatchOptions())
	if err != nil {
		t.Fatal(err)
	}
	if err := BatchSuspects(ctx, p, cur, labels, rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestBatchSuspectsOneShiftedLab(t *testing.T) {
	rep := batchSuspects(t, map[string]bool{"C": true})
	want := map[string]struct {
		share   float64
		suspect bool
	}{"A": {0, false}, "B": {0, false}, "C": {1, true}}
	for _, b := range rep.Batches {
		w := want[b.Name]
		if b.Rows != 200 || b.DriftedShare != w.share || b.Suspect != w.suspect {
			t.Errorf("batch %+v, want rows 200, share %v, suspect %v", b, w.share, w.suspect)
		}
	}
	if !rep.Effect || rep.Groups[0].Tested != 3 || rep.Groups[0].Share != 1 {
		t.Errorf("a lab shifted by two standard deviations gives a batch effect on every feature: %+v", rep.Groups)
	}
}

// With two labs shifted, each one's other batches (which include the other shifted
// lab) drift too, so neither is named.
func TestBatchSuspectsTwoShiftedLabsNoSuspect(t *testing.T) {
	rep := batchSuspects(t, map[string]bool{"B": true, "C": true})
	for _, b := range rep.Batches {
		if b.Suspect {
			t.Errorf("batch %s named suspect although the other batches drift too", b.Name)
		}
		if shifted := b.Name != "A"; shifted != (b.DriftedShare == 1) {
			t.Errorf("batch %s drifted share %v", b.Name, b.DriftedShare)
		}
	}
}

func TestBatchEffectsRejectsBadOptions(t *testing.T) {
	if _, err := BatchEffects("lab", BatchLabels{}, nil, nil, BatchOptions{MinRows: 0, Alpha: 0.01, Share: 0.3}); err == nil {
		t.Error("minRows 0 accepted")
	}
}

func TestCorrelationDriftMaxPairs(t *testing.T) {
	opts := DefaultCorrelationOptions()
	opts.MaxPairs = 3
	_, err := CorrelationDrift(context.Background(), [2]string{"a", "b"}, []string{"x", "y"}, []string{"u", "v"}, &dataset.Table{}, &dataset.Table{}, opts)
	if err == nil {
		t.Error("4 pairs accepted with maxPairs 3")
	}
}

// The JSON of the batch and correlation parts follows the contract of issue 19 §7; an
// untested feature has null statistic, pValue and qValue, and a report without them
// keeps its previous shape.
func TestReportJSONBatchAndCorrelation(t *testing.T) {
	plain, err := json.Marshal(Report{Columns: []ColumnReport{}, Groups: []GroupReport{}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(plain), "batch") || strings.Contains(string(plain), "correlation") {
		t.Errorf("a report without the checks mentions them: %s", plain)
	}
	rep := Report{
		Batch: &BatchReport{Column: "lab", Effect: true,
			Batches:  []BatchInfo{{Name: "A", Rows: 40, DriftedShare: 0.5, Suspect: true}},
			Groups:   []BatchGroupReport{{Name: "omics", Tested: 2, Share: 0.5, Effect: true}},
			Features: []BatchFeatureReport{{Name: "f", Test: BatchTestKruskal}, {Name: "g", Test: BatchTestContingency, Statistic: numberPtr(3), PValue: numberPtr(0.001), QValue: numberPtr(0.002), Effect: true}}},
		Correlation: []CorrelationReport{{Groups: [2]string{"sensor", "omics"}, Tested: 1, Changed: 1, Share: 1, Drifted: true,
			Pairs: []CorrelationPair{{A: "s", B: "o", RReference: 0.1, RCurrent: 0.9, NReference: 50, NCurrent: 40, Z: 6, PValue: 1e-9, QValue: 1e-9, Changed: true}}}},
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"batch":{"column":"lab","effect":true,"batches":[{"name":"A","rows":40,"driftedShare":0.5,"suspect":true}],"groups":[{"name":"omics","tested":2,"share":0.5,"effect":true}],"features":[{"name":"f","test":"kruskal","statistic":null,"pValue":null,"qValue":null,"effect":false},{"name":"g","test":"chi2_contingency","statistic":3,"pValue":0.001,"qValue":0.002,"effect":true}]}`,
		`"correlation":[{"groups":["sensor","omics"],"tested":1,"changed":1,"share":1,"drifted":true,"pairs":[{"a":"s","b":"o","rReference":0.1,"rCurrent":0.9,"nReference":50,"nCurrent":40,"z":6,"pValue":1e-09,"qValue":1e-09}]}]`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks\n%s\nin\n%s", want, b)
		}
	}
}

// A batch whose rows hold no value of a feature still gets its drifted share: the feature
// counts as not drifted there, instead of failing the check.
func TestBatchSuspectsFeatureEmptyInABatch(t *testing.T) {
	ref, cur := labTables(map[string]bool{"C": true})
	for i, b := range cur.Columns[3].Codes {
		if b == 0 { // lab A holds no f2
			cur.Columns[2].Float[i] = math.NaN()
		}
	}
	ctx := context.Background()
	p, err := NewProfile(ctx, ref, Options{Exclude: []string{"lab"}})
	if err != nil {
		t.Fatal(err)
	}
	labels := LabelBatches(&cur.Columns[3])
	rep, err := BatchEffects("lab", labels, []BatchFeature{{Column: &cur.Columns[0], Kind: KindNumeric}}, nil, DefaultBatchOptions())
	if err != nil {
		t.Fatal(err)
	}
	if err := BatchSuspects(ctx, p, cur, labels, rep); err != nil {
		t.Fatal(err)
	}
	if a, c := rep.Batches[0], rep.Batches[2]; a.DriftedShare != 0 || c.DriftedShare != 1 || !c.Suspect {
		t.Errorf("batches %+v, want A 0 (f2 empty, not drifted), C 1 and suspect", rep.Batches)
	}
	if _, err := p.Compare(ctx, selectRows(cur, []int{0, 3, 6}, "lab A")); err == nil {
		t.Error("Compare accepted a column with no value; only the per-batch comparison may")
	}
}
