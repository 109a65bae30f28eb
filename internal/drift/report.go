package drift

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
)

// Number is a float64 that JSON cannot always carry: NaN (a chi-square test of a single
// category) and +Inf (the χ² of a category unseen in reference) are written as null,
// and null reads back as NaN.
type Number float64

// MarshalJSON writes finite values as JSON numbers and the rest as null.
func (n Number) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

// UnmarshalJSON reads a number, or null as NaN.
func (n *Number) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		*n = Number(math.NaN())
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*n = Number(f)
	return nil
}

// Report is the result of Compare; its JSON form is the `modelops drift -o json` contract.
type Report struct {
	// Drifted is Share >= DatasetShare.
	Drifted bool `json:"drifted"`
	// Share is the fraction of compared columns that drifted.
	Share float64 `json:"share"`
	// DatasetShare is the rule's threshold.
	DatasetShare float64        `json:"datasetShare"`
	Columns      []ColumnReport `json:"columns"`
	Groups       []GroupReport  `json:"groups"`
	// Quality holds the data quality findings (§9) when the check is configured: an
	// empty list then means none, an absent one that quality was not checked.
	Quality []QualityFinding `json:"quality,omitzero"`
	// Batch is the batch-effect check (§10), when configured.
	Batch *BatchReport `json:"batch,omitempty"`
	// Correlation holds one entry per configured group pair (§11).
	Correlation []CorrelationReport `json:"correlation,omitempty"`
	// Recommendations end every report that has one of the checks above (Recommend); an
	// empty list means no rule fired.
	Recommendations []Recommendation `json:"recommendations,omitzero"`
	// Windows says which rows of a timestamped log each side held (§8), when the data
	// are windows of one (windows.go).
	Windows *Windows `json:"windows,omitempty"`
}

// ColumnReport is the verdict on one column.
type ColumnReport struct {
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
	// NReference and NCurrent count the values compared, after cleaning.
	NReference int `json:"nReference"`
	NCurrent   int `json:"nCurrent"`
	// MissingReference and MissingCurrent count the cells dropped by cleaning
	// (missing, NaN, ±Inf), invalid values not included.
	MissingReference int `json:"missingReference"`
	MissingCurrent   int `json:"missingCurrent"`
	// InvalidReference and InvalidCurrent count the cells of a numeric column that were
	// not numbers and were dropped because the policy tolerates them
	// (spec.data.invalidValues: ignore).
	InvalidReference int `json:"invalidReference"`
	InvalidCurrent   int `json:"invalidCurrent"`
	// Test is the chosen test; Score, Threshold and Drifted are its result.
	Test      Test    `json:"test"`
	Score     Number  `json:"score"`
	Threshold float64 `json:"threshold"`
	Drifted   bool    `json:"drifted"`
	// ScoreKind says what Score is: a p-value (drift when below Threshold) or a distance
	// (drift at or above it).
	ScoreKind ScoreKind `json:"scoreKind"`
	// Stats holds every test run on the column, the chosen one included.
	Stats map[Test]TestResult `json:"stats"`
	// Histogram pictures the column on both sides, when Options.Histograms asks for it.
	Histogram *Histogram `json:"histogram,omitempty"`
}

// ScoreKind says whether a test's score is a p-value or a distance.
type ScoreKind string

// The score kinds.
const (
	ScorePValue   ScoreKind = "p_value"
	ScoreDistance ScoreKind = "distance"
)

// ScoreKindOf is the kind of score test t gives: a p-value for ks, chisquare and z, a
// distance for wasserstein, psi, kl_div and jensenshannon.
func ScoreKindOf(t Test) ScoreKind {
	if isPValueTest(t) {
		return ScorePValue
	}
	return ScoreDistance
}

// TestResult is the outcome of one test on one column.
type TestResult struct {
	// Score is what is compared with Threshold: a p-value for ks, chisquare and z, the
	// distance for wasserstein, psi, kl_div and jensenshannon.
	Score     Number    `json:"score"`
	Threshold float64   `json:"threshold"`
	Drifted   bool      `json:"drifted"`
	ScoreKind ScoreKind `json:"scoreKind"`
	// Statistic is the test statistic of the p-value tests (KS: D, chi-square: χ², z: z).
	Statistic *Number `json:"statistic,omitempty"`
}

// GroupReport is the verdict on a group of columns.
type GroupReport struct {
	Name    string   `json:"name"`
	Columns []string `json:"columns"`
	Drifted bool     `json:"drifted"`
	Share   float64  `json:"share"`
}
