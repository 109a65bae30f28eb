package drift

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/medimind/modelops/internal/dataset"
)

// Batch-effect statistics (drift-definitions.md §10): per feature a test of whether its
// values differ between the batches of the current window (labs, sites, plates), with
// Benjamini–Hochberg q-values over the tested features.

// The batch-effect tests, named after the SciPy functions they equal.
const (
	BatchTestKruskal     = "kruskal"
	BatchTestContingency = "chi2_contingency"
)

// KruskalWallis is scipy.stats.kruskal(*groups): the pooled values are given average
// ranks, R_i is the rank sum of group i, H = 12/(N(N+1))·Σ R_i²/n_i − 3(N+1) divided by
// the tie correction 1 − Σ(t³−t)/(N³−N), and p = chi2.sf(H, k−1).
//
// Special cases are: fewer than two groups, an empty group, or a pooled sample whose
// values are all equal (SciPy raises there) give NaN for both.
func KruskalWallis(groups [][]float64) (h, p float64) {
	total := 0
	for _, g := range groups {
		if len(g) == 0 {
			return math.NaN(), math.NaN()
		}
		total += len(g)
	}
	if len(groups) < 2 {
		return math.NaN(), math.NaN()
	}
	pooled := make([]float64, 0, total)
	for _, g := range groups {
		pooled = append(pooled, g...)
	}
	slices.Sort(pooled)
	n := float64(total)
	ties := 0.0
	for i := 0; i < total; {
		j := i + 1
		for j < total && pooled[j] == pooled[i] {
			j++
		}
		t := float64(j - i)
		ties += t*t*t - t
		i = j
	}
	correction := 1 - ties/(n*n*n-n)
	if correction == 0 {
		return math.NaN(), math.NaN()
	}
	ssbn := 0.0
	for _, g := range groups {
		sum := 0.0
		for _, v := range g {
			sum += averageRank(pooled, v)
		}
		ssbn += sum * sum / float64(len(g))
	}
	h = 12.0/(n*(n+1))*ssbn - 3*(n+1)
	h /= correction
	return h, distuv.ChiSquared{K: float64(len(groups) - 1)}.Survival(h)
}

// averageRank is the 1-based average rank of v in the sorted sample: the mean of the
// positions its ties occupy, as scipy.stats.rankdata(method='average') gives.
func averageRank(sorted []float64, v float64) float64 {
	lo := sort.SearchFloat64s(sorted, v)
	hi := lo + sort.Search(len(sorted)-lo, func(i int) bool { return sorted[lo+i] > v })
	return float64(lo+1+hi) / 2
}

// ChiSquareContingency is scipy.stats.chi2_contingency(table, correction=False) on a
// table of counts whose all-zero rows and columns have been removed first: expected
// e_ij = row_i·col_j/N, χ² = Σ (o−e)²/e, dof = (r−1)(c−1) and p = chi2.sf(χ², dof).
// A table with one row or one column left has dof 0, and then χ² = 0 and p = 1, as in
// SciPy. An empty table gives NaN.
func ChiSquareContingency(table [][]float64) (stat, p float64, dof int) {
	table = dropZeroLines(table)
	if len(table) == 0 {
		return math.NaN(), math.NaN(), 0
	}
	rows := make([]float64, len(table))
	cols := make([]float64, len(table[0]))
	total := 0.0
	for i, row := range table {
		for j, o := range row {
			rows[i] += o
			cols[j] += o
		}
	}
	for _, r := range rows {
		total += r
	}
	dof = (len(rows) - 1) * (len(cols) - 1)
	if dof == 0 {
		return 0, 1, 0
	}
	for i, row := range table {
		for j, o := range row {
			e := rows[i] * cols[j] / total
			d := o - e
			stat += d * d / e
		}
	}
	return stat, distuv.ChiSquared{K: float64(dof)}.Survival(stat), dof
}

// dropZeroLines returns the table without its all-zero rows and columns (a category no
// batch holds has a zero expected count, for which SciPy raises).
func dropZeroLines(table [][]float64) [][]float64 {
	if len(table) == 0 {
		return nil
	}
	keepCol := make([]bool, len(table[0]))
	var out [][]float64
	for _, row := range table {
		any := false
		for j, o := range row {
			if o != 0 {
				keepCol[j] = true
				any = true
			}
		}
		if any {
			out = append(out, row)
		}
	}
	if len(out) == 0 {
		return nil
	}
	for i, row := range out {
		kept := make([]float64, 0, len(row))
		for j, o := range row {
			if keepCol[j] {
				kept = append(kept, o)
			}
		}
		out[i] = kept
	}
	return out
}

