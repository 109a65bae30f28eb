package report

import (
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/medimind/modelops/internal/drift"
)

// Size limits of DriftMarkdown.
const (
	// DefaultMaxBytes is the size DriftMarkdown stays within unless told otherwise. GitHub
	// takes at most 65,535 characters in a check run's summary or text and 65,536 in a
	// pull-request body; the margin leaves room for a heading or a hidden marker that the
	// caller adds.
	DefaultMaxBytes = 64000
	// MinMaxBytes is the smallest MarkdownOptions.MaxBytes honoured; a smaller value is
	// raised to it, so that the summary and the note always fit.
	MinMaxBytes = 4096
	// ChartColumns is the most columns the chart shows.
	ChartColumns = 15
	// ChartCap is the largest bar the chart draws: a p-value of 1e-300 would otherwise
	// flatten every other bar.
	ChartCap = 100
)

// Display limits, in runes, for names that come from data files and policies. A longer
// name is cut and ends with "…"; the full name is in the JSON report.
const (
	maxNameRunes      = 120
	maxChartNameRunes = 40
	maxTitleRunes     = 200
	maxLinkBytes      = 1000
)

// MarkdownOptions configure DriftMarkdown. The zero value renders everything with no
// heading and no link.
type MarkdownOptions struct {
	// Title, when not empty, is rendered as a level-2 heading.
	Title string
	// ReportLink is where the full JSON report is: an http(s) URL becomes a link, anything
	// else (a path on the status branch, a file name) is shown as text.
	ReportLink string
	// MaxColumns, when positive, limits the rows of the column table.
	MaxColumns int
	// MaxBytes bounds the length of the result in bytes; 0 means DefaultMaxBytes, and a
	// value below MinMaxBytes is raised to it. The column table is cut to fit, then the
	// groups table, then the chart is left out.
	MaxBytes int
}

// DriftMarkdown renders r as GitHub-flavoured Markdown for a pull-request body or a check
// run: a summary line (dataset drift yes/no, share against the dataset threshold, columns
// drifted of tested), the windows of a log when the data are (with the verdict
// "insufficient data", which replaces the summary line, when a window holds too few rows),
// the groups table, the data quality, batch-effect and correlation sections when
// configured, a Mermaid bar chart of the most drifted columns (PastThreshold, capped at
// ChartCap), the columns most drifted first (Ranked), the recommendations, and a note
// pointing to the full report. The result is never longer than opts.MaxBytes
// bytes, however many columns r has: rows that do not fit are replaced by a line saying
// how many more there are.
func DriftMarkdown(r *drift.Report, opts MarkdownOptions) string {
	limit := opts.MaxBytes
	if limit == 0 {
		limit = DefaultMaxBytes
	}
	limit = max(limit, MinMaxBytes)

	var head strings.Builder
	if opts.Title != "" {
		fmt.Fprintf(&head, "## %s\n\n", escapeText(truncateRunes(opts.Title, maxTitleRunes)))
	}
	head.WriteString(summaryLine(r))
	note := reportNote(opts.ReportLink)
	rest := limit - head.Len() - len(note)

	ranked := Ranked(r.Columns)
	recommendations := recommendationsSection(r, rest/6)
	rest -= len(recommendations)
	groups := groupsTable(r.Groups, rest/4)
	rest -= len(groups)
	omics := omicsSections(r, rest/3)
	rest -= len(omics)
	chart := driftChart(ranked)
	if len(chart) > rest/2 {
		chart = ""
	}
	rest -= len(chart)
	columns := columnsTable(ranked, opts.MaxColumns, rest)
	if r.Windows != nil && r.Windows.InsufficientData {
		columns = "" // none was compared
	}

	var b strings.Builder
	b.Grow(head.Len() + len(groups) + len(omics) + len(chart) + len(columns) + len(recommendations) + len(note))
	b.WriteString(head.String())
	b.WriteString(groups)
	b.WriteString(omics)
	b.WriteString(chart)
	b.WriteString(columns)
	b.WriteString(recommendations)
	b.WriteString(note)
	return b.String()
}

