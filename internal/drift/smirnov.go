package drift

import "math"

// cephesMinLog is log(2^-1075), below which exp underflows to zero (cephes MINLOG).
const cephesMinLog = -7.451332191019412076235e2

// smirnovMaxN is the sample size above which smirnov uses its closed-form approximation.
const smirnovMaxN = 1000000

// smirnovMaxExponent keeps both halves of a scaled double-double power normal.
const smirnovMaxExponent = 960

// smirnov is the survival function of the one-sided Kolmogorov–Smirnov statistic D+_n,
// P(D+_n >= x) = x · Σ_{v=0}^{⌊n(1−x)⌋} C(n,v) (x+v/n)^(v−1) (1−x−v/n)^(n−v)
// (Smirnov 1944, Birnbaum–Tingey 1951), or the few-term upper sum when that is better
// conditioned. It ports scipy.special.smirnov (cephes kolmogorov.c, van Mulbregt 2018):
// the same special cases, choice of sum, term order and early termination, with the
// terms accumulated in double-double and binomials kept as mantissa and exponent, so
// nothing overflows for n up to 10^6. Cephes raises each lower-sum term to its powers in
// double-double; here those terms are exp of a log computed from double-double
// arguments (see smirnovTermLog), which agrees to about 1e-12 relative and is an order
// of magnitude faster: a drifted 20,000-row column needs thousands of terms.
//
// Special cases are: NaN for n < 1 or x outside [0, 1]; 1 at x = 0; 0 at x = 1.
func smirnov(n int, x float64) float64 {
	if !(n > 0 && x >= 0 && x <= 1) {
		return math.NaN()
	}
	if n == 1 {
		return 1 - x
	}
	if x == 0 {
		return 1
	}
	if x == 1 {
		return 0
	}
	alpha, nxfl := modNX(n, x)
	n1mxfl := n - nxfl
	if alpha != 0 {
		n1mxfl--
	}
	n1mxceil := n - nxfl
	if alpha == 0 {
		// The term at v = n(1-x) is zero; leave it out of both sums.
		n1mxfl--
		n1mxceil++
	}

	if nxfl == 0 || (nxfl == 1 && alpha == 0) {
		t := pow2(1, x, n-1)
		return clip01(1 - x*t)
	}
	if -2*float64(n)*x*x < cephesMinLog {
		return 0
	}
	if nxfl >= n-1 {
		return clip01(pow2(1, -x, n))
	}
	if n > smirnovMaxN {
		logp := -math.Pow(6.0*float64(n)*x+1, 2) / 18.0 / float64(n)
		if logp < -math.Ln2 {
			return clip01(math.Exp(logp))
		}
		return clip01(1 - (-math.Expm1(logp)))
	}

	// The upper sum alternates in sign; use it only with very few terms.
	nUpperTerms := n - n1mxceil + 1
	useUpper := nUpperTerms <= 1 && x < 0.5
	useUpper = useUpper || (n >= 10 && nUpperTerms <= 3 && x <= 0.5/math.Sqrt(float64(n)))

	start, step, nTerms := 0, 1, n1mxfl+1
	vmid := n / 2
	cman, cexpt := ddD(1), 0
	var aj dd
	if useUpper {
		start, step = n, -1
		nTerms = n - n1mxceil + 1
		aj = pow4D(1, x, 1, 0, n-1)
	} else {
		aj = smirnovTermLog(n, x, 0, cman, cexpt)
	}
	sum := aj
	cman, cexpt = updateBinomial(cman, cexpt, n, 0)
	for j := 1; j < nTerms; j++ {
		v := start + j*step
		if useUpper {
			aj = smirnovTerm(n, x, v, cman, cexpt)
		} else {
			aj = smirnovTermLog(n, x, v, cman, cexpt)
		}
		if aj.isFinite() && !aj.isZero() {
			sum = sum.add(aj)
		}
		if !aj.isZero() {
			if 4*float64(nTerms-j)*math.Abs(aj.hi) < dblEpsilon*sum.hi && j != nTerms-1 {
				break
			}
		} else if j > vmid {
			break
		}
		cman, cexpt = updateBinomial(cman, cexpt, n, j)
	}
	prob := sum.mulD(x).hi
	if step < 0 {
		return clip01(1 - prob)
	}
	return clip01(prob)
}

const dblEpsilon = 0x1p-52

func clip01(p float64) float64 {
	if p < 0 {
		return 0
	}
	if p > 1 {
		return 1
	}
	return p
}

// modNX returns the fractional part alpha of n·x and ⌊n·x⌋, computed exactly.
func modNX(n int, x float64) (alpha float64, nxfloor int) {
	nx := ddMulDD(float64(n), x)
	fl := nx.floor()
	alpha = nx.sub(fl).hi
	nxfloor = int(fl.hi)
	if alpha == 1 {
		nxfloor++
		alpha = 0
	}
	return alpha, nxfloor
}

// updateBinomial advances C(n, j) to C(n, j+1), held as mantissa and binary exponent.
func updateBinomial(cman dd, cexpt, n, j int) (dd, int) {
	rat := ddQuo(float64(n-j), float64(j)+1.0)
	man, e := cman.mul(rat).frexp()
	return man, cexpt + e
}

