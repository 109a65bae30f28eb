package drift

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/medimind/modelops/internal/dataset"
)

// Cross-modal correlation drift (drift-definitions.md §11): for every feature pair
// across two groups, the Spearman correlation in reference and in current, and a Fisher
// Z test of their difference.

// minCorrelationRows is the fewest rows a pair needs on each side to be tested.
const minCorrelationRows = 10

// fisherClip bounds r before atanh, so r = ±1 gives a finite Z.
const fisherClip = 0.999999

// Spearman is scipy.stats.spearmanr(x, y).correlation over the rows where both x and y
// are finite: the Pearson correlation of their average ranks, clipped to [−1, 1]. n is
// the number of those rows. r is NaN when n < 2 or either side is constant there.
func Spearman(x, y []float64) (r float64, n int) {
	var xs, ys []float64
	for i := range min(len(x), len(y)) {
		if finite(x[i]) && finite(y[i]) {
			xs = append(xs, x[i])
			ys = append(ys, y[i])
		}
	}
	n = len(xs)
	s := scratchPool.Get().(*scratch)
	defer scratchPool.Put(s)
	ux, okx := unitRanks(xs, make([]float64, n), s)
	uy, oky := unitRanks(ys, make([]float64, n), s)
	if !okx || !oky {
		return math.NaN(), n
	}
	return clip1(dot(ux, uy)), n
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func clip1(r float64) float64 { return max(-1, min(1, r)) }

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// unitRanks writes into dst the average ranks of x (no NaNs), centred and scaled to
// unit Euclidean norm, so that the Spearman correlation of two such vectors is their
// dot product. It reports false when x has fewer than two values or is constant.
// The values are sorted once with their row numbers; each run of ties then gets the
// mean of the positions it occupies, as scipy.stats.rankdata(method='average').
func unitRanks(x, dst []float64, s *scratch) ([]float64, bool) {
	n := len(x)
	if n < 2 {
		return dst, false
	}
	rv := sortWithRows(x, s)
	if rv[0].key == rv[n-1].key {
		return dst, false
	}
	mean := float64(n+1) / 2
	ss := 0.0
	for i := 0; i < n; {
		j := i + 1
		for j < n && rv[j].key == rv[i].key {
			j++
		}
		d := float64(i+1+j)/2 - mean
		for _, r := range rv[i:j] {
			dst[r.row] = d
		}
		ss += float64(j-i) * d * d
		i = j
	}
	norm := math.Sqrt(ss)
	for i := range dst {
		dst[i] /= norm
	}
	return dst, true
}

// rankedValue is a value's order key with its row, for ranking.
type rankedValue struct {
	key uint64
	row int32
}

// sortWithRows returns the values of x (no NaNs) as order keys with their rows, sorted
// ascending by an LSD radix sort (8-bit digits, passes where every key has the same
// digit skipped). The key maps the IEEE-754 bits to an unsigned integer in numeric
// order, −0 taken as +0, so equal values have equal keys.
func sortWithRows(x []float64, s *scratch) []rankedValue {
	n := len(x)
	if cap(s.ranked) < n {
		s.ranked, s.rankedTmp = make([]rankedValue, n), make([]rankedValue, n)
	}
	src, dst := s.ranked[:n], s.rankedTmp[:n]
	var counts [radixPasses][radixBuckets]uint32
	for i, v := range x {
		if v == 0 {
			v = 0 // −0 → +0
		}
		b := math.Float64bits(v)
		if b>>63 == 1 {
			b = ^b
		} else {
			b |= 1 << 63
		}
		src[i] = rankedValue{b, int32(i)}
		for p := range radixPasses {
			counts[p][(b>>(p*radixBits))&(radixBuckets-1)]++
		}
	}
	for p := range radixPasses {
		c := &counts[p]
		shift := uint(p * radixBits)
		if int(c[(src[0].key>>shift)&(radixBuckets-1)]) == n {
			continue
		}
		var sum uint32
		for i := range c {
			sum, c[i] = sum+c[i], sum
		}
		for _, r := range src {
			d := (r.key >> shift) & (radixBuckets - 1)
			dst[c[d]] = r
			c[d]++
		}
		src, dst = dst, src
	}
	return src
}

// FisherZTest compares two correlation coefficients from independent samples:
// Z = (atanh(r_cur) − atanh(r_ref)) / sqrt(1/(n_ref−3) + 1/(n_cur−3)), each r clipped
// to [−0.999999, 0.999999] first, and p = 2·norm.sf(|Z|).
func FisherZTest(rRef float64, nRef int, rCur float64, nCur int) (z, p float64) {
	zr := math.Atanh(max(-fisherClip, min(fisherClip, rRef)))
	zc := math.Atanh(max(-fisherClip, min(fisherClip, rCur)))
	z = (zc - zr) / math.Sqrt(1/float64(nRef-3)+1/float64(nCur-3))
	return z, 2 * distuv.UnitNormal.Survival(math.Abs(z))
}

// CorrelationOptions configure one correlation check (spec.drift.correlation).
type CorrelationOptions struct {
	// Alpha: a pair changed when its q-value is below it.
	Alpha float64
	// Share: the group pair drifts when changed/tested reaches it.
	Share float64
	// MaxPairs bounds |A|·|B|; more is an error.
	MaxPairs int
	// Top is how many pairs, by largest |Z|, the report lists.
	Top int
}

// DefaultCorrelationOptions are the defaults of §11: alpha 0.01, share 0.1, maxPairs
// 100,000 and the top 20 pairs.
func DefaultCorrelationOptions() CorrelationOptions {
	return CorrelationOptions{Alpha: 0.01, Share: 0.1, MaxPairs: 100000, Top: 20}
}

// CorrelationPair is one tested feature pair. RReference and RCurrent are the
// unclipped coefficients; the clip only enters Z.
type CorrelationPair struct {
	A          string `json:"a"`
	B          string `json:"b"`
	RReference Number `json:"rReference"`
	RCurrent   Number `json:"rCurrent"`
	NReference int    `json:"nReference"`
	NCurrent   int    `json:"nCurrent"`
	Z          Number `json:"z"`
	PValue     Number `json:"pValue"`
	QValue     Number `json:"qValue"`
	// Changed is QValue < Alpha; it is not part of the JSON contract.
	Changed bool `json:"-"`
}

// CorrelationReport is one element of the "correlation" array of
// `modelops drift -o json`.
type CorrelationReport struct {
	Groups  [2]string `json:"groups"`
	Tested  int       `json:"tested"`
	Changed int       `json:"changed"`
	Share   float64   `json:"share"`
	Drifted bool      `json:"drifted"`
	// Pairs are the Top tested pairs with the largest |Z|.
	Pairs []CorrelationPair `json:"pairs"`
}

// CorrelationDrift runs §11 for the group pair (a, b) named groups: every numeric
// feature of a against every numeric feature of b, in reference and in current; a pair
// is tested when both windows have at least 10 rows where both are finite and neither
// side is constant there. q-values are Benjamini–Hochberg over the tested pairs. Text
// columns are not correlated (their pairs are not tested). A feature missing from
// either table is an error.
//
// Each column is ranked once per window; for the columns with no missing value the
// pair loop is one matrix product of the unit rank vectors (BLAS dgemm). Pairs that
// involve a column with missing values are ranked over their common rows.
func CorrelationDrift(ctx context.Context, groups [2]string, a, b []string, ref, cur *dataset.Table, opts CorrelationOptions) (*CorrelationReport, error) {
	if len(a)*len(b) > opts.MaxPairs {
		return nil, fmt.Errorf("correlation %s × %s: %d × %d = %d pairs exceed maxPairs %d: %w",
			groups[0], groups[1], len(a), len(b), len(a)*len(b), opts.MaxPairs, ErrInvalidInput)
	}
	var win [2]pairMatrix
	for w, t := range []*dataset.Table{ref, cur} {
		ca, err := numericColumns(t, a)
		if err != nil {
			return nil, err
		}
		cb, err := numericColumns(t, b)
		if err != nil {
			return nil, err
		}
		if win[w], err = correlate(ctx, ca, cb); err != nil {
			return nil, err
		}
	}
	rep := &CorrelationReport{Groups: groups, Pairs: []CorrelationPair{}}
	var pairs []CorrelationPair
	var pvals []float64
	for i := range a {
		for j := range b {
			k := i*len(b) + j
			rr, nr := win[0].r[k], win[0].n[k]
			rc, nc := win[1].r[k], win[1].n[k]
			if nr < minCorrelationRows || nc < minCorrelationRows || math.IsNaN(rr) || math.IsNaN(rc) {
				continue
			}
			z, p := FisherZTest(rr, nr, rc, nc)
			pairs = append(pairs, CorrelationPair{A: a[i], B: b[j], RReference: Number(rr), RCurrent: Number(rc),
				NReference: nr, NCurrent: nc, Z: Number(z), PValue: Number(p)})
			pvals = append(pvals, p)
		}
	}
	for k, q := range BenjaminiHochberg(pvals) {
		pairs[k].QValue = Number(q)
		pairs[k].Changed = q < opts.Alpha
		if pairs[k].Changed {
			rep.Changed++
		}
	}
	rep.Tested = len(pairs)
	if rep.Tested > 0 {
		rep.Share = float64(rep.Changed) / float64(rep.Tested)
		rep.Drifted = rep.Share >= opts.Share
	}
	slices.SortStableFunc(pairs, func(x, y CorrelationPair) int {
		return cmp.Compare(math.Abs(float64(y.Z)), math.Abs(float64(x.Z)))
	})
	rep.Pairs = append(rep.Pairs, pairs[:min(len(pairs), opts.Top)]...)
	return rep, nil
}

// numericColumns looks the named columns up; a text column gives nil (never tested).
func numericColumns(t *dataset.Table, names []string) ([]*dataset.Column, error) {
	out := make([]*dataset.Column, len(names))
	for i, name := range names {
		c, ok := t.Column(name)
		if !ok {
			return nil, fmt.Errorf("%s: correlation feature %q is not in the table: %w", t.Source, name, ErrInvalidInput)
		}
		if c.IsNumeric() {
			out[i] = c
		}
	}
	return out, nil
}

// pairMatrix holds r and n for every pair (i, j), at i·len(b)+j.
type pairMatrix struct {
	r []float64
	n []int
}

// rankedColumn is a column without missing values, as unit rank vector, or nil if
// the column is constant.
type rankedColumn struct {
	complete bool
	unit     []float64
}

// correlate computes the Spearman coefficient of every pair of a × b in one window.
func correlate(ctx context.Context, a, b []*dataset.Column) (pairMatrix, error) {
	rows := 0
	for _, c := range slices.Concat(a, b) {
		if c != nil {
			rows = c.Len()
		}
	}
	ra, ia, ua, err := rankColumns(ctx, a, rows)
	if err != nil {
		return pairMatrix{}, err
	}
	rb, ib, ub, err := rankColumns(ctx, b, rows)
	if err != nil {
		return pairMatrix{}, err
	}
	m := pairMatrix{r: make([]float64, len(a)*len(b)), n: make([]int, len(a)*len(b))}
	for k := range m.r {
		m.r[k] = math.NaN()
	}
	// The complete columns: one product of the stacked unit rank vectors.
	if len(ia) > 0 && len(ib) > 0 {
		c := blas64.General{Rows: len(ia), Cols: len(ib), Stride: len(ib), Data: make([]float64, len(ia)*len(ib))}
		blas64.Gemm(blas.NoTrans, blas.Trans, 1, ua, ub, 0, c)
		for x, i := range ia {
			for y, j := range ib {
				if ra[i].unit != nil && rb[j].unit != nil {
					m.r[i*len(b)+j] = clip1(c.Data[x*len(ib)+y])
				}
			}
		}
	}
	// Pairs with a missing value on either side, ranked over their common rows.
	err = parallel(ctx, len(a), func(i int, _ *scratch) error {
		for j := range b {
			k := i*len(b) + j
			switch {
			case a[i] == nil || b[j] == nil:
			case ra[i].complete && rb[j].complete:
				m.n[k] = rows
			default:
				m.r[k], m.n[k] = Spearman(a[i].Float, b[j].Float)
			}
		}
		return nil
	})
	return m, err
}

// rankColumns ranks each complete numeric column once (in parallel), straight into the
// rows of one row-major matrix, and returns the column index of each matrix row. A
// constant column keeps a zero row and a nil unit vector.
func rankColumns(ctx context.Context, cols []*dataset.Column, rows int) ([]rankedColumn, []int, blas64.General, error) {
	out := make([]rankedColumn, len(cols))
	var idx []int
	for i, c := range cols {
		if c != nil && allFinite(c.Float) {
			out[i].complete = true
			idx = append(idx, i)
		}
	}
	g := blas64.General{Rows: len(idx), Cols: rows, Stride: rows, Data: make([]float64, len(idx)*rows)}
	err := parallel(ctx, len(idx), func(x int, s *scratch) error {
		i := idx[x]
		if u, ok := unitRanks(cols[i].Float, g.Data[x*rows:(x+1)*rows], s); ok {
			out[i].unit = u
		} else {
			clear(g.Data[x*rows : (x+1)*rows])
		}
		return nil
	})
	return out, idx, g, err
}
