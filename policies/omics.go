package policies

import (
	"slices"
	"sort"
	"strings"
)

// Defaults of spec.drift.quality, spec.drift.batch and spec.drift.correlation
// (drift-definitions.md §9–§11).
const (
	DefaultQualityMissingIncrease    = 0.10
	DefaultQualityOutOfRangeShare    = 0.05
	DefaultQualityNewCategoriesShare = 0.05
	DefaultBatchMinRows              = 30
	DefaultBatchAlpha                = 0.01
	DefaultBatchShare                = 0.3
	DefaultCorrelationAlpha          = 0.01
	DefaultCorrelationShare          = 0.1
	DefaultCorrelationMaxPairs       = 100000
)

// QualitySpec turns on the per-column data quality findings of drift-definitions.md §9,
// current window against reference; present means enabled. With it, a column present in
// only one of the two is a finding (added or removed), not an error.
//
//	quality: {missing: {increase: 0.10}, outOfRange: {share: 0.05}, newCategories: {share: 0.05}, blocksRetrain: false}
type QualitySpec struct {
	// Missing: a column whose missing share rose by more than increase (absolute) is a
	// missing_increase finding. Default 0.10.
	Missing *QualityMissing `json:"missing,omitempty" yaml:"missing,omitempty"`
	// OutOfRange: a numeric column with more than share of its current values outside
	// the reference's [min, max] is an out_of_range finding. Default 0.05.
	OutOfRange *QualityShare `json:"outOfRange,omitempty" yaml:"outOfRange,omitempty"`
	// NewCategories: a categorical column with more than share of its current rows holding
	// a value the reference never holds is a new_categories finding. Default 0.05.
	NewCategories *QualityShare `json:"newCategories,omitempty" yaml:"newCategories,omitempty"`
	// BlocksRetrain holds retrain proposals while the latest drift report has quality
	// findings: nothing is proposed, and the plan says why.
	BlocksRetrain bool `json:"blocksRetrain,omitempty" yaml:"blocksRetrain,omitempty"`
}

// QualityMissing is the missing_increase threshold.
type QualityMissing struct {
	// Increase is the rise of the missing share (0..1, absolute) above which a column is a
	// finding. Default 0.10.
	Increase *float64 `json:"increase,omitempty" yaml:"increase,omitempty" jsonschema:"minimum=0,maximum=1"`
}

// QualityShare is the threshold of a share-of-rows finding.
type QualityShare struct {
	// Share of the cleaned current values (0..1) above which the column is a finding.
	// Default 0.05.
	Share *float64 `json:"share,omitempty" yaml:"share,omitempty" jsonschema:"minimum=0,maximum=1"`
}

// BatchSpec turns on the batch-effect check of drift-definitions.md §10 within the
// current window. The batch column is never a feature: it is read (even when listed in
// spec.data.exclude) but never drift-tested, quality-checked or batch-tested.
//
//	batch: {column: lab_id, minRows: 30, alpha: 0.01, share: 0.3, holdRetrain: false}
type BatchSpec struct {
	// Column names the batch of each row (lab, site, assay plate, device firmware).
	Column string `json:"column" yaml:"column" jsonschema:"minLength=1"`
	// MinRows is the fewest values a batch needs to enter a feature's test. Default 30.
	MinRows int64 `json:"minRows,omitempty" yaml:"minRows,omitempty" jsonschema:"minimum=1"`
	// Alpha: a feature has a batch effect when its Benjamini–Hochberg q-value is below it.
	// Default 0.01.
	Alpha *float64 `json:"alpha,omitempty" yaml:"alpha,omitempty" jsonschema:"exclusiveMinimum=0,exclusiveMaximum=1"`
	// Share: the check reports a batch effect when a group has at least this share of its
	// tested features with one. Default 0.3.
	Share *float64 `json:"share,omitempty" yaml:"share,omitempty" jsonschema:"exclusiveMinimum=0,maximum=1"`
	// HoldRetrain: a drift-triggered retrain whose drift the check attributes to suspect
	// batches is not proposed but recorded, with the evidence, on the status branch.
	HoldRetrain bool `json:"holdRetrain,omitempty" yaml:"holdRetrain,omitempty"`
}

// CorrelationSpec turns on the cross-modal correlation drift of drift-definitions.md §11.
//
//	correlation: {pairs: [[sensor, omics]], alpha: 0.01, share: 0.1, maxPairs: 100000}
type CorrelationSpec struct {
	// Pairs names pairs of feature groups (keys of spec.data.groups) whose features are
	// correlated pair by pair.
	Pairs [][]string `json:"pairs" yaml:"pairs" jsonschema:"minItems=1"`
	// Alpha: a feature pair changed when its Benjamini–Hochberg q-value is below it.
	// Default 0.01.
	Alpha *float64 `json:"alpha,omitempty" yaml:"alpha,omitempty" jsonschema:"exclusiveMinimum=0,exclusiveMaximum=1"`
	// Share: a group pair drifts when at least this share of its tested feature pairs
	// changed. Default 0.1.
	Share *float64 `json:"share,omitempty" yaml:"share,omitempty" jsonschema:"exclusiveMinimum=0,maximum=1"`
	// MaxPairs bounds the feature pairs of one group pair; more fails the check (and is a
	// validation error when both groups list their features). Default 100000.
	MaxPairs int64 `json:"maxPairs,omitempty" yaml:"maxPairs,omitempty" jsonschema:"minimum=1"`
}

