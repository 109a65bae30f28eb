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
// the groups. A name holding control or other unprintable characters (a newline in a CSV
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
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write drift table: %w", err)
	}
	return nil
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
