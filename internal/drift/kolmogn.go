package drift

import (
	"math"

	"gonum.org/v1/gonum/mat"
)

// Constants of the two-sided one-sample Kolmogorov–Smirnov distribution code
// (scipy.stats._ksstats).
var (
	ep128 = math.Ldexp(1, 128)
	em128 = math.Ldexp(1, -128)
)

const (
	sqrt2Pi   = 2.5066282746310002 // sqrt(2π)
	log2Pi    = 1.8378770664093453 // log(2π)
	minLog    = -708
	sqrt3     = 1.7320508075688772
	piSquared = math.Pi * math.Pi
	piFour    = piSquared * piSquared
	piSix     = piFour * piSquared
)

// stirlingCoeffs are B_{2j}/(2j)/(2j−1) for j = 8..1 (Bernoulli numbers B).
var stirlingCoeffs = [...]float64{
	-2.955065359477124183e-2, 6.4102564102564102564e-3,
	-1.9175269175269175269e-3, 8.4175084175084175084e-4,
	-5.952380952380952381e-4, 7.9365079365079365079e-4,
	-2.7777777777777777778e-3, 8.3333333333333333333e-2,
}

// logNFactorialDivNPowN is log(n!/n^n) by Stirling's series with n·log(n) removed
// up front: log(n)/2 − n + log(2π)/2 + Σ_j B_{2j}/(2j)/(2j−1)/n^(2j−1).
func logNFactorialDivNPowN(n int) float64 {
	fn := float64(n)
	rn := 1.0 / fn
	x := rn / fn
	poly := 0.0
	for _, c := range stirlingCoeffs {
		poly = float64(poly*x) + c
	}
	return math.Log(fn)/2 - fn + log2Pi/2 + rn*poly
}

// KolmogorovSF is the survival function P(D_n >= d) of the two-sided one-sample
// Kolmogorov–Smirnov statistic D_n = sup_x |F_n(x) − F(x)|, which is also
// scipy.stats.kstwo.sf(d, n). It follows Simard and L'Ecuyer (2011) as
// scipy.stats._ksstats._kolmogn does:
//
//   - Ruben–Gambino closed forms for n·d <= 1 and n·d >= n−1;
//   - 2·smirnov(n, d) (exact) for d >= 0.5;
//   - for n <= 140: the Durbin matrix (Marsaglia–Tsang–Wang) for n·d² <= 0.754693,
//     Pomeranz's recursion for n·d² <= 4, else Miller's 2·smirnov(n, d);
//   - for n > 140: 0 for n·d² >= 370, 2·smirnov(n, d) for n·d² >= 2.2, else 1 − CDF
//     with the CDF from the Durbin matrix when n <= 100000 and n·d^1.5 <= 1.4, or
//     from the Pelz–Good expansion.
//
// Special cases are: NaN for n < 1 or a NaN d; 1 for d <= 0; 0 for d >= 1.
func KolmogorovSF(n int, d float64) float64 {
	if n <= 0 || math.IsNaN(d) {
		return math.NaN()
	}
	if d >= 1 {
		return 0
	}
	if d <= 0 {
		return 1
	}
	t := float64(n) * d
	if t <= 1 {
		if t <= 0.5 {
			return 1
		}
		var prob float64
		if n <= 140 {
			prob = 1.0
			inv := 1.0 / float64(n)
			for i := 1; i <= n; i++ {
				prob *= float64(float64(i)*inv) * (2*t - 1)
			}
		} else {
			prob = math.Exp(logNFactorialDivNPowN(n) + float64(n)*math.Log(2*t-1))
		}
		return clip01(1 - prob)
	}
	if t >= float64(n-1) {
		return clip01(2 * math.Pow(1.0-d, float64(n)))
	}
	if d >= 0.5 {
		return clip01(2 * smirnov(n, d))
	}
	nxsquared := t * d
	if n <= 140 {
		if nxsquared <= 0.754693 {
			return clip01(1 - kolmogorovDMTW(n, d))
		}
		if nxsquared <= 4 {
			return clip01(1 - kolmogorovPomeranz(n, d))
		}
		return clip01(2 * smirnov(n, d))
	}
	if nxsquared >= 370.0 {
		return 0
	}
	if nxsquared >= 2.2 {
		return clip01(2 * smirnov(n, d))
	}
	var cdf float64
	switch {
	case nxsquared >= 18.0:
		cdf = 1
	case n <= 100000 && float64(n)*math.Pow(d, 1.5) <= 1.4:
		cdf = kolmogorovDMTW(n, d)
	default:
		cdf = kolmogorovPelzGood(n, d)
	}
	return clip01(1 - cdf)
}