// defaultOmics fills in the defaults of the blocks present.
func (d *DriftSpec) defaultOmics() {
	if q := d.Quality; q != nil {
		if q.Missing == nil {
			q.Missing = &QualityMissing{}
		}
		setFloat(&q.Missing.Increase, DefaultQualityMissingIncrease)
		if q.OutOfRange == nil {
			q.OutOfRange = &QualityShare{}
		}
		setFloat(&q.OutOfRange.Share, DefaultQualityOutOfRangeShare)
		if q.NewCategories == nil {
			q.NewCategories = &QualityShare{}
		}
		setFloat(&q.NewCategories.Share, DefaultQualityNewCategoriesShare)
	}
	if b := d.Batch; b != nil {
		if b.MinRows == 0 {
			b.MinRows = DefaultBatchMinRows
		}
		setFloat(&b.Alpha, DefaultBatchAlpha)
		setFloat(&b.Share, DefaultBatchShare)
	}
	if c := d.Correlation; c != nil {
		setFloat(&c.Alpha, DefaultCorrelationAlpha)
		setFloat(&c.Share, DefaultCorrelationShare)
		if c.MaxPairs == 0 {
			c.MaxPairs = DefaultCorrelationMaxPairs
		}
	}
}

// openFraction requires *f, when set, to be in (0, 1), or in (0, 1] with closedAbove.
func (v *validator) openFraction(parent, key string, f *float64, closedAbove bool) {
	if f == nil {
		return
	}
	switch {
	case closedAbove && !(*f > 0 && *f <= 1):
		v.add(parent+"."+key, "must be above 0 and at most 1, got %s", formatFloat(*f))
	case !closedAbove && !(*f > 0 && *f < 1):
		v.add(parent+"."+key, "must be between 0 and 1 (exclusive), got %s", formatFloat(*f))
	}
}

// omics checks spec.drift.quality, batch and correlation against spec.data (d may be nil).
func (v *validator) omics(field string, s *DriftSpec, d *DataSpec) {
	if q := s.Quality; q != nil {
		qf := field + ".quality"
		if d == nil {
			v.add(qf, "needs spec.data: the quality findings compare its current data with its reference")
		}
		if q.Missing != nil {
			v.fraction(qf, "missing.increase", q.Missing.Increase)
		}
		if q.OutOfRange != nil {
			v.fraction(qf, "outOfRange.share", q.OutOfRange.Share)
		}
		if q.NewCategories != nil {
			v.fraction(qf, "newCategories.share", q.NewCategories.Share)
		}
	}
	if b := s.Batch; b != nil {
		v.batch(field+".batch", b, d)
	}
	if c := s.Correlation; c != nil {
		v.correlation(field+".correlation", c, d)
	}
}

func (v *validator) batch(field string, b *BatchSpec, d *DataSpec) {
	if d == nil {
		v.add(field, "needs spec.data: the batch check splits its current data by batch")
	}
	if strings.TrimSpace(b.Column) == "" {
		v.add(field+".column", "is required: the column naming each row's batch (lab, site, plate)")
	} else if d != nil {
		for _, name := range sortedKeys(d.Groups) {
			if i := slices.Index(d.Groups[name].Features, b.Column); i >= 0 {
				v.add(indexPath(childPath("spec.data.groups", name)+".features", i),
					"column %q is the batch column (spec.drift.batch.column), which is never a feature", b.Column)
			}
		}
	}
	if b.MinRows < 0 {
		v.add(field+".minRows", "must be >= 1, got %d", b.MinRows)
	}
	v.openFraction(field, "alpha", b.Alpha, false)
	v.openFraction(field, "share", b.Share, true)
}

func (v *validator) correlation(field string, c *CorrelationSpec, d *DataSpec) {
	var groups map[string]FeatureGroup
	if d != nil {
		groups = d.Groups
	}
	pf := field + ".pairs"
	if len(c.Pairs) == 0 {
		v.add(pf, "must name at least one pair of feature groups, such as [sensor, omics]")
	}
	maxPairs := c.MaxPairs
	if maxPairs == 0 {
		maxPairs = DefaultCorrelationMaxPairs
	}
	seen := map[[2]string]bool{}
	for i, pair := range c.Pairs {
		ip := indexPath(pf, i)
		if len(pair) != 2 {
			v.add(ip, "must name exactly two feature groups, got %d", len(pair))
			continue
		}
		ok := true
		for j, name := range pair {
			if _, found := groups[name]; !found {
				ok = false
				v.add(indexPath(ip, j), "must name a group of spec.data.groups (%s), got %q", groupList(groups), name)
			}
		}
		if !ok {
			continue
		}
		key := [2]string{min(pair[0], pair[1]), max(pair[0], pair[1])}
		switch {
		case pair[0] == pair[1]:
			v.add(ip, "must name two different groups, got %q twice", pair[0])
		case seen[key]:
			v.add(ip, "the pair %s × %s is listed twice", pair[0], pair[1])
		default:
			a, b := groups[pair[0]].Features, groups[pair[1]].Features
			if n := int64(len(a)) * int64(len(b)); len(a) > 0 && len(b) > 0 && n > maxPairs {
				v.add(ip, "%s × %s makes %d × %d = %d feature pairs, above maxPairs %d", pair[0], pair[1], len(a), len(b), n, maxPairs)
			}
		}
		seen[key] = true
	}
	v.openFraction(field, "alpha", c.Alpha, false)
	v.openFraction(field, "share", c.Share, true)
	if c.MaxPairs < 0 {
		v.add(field+".maxPairs", "must be >= 1, got %d", c.MaxPairs)
	}
}

func groupList(groups map[string]FeatureGroup) string {
	if len(groups) == 0 {
		return "none defined"
	}
	return strings.Join(sortedKeys(groups), ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