// BenjaminiHochberg returns the q-values of the p-values (in their order), as
// scipy.stats.false_discovery_control(p, method='bh'): with p sorted ascending,
// q_(i) = min over j >= i of min(1, m·p_(j)/j).
func BenjaminiHochberg(p []float64) []float64 {
	m := len(p)
	order := make([]int, m)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(p[a], p[b]) })
	q := make([]float64, m)
	running := 1.0
	for k := m - 1; k >= 0; k-- {
		i := order[k]
		running = min(running, float64(m)*p[i]/float64(k+1))
		q[i] = running
	}
	return q
}

// BatchOptions configure the batch-effect check (spec.drift.batch).
type BatchOptions struct {
	// MinRows is the fewest cleaned values a batch needs to enter a feature's test.
	MinRows int
	// Alpha: a feature has a batch effect when its q-value is below it.
	Alpha float64
	// Share: a group reports a batch effect when this share of its tested features
	// have one.
	Share float64
}

// DefaultBatchOptions are the defaults of §10: minRows 30, alpha 0.01, share 0.3.
func DefaultBatchOptions() BatchOptions {
	return BatchOptions{MinRows: 30, Alpha: 0.01, Share: 0.3}
}

// BatchFeatureReport is one feature's batch-effect test. A feature that was not tested
// (fewer than two batches with MinRows values, or a constant numeric feature) has
// Test set but Statistic, PValue and QValue nil and Effect false.
type BatchFeatureReport struct {
	Name      string  `json:"name"`
	Test      string  `json:"test"`
	Statistic *Number `json:"statistic"`
	PValue    *Number `json:"pValue"`
	QValue    *Number `json:"qValue"`
	Effect    bool    `json:"effect"`
}

// BatchGroupReport is the share of a group's tested features that have a batch effect.
type BatchGroupReport struct {
	Name   string  `json:"name"`
	Tested int     `json:"tested"`
	Share  float64 `json:"share"`
	Effect bool    `json:"effect"`
}

// BatchInfo is one batch of the current window.
type BatchInfo struct {
	Name string `json:"name"`
	// Rows counts the rows carrying this batch value.
	Rows int `json:"rows"`
	// DriftedShare is the drifted share of the part-one tests of the whole reference
	// against this batch's rows alone; Suspect is set when it reaches the dataset share
	// while the pooled other batches stay below it (see BatchSuspects).
	DriftedShare float64 `json:"driftedShare"`
	Suspect      bool    `json:"suspect"`
}

// BatchReport is the "batch" object of `modelops drift -o json`.
type BatchReport struct {
	Column   string               `json:"column"`
	Effect   bool                 `json:"effect"`
	Batches  []BatchInfo          `json:"batches"`
	Groups   []BatchGroupReport   `json:"groups"`
	Features []BatchFeatureReport `json:"features"`
}

// BatchGroup names the features of one group for the per-group shares.
type BatchGroup struct {
	Name     string
	Features []string
}

// BatchLabels are the batch of every row of a table: Index[row] indexes Names, -1 for a
// row with no batch value. Names are sorted.
type BatchLabels struct {
	Names []string
	Index []int
	Rows  []int // rows per batch
}

// LabelBatches reads the batch column: a string column's values, or a numeric column's
// finite values formatted as Go's shortest 'g' form; missing and non-finite cells have
// no batch.
func LabelBatches(c *dataset.Column) BatchLabels {
	n := c.Len()
	keys := make([]string, n)
	has := make([]bool, n)
	for i := 0; i < n; i++ {
		if c.IsNumeric() {
			v := c.Float[i]
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			keys[i], has[i] = strconv.FormatFloat(v, 'g', -1, 64), true
		} else if code := c.Codes[i]; code >= 0 && int(code) < len(c.Dict) {
			keys[i], has[i] = c.Dict[code], true
		}
	}
	set := map[string]bool{}
	for i := range keys {
		if has[i] {
			set[keys[i]] = true
		}
	}
	l := BatchLabels{Index: make([]int, n)}
	for k := range set {
		l.Names = append(l.Names, k)
	}
	slices.Sort(l.Names)
	pos := make(map[string]int, len(l.Names))
	for i, k := range l.Names {
		pos[k] = i
	}
	l.Rows = make([]int, len(l.Names))
	for i := range keys {
		l.Index[i] = -1
		if has[i] {
			l.Index[i] = pos[keys[i]]
			l.Rows[l.Index[i]]++
		}
	}
	return l
}

