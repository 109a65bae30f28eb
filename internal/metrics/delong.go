package metrics

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/bits"

	"gonum.org/v1/gonum/stat/distuv"
)

// The variance of an AUC by DeLong's method (DeLong, DeLong & Clarke-Pearson 1988), and
// the comparison of two AUCs measured on different samples (a canary and production
// split the traffic, so they score different patients).
//
// With m positives X_i and n negatives Y_j, ψ(X, Y) = 1 when X > Y, 1/2 when X = Y and
// 0 otherwise, the placement values are
//
//	V10(X_i) = (1/n) Σ_j ψ(X_i, Y_j)    V01(Y_j) = (1/m) Σ_i ψ(X_i, Y_j)
//
// whose means are both the AUC, and
//
//	Var(AUC) = S10/m + S01/n
//
// where S10 and S01 are the sample variances (denominators m−1 and n−1) of V10 and V01.
// Every positive with the same score has the same V10 and every negative with the same
// score the same V01, so, as in Sun & Xu's fast algorithm (2014), both follow from the
// counts per distinct score that the AUC already walks: no (positive, negative) pair is
// visited. Scaled by 2n and 2m they are integers,
//
//	x = 2n·V10 = 2·(negatives below) + (negatives tied)
//	y = 2m·V01 = 2·(positives above) + (positives tied)
//
// and with U2 = Σ_i x_i = Σ_j y_j (twice the Mann–Whitney U), Sx = Σ_i x_i², Sy = Σ_j y_j²,
//
//	Var(AUC) = [(m·Sx − U2²)/(m−1) + (n·Sy − U2²)/(n−1)] / (4·m²·n²)
//
// The sums are kept in 192-bit integers (enough for any int64 counts) and the ratio is
// rounded once, so the variance is exact before its one rounding, like the AUC.

// aucDeLong returns the area under the ROC curve of the union of sets, which hold pos
// positives and neg negatives (both > 0), and its DeLong standard error, from one walk
// of the distinct scores; the sets must be sorted (scoreSet.sort). The area is aucOf's,
// bit for bit. The standard error is nil when pos < 2 or neg < 2: the sample variance of
// a single placement value is undefined (its denominator m−1 or n−1 is 0), and a
// standard error of 0 would claim a certainty one case cannot give.
func aucDeLong(sets []*scoreSet, pos, neg int64) (auc float64, stdErr *float64) {
	m, n := uint64(pos), uint64(neg)
	var u2 uint128
	var sx, sy uint192
	var below, belowPos uint64 // negatives and positives scored below the current value
	eachDistinct(sets, func(t [2]int64) {
		q, p := uint64(t[0]), uint64(t[1])
		if p > 0 {
			x := 2*below + q
			u2.addMul(p, x)
			sx.addMulSq(p, x)
		}
		if q > 0 {
			y := 2*(m-belowPos-p) + p
			sy.addMulSq(q, y)
		}
		below += q
		belowPos += p
	})
	bm, bn := new(big.Int).SetUint64(m), new(big.Int).SetUint64(n)
	mn := new(big.Int).Mul(bm, bn)
	auc, _ = new(big.Rat).SetFrac(u2.big(), new(big.Int).Lsh(mn, 1)).Float64()
	if pos < 2 || neg < 2 {
		return auc, nil
	}
	one := big.NewInt(1)
	u2sq := u2.big()
	u2sq.Mul(u2sq, u2sq)
	// a = (m·Sx − U2²)·(n−1), b = (n·Sy − U2²)·(m−1)
	a := sx.big()
	a.Mul(a, bm).Sub(a, u2sq).Mul(a, new(big.Int).Sub(bn, one))
	b := sy.big()
	b.Mul(b, bn).Sub(b, u2sq).Mul(b, new(big.Int).Sub(bm, one))
	num := a.Add(a, b)
	// den = 4·m²·n²·(m−1)·(n−1)
	den := new(big.Int).Mul(mn, mn)
	den.Lsh(den, 2).Mul(den, new(big.Int).Sub(bm, one)).Mul(den, new(big.Int).Sub(bn, one))
	v, _ := new(big.Rat).SetFrac(num, den).Float64()
	se := math.Sqrt(v)
	return auc, &se
}

