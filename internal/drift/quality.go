package drift

import (
	"slices"
	"strconv"

	"github.com/medimind/modelops/internal/dataset"
)

// Data quality findings (drift-definitions.md §9): per column, the current window against
// the reference, with the cleaning of §1 (NaN and ±Inf are missing).

// QualityIssue names a kind of data quality finding.
type QualityIssue string

// The quality findings of §9.
const (
	// QualityMissingIncrease: the missing share rose by more than the threshold.
	QualityMissingIncrease QualityIssue = "missing_increase"
	// QualityOutOfRange: too many current values of a numeric column lie outside the
	// reference's [min, max].
	QualityOutOfRange QualityIssue = "out_of_range"
	// QualityNewCategories: too many current rows of a categorical column hold a value the
	// reference never holds.
	QualityNewCategories QualityIssue = "new_categories"
	// QualityBecameConstant: the current column holds one value, the reference several.
	QualityBecameConstant QualityIssue = "became_constant"
	// QualityAdded and QualityRemoved: a column in the current data only, or in the
	// reference only.
	QualityAdded   QualityIssue = "added"
	QualityRemoved QualityIssue = "removed"
	// QualityTypeMismatch: cells that are not numbers in a numeric column, dropped because
	// the policy tolerates them (invalidValues: ignore).
	QualityTypeMismatch QualityIssue = "type_mismatch"
)

// QualityFinding is one element of the "quality" array of `modelops drift -o json`.
// What Reference and Current hold depends on the issue: the missing shares
// (missing_increase); the current share and null (out_of_range, new_categories); the two
// distinct-value counts (became_constant); the two counts of invalid cells
// (type_mismatch); null for both (added, removed). Threshold is the threshold in force,
// null where there is none.
type QualityFinding struct {
	Column    string       `json:"column"`
	Issue     QualityIssue `json:"issue"`
	Reference *Number      `json:"reference"`
	Current   *Number      `json:"current"`
	Threshold *Number      `json:"threshold"`
}

// QualityOptions are the thresholds of spec.drift.quality and the columns forced to be
// categorical.
type QualityOptions struct {
	// MissingIncrease: m_cur − m_ref above it is a finding (absolute). Default 0.10.
	MissingIncrease float64
	// OutOfRangeShare and NewCategoriesShare: a share of cleaned current values above
	// them is a finding. Default 0.05 each.
	OutOfRangeShare    float64
	NewCategoriesShare float64
	// Categorical names the columns treated as categorical whatever they hold (as in
	// Options.Categorical); text columns are always categorical.
	Categorical []string
}

// DefaultQualityOptions are the thresholds of §9: 0.10, 0.05 and 0.05.
func DefaultQualityOptions() QualityOptions {
	return QualityOptions{MissingIncrease: 0.10, OutOfRangeShare: 0.05, NewCategoriesShare: 0.05}
}

// Quality compares every column of cur with the column of the same name in ref. The
// tables need not have the same columns: one present on one side only is a finding
// (removed, then added, in each table's order). The findings of a shared column come in
// the order missing_increase, out_of_range or new_categories, became_constant,
// type_mismatch; columns in the reference's order.
//
// m is the share of a window's rows whose cell is missing, NaN or ±Inf (invalid cells,
// counted apart as type_mismatch, are not in it). A column numeric on both sides is
// numeric unless opts.Categorical names it; a column text on either side is compared as
// text, numbers written in Go's shortest form.
func Quality(ref, cur *dataset.Table, opts QualityOptions) []QualityFinding {
	findings := []QualityFinding{}
	curIndex, refIndex := cur.ColumnIndex(), ref.ColumnIndex()
	categorical := setOf(opts.Categorical)
	for i := range ref.Columns {
		r := &ref.Columns[i]
		j, ok := curIndex[r.Name]
		if !ok {
			findings = append(findings, QualityFinding{Column: r.Name, Issue: QualityRemoved})
			continue
		}
		c := &cur.Columns[j]
		numeric := r.IsNumeric() && c.IsNumeric() && !categorical[r.Name]
		findings = append(findings, columnQuality(r, c, numeric, opts)...)
	}
	for i := range cur.Columns {
		if _, ok := refIndex[cur.Columns[i].Name]; !ok {
			findings = append(findings, QualityFinding{Column: cur.Columns[i].Name, Issue: QualityAdded})
		}
	}
	return findings
}