// BatchFeature is one feature column of the current window and how it is tested.
type BatchFeature struct {
	Column *dataset.Column
	Kind   Kind
}

// BatchEffects runs the §10 tests on the current window: each feature's cleaned values
// are split by batch, batches with fewer than MinRows values are dropped for that
// feature, and a feature with two or more batches left is tested (Kruskal–Wallis for
// numeric features, chi-square on the batch × category table for categorical ones).
// q-values are Benjamini–Hochberg over the tested features; groups report the share
// of their tested features with q < Alpha. Batches carry their row counts; their
// drifted shares are filled by BatchSuspects.
func BatchEffects(column string, labels BatchLabels, features []BatchFeature, groups []BatchGroup, opts BatchOptions) (*BatchReport, error) {
	if opts.MinRows < 1 || !(opts.Alpha > 0 && opts.Alpha < 1) || !(opts.Share > 0 && opts.Share <= 1) {
		return nil, fmt.Errorf("batch options: minRows must be at least 1, alpha in (0, 1) and share in (0, 1], got %d, %v, %v: %w",
			opts.MinRows, opts.Alpha, opts.Share, ErrInvalidInput)
	}
	rep := &BatchReport{Column: column, Batches: make([]BatchInfo, len(labels.Names)),
		Features: make([]BatchFeatureReport, len(features)), Groups: []BatchGroupReport{}}
	for i, name := range labels.Names {
		rep.Batches[i] = BatchInfo{Name: name, Rows: labels.Rows[i]}
	}
	var tested []int
	var pvals []float64
	for i, f := range features {
		if f.Column.Len() != len(labels.Index) {
			return nil, fmt.Errorf("batch: feature %q has %d rows, the batch column %d: %w", f.Column.Name, f.Column.Len(), len(labels.Index), ErrInvalidInput)
		}
		fr := BatchFeatureReport{Name: f.Column.Name, Test: BatchTestKruskal}
		var stat, p float64
		if f.Kind == KindCategorical {
			fr.Test = BatchTestContingency
			table := categoryTable(f.Column, labels, opts.MinRows)
			if len(table) >= 2 {
				stat, p, _ = ChiSquareContingency(table)
			} else {
				stat, p = math.NaN(), math.NaN()
			}
		} else {
			if !f.Column.IsNumeric() {
				return nil, fmt.Errorf("batch: feature %q is numeric but holds text: %w", f.Column.Name, ErrInvalidInput)
			}
			stat, p = KruskalWallis(numericGroups(f.Column.Float, labels, opts.MinRows))
		}
		if !math.IsNaN(p) {
			fr.Statistic, fr.PValue = numberPtr(stat), numberPtr(p)
			tested = append(tested, i)
			pvals = append(pvals, p)
		}
		rep.Features[i] = fr
	}
	for k, q := range BenjaminiHochberg(pvals) {
		fr := &rep.Features[tested[k]]
		fr.QValue = numberPtr(q)
		fr.Effect = q < opts.Alpha
	}
	byName := make(map[string]*BatchFeatureReport, len(rep.Features))
	for i := range rep.Features {
		byName[rep.Features[i].Name] = &rep.Features[i]
	}
	for _, g := range groups {
		gr := BatchGroupReport{Name: g.Name}
		effects := 0
		for _, name := range g.Features {
			fr, ok := byName[name]
			if !ok || fr.PValue == nil {
				continue
			}
			gr.Tested++
			if fr.Effect {
				effects++
			}
		}
		if gr.Tested > 0 {
			gr.Share = float64(effects) / float64(gr.Tested)
			gr.Effect = gr.Share >= opts.Share
		}
		rep.Effect = rep.Effect || gr.Effect
		rep.Groups = append(rep.Groups, gr)
	}
	return rep, nil
}