// eachDistinct calls f, in increasing order of score, with the counts (negatives,
// positives) of each distinct score of the union of the sorted sets: the walk aucOf
// makes.
func eachDistinct(sets []*scoreSet, f func(n [2]int64)) {
	var h cursorHeap
	for _, s := range sets {
		if len(s.runs) > 0 {
			h = append(h, &cursor{runs: s.runs})
		}
		for b := range s.raw {
			for _, c := range s.raw[b].c {
				if len(c) > 0 {
					h = append(h, &cursor{vals: c, positive: b == 1})
				}
			}
		}
	}
	h.init()
	for len(h) > 0 {
		v := h[0].head()
		var n [2]int64
		for len(h) > 0 && h[0].head() == v {
			h[0].take(v, &n)
			if h[0].done() {
				h.pop()
			} else {
				h.down(0)
			}
		}
		f(n)
	}
}

// uint128 is an unsigned 128-bit integer, hi·2^64 + lo.
type uint128 struct{ hi, lo uint64 }

// addMul adds a·b.
func (s *uint128) addMul(a, b uint64) {
	h, l := bits.Mul64(a, b)
	var c uint64
	s.lo, c = bits.Add64(s.lo, l, 0)
	s.hi += h + c
}

func (s *uint128) big() *big.Int {
	z := new(big.Int).SetUint64(s.hi)
	return z.Lsh(z, 64).Or(z, new(big.Int).SetUint64(s.lo))
}

// uint192 is an unsigned 192-bit integer, w[2]·2^128 + w[1]·2^64 + w[0].
type uint192 struct{ w [3]uint64 }

// addMulSq adds c·x². Callers keep the sum below 2^192: it is at most m·(2n)² or
// n·(2m)² for int64 counts m and n.
func (s *uint192) addMulSq(c, x uint64) {
	h, l := bits.Mul64(x, x)   // x² = h·2^64 + l
	h1, l1 := bits.Mul64(c, l) // c·l
	h2, l2 := bits.Mul64(c, h) // c·h, to be shifted by 64 bits
	// c·x² = h2·2^128 + (h1 + l2)·2^64 + l1
	mid, c1 := bits.Add64(h1, l2, 0)
	var c0 uint64
	s.w[0], c0 = bits.Add64(s.w[0], l1, 0)
	var c2 uint64
	s.w[1], c2 = bits.Add64(s.w[1], mid, c0)
	s.w[2] += h2 + c1 + c2
}

func (s *uint192) big() *big.Int {
	z := new(big.Int).SetUint64(s.w[2])
	z.Lsh(z, 64).Or(z, new(big.Int).SetUint64(s.w[1]))
	return z.Lsh(z, 64).Or(z, new(big.Int).SetUint64(s.w[0]))
}

// Errors of CompareAUC; each is wrapped with the side it concerns ("canary: ...").
var (
	// ErrNoAUC means an evaluation has no AUC: its scored rows do not hold both classes.
	ErrNoAUC = errors.New("no AUC: the scored rows do not hold both classes")
	// ErrNoAUCStdErr means an evaluation has an AUC but no standard error: it has fewer
	// than two positives or fewer than two negatives.
	ErrNoAUCStdErr = errors.New("no AUC standard error: fewer than 2 positives or 2 negatives")
)

// AUCDifference is the difference between a canary's AUC and production's, with its
// two-sided normal confidence interval and test of no difference. The AUCs come from
// different samples, so their DeLong variances add:
//
//	Diff = AUC_c − AUC_p    StdErr = sqrt(Var_c + Var_p)
//	Lower, Upper = Diff ∓ z_{(1+Confidence)/2}·StdErr
//	Z = Diff / StdErr       P = 2·(1 − Φ(|Z|))
//
// Special cases are:
//
//	StdErr = 0, Diff = 0:  Z = 0, P = 1
//	StdErr = 0, Diff ≠ 0:  Z = ±Inf, P = 0 (encoded in JSON as "z": null)
//
// StdErr is 0 only when both AUCs have a zero variance, such as a perfect separation
// (AUC 1) or one score for every row (AUC 0.5).
type AUCDifference struct {
	// Diff is the canary's AUC minus production's: negative when the canary is worse.
	Diff float64 `json:"diff"`
	// StdErr is the standard error of Diff.
	StdErr float64 `json:"stdErr"`
	// Lower and Upper bound the confidence interval of Diff.
	Lower float64 `json:"lower"`
	Upper float64 `json:"upper"`
	// Z is Diff in standard errors.
	Z float64 `json:"z"`
	// P is the two-sided p-value of Z under no difference.
	P float64 `json:"p"`
	// Confidence is the confidence level of [Lower, Upper], such as 0.95.
	Confidence float64 `json:"confidence"`
}

