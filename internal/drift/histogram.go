package drift

import (
	"cmp"
	"math"
	"slices"
	"strconv"
)

// Histogram is a compact picture of one column on both sides of a comparison, for people
// (the web UI draws it): shares of the cleaned values per bin, reference and current. It is
// bounded whatever the data: at most MaxHistogramBins numeric bins, or MaxHistogramCategories
// categories and one bin for all the others.
type Histogram struct {
	// Range is [first, last] of a numeric column's pooled values, split in len(Reference)
	// equal-width bins: edge i is first + i·(last−first)/bins and the last edge is last; bin i
	// holds edge i <= x < edge i+1, the last bin also x == last (np.histogram's rule). The
	// edges are not written out: a report holds one histogram per column. Empty for a
	// categorical column.
	Range []float64 `json:"range,omitempty"`
	// Categories name the bins of a categorical column, the most frequent first (reference
	// and current shares added). Empty for a numeric column.
	Categories []string `json:"categories,omitempty"`
	// Others counts the categories left out of Categories; when it is not zero the last
	// share of Reference and Current is theirs together.
	Others int `json:"others,omitempty"`
	// Reference and Current are the shares of each side's values per bin, rounded to four
	// decimals (a share below 0.00005 shows as 0).
	Reference []float64 `json:"reference"`
	Current   []float64 `json:"current"`
}

// Edges returns the bin edges of a numeric histogram (nil for a categorical one), computed
// from Range as the comparison computed them.
func (h *Histogram) Edges() []float64 {
	if len(h.Range) != 2 || len(h.Reference) == 0 {
		return nil
	}
	return equalWidthEdges(h.Range[0], h.Range[1], len(h.Reference))
}

// Bounds of a Histogram.
const (
	// MaxHistogramBins caps the numeric bins: Sturges' rule gives more only above 2^19
	// pooled values, and then the column gets this many equal-width bins.
	MaxHistogramBins = 20
	// SmallHistogramBins is the number of equal-width bins of a numeric column whose tests
	// do not bin it (at most 20 distinct reference values).
	SmallHistogramBins = 10
	// MaxHistogramCategories caps the named categories of a categorical column.
	MaxHistogramCategories = 12
)

// histogram builds the column's Histogram. A numeric column with more than 20 distinct
// reference values gets the Sturges bins over the pooled range that psi, kl_div and
// jensenshannon use; any other numeric column SmallHistogramBins equal-width bins over the
// pooled range; a categorical column its most frequent categories. It returns nil when the
// pooled range overflows float64.
func (e *evaluator) histogram() *Histogram {
	if e.cp.kind == KindCategorical {
		return e.categoryHistogram()
	}
	a, b := e.cp.sorted[:e.cp.n], e.cur
	first, last := min(a[0], b[0]), max(a[len(a)-1], b[len(b)-1])
	if math.IsInf(last-first, 0) {
		return nil
	}
	var edges []float64
	if e.cp.nunique > 20 {
		edges = SturgesEdges(first, last, len(a)+len(b))
	}
	if edges == nil || len(edges)-1 > MaxHistogramBins {
		bins := SmallHistogramBins
		if edges != nil {
			bins = MaxHistogramBins
		}
		edges = equalWidthEdges(first, last, bins)
	}
	h := &Histogram{Range: []float64{first, last}}
	h.Reference = roundShares(HistogramSorted(a, edges, nil), len(a))
	h.Current = roundShares(HistogramSorted(b, edges, nil), len(b))
	return h
}

// equalWidthEdges splits [first, last] into n equal bins as np.linspace does (and as
// SturgesEdges does for its count); a single value gets one bin [first, last].
func equalWidthEdges(first, last float64, n int) []float64 {
	if !(last > first) {
		return []float64{first, last}
	}
	edges := make([]float64, n+1)
	step := (last - first) / float64(n)
	for i := range n {
		// The conversion keeps the product rounded on its own (no FMA), as SturgesEdges does.
		edges[i] = float64(float64(i)*step) + first
	}
	edges[n] = last
	return edges
}

// categoryHistogram keeps the MaxHistogramCategories categories with the largest shares
// (reference and current added; ties by name) and gathers the rest in one bin.
func (e *evaluator) categoryHistogram() *Histogram {
	var names []string
	var ref, cur []float64
	if e.cp.numeric {
		// A numeric column treated as categories: its distinct values, named as numbers.
		a, b := e.cp.sorted[:e.cp.n], e.cur
		i, j := 0, 0
		for i < len(a) || j < len(b) {
			v := math.Inf(1)
			if i < len(a) {
				v = a[i]
			}
			if j < len(b) {
				v = min(v, b[j])
			}
			i0, j0 := i, j
			for i < len(a) && a[i] <= v {
				i++
			}
			for j < len(b) && b[j] <= v {
				j++
			}
			names = append(names, strconv.FormatFloat(v, 'g', -1, 64))
			ref, cur = append(ref, float64(i-i0)), append(cur, float64(j-j0))
		}
	} else {
		for k, n := range e.cp.counts {
			names, ref, cur = append(names, k), append(ref, float64(n)), append(cur, float64(e.curStrings[k]))
		}
		for k, n := range e.curStrings {
			if _, ok := e.cp.counts[k]; !ok {
				names, ref, cur = append(names, k), append(ref, 0), append(cur, float64(n))
			}
		}
	}
	nRef, nCur := sum(ref), sum(cur)
	order := make([]int, len(names))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(x, y int) int {
		return cmp.Or(cmp.Compare(ref[y]/nRef+cur[y]/nCur, ref[x]/nRef+cur[x]/nCur), cmp.Compare(names[x], names[y]))
	})
	h := &Histogram{}
	keep := min(len(order), MaxHistogramCategories)
	var rc, cc []float64
	for _, i := range order[:keep] {
		h.Categories = append(h.Categories, names[i])
		rc, cc = append(rc, ref[i]), append(cc, cur[i])
	}
	if rest := order[keep:]; len(rest) > 0 {
		h.Others = len(rest)
		var r, c float64
		for _, i := range rest {
			r, c = r+ref[i], c+cur[i]
		}
		rc, cc = append(rc, r), append(cc, c)
	}
	h.Reference = roundShares(rc, int(nRef))
	h.Current = roundShares(cc, int(nCur))
	return h
}

func sum(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s
}

// roundShares turns counts out of n into shares rounded to four decimals, which keeps a
// report's JSON short.
func roundShares(counts []float64, n int) []float64 {
	for i, c := range counts {
		counts[i] = math.Round(c/float64(n)*1e4) / 1e4
	}
	return counts
}
