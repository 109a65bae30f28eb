package report

import (
	"strings"
	"testing"
	"time"

	"github.com/medimind/modelops/internal/drift"
)

func windowsOf(refRows, curRows int) *drift.Windows {
	at := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	w := &drift.Windows{
		Reference: drift.WindowReport{From: at.AddDate(0, 0, -60), To: at, Rows: refRows, DroppedRows: 1, MinRows: 30},
		Current:   drift.WindowReport{From: at.AddDate(0, 0, -7), To: at, Rows: curRows, DroppedRows: 2, MinRows: 5},
	}
	w.InsufficientData = refRows < 30 || curRows < 5
	return w
}

func TestInsufficientDataIsSaidPlainly(t *testing.T) {
	r := &drift.Report{DatasetShare: 0.5, Columns: []drift.ColumnReport{}, Groups: []drift.GroupReport{}, Windows: windowsOf(178, 3)}
	md := DriftMarkdown(r, MarkdownOptions{Title: "Data drift: microbiome"})
	for _, want := range []string{
		"**Insufficient data:** the current window holds 3 of the 5 rows it needs. The columns were not compared; this is neither drift nor a failure.",
		"| current | 2026-11-30T00:00:00Z | 2026-12-07T00:00:00Z | 3 | 2 | 5 |",
		"| reference | 2026-10-08T00:00:00Z | 2026-12-07T00:00:00Z | 178 | 1 | 30 |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "Dataset drift") || strings.Contains(md, "| column |") {
		t.Errorf("insufficient data is given a drift verdict:\n%s", md)
	}
	var b strings.Builder
	if err := DriftTable(&b, r); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); !strings.HasPrefix(got, "insufficient data: the current window holds 3 of the 5 rows it needs;") ||
		!strings.Contains(got, "current window: [2026-11-30T00:00:00Z, 2026-12-07T00:00:00Z) 3 rows, 2 dropped (no timestamp), min rows 5") {
		t.Errorf("table:\n%s", got)
	}
}

func TestEnoughDataShowsTheWindowsBesideTheVerdict(t *testing.T) {
	r := &drift.Report{DatasetShare: 0.5, Columns: []drift.ColumnReport{}, Groups: []drift.GroupReport{}, Windows: windowsOf(178, 40)}
	md := DriftMarkdown(r, MarkdownOptions{})
	if !strings.Contains(md, "**Dataset drift: no.**") || !strings.Contains(md, "| current | 2026-11-30T00:00:00Z | 2026-12-07T00:00:00Z | 40 | 2 | 5 |") || strings.Contains(md, "Insufficient") {
		t.Errorf("markdown:\n%s", md)
	}
	// Two files: no windows, as before.
	r.Windows = nil
	if md := DriftMarkdown(r, MarkdownOptions{}); strings.Contains(md, "| window |") {
		t.Errorf("a report of two files shows windows:\n%s", md)
	}
}
