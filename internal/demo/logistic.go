package demo

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/mat"
)

// Logistic is a fitted logistic regression: P(y=1 | x) = σ(Intercept + Coef·x).
type Logistic struct {
	Intercept float64   `json:"intercept"`
	Coef      []float64 `json:"coef"`
	// Iterations is how many Newton steps the fit took.
	Iterations int `json:"iterations"`
}

// Predict returns P(y=1 | x).
func (m *Logistic) Predict(x []float64) float64 {
	eta := m.Intercept
	for j, c := range m.Coef {
		eta += c * x[j]
	}
	return sigmoid(eta)
}

// maxNewtonSteps bounds FitLogistic; a penalised fit converges in a handful of steps.
const maxNewtonSteps = 100

// FitLogistic fits a logistic regression of y (0 or 1) on the rows of x by Newton's method
// (iteratively reweighted least squares) on the log-loss plus lambda/2·‖coef‖², the
// intercept unpenalised. Each step solves (ZᵀWZ + Λ)·δ = Zᵀ(y − p) − Λβ with a Cholesky
// factorisation, Z being x with a leading column of ones and W = diag(p(1 − p)).
//
// A positive lambda keeps the coefficients finite when the classes are separable; with
// lambda 0 such data makes the fit fail to converge, which is reported as an error. Columns
// of x should be on comparable scales (standardised) for the penalty to be fair.
func FitLogistic(x *mat.Dense, y []float64, lambda float64) (*Logistic, error) {
	n, p := x.Dims()
	switch {
	case n != len(y):
		return nil, fmt.Errorf("fit logistic regression: %d rows but %d labels", n, len(y))
	case n == 0:
		return nil, errors.New("fit logistic regression: no rows")
	case lambda < 0 || math.IsNaN(lambda):
		return nil, fmt.Errorf("fit logistic regression: lambda must be >= 0, got %g", lambda)
	}
	pos := 0.0
	for i, v := range y {
		if v != 0 && v != 1 {
			return nil, fmt.Errorf("fit logistic regression: label of row %d is %g, expected 0 or 1", i+1, v)
		}
		pos += v
	}
	if pos == 0 || pos == float64(n) {
		return nil, errors.New("fit logistic regression: the labels hold one class only")
	}
	for i := range n {
		for j := range p {
			if v := x.At(i, j); math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("fit logistic regression: row %d, column %d is %g, expected a finite number", i+1, j+1, v)
			}
		}
	}

	// z = [1 | x]
	z := mat.NewDense(n, p+1, nil)
	for i := range n {
		z.Set(i, 0, 1)
		for j := range p {
			z.Set(i, j+1, x.At(i, j))
		}
	}
	beta := mat.NewVecDense(p+1, nil)
	// Start from the base rate, so the first step is already well scaled.
	rate := pos / float64(n)
	beta.SetVec(0, math.Log(rate/(1-rate)))

	eta := mat.NewVecDense(n, nil)
	resid := mat.NewVecDense(n, nil)
	zw := mat.NewDense(n, p+1, nil)
	var h mat.SymDense
	grad := mat.NewVecDense(p+1, nil)
	step := mat.NewVecDense(p+1, nil)
	var chol mat.Cholesky
	for it := 1; it <= maxNewtonSteps; it++ {
		eta.MulVec(z, beta)
		for i := range n {
			pr := sigmoid(eta.AtVec(i))
			resid.SetVec(i, y[i]-pr)
			sw := math.Sqrt(pr * (1 - pr))
			for j := range p + 1 {
				zw.Set(i, j, sw*z.At(i, j))
			}
		}
		// h = zwᵀ·zw + Λ; grad = zᵀ·(y − p) − Λβ.
		h.Reset()
		h.SymOuterK(1, zw.T())
		grad.MulVec(z.T(), resid)
		for j := 1; j <= p; j++ {
			h.SetSym(j, j, h.At(j, j)+lambda)
			grad.SetVec(j, grad.AtVec(j)-lambda*beta.AtVec(j))
		}
		if ok := chol.Factorize(&h); !ok {
			return nil, errors.New("fit logistic regression: the Hessian is singular (collinear or constant columns; use a positive lambda)")
		}
		if err := chol.SolveVecTo(step, grad); err != nil {
			return nil, fmt.Errorf("fit logistic regression: solve Newton step: %w", err)
		}
		beta.AddVec(beta, step)
		if mat.Norm(step, math.Inf(1)) < 1e-9 {
			m := &Logistic{Intercept: beta.AtVec(0), Coef: make([]float64, p), Iterations: it}
			for j := range p {
				m.Coef[j] = beta.AtVec(j + 1)
			}
			return m, nil
		}
	}
	return nil, fmt.Errorf("fit logistic regression: no convergence in %d Newton steps (separable classes need a positive lambda)", maxNewtonSteps)
}

// AUC is the area under the ROC curve of scores against labels by the rank formula of the
// Mann–Whitney U statistic: AUC = (R₊ − n₊(n₊+1)/2) / (n₊·n₋), where R₊ is the sum of the
// positives' ranks among all scores and tied scores share the average of their ranks. It
// equals the share of (positive, negative) pairs ordered correctly, ties counting one half,
// which is sklearn's roc_auc_score.
//
// Special cases are: both classes must be present, and no score may be NaN; otherwise an
// error is returned.
func AUC(scores []float64, labels []bool) (float64, error) {
	if len(scores) != len(labels) {
		return 0, fmt.Errorf("auc: %d scores but %d labels", len(scores), len(labels))
	}
	var nPos, nNeg float64
	for i, s := range scores {
		if math.IsNaN(s) {
			return 0, fmt.Errorf("auc: score %d is NaN", i+1)
		}
		if labels[i] {
			nPos++
		} else {
			nNeg++
		}
	}
	if nPos == 0 || nNeg == 0 {
		return 0, errors.New("auc: the labels hold one class only")
	}
	order := make([]int, len(scores))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return scores[order[a]] < scores[order[b]] })
	rankSum := 0.0
	for lo := 0; lo < len(order); {
		hi := lo + 1
		for hi < len(order) && scores[order[hi]] == scores[order[lo]] {
			hi++
		}
		// Positions lo..hi-1 hold equal scores: ranks lo+1..hi, averaging (lo+1+hi)/2.
		avg := float64(lo+1+hi) / 2
		for _, i := range order[lo:hi] {
			if labels[i] {
				rankSum += avg
			}
		}
		lo = hi
	}
	return (rankSum - nPos*(nPos+1)/2) / (nPos * nNeg), nil
}

// PrecisionRecall counts score >= threshold as a positive prediction. Precision with no
// positive prediction is 0, as `modelops evaluate` reports it; recall with no positive label
// is 0.
func PrecisionRecall(scores []float64, labels []bool, threshold float64) (precision, recall float64) {
	var tp, fp, fn float64
	for i, s := range scores {
		switch pred := s >= threshold; {
		case pred && labels[i]:
			tp++
		case pred:
			fp++
		case labels[i]:
			fn++
		}
	}
	if tp+fp > 0 {
		precision = tp / (tp + fp)
	}
	if tp+fn > 0 {
		recall = tp / (tp + fn)
	}
	return precision, recall
}