// kolmogorovDMTW is P(D_n <= d) by Durbin's matrix method as Marsaglia, Tsang and Wang
// (2003) compute it: with d = (k−h)/n, k a positive integer and 0 <= h < 1, the
// probability is n!/n^n · (H^n)[k,k] for an m×m matrix H, m = 2k−1, powered by
// repeated squaring with the scale kept apart in a binary exponent.
func kolmogorovDMTW(n int, d float64) float64 {
	if d >= 1 {
		return 1
	}
	nd := float64(n) * d
	if nd <= 0.5 {
		return 0
	}
	k := int(math.Ceil(nd))
	h := float64(k) - nd
	m := 2*k - 1

	v := make([]float64, m)
	w := make([]float64, m)
	fac := 1.0
	for j := 1; j <= m; j++ {
		v[j-1] = 1.0 - math.Pow(h, float64(j))
		w[j-1] = fac
		fac /= float64(j) // underflow is harmless here
		v[j-1] *= fac
	}
	tt := math.Pow(math.Max(2*h-1.0, 0), float64(m)) - 2*math.Pow(h, float64(m))
	v[m-1] = (1.0 + tt) * fac

	hm := mat.NewDense(m, m, nil)
	for i := 1; i < m; i++ {
		for r := i - 1; r < m; r++ {
			hm.Set(r, i, w[r-(i-1)])
		}
	}
	for r := 0; r < m; r++ {
		hm.Set(r, 0, v[r])
	}
	for c := 0; c < m; c++ {
		hm.Set(m-1, c, v[m-1-c])
	}

	pw := mat.NewDense(m, m, nil)
	for i := 0; i < m; i++ {
		pw.Set(i, i, 1)
	}
	tmp := mat.NewDense(m, m, nil)
	expnt, hexpnt := 0, 0
	for nn := n; nn > 0; nn /= 2 {
		if nn%2 == 1 {
			tmp.Mul(pw, hm)
			pw, tmp = tmp, pw
			expnt += hexpnt
		}
		tmp.Mul(hm, hm)
		hm, tmp = tmp, hm
		hexpnt *= 2
		if math.Abs(hm.At(k-1, k-1)) > ep128 {
			hm.Scale(1/ep128, hm)
			hexpnt += 128
		}
	}
	p := pw.At(k-1, k-1)
	fn := float64(n)
	for i := 1; i <= n; i++ {
		p = float64(i) * p / fn
		if math.Abs(p) < em128 {
			p *= ep128
			expnt -= 128
		}
	}
	if expnt != 0 {
		p = math.Ldexp(p, expnt)
	}
	return clip01(p)
}

// pomeranzJ1J2 returns the range of non-zero entries of row i of Pomeranz's matrix.
func pomeranzJ1J2(i, n, ll, ceilf, roundf int) (int, int) {
	var j1, j2 int
	if i == 0 {
		j1, j2 = -ll-ceilf-1, ll+ceilf-1
	} else {
		ip1div2, ip1mod2 := (i+1)/2, (i+1)%2
		switch {
		case ip1mod2 == 0 && ip1div2 == n+1:
			j1, j2 = n-ll-ceilf-1, n+ll+ceilf-1
		case ip1mod2 == 0:
			j1, j2 = ip1div2-1-ll-roundf-1, ip1div2+ll-1+ceilf-1
		default:
			j1, j2 = ip1div2-1-ll-1, ip1div2+ll+roundf-1
		}
	}
	return max(j1+2, 0), min(j2, n)
}

