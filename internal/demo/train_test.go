package demo

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/medimind/modelops/examples"
	runnerlocal "github.com/medimind/modelops/internal/runner/local"
	"github.com/medimind/modelops/policies"
)

func TestAUCByHand(t *testing.T) {
	T, F := true, false
	for _, tc := range []struct {
		name   string
		scores []float64
		labels []bool
		want   float64
	}{
		// Pairs (pos, neg): (0.35,0.1) ok, (0.35,0.4) wrong, (0.8,0.1) ok, (0.8,0.4) ok: 3/4.
		{"no ties", []float64{0.1, 0.4, 0.35, 0.8}, []bool{F, F, T, T}, 0.75},
		// Pairs: (0.5,0.5) tie ½, (0.5,0.2) ok, (0.9,0.5) ok, (0.9,0.2) ok: 3.5/4.
		{"a tie across classes counts one half", []float64{0.5, 0.5, 0.2, 0.9}, []bool{T, F, F, T}, 0.875},
		// Pairs: pos {0.7, 0.7, 0.1}, neg {0.7, 0.1}: (0.7,0.7) ½ twice, (0.7,0.1) ok twice,
		// (0.1,0.7) wrong, (0.1,0.1) ½: (1 + 2 + 0 + 0.5)/6.
		{"ties within and across classes", []float64{0.7, 0.7, 0.1, 0.7, 0.1}, []bool{T, T, T, F, F}, 3.5 / 6},
		{"all scores equal", []float64{0.3, 0.3, 0.3}, []bool{T, F, T}, 0.5},
		{"perfect", []float64{0.9, 0.8, 0.2, 0.1}, []bool{T, T, F, F}, 1},
		{"reversed", []float64{0.1, 0.2, 0.8, 0.9}, []bool{T, T, F, F}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AUC(tc.scores, tc.labels)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got-tc.want) > 1e-15 {
				t.Errorf("AUC = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestAUCRefusesWhatHasNoAUC(t *testing.T) {
	for _, tc := range []struct {
		name   string
		scores []float64
		labels []bool
		want   string
	}{
		{"one class", []float64{0.1, 0.2}, []bool{true, true}, "one class"},
		{"NaN score", []float64{0.1, math.NaN()}, []bool{true, false}, "score 2 is NaN"},
		{"length mismatch", []float64{0.1}, []bool{true, false}, "1 scores but 2 labels"},
	} {
		if _, err := AUC(tc.scores, tc.labels); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one saying %q", tc.name, err, tc.want)
		}
	}
}

// TestAUCEqualsPairCounting checks the rank formula against the definition, counting
// every (positive, negative) pair, on data with many ties.
func TestAUCEqualsPairCounting(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 20 {
		n := 5 + rng.IntN(200)
		scores := make([]float64, n)
		labels := make([]bool, n)
		for i := range n {
			labels[i] = rng.Float64() < 0.3
			mu := 0.0
			if labels[i] {
				mu = 0.5
			}
			scores[i] = math.Round((mu+rng.NormFloat64())*4) / 4 // coarse: many ties
		}
		labels[0], labels[1] = true, false
		var good, pairs float64
		for i := range n {
			for j := range n {
				if labels[i] && !labels[j] {
					pairs++
					switch {
					case scores[i] > scores[j]:
						good++
					case scores[i] == scores[j]:
						good += 0.5
					}
				}
			}
		}
		got, err := AUC(scores, labels)
		if err != nil {
			t.Fatal(err)
		}
		if want := good / pairs; math.Abs(got-want) > 1e-12 {
			t.Errorf("trial %d: AUC = %v, pair counting gives %v", trial, got, want)
		}
	}
}

func TestPrecisionRecallAtThreshold(t *testing.T) {
	scores := []float64{0.9, 0.5, 0.4, 0.7, 0.2}
	labels := []bool{true, false, true, true, false}
	// >= 0.5 predicts rows 0, 1, 3: tp 2, fp 1; the positive row 2 is missed.
	p, r := PrecisionRecall(scores, labels, 0.5)
	if p != 2.0/3 || r != 2.0/3 {
		t.Errorf("precision, recall = %v, %v, want 2/3, 2/3", p, r)
	}
	if p, _ := PrecisionRecall(scores, labels, 0.95); p != 0 {
		t.Errorf("precision with no positive prediction = %v, want 0", p)
	}
}

// logisticSample draws n rows of two standard normal features and labels from the logistic
// model with coefficients beta (intercept first).
func logisticSample(n int, beta [3]float64, seed uint64) (*mat.Dense, []float64) {
	rng := rand.New(rand.NewPCG(seed, 0))
	x := mat.NewDense(n, 2, nil)
	y := make([]float64, n)
	for i := range n {
		a, b := rng.NormFloat64(), rng.NormFloat64()
		x.Set(i, 0, a)
		x.Set(i, 1, b)
		if rng.Float64() < sigmoid(beta[0]+beta[1]*a+beta[2]*b) {
			y[i] = 1
		}
	}
	return x, y
}

func TestFitLogisticRecoversCoefficients(t *testing.T) {
	beta := [3]float64{-0.5, 1.5, -1.0}
	x, y := logisticSample(20000, beta, 3)
	m, err := FitLogistic(x, y, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := [3]float64{m.Intercept, m.Coef[0], m.Coef[1]}
	for k := range got {
		// The standard error of each coefficient is about 0.02 at this size.
		if math.Abs(got[k]-beta[k]) > 0.1 {
			t.Errorf("coefficient %d = %.4f, want %.4f ± 0.1", k, got[k], beta[k])
		}
	}
	// At the maximum likelihood the score equations hold: Σ (y − p) = 0 and Σ x_j (y − p) = 0.
	var g0, g1, g2 float64
	for i := range y {
		r := y[i] - m.Predict(x.RawRowView(i))
		g0 += r
		g1 += r * x.At(i, 0)
		g2 += r * x.At(i, 1)
	}
	if math.Abs(g0) > 1e-6 || math.Abs(g1) > 1e-6 || math.Abs(g2) > 1e-6 {
		t.Errorf("score equations not met at the fit: %g %g %g", g0, g1, g2)
	}
}

func TestFitLogisticOnSeparableData(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 0))
	n := 400
	x := mat.NewDense(n, 2, nil)
	y := make([]float64, n)
	for i := range n {
		a, b := rng.NormFloat64(), rng.NormFloat64()
		x.Set(i, 0, a)
		x.Set(i, 1, b)
		if a+0.5*b > 0 {
			y[i] = 1
		}
	}
	// Without a penalty the likelihood has no maximum: the coefficients grow without bound.
	if _, err := FitLogistic(x, y, 0); err == nil {
		t.Error("FitLogistic on separable data without a penalty succeeded; want an error")
	}

	m, err := FitLogistic(x, y, 1)
	if err != nil {
		t.Fatal(err)
	}
	scores := make([]float64, n)
	labels := make([]bool, n)
	wrong := 0
	for i := range n {
		scores[i] = m.Predict(x.RawRowView(i))
		labels[i] = y[i] == 1
		if (scores[i] >= 0.5) != labels[i] {
			wrong++
		}
	}
	auc, err := AUC(scores, labels)
	if err != nil {
		t.Fatal(err)
	}
	if auc < 0.999 {
		t.Errorf("AUC on separable training data = %v, want about 1", auc)
	}
	if wrong > n/100 {
		t.Errorf("%d of %d rows misclassified on separable data", wrong, n)
	}
	// The direction of the separating line is (1, 0.5).
	if ratio := m.Coef[1] / m.Coef[0]; math.Abs(ratio-0.5) > 0.15 || m.Coef[0] <= 0 {
		t.Errorf("coefficients %v do not point along (1, 0.5)", m.Coef)
	}
}

func TestFitLogisticRejectsBadInput(t *testing.T) {
	x := mat.NewDense(3, 1, []float64{1, 2, 3})
	for _, tc := range []struct {
		name string
		x    *mat.Dense
		y    []float64
		want string
	}{
		{"one class", x, []float64{1, 1, 1}, "one class"},
		{"label not 0/1", x, []float64{0, 2, 1}, "label of row 2 is 2"},
		{"missing feature", mat.NewDense(2, 1, []float64{1, math.NaN()}), []float64{0, 1}, "row 2, column 1 is NaN"},
		{"rows and labels differ", x, []float64{0, 1}, "3 rows but 2 labels"},
	} {
		if _, err := FitLogistic(tc.x, tc.y, 1); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one saying %q", tc.name, err, tc.want)
		}
	}
}

