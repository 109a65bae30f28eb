package drift

import (
	"math"
	"slices"
	"sort"

	"gonum.org/v1/gonum/stat/distuv"
)

// stdFloor is the smallest reference standard deviation the normed Wasserstein
// distance divides by.
const stdFloor = 0.001

// withSentinel returns x with +Inf stored just past its end (x[:len(x)+1]), copying x
// when its capacity has no room. walk relies on the sentinel.
func withSentinel(x []float64) []float64 {
	if cap(x) == len(x) {
		x = append(slices.Clip(x), 0)[:len(x)]
	}
	x[:len(x)+1][len(x)] = math.Inf(1)
	return x
}

// walk merges two sorted, non-empty, NaN-free samples once and returns the KS statistic,
// the Wasserstein-1 distance and the number of distinct pooled values. Both slices must
// carry a +Inf sentinel past their end (withSentinel).
//
// The ECDF difference after each distinct pooled value v is i/n1 − j/n2 with
// i = #{a <= v}, j = #{b <= v}. It is tracked exactly as the integer k = i·n2 − j·n1,
// and turned into float64 only where SciPy's argmax and argmin land, as SciPy computes
// it. W1 adds |k|/(n1·n2)·(v' − v) for consecutive distinct values v < v'. The merge
// step is written without data-dependent branches (the compiler emits conditional
// moves), which matters because the two samples interleave at random.
func walk(a, b []float64, wantW bool) (d, w1 float64, nunique int) {
	n1, n2 := len(a), len(b)
	a, b = a[:n1+1], b[:n2+1]
	ln1, ln2 := int64(n1), int64(n2)
	i, j := 0, 0
	var k int64
	kmax, kmin := int64(math.MinInt64), int64(math.MaxInt64)
	var imax, jmax, imin, jmin int
	wsum := 0.0
	x, y := a[0], b[0]
	for t := n1 + n2; t > 0; t-- {
		takeA := 0
		if x <= y {
			takeA = 1
		}
		v := min(x, y) // MINSD; -0 and +0 compare equal below
		i += takeA
		j += 1 - takeA
		k += int64(takeA)*(ln1+ln2) - ln1
		x, y = a[i], b[j]
		next := min(x, y)
		if next == v {
			continue // v repeats: the ECDFs are evaluated after its last copy
		}
		nunique++
		if k > kmax {
			kmax, imax, jmax = k, i, j
		}
		if k < kmin {
			kmin, imin, jmin = k, i, j
		}
		if wantW && t > 1 {
			wsum += math.Abs(float64(k)) * (next - v)
		}
	}
	fn1, fn2 := float64(n1), float64(n2)
	maxS := float64(imax)/fn1 - float64(jmax)/fn2
	minS := clip01(-(float64(imin)/fn1 - float64(jmin)/fn2))
	d = maxS
	if minS > maxS {
		d = minS
	}
	return d, wsum / (fn1 * fn2), nunique
}

func allFinite(x []float64) bool {
	for _, v := range x {
		if v-v != 0 {
			return false
		}
	}
	return true
}

// sortedCopy returns x sorted ascending, with a walk sentinel, without changing x.
func sortedCopy(x []float64) []float64 {
	s := make([]float64, len(x), len(x)+1)
	copy(s, x)
	slices.Sort(s)
	return withSentinel(s)
}

// Wasserstein is the first Wasserstein (earth mover's) distance between the empirical
// distributions of u and v, W1 = Σ_i |F_u(z_i) − F_v(z_i)|·(z_{i+1} − z_i) over the
// sorted pooled values z (scipy.stats.wasserstein_distance, unweighted).
//
// Special cases are: NaN when either sample is empty or holds a NaN or ±Inf (Compare
// drops those cells first).
func Wasserstein(u, v []float64) float64 {
	if len(u) == 0 || len(v) == 0 || !allFinite(u) || !allFinite(v) {
		return math.NaN()
	}
	_, w, _ := walk(sortedCopy(u), sortedCopy(v), true)
	return w
}

// WassersteinNormed is Wasserstein(ref, cur) / max(σ_ref, 0.001), where σ_ref is the
// population standard deviation of ref (NumPy's np.std, ddof = 0). This is the score
// of the "wasserstein" drift test.
func WassersteinNormed(ref, cur []float64) float64 {
	return Wasserstein(ref, cur) / math.Max(PopStd(ref), stdFloor)
}

