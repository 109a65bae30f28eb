package drift

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/medimind/modelops/internal/dataset"
)

// Profile is the reference side of a comparison, prepared once: each column cleaned,
// classified, sorted (numeric storage) or counted (string storage), with its standard
// deviation and distinct-value count. A Profile is immutable and may be compared with
// many current tables, concurrently.
type Profile struct {
	source  string
	opts    Options
	groups  []compiledGroup
	columns []*columnProfile
}

// columnProfile is one reference column of a Profile.
type columnProfile struct {
	name    string
	kind    Kind
	numeric bool // storage: float64 values (sorted) or strings (counts)
	n       int  // values after cleaning
	missing int
	sorted  []float64
	std     float64
	nunique int
	invalid int
	counts  map[string]int
}

// scratch holds one worker's reusable buffers, so the per-column hot path does not
// allocate.
type scratch struct {
	vals      []float64
	sort      sortScratch
	refCounts []float64
	curCounts []float64
	ranked    []rankedValue
	rankedTmp []rankedValue
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func (s *scratch) grow(n int) {
	if cap(s.vals) < n+1 {
		s.vals = make([]float64, n+1)
	}
}

// cleanSorted drops NaN and ±Inf from x, sorts the rest into dst (reallocated when its
// capacity cannot also hold the walk sentinel) and returns it with the number of dropped
// cells.
func cleanSorted(x []float64, dst []float64, s *scratch) ([]float64, int) {
	if cap(dst) < len(x)+1 {
		dst = make([]float64, 0, len(x)+1)
	}
	dst = cleanSortInto(x, dst, &s.sort)
	return dst, len(x) - len(dst)
}

// countDistinctSorted counts the distinct values of a sorted sample.
func countDistinctSorted(x []float64) int {
	n := 0
	for i := range x {
		if i == 0 || x[i] != x[i-1] {
			n++
		}
	}
	return n
}

// NewProfile prepares the reference table for Compare under opts.
func NewProfile(ctx context.Context, ref *dataset.Table, opts Options) (*Profile, error) {
	opts = opts.clone()
	groups, err := opts.validate()
	if err != nil {
		return nil, err
	}
	return newProfile(ctx, ref, opts, groups, false)
}

// newProfile prepares ref under opts, already validated. A partial reference (a batch
// of the reference's columns, see Columnwise) may lack the columns the options name.
func newProfile(ctx context.Context, ref *dataset.Table, opts Options, groups []compiledGroup, partial bool) (*Profile, error) {
	if ref == nil {
		return nil, fmt.Errorf("reference table is nil: %w", ErrInvalidInput)
	}
	p := &Profile{source: ref.Source, opts: opts, groups: groups}
	excluded := setOf(opts.Exclude)
	categorical, numeric := setOf(opts.Categorical), setOf(opts.Numeric)
	refIndex := ref.ColumnIndex()
	for _, names := range [][]string{opts.Categorical, opts.Numeric} {
		for _, name := range names {
			if _, ok := refIndex[name]; !ok && !excluded[name] && !partial {
				return nil, fmt.Errorf("%s: column %q named in the options is not in the reference: %w", ref.Source, name, ErrInvalidInput)
			}
		}
	}
	for i := range ref.Columns {
		c := &ref.Columns[i]
		if excluded[c.Name] {
			continue
		}
		cp := &columnProfile{name: c.Name, numeric: c.IsNumeric(), kind: KindNumeric, invalid: c.Invalid}
		switch {
		case categorical[c.Name] && numeric[c.Name]:
			return nil, fmt.Errorf("column %q is listed as both numeric and categorical: %w", c.Name, ErrInvalidInput)
		case categorical[c.Name] || !c.IsNumeric():
			cp.kind = KindCategorical
		}
		if numeric[c.Name] && !c.IsNumeric() {
			return nil, fmt.Errorf("%s: column %q: numeric requested but the column holds text: %w", ref.Source, c.Name, ErrInvalidInput)
		}
		p.columns = append(p.columns, cp)
	}
	if len(p.columns) == 0 && !partial {
		return nil, fmt.Errorf("%s: no columns to compare: %w", ref.Source, ErrInvalidInput)
	}
	err := parallel(ctx, len(p.columns), func(i int, s *scratch) error {
		cp := p.columns[i]
		c := &ref.Columns[refIndex[cp.name]]
		if cp.numeric {
			vals, missing := cleanSorted(c.Float, make([]float64, 0, len(c.Float)+1), s)
			cp.sorted, cp.missing, cp.n = withSentinel(vals), missing-c.Invalid, len(vals)
			cp.std = PopStd(vals)
			cp.nunique = countDistinctSorted(vals)
		} else {
			cp.counts, cp.missing = stringCounts(c)
			cp.n = c.Len() - cp.missing
			cp.nunique = len(cp.counts)
		}
		if cp.n == 0 {
			return fmt.Errorf("%s: column %q has no values after dropping missing and infinite cells: %w", ref.Source, cp.name, ErrInvalidInput)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

func setOf(names []string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// stringCounts counts the values of a dictionary-encoded column by string.
func stringCounts(c *dataset.Column) (map[string]int, int) {
	byCode := make([]int, len(c.Dict))
	missing := 0
	for _, code := range c.Codes {
		if code < 0 || int(code) >= len(c.Dict) {
			missing++
			continue
		}
		byCode[code]++
	}
	counts := make(map[string]int, len(c.Dict))
	for code, n := range byCode {
		if n > 0 {
			counts[c.Dict[code]] += n
		}
	}
	return counts, missing
}

// parallel runs f for 0..n-1 on a bounded pool of GOMAXPROCS workers, each with its own
// scratch buffers, and returns the error of the lowest index that failed. A panic in f
// becomes an error instead of crashing the caller.
func parallel(ctx context.Context, n int, f func(i int, s *scratch) error) error {
	workers := min(runtime.GOMAXPROCS(0), n)
	errs := make([]error, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := scratchPool.Get().(*scratch)
			defer scratchPool.Put(s)
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := ctx.Err(); err != nil {
					errs[i] = err
					return
				}
				errs[i] = safeCall(i, s, f)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return ctx.Err()
}

func safeCall(i int, s *scratch, f func(int, *scratch) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("compute column %d: internal error: %v", i, r)
		}
	}()
	return f(i, s)
}

// Compare compares the current table with the reference table column by column and
// applies the dataset share rule and the groups of opts. Columns are reported in the
// reference table's order.
func Compare(ctx context.Context, ref, cur *dataset.Table, opts Options) (*Report, error) {
	p, err := NewProfile(ctx, ref, opts)
	if err != nil {
		return nil, err
	}
	return p.Compare(ctx, cur)
}

// Compare compares the current table with the profiled reference.
func (p *Profile) Compare(ctx context.Context, cur *dataset.Table) (*Report, error) {
	return p.compare(ctx, cur, false)
}

// compare is Compare; with emptyUndrifted a column with no value left in cur after
// cleaning counts as not drifted (score NaN) instead of failing the comparison, as a
// batch's rows may hold no value of a feature.
func (p *Profile) compare(ctx context.Context, cur *dataset.Table, emptyUndrifted bool) (*Report, error) {
	cols, err := p.compareColumns(ctx, cur, emptyUndrifted)
	if err != nil {
		return nil, err
	}
	return assemble(p.opts, p.groups, cols)
}

// compareColumns compares each column of the profile with its column of cur, which must
// have the same columns (less the excluded ones); emptyUndrifted as for compare.
func (p *Profile) compareColumns(ctx context.Context, cur *dataset.Table, emptyUndrifted bool) ([]ColumnReport, error) {
	if cur == nil {
		return nil, fmt.Errorf("current table is nil: %w", ErrInvalidInput)
	}
	excluded := setOf(p.opts.Exclude)
	inRef := make(map[string]bool, len(p.columns))
	curIndex := cur.ColumnIndex()
	for _, cp := range p.columns {
		inRef[cp.name] = true
		if _, ok := curIndex[cp.name]; !ok {
			return nil, fmt.Errorf("column %q is in the reference (%s) but not in the current data (%s): %w", cp.name, p.source, cur.Source, ErrInvalidInput)
		}
	}
	for i := range cur.Columns {
		name := cur.Columns[i].Name
		if !inRef[name] && !excluded[name] {
			return nil, fmt.Errorf("column %q is in the current data (%s) but not in the reference (%s): %w", name, cur.Source, p.source, ErrInvalidInput)
		}
	}
	cols := make([]ColumnReport, len(p.columns))
	err := parallel(ctx, len(p.columns), func(i int, s *scratch) error {
		cp := p.columns[i]
		c := &cur.Columns[curIndex[cp.name]]
		if emptyUndrifted && !hasCleanValue(c) {
			cols[i] = ColumnReport{Name: cp.name, Kind: cp.kind, NReference: cp.n, MissingReference: cp.missing,
				MissingCurrent: c.Len() - c.Invalid, InvalidReference: cp.invalid, InvalidCurrent: c.Invalid, Score: Number(math.NaN())}
			return nil
		}
		r, err := p.compareColumn(cp, c, s)
		if err != nil {
			return fmt.Errorf("column %q: %w", cp.name, err)
		}
		cols[i] = r
		return nil
	})
	if err != nil {
		return nil, err
	}
	return cols, nil
}

// assemble applies the dataset share rule and the groups to the column verdicts.
func assemble(opts Options, groups []compiledGroup, cols []ColumnReport) (*Report, error) {
	rep := &Report{DatasetShare: opts.datasetShare(), Columns: cols, Groups: []GroupReport{}}
	drifted := 0
	for _, c := range cols {
		if c.Drifted {
			drifted++
		}
	}
	rep.Share = float64(drifted) / float64(len(cols))
	rep.Drifted = rep.Share >= rep.DatasetShare
	for _, g := range groups {
		gr, err := groupReport(g, cols)
		if err != nil {
			return nil, err
		}
		rep.Groups = append(rep.Groups, gr)
	}
	return rep, nil
}

// groupReport applies a group's share rule to the columns it selects.
func groupReport(g compiledGroup, cols []ColumnReport) (GroupReport, error) {
	listed := setOf(g.Features)
	found := make(map[string]bool, len(listed))
	gr := GroupReport{Name: g.Name, Columns: []string{}}
	drifted := 0
	for _, c := range cols {
		if listed[c.Name] || (g.re != nil && g.re.MatchString(c.Name)) {
			found[c.Name] = true
			gr.Columns = append(gr.Columns, c.Name)
			if c.Drifted {
				drifted++
			}
		}
	}
	for _, name := range g.Features {
		if !found[name] {
			return GroupReport{}, fmt.Errorf("group %q: feature %q is not a compared column: %w", g.Name, name, ErrInvalidInput)
		}
	}
	if len(gr.Columns) > 0 {
		gr.Share = float64(drifted) / float64(len(gr.Columns))
		gr.Drifted = gr.Share >= g.share
	}
	return gr, nil
}

// compareColumn runs the column's tests.
func (p *Profile) compareColumn(cp *columnProfile, c *dataset.Column, s *scratch) (ColumnReport, error) {
	r, ev, err := p.prepare(cp, c, s)
	if err != nil {
		return r, err
	}
	chosen, run := p.opts.testsForColumn(cp.kind, cp.n, ev.nValues)
	r.Stats = make(map[Test]TestResult, len(run))
	for _, t := range run {
		score, stat := ev.run(t)
		thr := p.opts.threshold(t)
		tr := TestResult{Score: Number(score), Threshold: thr, Drifted: Drifted(t, score, thr), ScoreKind: ScoreKindOf(t)}
		if isPValueTest(t) {
			st := Number(stat)
			tr.Statistic = &st
		}
		r.Stats[t] = tr
	}
	res := r.Stats[chosen]
	r.Test, r.Score, r.Threshold, r.Drifted, r.ScoreKind = chosen, res.Score, res.Threshold, res.Drifted, res.ScoreKind
	if p.opts.Histograms {
		r.Histogram = ev.histogram()
	}
	return r, nil
}

// prepare cleans the current column and makes the evaluator of the pair.
func (p *Profile) prepare(cp *columnProfile, c *dataset.Column, s *scratch) (ColumnReport, *evaluator, error) {
	r := ColumnReport{Name: cp.name, Kind: cp.kind, NReference: cp.n, MissingReference: cp.missing,
		InvalidReference: cp.invalid, InvalidCurrent: c.Invalid}
	if c.IsNumeric() != cp.numeric {
		return r, nil, fmt.Errorf("holds numbers on one side and text on the other: %w", ErrInvalidInput)
	}
	ev := &evaluator{cp: cp, s: s}
	if cp.numeric {
		s.grow(len(c.Float))
		vals, missing := cleanSorted(c.Float, s.vals, s)
		s.vals = withSentinel(vals)
		r.NCurrent, r.MissingCurrent = len(vals), missing-c.Invalid
		if len(vals) == 0 {
			return r, nil, fmt.Errorf("no values in the current data after dropping missing and infinite cells: %w", ErrInvalidInput)
		}
		ev.cur = vals
		ev.d, ev.w1, ev.nValues = walk(cp.sorted, s.vals, true)
	} else {
		counts, missing := stringCounts(c)
		r.NCurrent, r.MissingCurrent = c.Len()-missing, missing
		if r.NCurrent == 0 {
			return r, nil, fmt.Errorf("no values in the current data after dropping missing cells: %w", ErrInvalidInput)
		}
		ev.curStrings = counts
		ev.stringCounts()
		ev.nValues = len(ev.refCounts)
	}
	return r, ev, nil
}

// evaluator computes the tests of one column, deriving the count vectors once.
type evaluator struct {
	cp         *columnProfile
	cur        []float64 // sorted, numeric storage
	curStrings map[string]int
	s          *scratch

	d, w1   float64
	nValues int

	haveValues           bool // refCounts/curCounts hold per-value counts
	refCounts, curCounts []float64
	haveShares           bool
	refShares, curShares []float64
}

// run returns the score of test t and, for p-value tests, the statistic.
func (e *evaluator) run(t Test) (score, stat float64) {
	switch t {
	case TestKS:
		r := ksPValue(e.cp.n, len(e.cur), e.d)
		return r.P, r.D
	case TestWasserstein:
		return e.w1 / math.Max(e.cp.std, stdFloor), 0
	case TestChiSquare:
		e.valueCounts()
		stat, p := ChiSquare(e.refCounts, e.curCounts)
		return p, stat
	case TestZ:
		e.valueCounts()
		z, p := ZTest(e.refCounts, e.curCounts)
		return p, z
	case TestPSI:
		e.shares()
		return psiFilled(e.refShares, e.curShares, e.s), 0
	case TestKLDiv:
		e.shares()
		return KLDiv(e.refShares, e.curShares), 0
	case TestJensenShannon:
		e.shares()
		return JensenShannon(e.refShares, e.curShares), 0
	}
	return math.NaN(), math.NaN()
}

// psiFilled is PSI without the defensive copies, on scratch buffers.
func psiFilled(r, c []float64, s *scratch) float64 {
	rf := FillZeros(append(s.refCounts[:0], r...))
	cf := FillZeros(append(s.curCounts[:0], c...))
	s.refCounts, s.curCounts = rf, cf
	sum := 0.0
	for i := range rf {
		sum += (rf[i] - cf[i]) * math.Log(rf[i]/cf[i])
	}
	return sum
}

// valueCounts fills refCounts/curCounts with the count of every distinct value of
// reference ∪ current, in numeric order (string columns are counted up front).
func (e *evaluator) valueCounts() {
	if e.haveValues {
		return
	}
	a, b := e.cp.sorted, e.cur
	e.refCounts, e.curCounts = e.refCounts[:0], e.curCounts[:0]
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		var v float64
		switch {
		case i == len(a):
			v = b[j]
		case j == len(b):
			v = a[i]
		default:
			v = min(a[i], b[j])
		}
		i0, j0 := i, j
		for i < len(a) && a[i] <= v {
			i++
		}
		for j < len(b) && b[j] <= v {
			j++
		}
		e.refCounts = append(e.refCounts, float64(i-i0))
		e.curCounts = append(e.curCounts, float64(j-j0))
	}
	e.haveValues = true
}

// stringCounts fills refCounts/curCounts over the union of the string keys, sorted by
// code point as Python sorts str.
func (e *evaluator) stringCounts() {
	keys := make([]string, 0, len(e.cp.counts)+len(e.curStrings))
	for k := range e.cp.counts {
		keys = append(keys, k)
	}
	for k := range e.curStrings {
		if _, ok := e.cp.counts[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	e.refCounts = make([]float64, len(keys))
	e.curCounts = make([]float64, len(keys))
	for i, k := range keys {
		e.refCounts[i] = float64(e.cp.counts[k])
		e.curCounts[i] = float64(e.curStrings[k])
	}
	e.haveValues = true
}

// shares fills refShares/curShares for psi, kl_div and jensenshannon: Sturges
// histogram shares over the pooled range for a numeric column with more than 20
// distinct reference values, else per-value shares.
func (e *evaluator) shares() {
	if e.haveShares {
		return
	}
	nRef, nCur := float64(e.cp.n), 0.0
	if e.cp.kind == KindNumeric && e.cp.nunique > 20 {
		a, b := e.cp.sorted, e.cur
		first, last := min(a[0], b[0]), max(a[len(a)-1], b[len(b)-1])
		edges := SturgesEdges(first, last, len(a)+len(b))
		if edges == nil {
			// The pooled range overflows float64; NumPy fails here too.
			e.refShares, e.curShares = []float64{math.NaN()}, []float64{math.NaN()}
			e.haveShares = true
			return
		}
		e.refShares = HistogramSorted(a, edges, e.refShares)
		e.curShares = HistogramSorted(b, edges, e.curShares)
		nCur = float64(len(b))
	} else {
		e.valueCounts()
		e.refShares = append(e.refShares[:0], e.refCounts...)
		e.curShares = append(e.curShares[:0], e.curCounts...)
		nCur = 0
		for _, c := range e.curCounts {
			nCur += c
		}
	}
	for i := range e.refShares {
		e.refShares[i] /= nRef
	}
	for i := range e.curShares {
		e.curShares[i] /= nCur
	}
	e.haveShares = true
}

// hasCleanValue reports whether c holds a value that is not missing, NaN or ±Inf.
func hasCleanValue(c *dataset.Column) bool {
	if c.IsNumeric() {
		return slices.ContainsFunc(c.Float, finite)
	}
	return slices.ContainsFunc(c.Codes, func(code int32) bool { return code >= 0 && int(code) < len(c.Dict) })
}
