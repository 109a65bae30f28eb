package metrics

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medimind/modelops/internal/dataset"
)

// delongFigures are a sample's figures in testdata/delong/delong.json.
type delongFigures struct {
	Samples   int64    `json:"samples"`
	Positives int64    `json:"positives"`
	AUC       *float64 `json:"auc"`
	Variance  *float64 `json:"variance"`
	AUCStdErr *float64 `json:"aucStdErr"`
}

// delongFile is one log of testdata/delong (scripts/delong_reference.py).
type delongFile struct {
	Name        string                   `json:"name"`
	File        string                   `json:"file"`
	All         delongFigures            `json:"all"`
	ByVersion   map[string]delongFigures `json:"byVersion"`
	Comparisons []struct {
		Canary     string         `json:"canary"`
		Production string         `json:"production"`
		Confidence float64        `json:"confidence"`
		Expected   *AUCDifference `json:"expected"`
		Error      *struct {
			Side string `json:"side"`
			Kind string `json:"kind"`
		} `json:"error"`
	} `json:"comparisons"`
}

func loadDeLong(t *testing.T) []delongFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "delong", "delong.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Files []delongFile `json:"files"`
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Files) == 0 {
		t.Fatal("no reference files")
	}
	return ref.Files
}

// TestDeLongReference checks every version's AUC and DeLong standard error, the whole
// log's, and each comparison of two versions against the pairwise definition computed by
// scripts/delong_reference.py (NumPy, exact fractions, SciPy's normal distribution), for
// each log read as CSV and as Parquet, and with a distinct-score cap of 3 so that every
// version with more distinct scores takes the spill path. Figures on the AUC's scale
// (AUC, difference, bounds) agree to 1e-12 absolute, the others to 1e-12 relative.
func TestDeLongReference(t *testing.T) {
	dir := t.TempDir()
	for _, f := range loadDeLong(t) {
		csvPath := filepath.Join("testdata", "delong", f.File)
		pqPath := filepath.Join(dir, strings.TrimSuffix(f.File, ".csv")+".parquet")
		logToParquet(t, csvPath, pqPath)
		for _, path := range []string{csvPath, pqPath} {
			for _, cap := range []int{0, 3} {
				t.Run(fmt.Sprintf("%s/%s/cap=%d", f.Name, filepath.Ext(path)[1:], cap), func(t *testing.T) {
					res, err := Evaluate(context.Background(), path, Options{maxDistinct: cap})
					if err != nil {
						t.Fatal(err)
					}
					compareDeLongFigures(t, "all versions", &res.Evaluation, f.All)
					if len(res.ByVersion) != len(f.ByVersion) {
						t.Errorf("%d versions, want %d", len(res.ByVersion), len(f.ByVersion))
					}
					for v, want := range f.ByVersion {
						got := res.ByVersion[v]
						if got == nil {
							t.Errorf("version %s missing", v)
							continue
						}
						compareDeLongFigures(t, "version "+v, got, want)
					}
					for _, c := range f.Comparisons {
						where := fmt.Sprintf("%s vs %s at %v", c.Canary, c.Production, c.Confidence)
						got, err := CompareAUC(res.ByVersion[c.Canary], res.ByVersion[c.Production], c.Confidence)
						if c.Error != nil {
							sentinel := map[string]error{"noAUC": ErrNoAUC, "noStdErr": ErrNoAUCStdErr}[c.Error.Kind]
							if !errors.Is(err, sentinel) || !strings.HasPrefix(err.Error(), c.Error.Side+": ") {
								t.Errorf("%s: error %v, want %s: %v", where, err, c.Error.Side, sentinel)
							}
							continue
						}
						if err != nil {
							t.Errorf("%s: %v", where, err)
							continue
						}
						compareDifference(t, where, got, *c.Expected)
					}
				})
			}
		}
	}
}

// Tolerances of TestDeLongReference.
const deLongTolerance = 1e-12

