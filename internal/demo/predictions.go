package demo

import (
	"fmt"
	"math"
	"time"

	"github.com/medimind/modelops/internal/dataset"
	"github.com/medimind/modelops/internal/metrics"
)

// productionSeparation is the distance between the class means of the production version's
// logit, in standard deviations: AUC = Φ(1.4/√2) ≈ 0.84, below the 0.85 clinical floor on
// the drifted current cohort.
const productionSeparation = 1.4

// predictionLog simulates the serving log of a production version over the current data:
// one prediction per current row, scored by a model whose logit separates the classes by
// productionSeparation, with its latency and the row's category. It gives the reconciler a
// production baseline to watch for a performance drop, and the promotion gate the figure a
// candidate must improve on.
func predictionLog(syn Synthetic, version string, start time.Time, seed uint64) (*dataset.Table, error) {
	labels, ok := syn.Current.Column(Label)
	if !ok || !labels.IsNumeric() {
		return nil, fmt.Errorf("%s: the current data has no numeric %s column", syn.Model, Label)
	}
	s := newSampler(seed, 7)
	b := newBuilder(metrics.ColumnTimestamp, metrics.ColumnVersion, metrics.ColumnScore, metrics.ColumnLabel, metrics.ColumnLatency, metrics.ColumnCategory)
	category := categoryColumn(syn.Current)
	for i, y := range labels.Float {
		if math.IsNaN(y) {
			continue
		}
		logit := productionSeparation*(y-0.5) + s.normal(0, 1)
		b.setStr(metrics.ColumnTimestamp, start.Add(time.Duration(i)*time.Minute).UTC().Format(time.RFC3339))
		b.setStr(metrics.ColumnVersion, version)
		b.setNum(metrics.ColumnScore, round(sigmoid(logit), 6))
		b.setNum(metrics.ColumnLabel, y)
		b.setNum(metrics.ColumnLatency, round(s.lognormal(math.Log(40), 0.4), 2))
		b.setStr(metrics.ColumnCategory, category(i))
		b.endRow()
	}
	return b.table(syn.Model + " predictions"), nil
}

// categoryColumn returns the category of each row: CategoryColumn's value, else the first
// string column's (device model, admission type), or "all".
func categoryColumn(t *dataset.Table) func(row int) string {
	cols := make([]*dataset.Column, 0, len(t.Columns)+1)
	if c, ok := t.Column(CategoryColumn); ok {
		cols = append(cols, c)
	}
	for i := range t.Columns {
		cols = append(cols, &t.Columns[i])
	}
	for _, c := range cols {
		if !c.IsNumeric() {
			return func(row int) string {
				if code := c.Codes[row]; code >= 0 {
					return c.Dict[code]
				}
				return "unknown"
			}
		}
	}
	return func(int) string { return "all" }
}
