package driftcheck

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/medimind/modelops/internal/dataset"
	"github.com/medimind/modelops/internal/drift"
	"github.com/medimind/modelops/policies"
	"github.com/medimind/modelops/reconciler"
)

// Omics are the checks of drift-definitions.md part two a drift check runs beside the
// column tests: data quality (§9), batch effects (§10) and correlation drift (§11). A nil
// field is a check not configured.
type Omics struct {
	Quality *drift.QualityOptions
	// BatchColumn names the batch column; empty without a batch check. The column is
	// never a feature.
	BatchColumn string
	Batch       drift.BatchOptions
	// CorrelationPairs are pairs of group names; Correlation their options.
	CorrelationPairs [][2]string
	Correlation      drift.CorrelationOptions
}

// Configured reports whether any part-two check is on.
func (o Omics) Configured() bool {
	return o.Quality != nil || o.BatchColumn != "" || len(o.CorrelationPairs) > 0
}

// DefaultOmics has no check on, and the options of §10 and §11 for when one is turned on.
func DefaultOmics() Omics {
	return Omics{Batch: drift.DefaultBatchOptions(), Correlation: drift.DefaultCorrelationOptions()}
}

// OmicsOptions maps a policy's spec.drift.quality, batch and correlation (defaulted)
// onto the checks' options.
func OmicsOptions(p *policies.Policy) Omics {
	o := DefaultOmics()
	d := p.Spec.Drift
	if q := d.Quality; q != nil {
		qo := drift.DefaultQualityOptions()
		if q.Missing != nil && q.Missing.Increase != nil {
			qo.MissingIncrease = *q.Missing.Increase
		}
		if q.OutOfRange != nil && q.OutOfRange.Share != nil {
			qo.OutOfRangeShare = *q.OutOfRange.Share
		}
		if q.NewCategories != nil && q.NewCategories.Share != nil {
			qo.NewCategoriesShare = *q.NewCategories.Share
		}
		o.Quality = &qo
	}
	if b := d.Batch; b != nil {
		o.BatchColumn = b.Column
		if b.MinRows > 0 {
			o.Batch.MinRows = int(b.MinRows)
		}
		if b.Alpha != nil {
			o.Batch.Alpha = *b.Alpha
		}
		if b.Share != nil {
			o.Batch.Share = *b.Share
		}
	}
	if c := d.Correlation; c != nil {
		for _, pair := range c.Pairs {
			if len(pair) == 2 {
				o.CorrelationPairs = append(o.CorrelationPairs, [2]string{pair[0], pair[1]})
			}
		}
		if c.Alpha != nil {
			o.Correlation.Alpha = *c.Alpha
		}
		if c.Share != nil {
			o.Correlation.Share = *c.Share
		}
		if c.MaxPairs > 0 {
			o.Correlation.MaxPairs = int(c.MaxPairs)
		}
	}
	return o
}

// ReadOptions returns read with the batch column taken off the exclude list: it must be
// read to split the rows, and Analyze keeps it out of every test. With quality, a column
// typed in the policy may be absent from one side (a finding, not an error).
func (o Omics) ReadOptions(read dataset.Options) dataset.Options {
	read.NamedMayBeAbsent = read.NamedMayBeAbsent || o.Quality != nil
	if o.BatchColumn != "" && slices.Contains(read.Exclude, o.BatchColumn) {
		read.Exclude = slices.DeleteFunc(slices.Clone(read.Exclude), func(s string) bool { return s == o.BatchColumn })
	}
	return read
}