func compareDeLongFigures(t *testing.T, where string, got *Evaluation, want delongFigures) {
	t.Helper()
	if got.Samples != want.Samples || got.Positives != want.Positives {
		t.Errorf("%s: samples/positives %d/%d, want %d/%d", where, got.Samples, got.Positives, want.Samples, want.Positives)
	}
	switch {
	case (got.AUC == nil) != (want.AUC == nil):
		t.Errorf("%s: auc %s, want %s", where, show(got.AUC), show(want.AUC))
	case got.AUC != nil && math.Abs(*got.AUC-*want.AUC) > deLongTolerance:
		t.Errorf("%s: auc %.17g, want %.17g", where, *got.AUC, *want.AUC)
	}
	switch {
	case (got.AUCStdErr == nil) != (want.AUCStdErr == nil):
		t.Errorf("%s: aucStdErr %s, want %s", where, show(got.AUCStdErr), show(want.AUCStdErr))
	case got.AUCStdErr != nil:
		if !nearRel(*got.AUCStdErr, *want.AUCStdErr) {
			t.Errorf("%s: aucStdErr %.17g, want %.17g", where, *got.AUCStdErr, *want.AUCStdErr)
		}
		if v := *got.AUCStdErr * *got.AUCStdErr; !nearRel(v, *want.Variance) {
			t.Errorf("%s: variance %.17g, want %.17g", where, v, *want.Variance)
		}
	}
}

func compareDifference(t *testing.T, where string, got, want AUCDifference) {
	t.Helper()
	abs := func(name string, g, w float64) {
		if math.Abs(g-w) > deLongTolerance {
			t.Errorf("%s: %s %.17g, want %.17g", where, name, g, w)
		}
	}
	abs("diff", got.Diff, want.Diff)
	abs("lower", got.Lower, want.Lower)
	abs("upper", got.Upper, want.Upper)
	if !nearRel(got.StdErr, want.StdErr) {
		t.Errorf("%s: stdErr %.17g, want %.17g", where, got.StdErr, want.StdErr)
	}
	if math.IsInf(want.Z, 0) {
		if got.Z != want.Z {
			t.Errorf("%s: z %v, want %v", where, got.Z, want.Z)
		}
	} else if math.Abs(got.Z-want.Z) > deLongTolerance*math.Max(math.Abs(want.Z), 1) {
		t.Errorf("%s: z %.17g, want %.17g", where, got.Z, want.Z)
	}
	if !nearRel(got.P, want.P) {
		t.Errorf("%s: p %.17g, want %.17g", where, got.P, want.P)
	}
	if got.Confidence != want.Confidence {
		t.Errorf("%s: confidence %v, want %v", where, got.Confidence, want.Confidence)
	}
}

// nearRel reports whether g is within deLongTolerance of w, relative to w (so 0 must be
// exactly 0).
func nearRel(g, w float64) bool { return math.Abs(g-w) <= deLongTolerance*math.Abs(w) }

