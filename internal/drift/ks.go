package drift

import (
	"math"
)

// ksMaxExactN is the largest sample size for which KS2 computes the exact p-value
// (scipy.stats.ks_2samp, method="auto").
const ksMaxExactN = 10000

// KSResult is the outcome of the two-sample Kolmogorov–Smirnov test.
type KSResult struct {
	// D is the statistic; on the exact path it is h/lcm(n1, n2) as SciPy reports it.
	D float64
	// P is the two-sided p-value.
	P float64
	// Exact reports whether P came from the exact lattice-path computation.
	Exact bool
}

// KS2 is the two-sided two-sample Kolmogorov–Smirnov test of samples a and b:
// D = max_x |F_a(x) − F_b(x)| over every pooled value x, with right-continuous ECDFs
// (so ties are handled), and its p-value as scipy.stats.ks_2samp computes it
// (method "auto"): exact when max(n1, n2) <= 10000, else kstwo.sf(D, round(n1·n2/(n1+n2)))
// (see KolmogorovSF). The samples are not modified.
//
// Special cases are: D = NaN and P = NaN when either sample is empty or holds a NaN or
// ±Inf (Compare drops those cells first).
func KS2(a, b []float64) KSResult {
	if len(a) == 0 || len(b) == 0 || !allFinite(a) || !allFinite(b) {
		return KSResult{D: math.NaN(), P: math.NaN()}
	}
	d, _, _ := walk(sortedCopy(a), sortedCopy(b), false)
	return ksPValue(len(a), len(b), d)
}

// ksPValue turns the statistic d of samples of sizes n1 and n2 into SciPy's p-value.
func ksPValue(n1, n2 int, d float64) KSResult {
	if max(n1, n2) <= ksMaxExactN {
		g := gcd(n1, n2)
		lcm := (n1 / g) * n2
		h := int(math.RoundToEven(d * float64(lcm)))
		d = float64(h) * 1.0 / float64(lcm)
		if h == 0 {
			return KSResult{D: d, P: 1, Exact: true}
		}
		var p float64
		if n1 == n2 {
			p = probOutsideSquare(n1, h)
		} else {
			p = outerProbInside(n1, n2, g, h)
		}
		// SciPy treats an overflow, an invalid operation or a result outside [0, 1]
		// as failure of the exact method and falls back to the asymptotic one.
		if p >= 0 && p <= 1 {
			return KSResult{D: d, P: p, Exact: true}
		}
	}
	m, n := float64(max(n1, n2)), float64(min(n1, n2))
	en := m * n / (m + n)
	p := KolmogorovSF(int(math.RoundToEven(en)), d)
	return KSResult{D: d, P: clip01(p)}
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// probOutsideSquare is P(D_{n,n} >= h/n) for two samples of equal size n:
// 2·Σ_k (−1)^(k+1) C(2n, n−kh)/C(2n, n), evaluated Horner-like from the innermost
// term, P = A0(1 − A1(1 − A2(1 − ...))), to avoid cancellation.
func probOutsideSquare(n, h int) float64 {
	p := 0.0
	for k := n / h; k >= 0; k-- {
		p1 := 1.0
		for j := 0; j < h; j++ {
			p1 = float64(n-k*h-j) * p1 / float64(n+k*h+j+1)
		}
		p = p1 * (1.0 - p)
	}
	return 2 * p
}

// outerProbInside is the share of lattice paths from (0,0) to (m,n) that leave the band
// |x/m − y/n| < h/lcm(m,n), i.e. P(D_{m,n} >= h/lcm), by Hodges' (1958) "inside"
// recursion A(x,y) = A(x−1,y) + A(x,y−1) rewritten to carry 1 − p directly
// (Viehmann 2021), one sliding column window at a time.
func outerProbInside(m, n, g, h int) float64 {
	if m < n {
		m, n = n, m
	}
	mg, ng := m/g, n/g
	minj, maxj := 0, min(int(math.Ceil(float64(h)/float64(mg))), n+1)
	curlen := maxj - minj
	lenA := min(2*maxj+2, n+1)
	a := make([]float64, lenA)
	for i := range a {
		a[i] = 1
	}
	for i := minj; i < maxj; i++ {
		a[i] = 0
	}
	for i := 1; i <= m; i++ {
		lastminj, lastlen := minj, curlen
		minj = max(int(math.Floor(float64(ng*i-h)/float64(mg)))+1, 0)
		minj = min(minj, n)
		maxj = min(int(math.Ceil(float64(ng*i+h)/float64(mg))), n+1)
		if maxj <= minj {
			return 1
		}
		val := 1.0
		if minj == 0 {
			val = 0
		}
		fi := float64(i)
		for jj := 0; jj < maxj-minj; jj++ {
			j := jj + minj
			val = (float64(a[jj+minj-lastminj]*fi) + float64(val*float64(j))) / float64(i+j)
			a[jj] = val
		}
		curlen = maxj - minj
		if lastlen > curlen {
			for t := maxj - minj; t < maxj-minj+(lastlen-curlen) && t < len(a); t++ {
				a[t] = 1
			}
		}
	}
	return a[maxj-minj-1]
}