// PopStd is the population standard deviation sqrt(Σ(x−x̄)²/n), computed in two passes
// as np.std does. It is NaN for an empty sample.
func PopStd(x []float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	sum := 0.0
	for _, v := range x {
		sum += v
	}
	mean := sum / float64(len(x))
	ss := 0.0
	for _, v := range x {
		dv := v - mean
		ss += dv * dv
	}
	return math.Sqrt(ss / float64(len(x)))
}

// SturgesEdges returns NumPy's histogram_bin_edges(pooled, bins="sturges") for a pooled
// sample of n values spanning [first, last], first < last: width = ptp/(log2(n)+1),
// nb = ceil(ptp/width) equal bins (nb can exceed log2(n)+1 by one through rounding
// when n is a power of two), edge[i] = i·(ptp/nb) + first and edge[nb] = last.
// It returns nil when the span is empty or not finite.
func SturgesEdges(first, last float64, n int) []float64 {
	ptp := last - first
	if !(ptp > 0) || math.IsInf(ptp, 0) || n < 1 {
		return nil
	}
	width := ptp / (math.Log2(float64(n)) + 1.0)
	nb := int(math.Ceil(ptp / width))
	step := ptp / float64(nb)
	edges := make([]float64, nb+1)
	for i := 0; i < nb; i++ {
		// The conversion keeps the product rounded on its own (no FMA), as NumPy does.
		edges[i] = float64(float64(i)*step) + first
	}
	edges[nb] = last
	return edges
}

// HistogramSorted counts a sorted sample into the bins of edges as np.histogram does:
// bin i holds edge[i] <= x < edge[i+1], and the last bin also holds x == edge[nb].
// Values outside [edge[0], edge[nb]] are not counted.
func HistogramSorted(sorted, edges []float64, counts []float64) []float64 {
	nb := len(edges) - 1
	counts = counts[:0]
	prev := sort.SearchFloat64s(sorted, edges[0])
	for i := 1; i <= nb; i++ {
		var c int
		if i < nb {
			c = sort.SearchFloat64s(sorted, edges[i])
		} else {
			c = sort.Search(len(sorted), func(k int) bool { return sorted[k] > edges[nb] })
		}
		counts = append(counts, float64(c-prev))
		prev = c
	}
	return counts
}

// FillZeros replaces, in place, every zero share of p by m/10⁶ when m <= 10⁻⁴ and by
// 10⁻⁴ otherwise, m being the smallest non-zero share (Evidently's epsilon filling).
// The vector is not renormalised. A vector without non-zero entries is left alone.
func FillZeros(p []float64) []float64 {
	m := math.Inf(1)
	for _, v := range p {
		if v != 0 && v < m {
			m = v
		}
	}
	if math.IsInf(m, 1) {
		return p
	}
	fill := 0.0001
	if m <= 0.0001 {
		fill = m / 1e6
	}
	for i, v := range p {
		if v == 0 {
			p[i] = fill
		}
	}
	return p
}

// PSI is the population stability index Σ_i (r_i − c_i)·ln(r_i/c_i) of two share
// vectors after FillZeros on copies of each (not renormalised).
func PSI(r, c []float64) float64 {
	rf, cf := FillZeros(slices.Clone(r)), FillZeros(slices.Clone(c))
	s := 0.0
	for i := range rf {
		s += (rf[i] - cf[i]) * math.Log(rf[i]/cf[i])
	}
	return s
}

// KLDiv is the Kullback–Leibler divergence Σ p_i·ln(p_i/q_i) (scipy.stats.entropy)
// where p and q are the share vectors r and c after FillZeros, each renormalised to sum 1.
func KLDiv(r, c []float64) float64 {
	p, q := normalise(FillZeros(slices.Clone(r))), normalise(FillZeros(slices.Clone(c)))
	s := 0.0
	for i := range p {
		s += relEntr(p[i], q[i])
	}
	return s
}

