package drifthistory

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteJSON writes h as indented JSON.
func (h *History) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(h)
}

// sparkReports is how many of the latest reports the sparkline draws: a terminal line.
const sparkReports = 60

// WriteTable writes h for people: one line per report, and with spark a sparkline of the
// dataset share (for a terminal; a file or pipe gets the table alone). Columns that no report
// has (windows, quality, batch, correlation, interval) are left out.
func (h *History) WriteTable(w io.Writer, spark bool) error {
	since := ""
	if !h.Since.IsZero() {
		since = " since " + h.Since.UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(w, "Drift history of %s: %d report(s)%s (%s at %s).\n", h.Model, len(h.Reports), since, h.Branch, short(h.Commit))
	if len(h.Reports) == 0 {
		return nil
	}
	if spark {
		shares := make([]float64, len(h.Reports))
		for i, e := range h.Reports {
			shares[i] = e.Share
		}
		label := "share"
		if len(shares) > sparkReports {
			label = fmt.Sprintf("share, last %d", sparkReports)
			shares = shares[len(shares)-sparkReports:]
		}
		fmt.Fprintf(w, "%s  %s  (0 to 1, oldest first; dataset drifts at %.2f)\n", label, Sparkline(shares), h.Reports[len(h.Reports)-1].DatasetShare)
	}
	var has struct{ interval, windows, quality, batch, correlation bool }
	for _, e := range h.Reports {
		has.interval = has.interval || e.Interval != nil
		has.windows = has.windows || e.Windows != nil
		has.quality = has.quality || e.QualityFindings != nil
		has.batch = has.batch || e.Batch != nil
		has.correlation = has.correlation || e.Correlation != nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	head := []string{"TIME", "VERDICT", "SHARE", "COLUMNS", "GROUPS"}
	for _, c := range []struct {
		on   bool
		name string
	}{{has.interval, "INTERVAL"}, {has.windows, "WINDOWS"}, {has.quality, "QUALITY"}, {has.batch, "BATCH"}, {has.correlation, "CORRELATION"}} {
		if c.on {
			head = append(head, c.name)
		}
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, e := range h.Reports {
		row := []string{e.Time.UTC().Format(time.RFC3339), string(e.Verdict), fmt.Sprintf("%.2f", e.Share),
			fmt.Sprintf("%d/%d", e.DriftedColumns, e.Columns), groups(e.Groups)}
		if has.interval {
			row = append(row, "-")
			if e.Interval != nil {
				row[len(row)-1] = e.Interval.Duration.String()
			}
		}
		if has.windows {
			row = append(row, windows(e.Windows))
		}
		if has.quality {
			row = append(row, "-")
			if e.QualityFindings != nil {
				row[len(row)-1] = fmt.Sprintf("%d finding(s)", *e.QualityFindings)
			}
		}
		if has.batch {
			row = append(row, batch(e.Batch))
		}
		if has.correlation {
			row = append(row, correlation(e.Correlation))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

// sparkBlocks are the eight heights of a sparkline, lowest first.
var sparkBlocks = []rune("▁▂▃▄▅▆▇█")

// Sparkline draws shares (each in 0..1) as one block character each, on a fixed 0..1 scale
// so that lines of different models compare: eight equal bands, [0, 1/8) the lowest block
// and [7/8, 1] the highest.
func Sparkline(shares []float64) string {
	var b strings.Builder
	top := len(sparkBlocks) - 1
	for _, s := range shares {
		i := 0
		if !math.IsNaN(s) {
			i = min(top, int(math.Floor(math.Max(0, s)*float64(len(sparkBlocks)))))
		}
		b.WriteRune(sparkBlocks[i])
	}
	return b.String()
}

func groups(gs []Group) string {
	if len(gs) == 0 {
		return "-"
	}
	parts := make([]string, len(gs))
	for i, g := range gs {
		parts[i] = fmt.Sprintf("%s %.2f", g.Name, g.Share)
		if g.Drifted {
			parts[i] += "*"
		}
	}
	return strings.Join(parts, ", ")
}

func windows(ws *Windows) string {
	if ws == nil {
		return "-"
	}
	var parts []string
	for _, x := range []struct {
		name string
		w    *Window
	}{{"ref", ws.Reference}, {"cur", ws.Current}} {
		if x.w != nil {
			parts = append(parts, fmt.Sprintf("%s %d rows", x.name, x.w.Rows))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

func batch(b *Batch) string {
	switch {
	case b == nil:
		return "-"
	case !b.Effect:
		return "no effect (" + b.Column + ")"
	case len(b.Suspect) == 0:
		return "EFFECT (" + b.Column + ")"
	default:
		return "EFFECT (" + b.Column + "), suspect " + strings.Join(b.Suspect, ", ")
	}
}

func correlation(cs []Correlation) string {
	if cs == nil {
		return "-"
	}
	var drifted []string
	for _, c := range cs {
		if c.Drifted {
			drifted = append(drifted, c.Groups[0]+"×"+c.Groups[1])
		}
	}
	if len(drifted) == 0 {
		return fmt.Sprintf("0/%d pairs drifted", len(cs))
	}
	return fmt.Sprintf("%d/%d pairs drifted: %s", len(drifted), len(cs), strings.Join(drifted, ", "))
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	if commit == "" {
		return "no commit"
	}
	return commit
}
