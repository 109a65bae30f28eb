package metrics

import (
	"math"
	"math/rand/v2"
	"slices"
)

// percentile95 returns the 95th percentile of the values in parts as numpy.percentile
// computes it by default (method "linear", Hyndman and Fan's definition 7): with n
// values sorted as x[0..n-1], the virtual index h = (n-1)·0.95 lies between the ranks
// floor(h) and floor(h)+1, and the result interpolates between them with NumPy's
// two-sided formula (numpy/lib/function_base.py, _lerp), so that it agrees with NumPy
// to the last bit. ok is false when parts hold no value. The two ranks are found by
// selection, which reorders the values inside parts but sorts nothing.
func percentile95(parts [][]float64) (p float64, ok bool) {
	n := 0
	for _, s := range parts {
		n += len(s)
	}
	if n == 0 {
		return 0, false
	}
	h := float64(n-1) * 0.95
	if h >= float64(n-1) { // n == 1
		return selectK(parts, n-1), true
	}
	lo := math.Floor(h)
	a := selectK(parts, int(lo))
	b := selectK(parts, int(lo)+1)
	return lerp(a, b, h-lo), true
}

// lerp is NumPy's _lerp: a + (b-a)·t, computed from b's side when t >= 0.5. The explicit
// conversions keep the compiler from fusing multiply and add, which NumPy does not.
func lerp(a, b, t float64) float64 {
	d := b - a
	if t >= 0.5 {
		return b - float64(d*(1-t))
	}
	return a + float64(d*t)
}

// selectK returns the k-th smallest (0-based) of the values in parts, taken together,
// with no NaN among them. It is quickselect over several slices at once: a random
// pivot (median of three) splits every slice in place into values below, equal to and
// above it, and the search continues in the part holding rank k. Expected time is
// linear in the number of values; no value is copied until at most 16 remain.
func selectK(parts [][]float64, k int) float64 {
	work := make([][]float64, 0, len(parts))
	for _, s := range parts {
		if len(s) > 0 {
			work = append(work, s)
		}
	}
	bounds := make([][2]int, len(work))
	// A fixed seed makes results and timings repeatable; the values, not an adversary,
	// decide the input.
	rng := rand.New(rand.NewPCG(0x6d6f64656c, 0x6f7073))
	for {
		total := 0
		for _, s := range work {
			total += len(s)
		}
		if total <= 16 {
			var buf [16]float64
			all := buf[:0]
			for _, s := range work {
				all = append(all, s...)
			}
			slices.Sort(all)
			return all[k]
		}
		pivot := median3(pick(work, rng.IntN(total)), pick(work, rng.IntN(total)), pick(work, rng.IntN(total)))
		below, equal := 0, 0
		for i, s := range work {
			lt, gt := partition3(s, pivot)
			bounds[i] = [2]int{lt, gt}
			below += lt
			equal += gt - lt
		}
		switch {
		case k < below:
			for i := range work {
				work[i] = work[i][:bounds[i][0]]
			}
		case k < below+equal:
			return pivot
		default:
			k -= below + equal
			for i := range work {
				work[i] = work[i][bounds[i][1]:]
			}
		}
		kept := work[:0]
		for _, s := range work {
			if len(s) > 0 {
				kept = append(kept, s)
			}
		}
		work = kept
	}
}

// pick returns the i-th value of parts taken in order.
func pick(parts [][]float64, i int) float64 {
	for _, s := range parts {
		if i < len(s) {
			return s[i]
		}
		i -= len(s)
	}
	return math.NaN() // not reached: callers pass i < the number of values
}

func median3(a, b, c float64) float64 {
	if a > b {
		a, b = b, a
	}
	if b > c {
		b = c
	}
	return max(a, b)
}

// partition3 reorders s into values < p, == p and > p (Dijkstra's three-way partition)
// and returns the bounds: s[:lt] < p, s[lt:gt] == p, s[gt:] > p.
func partition3(s []float64, p float64) (lt, gt int) {
	i, gt := 0, len(s)
	for i < gt {
		switch x := s[i]; {
		case x < p:
			s[lt], s[i] = x, s[lt]
			lt++
			i++
		case x > p:
			gt--
			s[i], s[gt] = s[gt], x
		default:
			i++
		}
	}
	return lt, gt
}
