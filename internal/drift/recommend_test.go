package drift

import (
	"strings"
	"testing"
)

// insufficient_data names the window that held too few rows, the current one first.
func TestRecommendInsufficientData(t *testing.T) {
	for _, tc := range []struct {
		w    Windows
		want string
	}{
		{Windows{InsufficientData: true, Reference: WindowReport{Rows: 60000, MinRows: 50000}, Current: WindowReport{Rows: 400, MinRows: 1000}},
			"The current window holds 400 of the 1000 rows it needs"},
		{Windows{InsufficientData: true, Reference: WindowReport{Rows: 12, MinRows: 50000}, Current: WindowReport{Rows: 4000, MinRows: 1000}},
			"The reference window holds 12 of the 50000 rows it needs"},
	} {
		recs := Recommend(&Report{Windows: &tc.w})
		if len(recs) != 1 || recs[0].Rule != RuleInsufficientData || !strings.HasPrefix(recs[0].Text, tc.want) {
			t.Errorf("recommendations %+v, want %q", recs, tc.want)
		}
	}
	if recs := Recommend(&Report{Windows: &Windows{Current: WindowReport{Rows: 4000, MinRows: 1000}}}); len(recs) != 0 {
		t.Errorf("enough rows recommend %+v", recs)
	}
}