// qualitySide is what §9 needs of one window's column.
type qualitySide struct {
	rows, missing, invalid int
	// numeric storage: the cleaned values; text: the counts per value.
	values []float64
	counts map[string]int
}

func (s *qualitySide) nunique() int {
	if s.counts != nil {
		return len(s.counts)
	}
	return countDistinctSorted(s.values)
}

func (s *qualitySide) cleaned() int { return s.rows - s.missing - s.invalid }

// qualityColumn reads a column for §9: sorted cleaned values for a numeric comparison, else counts
// by text.
func qualityColumn(c *dataset.Column, numeric bool) qualitySide {
	s := qualitySide{rows: c.Len(), invalid: c.Invalid}
	if c.IsNumeric() {
		dropped := 0
		var vals []float64
		for _, v := range c.Float {
			if finite(v) {
				vals = append(vals, v)
			} else {
				dropped++
			}
		}
		s.missing = dropped - c.Invalid
		if numeric {
			slices.Sort(vals)
			s.values = vals
			return s
		}
		s.counts = map[string]int{}
		for _, v := range vals {
			s.counts[strconv.FormatFloat(v, 'g', -1, 64)]++
		}
		return s
	}
	var missing int
	s.counts, missing = stringCounts(c)
	s.missing = missing - c.Invalid
	return s
}

func columnQuality(r, c *dataset.Column, numeric bool, opts QualityOptions) []QualityFinding {
	var out []QualityFinding
	rs, cs := qualityColumn(r, numeric), qualityColumn(c, numeric)
	if rs.rows > 0 && cs.rows > 0 {
		mRef := float64(rs.missing) / float64(rs.rows)
		mCur := float64(cs.missing) / float64(cs.rows)
		if mCur-mRef > opts.MissingIncrease {
			out = append(out, QualityFinding{Column: r.Name, Issue: QualityMissingIncrease,
				Reference: numberPtr(mRef), Current: numberPtr(mCur), Threshold: numberPtr(opts.MissingIncrease)})
		}
	}
	if rs.cleaned() > 0 && cs.cleaned() > 0 {
		if numeric {
			lo, hi := rs.values[0], rs.values[len(rs.values)-1]
			outside := 0
			for _, v := range cs.values {
				if v < lo || v > hi {
					outside++
				}
			}
			if share := float64(outside) / float64(len(cs.values)); share > opts.OutOfRangeShare {
				out = append(out, QualityFinding{Column: r.Name, Issue: QualityOutOfRange,
					Current: numberPtr(share), Threshold: numberPtr(opts.OutOfRangeShare)})
			}
		} else {
			unseen, total := 0, 0
			for v, n := range cs.counts {
				total += n
				if rs.counts[v] == 0 {
					unseen += n
				}
			}
			if share := float64(unseen) / float64(total); share > opts.NewCategoriesShare {
				out = append(out, QualityFinding{Column: r.Name, Issue: QualityNewCategories,
					Current: numberPtr(share), Threshold: numberPtr(opts.NewCategoriesShare)})
			}
		}
	}
	if nr, nc := rs.nunique(), cs.nunique(); nc == 1 && nr > 1 {
		out = append(out, QualityFinding{Column: r.Name, Issue: QualityBecameConstant,
			Reference: numberPtr(float64(nr)), Current: numberPtr(float64(nc))})
	}
	if r.Invalid > 0 || c.Invalid > 0 {
		out = append(out, QualityFinding{Column: r.Name, Issue: QualityTypeMismatch,
			Reference: numberPtr(float64(r.Invalid)), Current: numberPtr(float64(c.Invalid))})
	}
	return out
}
