package driftcheck

import (
	"fmt"
	"testing"

	"github.com/medimind/modelops/internal/drift"
)

// TestAWideReportKeepsTheHistogramsOfItsMostDriftedColumns: past the bound, only the most
// drifted columns keep their histograms, whatever their order in the report.
func TestAWideReportKeepsTheHistogramsOfItsMostDriftedColumns(t *testing.T) {
	rep := &drift.Report{}
	for i := range 10 {
		// Columns 7, 8 and 9 drift, 9 the most (the smallest KS p-value).
		p := 0.5
		if i >= 7 {
			p = 0.01 / float64(i)
		}
		rep.Columns = append(rep.Columns, drift.ColumnReport{Name: fmt.Sprintf("c%d", i), Test: drift.TestKS,
			Score: drift.Number(p), Threshold: 0.05, Drifted: i >= 7, Histogram: &drift.Histogram{}})
	}
	keepHistograms(rep, 2)
	var kept []string
	for _, c := range rep.Columns {
		if c.Histogram != nil {
			kept = append(kept, c.Name)
		}
	}
	if fmt.Sprint(kept) != "[c8 c9]" {
		t.Errorf("histograms kept on %v, want the two most drifted [c8 c9]", kept)
	}
	small := &drift.Report{Columns: []drift.ColumnReport{{Name: "a", Histogram: &drift.Histogram{}}, {Name: "b", Histogram: &drift.Histogram{}}}}
	keepHistograms(small, 2)
	if small.Columns[0].Histogram == nil || small.Columns[1].Histogram == nil {
		t.Error("a report within the bound lost a histogram")
	}
}