// summaryLine is the verdict paragraph, then the windows of a log (windows.go).
func summaryLine(r *drift.Report) string {
	if r.Windows != nil && r.Windows.InsufficientData {
		return windowsMarkdown(r.Windows)
	}
	drifted, tested := countDrifted(r.Columns), len(r.Columns)
	rel := "<"
	if r.Drifted {
		rel = "≥"
	}
	noun := "columns"
	if tested == 1 {
		noun = "column"
	}
	line := fmt.Sprintf("**Dataset drift: %s.** %d of %d %s drifted (share %s %s dataset threshold %s).\n\n",
		yesNo(r.Drifted), drifted, tested, noun, formatShare(r.Share), rel, formatShare(r.DatasetShare))
	if note := invalidNote(r.Columns); note != "" {
		line += note + "\n\n"
	}
	return line + windowsMarkdown(r.Windows)
}

// reportNote points to the full JSON report.
func reportNote(link string) string {
	link = strings.TrimSpace(link)
	switch {
	case link == "":
		return "The full JSON report has every column and every test's statistics.\n"
	case len(link) > maxLinkBytes:
		return "The full JSON report has every column and every test's statistics (its address is too long to show).\n"
	case isWebURL(link):
		return fmt.Sprintf("Full report (JSON, every column and test): [drift report](<%s>)\n", escapeLinkDestination(link))
	default:
		return fmt.Sprintf("Full report (JSON, every column and test): %s\n", escapeText(link))
	}
}

func isWebURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// escapeLinkDestination makes s safe inside <...>: CommonMark ends such a destination at
// '>' or a line ending, and lets '<' and '>' be backslash-escaped.
func escapeLinkDestination(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '<' || r == '>' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case unicode.IsControl(r):
			b.WriteString(url.PathEscape(string(r)))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// groupsTable renders the groups in at most budget bytes.
func groupsTable(groups []drift.GroupReport, budget int) string {
	if len(groups) == 0 {
		return ""
	}
	rows := make([]string, len(groups))
	for i, g := range groups {
		drifted := "no"
		if g.Drifted {
			drifted = "**yes**"
		}
		rows[i] = fmt.Sprintf("| %s | %d | %s | %s |\n", escapeCell(g.Name), len(g.Columns), formatShare(g.Share), drifted)
	}
	const header = "| group | columns | share drifted | drifted |\n| --- | ---: | ---: | --- |\n"
	return boundedTable(header, rows, "groups", budget)
}

// columnsTable renders the ranked columns in at most budget bytes (and maxRows rows when
// positive).
func columnsTable(ranked []drift.ColumnReport, maxRows, budget int) string {
	n := len(ranked)
	if maxRows > 0 {
		n = min(n, maxRows)
	}
	rows := make([]string, 0, n)
	// Only as many rows as could possibly fit are formatted: with 20,000 columns most
	// would be thrown away.
	size := 0
	for _, c := range ranked[:n] {
		row := columnRow(c)
		size += len(row)
		if size > budget {
			break
		}
		rows = append(rows, row)
	}
	const header = "| column | kind | test | score is | score | threshold | drifted |\n| --- | --- | --- | --- | ---: | ---: | --- |\n"
	return boundedTable(header, rows, "columns", budget, len(ranked)-len(rows))
}

func columnRow(c drift.ColumnReport) string {
	drifted := "no"
	if c.Drifted {
		drifted = "**yes**"
	}
	return fmt.Sprintf("| %s | %s | %s | %s | %s | %s | %s |\n", escapeCell(c.Name), c.Kind, c.Test, scoreIs(c.Test),
		formatNumber(float64(c.Score)), formatNumber(c.Threshold), drifted)
}

// boundedTable writes header and as many rows as fit in budget bytes, followed by a
// line naming how many rows of what were left out (the rows not passed plus extra[0]).
// When not even the header and that line fit, it returns the line alone, or "".
func boundedTable(header string, rows []string, what string, budget int, extra ...int) string {
	hidden := 0
	for _, e := range extra {
		hidden += e
	}
	total := len(rows) + hidden
	more := func(n int) string {
		if n == 0 {
			return ""
		}
		return fmt.Sprintf("\n… and %d more %s, see the full report.\n", n, what)
	}
	// The line is sized for the largest count it could show, so that it always fits.
	room := budget - len(header) - len(more(total)) - 1
	kept := 0
	for _, r := range rows {
		if room < len(r) {
			break
		}
		room -= len(r)
		kept++
	}
	if kept == 0 && total > 0 {
		if line := strings.TrimPrefix(more(total), "\n"); len(line)+1 <= budget {
			return line + "\n"
		}
		return ""
	}
	var b strings.Builder
	b.WriteString(header)
	for _, r := range rows[:kept] {
		b.WriteString(r)
	}
	b.WriteString(more(total - kept))
	b.WriteByte('\n')
	return b.String()
}

// driftChart is a Mermaid bar chart of how far past their thresholds the most drifted
// columns are. It is empty when no column drifted.
func driftChart(ranked []drift.ColumnReport) string {
	var labels, values []string
	for _, c := range ranked {
		if !c.Drifted || len(labels) == ChartColumns {
			break
		}
		v := PastThreshold(c)
		if math.IsNaN(v) {
			continue
		}
		labels = append(labels, `"`+escapeMermaid(truncateRunes(c.Name, maxChartNameRunes))+`"`)
		// Mermaid's xychart grammar takes plain decimals only (no exponent).
		values = append(values, strconv.FormatFloat(min(v, ChartCap), 'f', 2, 64))
	}
	if len(labels) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("```mermaid\nxychart-beta horizontal\n")
	fmt.Fprintf(&b, "    title \"Most drifted columns: score / threshold (threshold / p-value for p-value tests; 1 = threshold, capped at %d)\"\n", ChartCap)
	fmt.Fprintf(&b, "    x-axis [%s]\n", strings.Join(labels, ", "))
	b.WriteString("    y-axis \"times past the threshold\"\n")
	fmt.Fprintf(&b, "    bar [%s]\n", strings.Join(values, ", "))
	b.WriteString("```\n\n")
	return b.String()
}

// mermaidEntities are the characters escapeMermaid writes as Mermaid entity codes, which
// Mermaid decodes in every diagram: '"' would end the string (which knows no backslash
// escapes), '#' would start an entity, '%' could form a "%%{...}%%" directive (removed
// wherever it appears), and '<' '>' could form an HTML tag whose attribute quotes
// Mermaid rewrites before parsing.
var mermaidEntities = map[rune]string{'"': "#quot;", '#': "#35;", '%': "#37;", '<': "#lt;", '>': "#gt;"}

// escapeMermaid makes s safe inside a double-quoted Mermaid string: the characters of
// mermaidEntities become entity codes, line breaks and other control characters spaces.
func escapeMermaid(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case mermaidEntities[r] != "":
			b.WriteString(mermaidEntities[r])
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// escapeCell makes s safe as the text of a GitHub table cell: line breaks and other
// control characters (which would end the row) become spaces, and escapeText handles
// the rest, '|' (which would end the cell) included.
func escapeCell(s string) string {
	return escapeText(truncateRunes(s, maxNameRunes))
}

// markdownSpecial are the ASCII punctuation characters that start or end inline
// Markdown in GitHub's renderer: code spans, emphasis, strikethrough, links, images,
// HTML, entities, math and table cell borders. CommonMark lets any ASCII punctuation be
// backslash-escaped, so escaping them all keeps the text literal.
const markdownSpecial = "\\`*_~[]()<>!&$|#"

// escapeText escapes s for inline Markdown text so it renders literally, on one line.
func escapeText(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == utf8.RuneError:
			b.WriteRune(utf8.RuneError)
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029':
			b.WriteByte(' ')
		case r < utf8.RuneSelf && strings.ContainsRune(markdownSpecial, r):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// truncateRunes cuts s to at most n runes, the last being "…" when s was cut.
func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i, count := 0, 0
	for j := range s {
		if count == n-1 {
			i = j
			break
		}
		count++
	}
	return s[:i] + "…"
}