// JensenShannon is the Jensen–Shannon distance (scipy.spatial.distance.jensenshannon)
// of the unfilled share vectors r and c: with p = r/Σr, q = c/Σc and m = (p+q)/2,
// sqrt((Σ p·ln(p/m) + Σ q·ln(q/m))/2), where 0·ln(0/m) = 0. It lies in [0, sqrt(ln 2)].
func JensenShannon(r, c []float64) float64 {
	p, q := normalise(slices.Clone(r)), normalise(slices.Clone(c))
	left, right := 0.0, 0.0
	for i := range p {
		m := (p[i] + q[i]) / 2.0
		left += relEntr(p[i], m)
		right += relEntr(q[i], m)
	}
	return math.Sqrt((left + right) / 2)
}

func normalise(p []float64) []float64 {
	s := 0.0
	for _, v := range p {
		s += v
	}
	for i := range p {
		p[i] /= s
	}
	return p
}

// relEntr is scipy.special.rel_entr: x·ln(x/y) for x, y > 0, 0 for x = 0 and y >= 0,
// +Inf otherwise.
func relEntr(x, y float64) float64 {
	switch {
	case math.IsNaN(x) || math.IsNaN(y):
		return math.NaN()
	case x > 0 && y > 0:
		return x * math.Log(x/y)
	case x == 0 && y >= 0:
		return 0
	default:
		return math.Inf(1)
	}
}

// ChiSquare is Pearson's chi-square goodness-of-fit test of the current counts against
// the reference counts scaled to the current total, over the same keys:
// e_k = ref_k·(n_cur/n_ref), o_k = cur_k, χ² = Σ (o_k − e_k)²/e_k and
// p = chi2.sf(χ², k−1) (scipy.stats.chisquare; no Yates correction, no pooling).
//
// Special cases are: a key with ref_k = 0 < cur_k gives χ² = +Inf and p = 0; a single
// key (k−1 = 0 degrees of freedom) gives p = NaN; empty or mismatched input gives NaN.
func ChiSquare(refCounts, curCounts []float64) (stat, p float64) {
	if len(refCounts) == 0 || len(refCounts) != len(curCounts) {
		return math.NaN(), math.NaN()
	}
	nRef, nCur := 0.0, 0.0
	for i := range refCounts {
		nRef += refCounts[i]
		nCur += curCounts[i]
	}
	knorm := nCur / nRef
	for i := range refCounts {
		e := refCounts[i] * knorm
		dv := curCounts[i] - e
		stat += dv * dv / e
	}
	dof := float64(len(refCounts) - 1)
	switch {
	case dof <= 0 || math.IsNaN(stat):
		return stat, math.NaN()
	case math.IsInf(stat, 1):
		return stat, 0
	}
	return stat, distuv.ChiSquared{K: dof}.Survival(stat)
}

// ZTest is the two-proportion z-test Evidently applies to a categorical column, on counts
// over sorted keys: the indicator is 1{x != key 0}; with p1, p2 its means in reference
// and current and P = (p1·n1 + p2·n2)/(n1+n2),
// z = (p1 − p2)/sqrt(P(1−P)(1/n1 + 1/n2)) and p = 2·(1 − Φ(|z|)), computed as written so
// that p is exactly 0 once |z| exceeds about 8.3.
//
// Special cases are: when reference and current each hold a single, identical key,
// z = 0 and p = 1; empty or mismatched input gives NaN.
func ZTest(refCounts, curCounts []float64) (z, p float64) {
	if len(refCounts) == 0 || len(refCounts) != len(curCounts) {
		return math.NaN(), math.NaN()
	}
	nRef, nCur := 0.0, 0.0
	refKeys, curKeys, refKey, curKey := 0, 0, -1, -1
	for i := range refCounts {
		nRef += refCounts[i]
		nCur += curCounts[i]
		if refCounts[i] > 0 {
			refKeys++
			refKey = i
		}
		if curCounts[i] > 0 {
			curKeys++
			curKey = i
		}
	}
	if refKeys == 1 && curKeys == 1 && refKey == curKey {
		return 0, 1
	}
	p1 := (nRef - refCounts[0]) / nRef
	p2 := (nCur - curCounts[0]) / nCur
	pooled := (p1*nRef + p2*nCur) / (nRef + nCur)
	z = (p1 - p2) / math.Sqrt(pooled*(1-pooled)*(1.0/nRef+1.0/nCur))
	return z, 2 * (1 - distuv.UnitNormal.CDF(math.Abs(z)))
}