// TestHanleyMcNeilPublishedAUC checks the published area of Hanley & McNeil's (1982) CT
// rating data, 0.8931 (its first four decimals: the exact area is 2642/2958 = 0.893171).
func TestHanleyMcNeilPublishedAUC(t *testing.T) {
	res, err := Evaluate(context.Background(), filepath.Join("testdata", "delong", "hanley_mcneil.csv"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Samples != 109 || res.Positives != 51 {
		t.Fatalf("samples/positives %d/%d, want 109/51", res.Samples, res.Positives)
	}
	if res.AUC == nil || *res.AUC < 0.8931 || *res.AUC >= 0.8932 {
		t.Fatalf("auc %s, want 0.8931...", show(res.AUC))
	}
	if want, _ := big.NewRat(2642, 2958).Float64(); *res.AUC != want {
		t.Errorf("auc %.17g, want 2642/2958 = %.17g", *res.AUC, want)
	}
	if res.AUCStdErr == nil {
		t.Fatal("no standard error")
	}
}

// bruteDeLongVariance computes Var(AUC) by DeLong's definition, visiting every
// (positive, negative) pair, exactly; nil with fewer than 2 positives or 2 negatives.
func bruteDeLongVariance(preds []Prediction) *big.Rat {
	var pos, neg []float64
	for _, p := range preds {
		switch {
		case p.Label < 0 || math.IsNaN(p.Score):
		case p.Label == 1:
			pos = append(pos, p.Score)
		default:
			neg = append(neg, p.Score)
		}
	}
	m, n := int64(len(pos)), int64(len(neg))
	if m < 2 || n < 2 {
		return nil
	}
	r10 := make([]int64, m) // 2n·V10
	r01 := make([]int64, n) // 2m·V01
	for i, x := range pos {
		for j, y := range neg {
			var psi2 int64
			switch {
			case x > y:
				psi2 = 2
			case x == y:
				psi2 = 1
			}
			r10[i] += psi2
			r01[j] += psi2
		}
	}
	sampleVar := func(sums []int64, scale int64) *big.Rat {
		k := int64(len(sums))
		var total int64
		for _, s := range sums {
			total += s
		}
		mean := big.NewRat(total, scale*k)
		acc := new(big.Rat)
		for _, s := range sums {
			d := new(big.Rat).Sub(big.NewRat(s, scale), mean)
			acc.Add(acc, d.Mul(d, d))
		}
		return acc.Quo(acc, big.NewRat(k-1, 1))
	}
	v := sampleVar(r10, 2*n)
	v.Quo(v, big.NewRat(m, 1))
	w := sampleVar(r01, 2*m)
	w.Quo(w, big.NewRat(n, 1))
	return v.Add(v, w)
}

// TestAccumulatorAUCStdErr compares the standard error with DeLong's pairwise definition
// computed exactly (it must be the square root of the same correctly rounded variance,
// bit for bit), for every version and all versions together, with and without the
// distinct-score spill, with ties, +0 and −0, missing scores and labels, and tiny
// classes.
func TestAccumulatorAUCStdErr(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for trial := range 40 {
		grid := float64(1 + rng.IntN(20))
		n := 1 + rng.IntN(300)
		if trial < 8 {
			n = 2 + trial // classes of 0, 1 and 2 rows
		}
		preds := make([]Prediction, n)
		for i := range preds {
			p := &preds[i]
			p.Version = fmt.Sprint(rng.IntN(3))
			p.Score = math.Round(rng.NormFloat64()*grid) / grid
			if trial%2 == 1 {
				p.Score = rng.NormFloat64()
			}
			if rng.IntN(20) == 0 {
				p.Score = math.NaN()
			}
			p.Label = int8(rng.IntN(2))
			if rng.IntN(15) == 0 {
				p.Label = -1
			}
			if i%3 == 0 {
				p.Score = -p.Score
			}
			p.LatencyMs = math.NaN()
		}
		for _, cap := range []int{0, 1, 5} {
			acc, err := NewAccumulator(Options{maxDistinct: cap})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range preds {
				if err := acc.Add(p); err != nil {
					t.Fatal(err)
				}
			}
			res := acc.Result()
			check := func(where string, got *float64, preds []Prediction) {
				want := bruteDeLongVariance(preds)
				if (want == nil) != (got == nil) {
					t.Fatalf("trial %d cap %d %s: std err %s, want variance %v", trial, cap, where, show(got), want)
				}
				if want == nil {
					return
				}
				w, _ := want.Float64()
				if se := math.Sqrt(w); *got != se {
					t.Errorf("trial %d cap %d %s: std err %.17g, want %.17g", trial, cap, where, *got, se)
				}
			}
			check("all", res.AUCStdErr, preds)
			for v, e := range res.ByVersion {
				var of []Prediction
				for _, p := range preds {
					if p.Version == v {
						of = append(of, p)
					}
				}
				check("version "+v, e.AUCStdErr, of)
			}
		}
	}
}

// TestAUCDeLongAgreesWithAUCOf checks that the AUC of the combined walk is aucOf's bit
// for bit, over one version's sets and over several versions' sets merged, with and
// without the spill.
func TestAUCDeLongAgreesWithAUCOf(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	for trial := range 20 {
		for _, cap := range []int{0, 2, 50} {
			acc, err := NewAccumulator(Options{maxDistinct: cap})
			if err != nil {
				t.Fatal(err)
			}
			for range 2 + rng.IntN(2000) {
				score := rng.NormFloat64()
				if trial%2 == 0 {
					score = math.Round(score * 10)
				}
				acc.Add(Prediction{Version: fmt.Sprint(rng.IntN(3)), Score: score, Label: int8(rng.IntN(2)), LatencyMs: math.NaN()})
			}
			acc.Result() // sorts the sets
			var all []*scoreSet
			var allPos, allNeg int64
			for v, vs := range acc.stats {
				pos, neg := vs.positives, vs.samples-vs.positives
				allPos, allNeg = allPos+pos, allNeg+neg
				all = append(all, &vs.scores)
				if pos == 0 || neg == 0 {
					continue
				}
				sets := []*scoreSet{&vs.scores}
				if got, _ := aucDeLong(sets, pos, neg); got != aucOf(sets, pos, neg) {
					t.Errorf("trial %d cap %d version %s: auc %.17g, aucOf %.17g", trial, cap, v, got, aucOf(sets, pos, neg))
				}
			}
			if allPos > 0 && allNeg > 0 {
				if got, _ := aucDeLong(all, allPos, allNeg); got != aucOf(all, allPos, allNeg) {
					t.Errorf("trial %d cap %d all: auc %.17g, aucOf %.17g", trial, cap, got, aucOf(all, allPos, allNeg))
				}
			}
		}
	}
}

// TestUint192 checks the wide sums with math/big, including operands near 2^63 whose
// products carry across every word.
func TestUint192(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	var s uint192
	var u uint128
	want, wantU := new(big.Int), new(big.Int)
	for i := range 2000 {
		// Four terms near the largest (about 2^189 each), then smaller c: the sum stays
		// below 2^192 as addMulSq requires.
		c, x := rng.Uint64N(1<<50), rng.Uint64N(1<<63)
		if i < 4 {
			c, x = 1<<63-1-rng.Uint64N(4), 1<<63-1-rng.Uint64N(4)
		}
		s.addMulSq(c, x)
		bc, bx := new(big.Int).SetUint64(c), new(big.Int).SetUint64(x)
		want.Add(want, new(big.Int).Mul(bc, new(big.Int).Mul(bx, bx)))
		// keep the 128-bit sum within range: 2000 products of 32-bit operands
		u.addMul(c>>31, x>>31)
		wantU.Add(wantU, new(big.Int).Mul(new(big.Int).SetUint64(c>>31), new(big.Int).SetUint64(x>>31)))
	}
	if got := s.big(); got.Cmp(want) != 0 {
		t.Errorf("192-bit sum %v, want %v", got, want)
	}
	if got := u.big(); got.Cmp(wantU) != 0 {
		t.Errorf("128-bit sum %v, want %v", got, wantU)
	}
}

func evaluationWith(auc, se float64) *Evaluation { return &Evaluation{AUC: &auc, AUCStdErr: &se} }

// TestCompareAUCErrors checks the confidence level and the evaluations CompareAUC
// refuses.
func TestCompareAUCErrors(t *testing.T) {
	ok := evaluationWith(0.8, 0.02)
	noAUC := &Evaluation{}
	noSE := &Evaluation{AUC: ok.AUC}
	tests := []struct {
		name                string
		canary, production  *Evaluation
		confidence          float64
		wantErr             error
		wantPrefix, wantMsg string
	}{
		{name: "confidence 0", canary: ok, production: ok, confidence: 0, wantMsg: "confidence 0: want a number between 0 and 1"},
		{name: "confidence 1", canary: ok, production: ok, confidence: 1, wantMsg: "confidence 1: want"},
		{name: "confidence 95 (percent)", canary: ok, production: ok, confidence: 95, wantMsg: "confidence 95: want"},
		{name: "negative confidence", canary: ok, production: ok, confidence: -0.5, wantMsg: "confidence -0.5: want"},
		{name: "NaN confidence", canary: ok, production: ok, confidence: math.NaN(), wantMsg: "confidence NaN: want"},
		{name: "nil canary", canary: nil, production: ok, confidence: 0.95, wantMsg: "canary: no evaluation"},
		{name: "nil production", canary: ok, production: nil, confidence: 0.95, wantMsg: "production: no evaluation"},
		{name: "canary without AUC", canary: noAUC, production: ok, confidence: 0.95, wantErr: ErrNoAUC, wantPrefix: "canary: "},
		{name: "production without AUC", canary: ok, production: noAUC, confidence: 0.95, wantErr: ErrNoAUC, wantPrefix: "production: "},
		{name: "canary without std err", canary: noSE, production: ok, confidence: 0.95, wantErr: ErrNoAUCStdErr, wantPrefix: "canary: "},
		{name: "production without std err", canary: ok, production: noSE, confidence: 0.95, wantErr: ErrNoAUCStdErr, wantPrefix: "production: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := CompareAUC(tt.canary, tt.production, tt.confidence)
			switch {
			case err == nil:
				t.Fatal("no error")
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Errorf("error %v, want %v", err, tt.wantErr)
			case !strings.HasPrefix(err.Error(), tt.wantPrefix+tt.wantMsg):
				t.Errorf("error %q, want it to start with %q", err, tt.wantPrefix+tt.wantMsg)
			}
		})
	}
}

// TestCompareAUCInterval checks the interval's width against the standard normal's
// quantiles (z_0.975 = 1.959963984540054, z_0.995 = 2.5758293035489004) and that a
// confidence one ulp below 1 still gives a finite interval (z about 8.29).
func TestCompareAUCInterval(t *testing.T) {
	c, p := evaluationWith(0.81, 0.03), evaluationWith(0.85, 0.04)
	for _, tt := range []struct{ confidence, z float64 }{{0.95, 1.959963984540054}, {0.99, 2.5758293035489004}} {
		d, err := CompareAUC(c, p, tt.confidence)
		if err != nil {
			t.Fatal(err)
		}
		if d.StdErr != 0.05 {
			t.Errorf("std err %v, want 0.05 (hypot of 0.03 and 0.04)", d.StdErr)
		}
		if got := (d.Upper - d.Lower) / (2 * d.StdErr); math.Abs(got-tt.z) > 1e-14 {
			t.Errorf("confidence %v: half width %.17g std errs, want %.17g", tt.confidence, got, tt.z)
		}
		if math.Abs(d.Diff+0.04) > 1e-16 || d.Lower >= d.Diff || d.Upper <= d.Diff {
			t.Errorf("confidence %v: diff %v in [%v, %v], want -0.04 inside", tt.confidence, d.Diff, d.Lower, d.Upper)
		}
	}
	d, err := CompareAUC(c, p, math.Nextafter(1, 0))
	if err != nil {
		t.Fatal(err)
	}
	if w := (d.Upper - d.Lower) / (2 * d.StdErr); math.IsInf(w, 0) || w < 8.2 || w > 8.3 {
		t.Errorf("confidence 1-ulp: half width %v std errs, want about 8.29", w)
	}
}

// TestAUCDifferenceJSON checks that a difference with a zero standard error, whose Z is
// infinite, is encoded (Z as null) and decoded back to the same value.
func TestAUCDifferenceJSON(t *testing.T) {
	perfect, flat := evaluationWith(1, 0), evaluationWith(0.5, 0)
	for _, tt := range []struct {
		name               string
		canary, production *Evaluation
		wantZ              float64
		wantNull           bool
	}{
		{"canary better, no variance", perfect, flat, math.Inf(1), true},
		{"canary worse, no variance", flat, perfect, math.Inf(-1), true},
		{"equal, no variance", flat, flat, 0, false},
		{"ordinary", evaluationWith(0.75, 0.1875), evaluationWith(0.5, 0.25), 0.8, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, err := CompareAUC(tt.canary, tt.production, 0.95)
			if err != nil {
				t.Fatal(err)
			}
			if d.Z != tt.wantZ {
				t.Errorf("z %v, want %v", d.Z, tt.wantZ)
			}
			if math.IsInf(d.Z, 0) != (d.P == 0) || (d.Z == 0) != (d.P == 1) {
				t.Errorf("z %v with p %v", d.Z, d.P)
			}
			b, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			if null := strings.Contains(string(b), `"z":null`); null != tt.wantNull {
				t.Errorf("encoded %s, want z null: %v", b, tt.wantNull)
			}
			var back AUCDifference
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if back != d {
				t.Errorf("decoded %+v, want %+v", back, d)
			}
		})
	}
}

