package metrics

import (
	"math/big"
	"math/bits"
)

// aucOf returns the area under the ROC curve of the union of sets, which hold pos
// positives and neg negatives (both > 0); the sets must be sorted (scoreSet.sort).
//
// The area equals the Mann–Whitney statistic U / (pos·neg), where U counts, over all
// (positive, negative) pairs, 1 when the positive scores higher and 1/2 when they tie;
// sklearn's roc_auc_score, which integrates the ROC curve with the trapezoidal rule
// over distinct thresholds, gives the same value. Walking the distinct scores upwards
// with the negatives below so far, each score with p positives and n negatives adds
// p·(2·below + n) to 2U. That sum is kept in 128 bits, so it is exact for any log that
// fits on a disk, and the one division at the end is rounded once.
func aucOf(sets []*scoreSet, pos, neg int64) float64 {
	var hi, lo, below uint64 // 2U = hi·2^64 + lo; negatives scored below the current value
	eachDistinct(sets, func(n [2]int64) {
		ph, pl := bits.Mul64(uint64(n[1]), 2*below+uint64(n[0]))
		var carry uint64
		lo, carry = bits.Add64(lo, pl, 0)
		hi += ph + carry
		below += uint64(n[0])
	})
	u2 := new(big.Int).SetUint64(hi)
	u2.Lsh(u2, 64).Or(u2, new(big.Int).SetUint64(lo))
	den := new(big.Int).Mul(big.NewInt(pos), big.NewInt(neg))
	den.Lsh(den, 1)
	auc, _ := new(big.Rat).SetFrac(u2, den).Float64()
	return auc
}

// cursor walks one sorted source of scores: the runs of a scoreSet, or one sorted raw
// chunk of one class.
type cursor struct {
	runs     []scoreRun
	vals     []float64
	positive bool // the class of vals
	i        int
}

func (c *cursor) head() float64 {
	if c.runs != nil {
		return c.runs[c.i].value
	}
	return c.vals[c.i]
}

func (c *cursor) done() bool {
	if c.runs != nil {
		return c.i >= len(c.runs)
	}
	return c.i >= len(c.vals)
}

// take adds the counts of value v, the cursor's head, to n and moves past them.
func (c *cursor) take(v float64, n *[2]int64) {
	if c.runs != nil {
		r := &c.runs[c.i]
		n[0] += r.n[0]
		n[1] += r.n[1]
		c.i++
		return
	}
	j := c.i + 1
	for j < len(c.vals) && c.vals[j] == v {
		j++
	}
	b := 0
	if c.positive {
		b = 1
	}
	n[b] += int64(j - c.i)
	c.i = j
}

// cursorHeap is a min-heap of cursors by head value. It is written out rather than
// going through container/heap because its operations run once per distinct score and
// the interface calls would double the cost of the merge.
type cursorHeap []*cursor

func (h cursorHeap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h cursorHeap) down(i int) {
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && h[r].head() < h[l].head() {
			m = r
		}
		if h[i].head() <= h[m].head() {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

func (h *cursorHeap) pop() {
	old := *h
	n := len(old) - 1
	old[0] = old[n]
	old[n] = nil
	*h = old[:n]
	h.down(0)
}