// demoRepoDir copies the example policies into a directory with the synthetic data.
func demoRepoDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, examples.PolicyRepo()); err != nil {
		t.Fatal(err)
	}
	set, err := policies.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := WriteData(dir, set, DefaultSeed); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestTrainWritesAResultTheRunnerAccepts(t *testing.T) {
	dir := demoRepoDir(t)
	out := filepath.Join(t.TempDir(), "output")
	res, err := Train(context.Background(), TrainOptions{Dir: dir, Model: "sepsis-risk", Generation: 7, Output: out, Seed: 20260301})
	if err != nil {
		t.Fatal(err)
	}
	// The runner reads result.json with its own strict parser.
	got, err := runnerlocal.ReadResult(filepath.Join(out, "result.json"))
	if err != nil {
		t.Fatalf("the local runner rejects result.json: %v", err)
	}
	if got.Version != "13" || got.URI != res.URI || !strings.HasPrefix(got.URI, "file://") {
		t.Errorf("version, uri = %q, %q", got.Version, got.URI)
	}
	if _, err := os.Stat(strings.TrimPrefix(got.URI, "file://")); err != nil {
		t.Errorf("the uri names no file: %v", err)
	}
	m := got.Metrics
	if m.AUC == nil || !(*m.AUC > 0.75 && *m.AUC <= 1) {
		t.Errorf("auc = %v, want a real fit (> 0.75) on the synthetic sepsis data", m.AUC)
	}
	if m.Samples != sepsisReferenceRows/4 {
		t.Errorf("samples = %d, want the 25%% held out of %d rows", m.Samples, sepsisReferenceRows)
	}
	if m.Precision == nil || m.Recall == nil || *m.Precision <= 0 || *m.Recall <= 0 {
		t.Errorf("precision, recall = %v, %v", m.Precision, m.Recall)
	}
	if m.LatencyMs == nil || *m.LatencyMs <= 0 {
		t.Errorf("latencyMs = %v, want a measured positive time", m.LatencyMs)
	}
	// 10,000 held-out rows drawn from four units cover all four of promotion.categories.
	if m.Coverage == nil || *m.Coverage != 1 {
		t.Errorf("coverage = %v, want 1", m.Coverage)
	}

	again, err := Train(context.Background(), TrainOptions{Dir: dir, Model: "sepsis-risk", Generation: 7, Output: t.TempDir(), Seed: 20260301})
	if err != nil {
		t.Fatal(err)
	}
	if *again.Metrics.AUC != *res.Metrics.AUC || *again.Metrics.Recall != *res.Metrics.Recall {
		t.Errorf("the same seed gave AUC %v then %v", *res.Metrics.AUC, *again.Metrics.AUC)
	}
	other, err := Train(context.Background(), TrainOptions{Dir: dir, Model: "sepsis-risk", Generation: 7, Output: t.TempDir(), Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if *other.Metrics.AUC == *res.Metrics.AUC {
		t.Errorf("another seed split the rows the same way (AUC %v)", *res.Metrics.AUC)
	}
}

func TestTrainNamesWhatIsMissing(t *testing.T) {
	dir := demoRepoDir(t)
	_, err := Train(context.Background(), TrainOptions{Dir: dir, Model: "no-such-model", Output: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), `no valid policy for model "no-such-model"`) {
		t.Errorf("err = %v", err)
	}
	// A label that is not 0/1 is named with its row.
	ref := filepath.Join(dir, "data", "readmission", "reference.csv")
	b, err := os.ReadFile(ref)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	lines[3] = lines[3][:strings.LastIndexByte(lines[3], ',')] + ",2"
	if err := os.WriteFile(ref, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Train(context.Background(), TrainOptions{Dir: dir, Model: "readmission-30d", Output: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), `row 3: column "label": expected 0 or 1, got 2`) {
		t.Errorf("err = %v", err)
	}
}
