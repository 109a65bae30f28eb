package drift

import (
	"fmt"
	"slices"
	"strings"
)

// Recommendation is one element of the "recommendations" array of `modelops drift -o
// json`: the rule that fired and what it advises.
type Recommendation struct {
	Rule RecommendationRule `json:"rule"`
	Text string             `json:"text"`
}

// RecommendationRule names a rule of Recommend; the README lists each with the finding
// that fires it.
type RecommendationRule string

// The rules, in the order Recommend applies them.
const (
	// RuleInsufficientData: a window held fewer rows than its minRows.
	RuleInsufficientData RecommendationRule = "insufficient_data"
	// RuleSuspectBatches: the batch check names suspect batches.
	RuleSuspectBatches RecommendationRule = "suspect_batches"
	// RuleMissingIncrease: a missing_increase quality finding.
	RuleMissingIncrease RecommendationRule = "missing_increase"
	// RuleOutOfRange: an out_of_range or new_categories quality finding.
	RuleOutOfRange RecommendationRule = "out_of_range"
	// RuleSchemaChange: an added, removed or type_mismatch quality finding.
	RuleSchemaChange RecommendationRule = "schema_change"
	// RuleOneGroupCorrelation: exactly one feature group drifted, and a correlation pair of
	// groups that includes it drifted.
	RuleOneGroupCorrelation RecommendationRule = "one_group_correlation"
)

// maxNamed is how many columns or batches a recommendation names before "and N more".
const maxNamed = 5

// Recommend applies the rules to a finished report and returns what fires, in rule
// order; an empty (non-nil) list when none does.
func Recommend(r *Report) []Recommendation {
	out := []Recommendation{}
	add := func(rule RecommendationRule, format string, args ...any) {
		out = append(out, Recommendation{Rule: rule, Text: fmt.Sprintf(format, args...)})
	}
	if window, rows, minRows, ok := r.insufficientWindow(); ok {
		add(RuleInsufficientData, "The %s window holds %d of the %d rows it needs: wait for more data or widen the window before reading drift into it.",
			window, rows, minRows)
	}
	if b := r.Batch; b != nil {
		var suspects []string
		for _, x := range b.Batches {
			if x.Suspect {
				suspects = append(suspects, x.Name)
			}
		}
		if len(suspects) > 0 {
			add(RuleSuspectBatches, "Drift is concentrated in %s %s of %s: check the protocol of %s before retraining; retraining now would learn the batch effect.",
				plural(len(suspects), "batch", "batches"), named(suspects), b.Column, named(suspects))
		}
	}
	byIssue := map[QualityIssue][]string{}
	for _, f := range r.Quality {
		if !slices.Contains(byIssue[f.Issue], f.Column) {
			byIssue[f.Issue] = append(byIssue[f.Issue], f.Column)
		}
	}
	if cols := byIssue[QualityMissingIncrease]; len(cols) > 0 {
		add(RuleMissingIncrease, "Missing values rose in %s %s: check the extraction pipeline.", plural(len(cols), "column", "columns"), named(cols))
	}
	if cols := append(byIssue[QualityOutOfRange], byIssue[QualityNewCategories]...); len(cols) > 0 {
		add(RuleOutOfRange, "Values outside the reference's range or categories appear in %s: check units, calibration and category coding upstream.", named(cols))
	}
	if cols := slices.Concat(byIssue[QualityAdded], byIssue[QualityRemoved], byIssue[QualityTypeMismatch]); len(cols) > 0 {
		add(RuleSchemaChange, "The columns changed (added, removed or holding values of another type): %s; check the feature pipeline's schema.", named(cols))
	}
	var driftedGroups []string
	for _, g := range r.Groups {
		if g.Drifted {
			driftedGroups = append(driftedGroups, g.Name)
		}
	}
	if len(driftedGroups) == 1 {
		g := driftedGroups[0]
		var with []string
		for _, c := range r.Correlation {
			if !c.Drifted {
				continue
			}
			switch g {
			case c.Groups[0]:
				with = append(with, c.Groups[1])
			case c.Groups[1]:
				with = append(with, c.Groups[0])
			}
		}
		if len(with) > 0 {
			add(RuleOneGroupCorrelation, "Only the %s group drifted, and its correlations with %s changed: check the devices or instruments that measure %s (device firmware, calibration) before retraining.",
				g, strings.Join(with, ", "), g)
		}
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// named lists names, at most maxNamed of them.
func named(names []string) string {
	if len(names) <= maxNamed {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:maxNamed], ", "), len(names)-maxNamed)
}