// Analyze compares two tables read with read (ReadOptions of om), not aligned yet: the
// column tests of opts, then the part-two checks om configures, then the
// recommendations. It changes both tables.
//
//   - The batch column is taken out of both tables first; the current data must have it.
//   - With quality on, the findings are computed before aligning; a column on one side
//     only, or with no value left after cleaning on either side, is then a finding and
//     is left out of the column tests instead of failing the check.
//   - The batch check runs on the current rows with the report's columns and groups; the
//     correlation check on the columns of the report's groups.
func Analyze(ctx context.Context, ref, cur *dataset.Table, read dataset.Options, opts drift.Options, om Omics) (*drift.Report, error) {
	var batchCol *dataset.Column
	var taken []string // columns taken out of the tables here, which opts may name
	if om.BatchColumn != "" {
		c, ok := takeColumn(cur, om.BatchColumn)
		if !ok {
			return nil, fmt.Errorf("%s: the batch column %q (spec.drift.batch.column) is not in the current data: %w",
				cur.Source, om.BatchColumn, drift.ErrInvalidInput)
		}
		batchCol = c
		takeColumn(ref, om.BatchColumn)
		taken = append(taken, om.BatchColumn)
	}
	var findings []drift.QualityFinding
	if om.Quality != nil {
		q := *om.Quality
		q.Categorical = opts.Categorical
		findings = drift.Quality(ref, cur, q)
		taken = append(taken, keepComparable(ref, cur)...)
	}
	opts = without(opts, taken)
	if err := dataset.Align(ref, cur, read); err != nil {
		return nil, err
	}
	profile, err := drift.NewProfile(ctx, ref, opts)
	if err != nil {
		return nil, err
	}
	rep, err := profile.Compare(ctx, cur)
	if err != nil {
		return nil, err
	}
	rep.Quality = findings
	if batchCol != nil {
		if rep.Batch, err = batchReport(ctx, profile, cur, batchCol, rep, om); err != nil {
			return nil, err
		}
	}
	for _, pair := range om.CorrelationPairs {
		a, b := groupColumns(rep, pair[0]), groupColumns(rep, pair[1])
		cr, err := drift.CorrelationDrift(ctx, pair, a, b, ref, cur, om.Correlation)
		if err != nil {
			return nil, err
		}
		rep.Correlation = append(rep.Correlation, *cr)
	}
	if om.Configured() {
		rep.Recommendations = drift.Recommend(rep)
	}
	return rep, nil
}

// AnalyzeSources reads both sources whole with plan.Read (ReadOptions of om) and runs
// Analyze with plan.Compare: the part-two checks need the whole tables, so neither the
// profile cache nor the memory budget applies. plan.ReadingCurrent and plan.Reference are
// called as CompareSources calls them (Reference before the tables are aligned).
func AnalyzeSources(ctx context.Context, refSrc, curSrc Source, plan Plan, om Omics) (*drift.Report, error) {
	defer refSrc.cleanup()
	defer curSrc.cleanup()
	plan.Read.Context = ctx
	ref, err := refSrc.read(ctx, plan.Read)
	if err != nil {
		return nil, err
	}
	if plan.ReadingCurrent != nil {
		plan.ReadingCurrent(ref)
	}
	cur, err := curSrc.read(ctx, dataset.CurrentOptions(ref, plan.Read))
	if err != nil {
		return nil, err
	}
	if plan.Reference != nil {
		if err := plan.Reference(ref); err != nil {
			return nil, err
		}
	}
	return Analyze(ctx, ref, cur, plan.Read, plan.Compare, om)
}

// without drops from the kinds and the groups' feature lists of opts the columns Analyze
// took out of the tables: the batch column, and with quality the columns left to the
// findings. Any other name stays, so that a group naming a column not compared is still
// an error.
func without(opts drift.Options, taken []string) drift.Options {
	if len(taken) == 0 {
		return opts
	}
	keep := func(names []string) []string {
		return slices.DeleteFunc(slices.Clone(names), func(n string) bool { return slices.Contains(taken, n) })
	}
	opts.Numeric, opts.Categorical = keep(opts.Numeric), keep(opts.Categorical)
	groups := make([]drift.Group, len(opts.Groups))
	for i, g := range opts.Groups {
		if len(g.Features) > 0 {
			g.Features = keep(g.Features)
		}
		groups[i] = g
	}
	opts.Groups = groups
	return opts
}

// AnalyzeWindows is Analyze for two windows of a log (w): with insufficient data nothing
// is compared (drift.CompareWindows); the report carries the windows either way, and its
// recommendations read them.
func AnalyzeWindows(ctx context.Context, ref, cur *dataset.Table, w *drift.Windows, read dataset.Options, opts drift.Options, om Omics) (*drift.Report, error) {
	var rep *drift.Report
	var err error
	if w.InsufficientData {
		rep, err = drift.CompareWindows(ctx, ref, cur, w, opts)
	} else {
		rep, err = Analyze(ctx, ref, cur, read, opts, om)
	}
	if err != nil {
		return nil, err
	}
	rep.Windows = w
	if om.Configured() {
		rep.Recommendations = drift.Recommend(rep)
	}
	return rep, nil
}

