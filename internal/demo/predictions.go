package demo

import (
	"fmt"
	"math"
	"time"

	"github.com/medimind/modelops/internal/dataset"
	"github.com/medimind/modelops/internal/metrics"
)

// predictionLog simulates the serving log of a production version over the current data:
// one prediction per current row, scored by a model whose logit separates the classes by
// about two standard deviations (AUC near 0.92), with its latency and the row's category.
// It gives the reconciler a production baseline to watch for a performance drop.
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
		logit := (2*y - 1) + s.normal(0, 1) // class means ±1, sd 1: AUC = Φ(√2) ≈ 0.92
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

// categoryColumn returns the category of each row: the first string column's value (ward,
// device model, admission type), or "all".
func categoryColumn(t *dataset.Table) func(row int) string {
	for i := range t.Columns {
		c := &t.Columns[i]
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
