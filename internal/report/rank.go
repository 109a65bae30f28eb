package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/medimind/modelops/internal/drift"
)

// isPValue reports whether a test's score is a p-value (smaller means more drift).
func isPValue(t drift.Test) bool {
	return t == drift.TestKS || t == drift.TestChiSquare || t == drift.TestZ
}

// PastThreshold says how far a column's score lies past its threshold, as a factor on
// one scale for every test: score/threshold for the distances (wasserstein, psi, kl_div,
// jensenshannon) and threshold/p for the p-value tests (ks, chisquare, z), so that a
// larger value always means more drift and 1 is the threshold itself. A p-value of 0 or a
// threshold of 0 with a positive distance gives +Inf. A NaN score gives NaN.
func PastThreshold(c drift.ColumnReport) float64 {
	score := float64(c.Score)
	if math.IsNaN(score) {
		return math.NaN()
	}
	if isPValue(c.Test) {
		return c.Threshold / score
	}
	return score / c.Threshold
}

// Ranked returns the columns most drifted first: drifted columns before the others, then
// by PastThreshold descending (for p-value tests that is p ascending, for distances
// score/threshold descending), NaN last, then by name. The input is not changed.
func Ranked(cols []drift.ColumnReport) []drift.ColumnReport {
	// Sorting small (index, key) pairs rather than the reports themselves keeps a
	// 20,000-column report from moving megabytes around.
	type entry struct {
		i    int
		past float64
	}
	entries := make([]entry, len(cols))
	for i, c := range cols {
		entries[i] = entry{i, PastThreshold(c)}
	}
	slices.SortFunc(entries, func(a, b entry) int {
		ca, cb := &cols[a.i], &cols[b.i]
		if ca.Drifted != cb.Drifted {
			if ca.Drifted {
				return -1
			}
			return 1
		}
		if na, nb := math.IsNaN(a.past), math.IsNaN(b.past); na != nb {
			if na {
				return 1
			}
			return -1
		}
		if c := cmp.Compare(b.past, a.past); c != 0 {
			return c
		}
		return cmp.Or(strings.Compare(ca.Name, cb.Name), cmp.Compare(a.i, b.i))
	})
	ranked := make([]drift.ColumnReport, len(entries))
	for k, e := range entries {
		ranked[k] = cols[e.i]
	}
	return ranked
}

// formatNumber writes a score or threshold with four significant digits; NaN (a test
// that could not decide, such as chi-square on a single category) is "n/a".
func formatNumber(f float64) string {
	switch {
	case math.IsNaN(f):
		return "n/a"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'g', 4, 64)
}

// formatShare writes a fraction of columns with at most three decimals.
func formatShare(f float64) string {
	return strconv.FormatFloat(math.Round(f*1000)/1000, 'f', -1, 64)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func countDrifted(cols []drift.ColumnReport) int {
	n := 0
	for _, c := range cols {
		if c.Drifted {
			n++
		}
	}
	return n
}

// invalidNote says how many invalid values (non-numbers in numeric columns, tolerated by
// the policy) were dropped, in how many columns; "" when none were.
func invalidNote(cols []drift.ColumnReport) string {
	values, columns := 0, 0
	for _, c := range cols {
		if n := c.InvalidReference + c.InvalidCurrent; n > 0 {
			values += n
			columns++
		}
	}
	if values == 0 {
		return ""
	}
	return fmt.Sprintf("%d invalid values (not numbers, in numeric columns) dropped from %d columns; see invalidReference and invalidCurrent in the full report.", values, columns)
}