// logToParquet converts a log of testdata/delong (model_version, score, label) to
// Parquet with internal/dataset: the version as a string, score and label as DOUBLE.
func logToParquet(t *testing.T, src, dst string) {
	t.Helper()
	tab, err := dataset.Read(src, dataset.Options{Categorical: []string{ColumnVersion}})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := dataset.WriteParquet(&buf, tab); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// benchmarkSets returns the sorted score set of 1,000,000 labelled rows of one version
// with distinct scores (the spill path: the worst case for the merge).
func benchmarkSets(b *testing.B) ([]*scoreSet, int64, int64) {
	rng := rand.New(rand.NewPCG(1, 2))
	acc, err := NewAccumulator(Options{})
	if err != nil {
		b.Fatal(err)
	}
	for range benchRows {
		acc.Add(Prediction{Version: "1", Score: rng.Float64(), Label: int8(rng.IntN(2)), LatencyMs: math.NaN()})
	}
	vs := acc.stats["1"]
	vs.scores.sort()
	return []*scoreSet{&vs.scores}, vs.positives, vs.samples - vs.positives
}

// BenchmarkAUCOf1M is the AUC's merge alone over 1,000,000 distinct scores, the
// baseline of BenchmarkAUCDeLong1M.
func BenchmarkAUCOf1M(b *testing.B) {
	sets, pos, neg := benchmarkSets(b)
	b.ReportAllocs()
	for b.Loop() {
		aucOf(sets, pos, neg)
	}
}

// BenchmarkAUCDeLong1M is the AUC with its DeLong standard error (what Result computes)
// over the same 1,000,000 distinct scores.
func BenchmarkAUCDeLong1M(b *testing.B) {
	sets, pos, neg := benchmarkSets(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, se := aucDeLong(sets, pos, neg); se == nil {
			b.Fatal("no std err")
		}
	}
}
