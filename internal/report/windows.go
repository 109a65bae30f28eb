package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/medimind/modelops/internal/drift"
)

// windowSides names the two windows of a log with their reports.
func windowSides(w *drift.Windows) []struct {
	name string
	r    drift.WindowReport
} {
	return []struct {
		name string
		r    drift.WindowReport
	}{{"reference", w.Reference}, {"current", w.Current}}
}

// shortOf names the windows that hold fewer rows than their minRows, with the counts:
// "the current window holds 3 of the 5 rows it needs".
func shortOf(w *drift.Windows) string {
	var parts []string
	for _, s := range windowSides(w) {
		if int64(s.r.Rows) < s.r.MinRows {
			parts = append(parts, fmt.Sprintf("the %s window holds %d of the %d rows it needs", s.name, s.r.Rows, s.r.MinRows))
		}
	}
	return strings.Join(parts, " and ")
}

func windowTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// windowsMarkdown is the verdict "insufficient data", when it is, and the table of the
// windows of a log; "" when the data are two files.
func windowsMarkdown(w *drift.Windows) string {
	if w == nil {
		return ""
	}
	var b strings.Builder
	if w.InsufficientData {
		fmt.Fprintf(&b, "**Insufficient data:** %s. The columns were not compared; this is neither drift nor a failure.\n\n", shortOf(w))
	}
	b.WriteString("| window | from | to (excluded) | rows | dropped (no timestamp) | min rows |\n|---|---|---|---:|---:|---:|\n")
	for _, s := range windowSides(w) {
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %d | %d |\n", s.name, windowTime(s.r.From), windowTime(s.r.To), s.r.Rows, s.r.DroppedRows, s.r.MinRows)
	}
	b.WriteString("\n")
	return b.String()
}

// windowsText is windowsMarkdown for a terminal.
func windowsText(w *drift.Windows) string {
	if w == nil {
		return ""
	}
	var b strings.Builder
	if w.InsufficientData {
		fmt.Fprintf(&b, "insufficient data: %s; the columns were not compared (neither drift nor a failure)\n", shortOf(w))
	}
	for _, s := range windowSides(w) {
		fmt.Fprintf(&b, "%s window: [%s, %s) %d rows, %d dropped (no timestamp), min rows %d\n",
			s.name, windowTime(s.r.From), windowTime(s.r.To), s.r.Rows, s.r.DroppedRows, s.r.MinRows)
	}
	return b.String()
}