// CompareAUC returns the difference between the canary's AUC and production's with its
// confidence interval at the given level (0 < confidence < 1, such as 0.95), each AUC's
// variance by DeLong's method (Evaluation.AUCStdErr). It returns an error wrapping
// ErrNoAUC or ErrNoAUCStdErr, naming the side, when either evaluation lacks the figure,
// and an error for a confidence outside (0, 1).
func CompareAUC(canary, production *Evaluation, confidence float64) (AUCDifference, error) {
	if !(confidence > 0 && confidence < 1) {
		return AUCDifference{}, fmt.Errorf("confidence %v: want a number between 0 and 1, both excluded", confidence)
	}
	for _, side := range []struct {
		name string
		e    *Evaluation
	}{{"canary", canary}, {"production", production}} {
		switch {
		case side.e == nil:
			return AUCDifference{}, fmt.Errorf("%s: no evaluation", side.name)
		case side.e.AUC == nil:
			return AUCDifference{}, fmt.Errorf("%s: %w", side.name, ErrNoAUC)
		case side.e.AUCStdErr == nil:
			return AUCDifference{}, fmt.Errorf("%s: %w", side.name, ErrNoAUCStdErr)
		}
	}
	d := AUCDifference{Diff: *canary.AUC - *production.AUC, Confidence: confidence}
	d.StdErr = math.Hypot(*canary.AUCStdErr, *production.AUCStdErr)
	// z_{(1+c)/2} as −z_{(1−c)/2}: 1−c is exact where (1+c)/2 would round to 1 for c
	// near 1, and the lower tail's quantile is the more precise.
	half := -distuv.UnitNormal.Quantile((1-confidence)/2) * d.StdErr
	d.Lower, d.Upper = d.Diff-half, d.Diff+half
	switch {
	case d.StdErr > 0:
		d.Z = d.Diff / d.StdErr
	case d.Diff != 0:
		d.Z = math.Copysign(math.Inf(1), d.Diff)
	}
	// Φ(−|Z|) rather than 1 − Φ(|Z|), which cancels to 0 for |Z| above about 8.
	d.P = 2 * distuv.UnitNormal.CDF(-math.Abs(d.Z))
	return d, nil
}

// aucDifferenceJSON is AUCDifference as encoded: an infinite Z is null.
type aucDifferenceJSON struct {
	Diff       float64  `json:"diff"`
	StdErr     float64  `json:"stdErr"`
	Lower      float64  `json:"lower"`
	Upper      float64  `json:"upper"`
	Z          *float64 `json:"z"`
	P          float64  `json:"p"`
	Confidence float64  `json:"confidence"`
}

// MarshalJSON encodes d with an infinite Z as null, which JSON can carry.
func (d AUCDifference) MarshalJSON() ([]byte, error) {
	j := aucDifferenceJSON{Diff: d.Diff, StdErr: d.StdErr, Lower: d.Lower, Upper: d.Upper, P: d.P, Confidence: d.Confidence}
	if !math.IsInf(d.Z, 0) {
		j.Z = &d.Z
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes what MarshalJSON encodes: a null Z is infinite, with Diff's sign.
func (d *AUCDifference) UnmarshalJSON(b []byte) error {
	var j aucDifferenceJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*d = AUCDifference{Diff: j.Diff, StdErr: j.StdErr, Lower: j.Lower, Upper: j.Upper, P: j.P, Confidence: j.Confidence}
	if j.Z != nil {
		d.Z = *j.Z
	} else {
		d.Z = math.Copysign(math.Inf(1), j.Diff)
	}
	return nil
}
