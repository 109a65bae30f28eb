package demo

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/medimind/modelops/examples"
	"github.com/medimind/modelops/internal/dataset"
	"github.com/medimind/modelops/internal/drift"
	"github.com/medimind/modelops/internal/driftcheck"
	"github.com/medimind/modelops/internal/metrics"
	"github.com/medimind/modelops/policies"
)

// TestSyntheticDriftIsWhereThePoliciesLook writes the synthetic data at the example
// policies' paths and runs each policy's own drift check on it: the planted drift must be
// found in the omics group of sepsis-risk and the sensor group of deterioration-wearable,
// and nothing in readmission-30d.
func TestSyntheticDriftIsWhereThePoliciesLook(t *testing.T) {
	set, err := policies.Load(examples.PolicyRepo())
	if err != nil || len(set.Errors) > 0 {
		t.Fatalf("load example policies: %v %v", err, set.Errors)
	}
	root := t.TempDir()
	files, err := WriteData(root, set, DefaultSeed)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 9 {
		t.Fatalf("wrote %d files, want reference, current and prediction log of 3 models: %+v", len(files), files)
	}
	// Each production version's simulated serving log has the figures its logit gives: the
	// class means productionSeparation apart with unit noise make AUC = Φ(d/√2) and, at the
	// 0.5 threshold (logit 0), recall = Φ(d/2). The performance trigger watches them.
	wantFigure := map[string]float64{
		policies.MetricAUC:    distuv.UnitNormal.CDF(productionSeparation / math.Sqrt2),
		policies.MetricRecall: distuv.UnitNormal.CDF(productionSeparation / 2),
	}
	for _, p := range set.Policies {
		rec, err := metrics.ProductionLog{}.Production(context.Background(), p, os.DirFS(root))
		if err != nil {
			t.Fatalf("production metrics of %s: %v", p.Metadata.Name, err)
		}
		if rec == nil || rec.Version != p.Spec.Production.Version || rec.Samples < 1000 {
			t.Fatalf("production reading of %s = %+v, want one of its production version on 1000+ samples", p.Metadata.Name, rec)
		}
		// Sampling error of a figure on 1000+ rows is about 0.015; 0.04 is over 2.5 of them.
		if w, ok := wantFigure[rec.Metric]; !ok || math.Abs(rec.Value-w) > 0.04 {
			t.Errorf("production %s of %s = %.4f, want %.4f ± 0.04", rec.Metric, p.Metadata.Name, rec.Value, w)
		}
	}
	checker := driftcheck.New(nil)
	reports := map[string]*drift.Report{}
	for _, p := range set.Policies {
		rep, err := checker.Report(context.Background(), p, os.DirFS(root))
		if err != nil {
			t.Fatalf("drift of %s: %v", p.Metadata.Name, err)
		}
		reports[p.Metadata.Name] = rep
	}

	groups := func(rep *drift.Report) map[string]bool {
		m := map[string]bool{}
		for _, g := range rep.Groups {
			m[g.Name] = g.Drifted
		}
		return m
	}
	driftedCols := func(rep *drift.Report) map[string]bool {
		m := map[string]bool{}
		for _, c := range rep.Columns {
			if c.Drifted {
				m[c.Name] = true
			}
		}
		return m
	}

	sepsis := reports["sepsis-risk"]
	if !sepsis.Drifted {
		t.Errorf("sepsis-risk: dataset not drifted (share %.3f)", sepsis.Share)
	}
	if g := groups(sepsis); !g["omics"] || g["clinical"] {
		t.Errorf("sepsis-risk groups = %v, want omics drifted and clinical not", g)
	}
	got := driftedCols(sepsis)
	want := map[string]bool{}
	for _, n := range omicsNames() {
		i, err := strconv.Atoi(n[5:])
		if err != nil {
			t.Fatal(err)
		}
		if (n[:5] == "gene_" && i <= sepsisShiftedGenes) || (n[:5] == "prot_" && i <= sepsisScaledProteins) {
			want[n] = true
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sepsis-risk drifted columns = %v\nwant exactly the planted %v", keys(got), keys(want))
	}

	wear := reports["deterioration-wearable"]
	if !wear.Drifted || !groups(wear)["sensor"] || groups(wear)["clinical"] {
		t.Errorf("deterioration-wearable: drifted %v, groups %v; want dataset and sensor drifted, clinical not", wear.Drifted, groups(wear))
	}
	wantWear := map[string]bool{"heart_rate": true, "spo2": true, "skin_temp": true, "voice_pitch": true, "hrv_rmssd": true}
	if got := driftedCols(wear); !reflect.DeepEqual(got, wantWear) {
		t.Errorf("deterioration-wearable drifted columns = %v, want %v", keys(got), keys(wantWear))
	}

	read := reports["readmission-30d"]
	if read.Drifted || len(driftedCols(read)) > 0 {
		t.Errorf("readmission-30d: drifted %v, columns %v; want no drift at all", read.Drifted, keys(driftedCols(read)))
	}
}

func TestDataIsDeterministic(t *testing.T) {
	a, _ := Data("sepsis-risk", 7)
	b, _ := Data("sepsis-risk", 7)
	c, _ := Data("sepsis-risk", 8)
	if !reflect.DeepEqual(a.Current, b.Current) {
		t.Error("the same seed gave different data")
	}
	if reflect.DeepEqual(a.Current, c.Current) {
		t.Error("different seeds gave the same data")
	}
	if _, ok := Data("no-such-model", 7); ok {
		t.Error("Data made data for an unknown model")
	}
}

func TestWriteDataReadsBack(t *testing.T) {
	set, err := policies.Load(examples.PolicyRepo())
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	files, err := WriteData(root, set, DefaultSeed)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		tab, err := dataset.Read(filepath.Join(root, f.Path), dataset.Options{})
		if err != nil {
			t.Fatalf("read back %s: %v", f.Path, err)
		}
		if tab.Rows != f.Rows || len(tab.Columns) != f.Columns {
			t.Errorf("%s: read %d rows × %d columns, wrote %d × %d", f.Path, tab.Rows, len(tab.Columns), f.Rows, f.Columns)
		}
		lab, ok := tab.Column(Label)
		if !ok || !lab.IsNumeric() {
			t.Fatalf("%s: no numeric %s column", f.Path, Label)
		}
		pos := 0
		for _, v := range lab.Float {
			if v != 0 && v != 1 {
				t.Fatalf("%s: label %v is not 0 or 1", f.Path, v)
			}
			pos += int(v)
		}
		// Both classes must be there in a useful proportion for training and AUC.
		if rate := float64(pos) / float64(tab.Rows); rate < 0.05 || rate > 0.5 {
			t.Errorf("%s: label rate %.3f outside 5%%..50%%", f.Path, rate)
		}
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