// numericGroups splits the finite values by batch and keeps the batches with at least
// minRows of them.
func numericGroups(x []float64, labels BatchLabels, minRows int) [][]float64 {
	groups := make([][]float64, len(labels.Names))
	for i, v := range x {
		b := labels.Index[i]
		if b < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		groups[b] = append(groups[b], v)
	}
	return slices.DeleteFunc(groups, func(g []float64) bool { return len(g) < minRows })
}

// categoryTable is the batch × category table of counts of a categorical feature, over
// the batches with at least minRows values. Numeric columns declared categorical are
// keyed by their finite values.
func categoryTable(c *dataset.Column, labels BatchLabels, minRows int) [][]float64 {
	keys := map[string]int{}
	var cells [][2]int // (batch, category) per counted row
	for i := 0; i < c.Len(); i++ {
		b := labels.Index[i]
		if b < 0 {
			continue
		}
		var key string
		if c.IsNumeric() {
			v := c.Float[i]
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			key = strconv.FormatFloat(v, 'g', -1, 64)
		} else {
			code := c.Codes[i]
			if code < 0 || int(code) >= len(c.Dict) {
				continue
			}
			key = c.Dict[code]
		}
		k, ok := keys[key]
		if !ok {
			k = len(keys)
			keys[key] = k
		}
		cells = append(cells, [2]int{b, k})
	}
	table := make([][]float64, len(labels.Names))
	for b := range table {
		table[b] = make([]float64, len(keys))
	}
	for _, cell := range cells {
		table[cell[0]][cell[1]]++
	}
	return slices.DeleteFunc(table, func(row []float64) bool {
		n := 0.0
		for _, o := range row {
			n += o
		}
		return n < float64(minRows)
	})
}

func numberPtr(f float64) *Number { n := Number(f); return &n }

// BatchSuspects fills in each batch's DriftedShare and Suspect (§10): the part-one
// comparison of the profiled reference against that batch's rows alone gives its
// drifted share, and the batch is suspect when that share is at least the dataset
// share while the pooled rows of every other batch drift less. Rows without a batch
// value are in no batch; a feature with no value in a batch's rows counts as not drifted
// there. The profile must exclude the batch column (Options.Exclude), which is not a
// feature.
func BatchSuspects(ctx context.Context, p *Profile, cur *dataset.Table, labels BatchLabels, rep *BatchReport) error {
	if len(rep.Batches) != len(labels.Names) {
		return fmt.Errorf("batch report has %d batches, the labels %d: %w", len(rep.Batches), len(labels.Names), ErrInvalidInput)
	}
	threshold := p.opts.datasetShare()
	share := func(keep func(b int) bool, what string) (float64, error) {
		var rows []int
		for i, b := range labels.Index {
			if b >= 0 && keep(b) {
				rows = append(rows, i)
			}
		}
		r, err := p.compare(ctx, selectRows(cur, rows, what), true)
		if err != nil {
			return 0, fmt.Errorf("batch drift of %s: %w", what, err)
		}
		return r.Share, nil
	}
	for b := range rep.Batches {
		info := &rep.Batches[b]
		var err error
		if info.DriftedShare, err = share(func(x int) bool { return x == b }, "batch "+strconv.Quote(info.Name)); err != nil {
			return err
		}
		if info.DriftedShare < threshold || len(rep.Batches) < 2 {
			continue
		}
		others, err := share(func(x int) bool { return x != b }, "the batches other than "+strconv.Quote(info.Name))
		if err != nil {
			return err
		}
		info.Suspect = others < threshold
	}
	return nil
}

// selectRows is the table made of the given rows of t (dictionaries shared).
func selectRows(t *dataset.Table, rows []int, what string) *dataset.Table {
	out := &dataset.Table{Source: t.Source + " (" + what + ")", Rows: len(rows), Columns: make([]dataset.Column, len(t.Columns))}
	for i := range t.Columns {
		c := &t.Columns[i]
		nc := dataset.Column{Name: c.Name, Dict: c.Dict}
		if c.IsNumeric() {
			nc.Float = make([]float64, len(rows))
			for k, r := range rows {
				nc.Float[k] = c.Float[r]
			}
		} else {
			nc.Codes = make([]int32, len(rows))
			for k, r := range rows {
				nc.Codes[k] = c.Codes[r]
			}
		}
		out.Columns[i] = nc
	}
	return out
}
