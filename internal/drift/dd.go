package drift

import "math"

// dd is a double-double number hi+lo with |lo| <= ulp(hi)/2. The one-sided Smirnov
// sum is accumulated in double-double, as SciPy's cephes does, so that its terms
// (binomials times powers with exponents up to n) keep about 32 significant digits.
type dd struct{ hi, lo float64 }

// twoSum returns s = fl(a+b) and the exact rounding error e (Knuth).
func twoSum(a, b float64) (s, e float64) {
	s = a + b
	bb := s - a
	e = (a - (s - bb)) + (b - bb)
	return s, e
}

// quickTwoSum is twoSum for |a| >= |b| (Dekker).
func quickTwoSum(a, b float64) (s, e float64) {
	s = a + b
	e = b - (s - a)
	return s, e
}

// twoProd returns p = fl(a*b) and its exact rounding error; math.FMA is exact here.
func twoProd(a, b float64) (p, e float64) {
	p = a * b
	e = math.FMA(a, b, -p)
	return p, e
}

func ddD(a float64) dd { return dd{a, 0} }

func ddAddDD(a, b float64) dd { s, e := twoSum(a, b); return dd{s, e} }

func ddMulDD(a, b float64) dd { p, e := twoProd(a, b); return dd{p, e} }

// add is the IEEE-bound double-double sum (Briggs and Kahan).
func (a dd) add(b dd) dd {
	s1, s2 := twoSum(a.hi, b.hi)
	t1, t2 := twoSum(a.lo, b.lo)
	s2 += t1
	s1, s2 = quickTwoSum(s1, s2)
	s2 += t2
	s1, s2 = quickTwoSum(s1, s2)
	return dd{s1, s2}
}

func (a dd) neg() dd { return dd{-a.hi, -a.lo} }

func (a dd) sub(b dd) dd { return a.add(b.neg()) }

func (a dd) addD(b float64) dd {
	s1, s2 := twoSum(a.hi, b)
	s2 += a.lo
	s1, s2 = quickTwoSum(s1, s2)
	return dd{s1, s2}
}

func (a dd) subD(b float64) dd { return a.addD(-b) }

func (a dd) mul(b dd) dd {
	p1, p2 := twoProd(a.hi, b.hi)
	p2 += float64(a.hi*b.lo) + float64(a.lo*b.hi) // explicit conversions forbid FMA fusion
	p1, p2 = quickTwoSum(p1, p2)
	return dd{p1, p2}
}

func (a dd) mulD(b float64) dd {
	p1, e1 := twoProd(a.hi, b)
	p2, e2 := twoProd(a.lo, b)
	p1, e1 = quickTwoSum(p1, e2+p2+e1)
	return dd{p1, e1}
}

// div is the accurate double-double quotient (three correction steps).
func (a dd) div(b dd) dd {
	q1 := a.hi / b.hi
	r := a.sub(b.mulD(q1))
	q2 := r.hi / b.hi
	r = r.sub(b.mulD(q2))
	q3 := r.hi / b.hi
	q1, q2 = quickTwoSum(q1, q2)
	return dd{q1, q2}.addD(q3)
}

func ddDivDD(a, b float64) dd { return ddD(a).div(ddD(b)) }

// ddQuo is a/b for integer-valued a and b below 2^53, as a double-double: the remainder
// a − q·b of q = fl(a/b) is exact (FMA), so q + rem/b is accurate to about 2^-104
// relative, like ddDivDD at a fraction of its cost.
func ddQuo(a, b float64) dd {
	q := a / b
	r := math.FMA(-q, b, a)
	s, e := quickTwoSum(q, r/b)
	return dd{s, e}
}

func (a dd) inv() dd { return ddD(1).div(a) }

func (a dd) floor() dd {
	hi := math.Floor(a.hi)
	lo := 0.0
	if hi == a.hi {
		lo = math.Floor(a.lo)
		hi, lo = quickTwoSum(hi, lo)
	}
	return dd{hi, lo}
}

func (a dd) ldexp(e int) dd { return dd{math.Ldexp(a.hi, e), math.Ldexp(a.lo, e)} }

// frexp returns b and e with a = b·2^e and 0.5 <= |b.hi| < 1 (or |b.hi| == 1 with
// b.hi·b.lo < 0).
func (a dd) frexp() (dd, int) {
	man, e := math.Frexp(a.hi)
	b1 := math.Ldexp(a.lo, -e)
	if math.Abs(man) == 0.5 && man*b1 < 0 {
		man *= 2
		b1 *= 2
		e--
	}
	return dd{man, b1}, e
}

func (a dd) isZero() bool { return a.hi == 0 }

func (a dd) isFinite() bool { return !math.IsInf(a.hi, 0) && !math.IsNaN(a.hi) }