// kolmogorovPomeranz is P(D_n <= d) by Pomeranz's (1974) recursion: 2n+2 rows, each
// the convolution of the previous row with Poisson-like weights (g/n)^m/m!,
// (2g/n)^m/m! or ((1−2g)/n)^m/m!, g = min(f, 1−f) for the fractional part f of n·d;
// the answer is n! times the last entry. Two rows suffice, with a binary exponent.
func kolmogorovPomeranz(n int, d float64) float64 {
	t := float64(n) * d
	ll := int(math.Floor(t))
	f := t - float64(ll)
	g := math.Min(f, 1.0-f)
	ceilf, roundf := 0, 0
	if f > 0 {
		ceilf = 1
	}
	if f > 0.5 {
		roundf = 1
	}
	npwrs := 2 * (ll + 1)
	gpower := make([]float64, npwrs)
	twogpower := make([]float64, npwrs)
	onem2gpower := make([]float64, npwrs)
	gpower[0], twogpower[0], onem2gpower[0] = 1, 1, 1
	fn := float64(n)
	gOverN, twoGOverN, oneMinusTwoGOverN := g/fn, 2*g/fn, (1-2*g)/fn
	for m := 1; m < npwrs; m++ {
		fm := float64(m)
		gpower[m] = gpower[m-1] * gOverN / fm
		twogpower[m] = twogpower[m-1] * twoGOverN / fm
		onem2gpower[m] = onem2gpower[m-1] * oneMinusTwoGOverN / fm
	}
	v0 := make([]float64, npwrs)
	v1 := make([]float64, npwrs)
	v1[0] = 1
	v0s, v1s := 0, 0
	expnt := 0
	j1, j2 := pomeranzJ1J2(0, n, ll, ceilf, roundf)
	for i := 1; i < 2*n+2; i++ {
		k1 := j1
		v0, v1 = v1, v0
		v0s, v1s = v1s, v0s
		clear(v1)
		j1, j2 = pomeranzJ1J2(i, n, ll, ceilf, roundf)
		var pwrs []float64
		switch {
		case i == 1 || i == 2*n+1:
			pwrs = gpower
		case i%2 == 1:
			pwrs = twogpower
		default:
			pwrs = onem2gpower
		}
		ln2 := j2 - k1 + 1
		if ln2 > 0 {
			src := v0[k1-v0s : k1-v0s+ln2]
			convStart, convLen := j1-k1, j2-j1+1
			for c := 0; c < convLen; c++ {
				// Entry convStart+c of the full convolution of src and pwrs[:ln2].
				idx := convStart + c
				s := 0.0
				for a := max(0, idx-ln2+1); a <= min(idx, ln2-1); a++ {
					s += src[a] * pwrs[idx-a]
				}
				v1[c] = s
			}
			vmax := 0.0
			for _, x := range v1 {
				vmax = math.Max(vmax, x)
			}
			if 0 < vmax && vmax < em128 {
				for c := range v1 {
					v1[c] *= ep128
				}
				expnt -= 128
			}
			v1s = v0s + j1 - k1
		}
	}
	ans := v1[n-v1s]
	for m := 1; m <= n; m++ {
		if math.Abs(ans) > ep128 {
			ans *= em128
			expnt += 128
		}
		ans *= float64(m)
	}
	if expnt != 0 {
		ans = math.Ldexp(ans, expnt)
	}
	return clip01(ans)
}

// kolmogorovPelzGood is the Pelz–Good (1976) approximation of P(D_n <= d): the
// Li-Chien/Korolyuk expansion K0(z) + K1(z)/√n + K2(z)/n + K3(z)/n^1.5, z = d·√n,
// rewritten with Jacobi theta identities into series in q = exp(−π²/(8z²)).
func kolmogorovPelzGood(n int, d float64) float64 {
	if d <= 0 {
		return 0
	}
	if d >= 1 {
		return 1
	}
	z := math.Sqrt(float64(n)) * d
	zsquared, zthree, zfour, zsix := z*z, z*z*z, math.Pow(z, 4), math.Pow(z, 6)
	qlog := -piSquared / 8 / zsquared
	if qlog < minLog {
		return 0
	}
	q := math.Exp(qlog)

	k1a := -zsquared
	k1b := piSquared / 4
	k2a := 6*zsix + 2*zfour
	k2b := (2*zfour - 5*zsquared) * piSquared / 4
	k2c := piFour * (1 - 2*zsquared) / 16
	k3d := piSix * (5 - 30*zsquared) / 64
	k3c := piFour * (-60*zsquared + 212*zfour) / 16
	k3b := piSquared * (135*zfour - 96*zsix) / 4
	k3a := -30*zsix - 90*math.Pow(z, 8)

	var k [4]float64
	maxk := int(math.Ceil(16 * z / math.Pi))
	for kk := maxk; kk > 0; kk-- {
		m := float64(2*kk - 1)
		msquared, mfour, msix := m*m, math.Pow(m, 4), math.Pow(m, 6)
		qpower := math.Pow(q, float64(8*kk))
		coeffs := [4]float64{
			1.0,
			k1a + k1b*msquared,
			k2a + k2b*msquared + k2c*mfour,
			k3a + k3b*msquared + k3c*mfour + k3d*msix,
		}
		for i := range k {
			k[i] = k[i]*qpower + coeffs[i]
		}
	}
	div := [4]float64{z, 6 * zfour, 72 * math.Pow(z, 7), 6480 * math.Pow(z, 10)}
	for i := range k {
		k[i] = k[i] * q * sqrt2Pi / div[i]
	}

	q = math.Exp(-piSquared / 2 / zsquared)
	sqrt3z := sqrt3 * z
	var k2extra, k3extra float64
	for kk := maxk; kk > 0; kk-- {
		fk := float64(kk)
		ksquared := fk * fk
		kspi := math.Pi * fk
		qp := math.Pow(q, ksquared)
		k2extra += ksquared * qp
		k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ksquared * qp
	}
	k[2] += k2extra * (piSquared * sqrt2Pi / (-36 * zthree))
	k[3] += k3extra * (piSquared * sqrt2Pi / (216 * zsix))
	sum := 0.0
	for i := range k {
		sum += k[i] / math.Pow(float64(n), float64(i)/2.0)
	}
	return sum
}
