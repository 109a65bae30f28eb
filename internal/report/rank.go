package report

import (
	"cmp"
	"math"
	"slices"
	"strconv"

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
	type entry struct {
		col  drift.ColumnReport
		past float64
	}
	entries := make([]entry, len(cols))
	for i, c := range cols {
		entries[i] = entry{c, PastThreshold(c)}
	}
	slices.SortStableFunc(entries, func(a, b entry) int {
		if a.col.Drifted != b.col.Drifted {
			if a.col.Drifted {
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
		return cmp.Compare(a.col.Name, b.col.Name)
	})
	ranked := make([]drift.ColumnReport, len(entries))
	for i, e := range entries {
		ranked[i] = e.col
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
