package report

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"

	"github.com/medimind/modelops/internal/drift"
)

// DriftTable writes r as aligned text for a terminal: one row per column in the data's
// order (column, kind, test, whether the score is a p-value or a distance, score,
// threshold, drifted), then the dataset verdict, then
// the groups, then the part-two checks and recommendations when configured. A name holding control or other unprintable characters (a newline in a CSV
// header, an escape sequence) is shown Go-quoted, so it cannot break the alignment or
// drive the terminal.
func DriftTable(w io.Writer, r *drift.Report) error {
	if r.Windows != nil && r.Windows.InsufficientData {
		if _, err := io.WriteString(w, windowsText(r.Windows)); err != nil {
			return fmt.Errorf("write drift table: %w", err)
		}
		return nil
	}
	bw := bufio.NewWriter(w)
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "COLUMN\tKIND\tTEST\tSCORE IS\tSCORE\tTHRESHOLD\tDRIFTED")
	for _, c := range r.Columns {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", terminalText(c.Name), c.Kind, c.Test, scoreIs(c.Test),
			formatNumber(float64(c.Score)), formatNumber(c.Threshold), yesNo(c.Drifted))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write drift table: %w", err)
	}
	rel := "<"
	if r.Drifted {
		rel = ">="
	}
	fmt.Fprintf(bw, "\ndataset drift: %s (%d of %d columns drifted, share %s %s %s)\n",
		yesNo(r.Drifted), countDrifted(r.Columns), len(r.Columns), formatShare(r.Share), rel, formatShare(r.DatasetShare))
	if note := invalidNote(r.Columns); note != "" {
		fmt.Fprintln(bw, note)
	}
	bw.WriteString(windowsText(r.Windows))
	if len(r.Groups) > 0 {
		bw.WriteString("\n")
		tw = tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "GROUP\tCOLUMNS\tSHARE\tDRIFTED")
		for _, g := range r.Groups {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", terminalText(g.Name), len(g.Columns), formatShare(g.Share), yesNo(g.Drifted))
		}
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("write drift table: %w", err)
		}
	}
	omicsLines(bw, r)
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write drift table: %w", err)
	}
	return nil
}

// omicsLines ends the table with the part-two checks in a line each, and the
// recommendations; the JSON and Markdown reports have the details.
func omicsLines(w io.Writer, r *drift.Report) {
	if r.Quality != nil {
		fmt.Fprintf(w, "\ndata quality: %d findings\n", len(r.Quality))
		for _, f := range r.Quality {
			fmt.Fprintf(w, "  %s: %s (reference %s, current %s, threshold %s)\n", terminalText(f.Column), f.Issue,
				optNumber(f.Reference), optNumber(f.Current), optNumber(f.Threshold))
		}
	}
	if b := r.Batch; b != nil {
		var suspects []string
		for _, x := range b.Batches {
			if x.Suspect {
				suspects = append(suspects, terminalText(x.Name))
			}
		}
		fmt.Fprintf(w, "\nbatch effect (%s): %s; %d batches, suspect: %s\n", terminalText(b.Column), yesNo(b.Effect), len(b.Batches), orNone(suspects))
	}
	for _, c := range r.Correlation {
		fmt.Fprintf(w, "correlation %s × %s: %d of %d pairs changed (share %s), drifted: %s\n", terminalText(c.Groups[0]), terminalText(c.Groups[1]),
			c.Changed, c.Tested, formatShare(c.Share), yesNo(c.Drifted))
	}
	if len(r.Recommendations) > 0 {
		fmt.Fprintln(w, "\nrecommendations:")
		for _, rec := range r.Recommendations {
			fmt.Fprintf(w, "  - %s\n", terminalText(rec.Text))
		}
	}
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// terminalText returns s, or s Go-quoted when it holds a character that is not
// printable (tabs and newlines included) or is not valid UTF-8.
func terminalText(s string) string {
	if s == "" {
		return `""`
	}
	if strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) || r == unicode.ReplacementChar }) >= 0 {
		return strconv.Quote(s)
	}
	return s
}

// scoreIs names what a test's score is: a p-value (drift below the threshold) or a
// distance (drift at or above it). It follows the test rather than the report's
// scoreKind field, so reports written before that field render the same.
func scoreIs(t drift.Test) string {
	if drift.ScoreKindOf(t) == drift.ScorePValue {
		return "p-value"
	}
	return "distance"
}