// takeColumn removes the column called name from t and returns it.
func takeColumn(t *dataset.Table, name string) (*dataset.Column, bool) {
	for i := range t.Columns {
		if t.Columns[i].Name == name {
			c := t.Columns[i]
			t.Columns = slices.Delete(t.Columns, i, i+1)
			return &c, true
		}
	}
	return nil, false
}

// keepComparable leaves in both tables only the columns both have with at least one value
// left after cleaning on each side, and returns the others' names; the quality findings
// report them.
func keepComparable(ref, cur *dataset.Table) []string {
	ri := ref.ColumnIndex()
	keep := map[string]bool{}
	for j := range cur.Columns {
		c := &cur.Columns[j]
		if i, ok := ri[c.Name]; ok && hasValue(&ref.Columns[i]) && hasValue(c) {
			keep[c.Name] = true
		}
	}
	var dropped []string
	for _, t := range []*dataset.Table{ref, cur} {
		for i := range t.Columns {
			if name := t.Columns[i].Name; !keep[name] && !slices.Contains(dropped, name) {
				dropped = append(dropped, name)
			}
		}
	}
	ref.Columns = slices.DeleteFunc(ref.Columns, func(c dataset.Column) bool { return !keep[c.Name] })
	cur.Columns = slices.DeleteFunc(cur.Columns, func(c dataset.Column) bool { return !keep[c.Name] })
	return dropped
}

func hasValue(c *dataset.Column) bool {
	if c.IsNumeric() {
		for _, v := range c.Float {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				return true
			}
		}
		return false
	}
	return slices.ContainsFunc(c.Codes, func(code int32) bool { return code >= 0 })
}

// batchReport runs §10 on the current rows: every compared column is a feature, with the
// kind the column tests gave it; the report's groups give the per-group shares.
func batchReport(ctx context.Context, p *drift.Profile, cur *dataset.Table, batchCol *dataset.Column, rep *drift.Report, om Omics) (*drift.BatchReport, error) {
	if batchCol.Len() != cur.Rows && cur.Rows > 0 {
		return nil, fmt.Errorf("%s: the batch column has %d rows, the table %d: %w", cur.Source, batchCol.Len(), cur.Rows, drift.ErrInvalidInput)
	}
	labels := drift.LabelBatches(batchCol)
	index := cur.ColumnIndex()
	features := make([]drift.BatchFeature, 0, len(rep.Columns))
	for _, c := range rep.Columns {
		features = append(features, drift.BatchFeature{Column: &cur.Columns[index[c.Name]], Kind: c.Kind})
	}
	groups := make([]drift.BatchGroup, 0, len(rep.Groups))
	for _, g := range rep.Groups {
		groups = append(groups, drift.BatchGroup{Name: g.Name, Features: g.Columns})
	}
	br, err := drift.BatchEffects(om.BatchColumn, labels, features, groups, om.Batch)
	if err != nil {
		return nil, err
	}
	if err := drift.BatchSuspects(ctx, p, cur, labels, br); err != nil {
		return nil, err
	}
	return br, nil
}

// groupColumns are the compared columns of the report's group called name (none when the
// group is unknown: validation makes sure it is not).
func groupColumns(rep *drift.Report, name string) []string {
	for _, g := range rep.Groups {
		if g.Name == name {
			return g.Columns
		}
	}
	return nil
}

// omicsResult copies what the reconciler plans on from the part-two checks: the number of
// quality findings and the suspect batches.
func omicsResult(res *reconciler.DriftResult, rep *drift.Report) {
	res.QualityFindings = len(rep.Quality)
	if b := rep.Batch; b != nil {
		res.BatchColumn = b.Column
		for _, x := range b.Batches {
			if x.Suspect {
				res.SuspectBatches = append(res.SuspectBatches, x.Name)
			}
		}
	}
}