// powD returns a^m, trading a little accuracy for speed as cephes does: the high part by
// math.Pow and the low part by a first-order (or log1p) correction.
func powD(a dd, m int) dd {
	if m <= 0 {
		if m == 0 {
			return ddD(1)
		}
		return powD(a, -m).inv()
	}
	if a.isZero() {
		return dd{}
	}
	ans := math.Pow(a.hi, float64(m))
	r := a.lo / a.hi
	adj := float64(m) * r
	if math.Abs(adj) > 1e-8 {
		if math.Abs(adj) < 1e-4 {
			adj += float64(float64(m)*r) * (float64(m-1) / 2.0 * r)
		} else {
			adj = math.Expm1(float64(m) * math.Log1p(r))
		}
	}
	return ddAddDD(ans, ans*adj)
}

func pow2(a, b float64, m int) float64 { return powD(ddAddDD(a, b), m).hi }

// nextPowerOf2 returns the power of two at or above |x| (cephes' rounding trick).
func nextPowerOf2(x float64) float64 {
	q := math.Ldexp(x, 1-53)
	l := math.Abs(q + x)
	if l == 0 {
		return math.Abs(x)
	}
	if li := float64(int(l)); li == l {
		return li
	}
	return l
}

// pow2Scaled returns a^m as a mantissa in [0.5, 1) and a binary exponent, splitting
// the power so that no intermediate underflows.
func pow2Scaled(a dd, m int) (dd, int) {
	if m <= 0 {
		if m == 0 {
			return ddD(1), 0
		}
		ans, e1 := pow2Scaled(a, -m)
		inv, e2 := ans.inv().frexp()
		return inv, -e1 + e2
	}
	y, ye := a.frexp()
	if m == 1 {
		return y, ye
	}
	maxExpt := smirnovMaxExponent
	if float64(m)*(y.hi-1)/y.hi < -smirnovMaxExponent*math.Ln2 {
		lg2y := math.Log(y.hi) / math.Ln2
		if float64(m)*lg2y <= -smirnovMaxExponent {
			maxExpt = int(nextPowerOf2(-smirnovMaxExponent/lg2y+1) / 2)
		}
	}
	if m <= maxExpt {
		ans, e := powD(y, m).frexp()
		return ans, e + m*ye
	}
	q, r := m/maxExpt, m%maxExpt
	y2r, y2rE := pow2Scaled(y, r)
	y2m, y2mE := pow2Scaled(y, maxExpt)
	y2mq, y2mqE := pow2Scaled(y2m, q)
	ans, e := y2r.mul(y2mq).frexp()
	y2mqE += y2mE * q
	return ans, e + y2mqE + y2rE + m*ye
}

// pow4D returns ((a+b)/(c+d))^m.
func pow4D(a, b, c, d float64, m int) dd {
	if m <= 0 {
		if m == 0 {
			return ddD(1)
		}
		return pow4D(c, d, a, b, -m)
	}
	num, den := ddAddDD(a, b), ddAddDD(c, d)
	if num.isZero() {
		if den.isZero() {
			return dd{math.NaN(), math.NaN()}
		}
		return dd{}
	}
	if den.isZero() {
		if num.hi < 0 {
			return dd{math.Inf(-1), math.Inf(-1)}
		}
		return dd{math.Inf(1), math.Inf(1)}
	}
	return powD(num.div(den), m)
}

// ln2Hi and ln2Lo split ln 2 into a double-double.
const (
	ln2Hi = 0.6931471805599453
	ln2Lo = 2.3190468138462996e-17
)

// logDD is log(a) for a > 0 to first order in a.lo: log(a.hi) + a.lo/a.hi.
func logDD(a dd) float64 { return math.Log(a.hi) + a.lo/a.hi }

// smirnovTermLog is A_v(n, x) = C(n,v) (x+v/n)^(v−1) (1−x−v/n)^(n−v) for a lower-sum
// term (1−x−v/n > 0) as exp(L), where the log L is summed in double-double from
// log C = log(Cman) + Cexpt·ln 2 and the products of the exponents with the logs of
// the double-double bases. The error is that of the float64 logs times the exponents,
// about 1e-12 relative for n = 10^4.
func smirnovTermLog(n int, x float64, v int, cman dd, cexpt int) dd {
	t1 := ddQuo(float64(v), float64(n)).addD(x)
	t2 := ddQuo(float64(n-v), float64(n)).subD(x)
	if t2.hi <= 0 || t1.hi <= 0 {
		return smirnovTerm(n, x, v, cman, cexpt)
	}
	l := ddD(logDD(cman))
	l = l.add(ddMulDD(float64(cexpt), ln2Hi)).add(ddMulDD(float64(cexpt), ln2Lo))
	l = l.add(ddMulDD(float64(v-1), logDD(t1)))
	l = l.add(ddMulDD(float64(n-v), logDD(t2)))
	e := math.Exp(l.hi)
	return ddD(e + e*l.lo)
}

// smirnovTerm is A_v(n, x) = C(n,v) (1−x−v/n)^(n−v) (x+v/n)^(v−1).
func smirnovTerm(n int, x float64, v int, cman dd, cexpt int) dd {
	t2x := ddDivDD(float64(n-v), float64(n)).subD(x)
	t2, t2e := pow2Scaled(t2x, n-v)
	t1x := ddDivDD(float64(v), float64(n)).addD(x)
	t1, t1e := pow2Scaled(t1x, v-1)
	ans := t1.mul(t2).mul(cman)
	return ans.ldexp(cexpt + t1e + t2e)
}
