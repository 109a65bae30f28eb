package report

import (
	"fmt"
	"strings"

	"github.com/medimind/modelops/internal/drift"
)

// The part-two sections of DriftMarkdown (drift-definitions.md §9–§11): data quality,
// batch effects, correlation drift, and the recommendations that end the report.

// maxCorrelationPairs is how many feature pairs of each group pair the Markdown lists.
const maxCorrelationPairs = 5

// omicsSections renders the quality, batch and correlation parts of r in at most budget
// bytes; each is left out when not configured.
func omicsSections(r *drift.Report, budget int) string {
	var b strings.Builder
	if r.Quality != nil {
		section := "### Data quality\n\nNo findings.\n\n"
		if len(r.Quality) > 0 {
			rows := make([]string, len(r.Quality))
			for i, f := range r.Quality {
				rows[i] = fmt.Sprintf("| %s | %s | %s | %s | %s |\n", escapeCell(f.Column), f.Issue,
					optNumber(f.Reference), optNumber(f.Current), optNumber(f.Threshold))
			}
			section = "### Data quality\n\n" + boundedTable("| column | finding | reference | current | threshold |\n| --- | --- | ---: | ---: | ---: |\n",
				rows, "findings", budget/3)
		}
		b.WriteString(section)
	}
	if br := r.Batch; br != nil {
		b.WriteString(batchSection(br, budget/3))
	}
	if len(r.Correlation) > 0 {
		b.WriteString(correlationSection(r.Correlation, budget/3))
	}
	if b.Len() > budget {
		return ""
	}
	return b.String()
}

func batchSection(br *drift.BatchReport, budget int) string {
	var b strings.Builder
	var suspects []string
	for _, x := range br.Batches {
		if x.Suspect {
			suspects = append(suspects, escapeCell(x.Name))
		}
	}
	fmt.Fprintf(&b, "### Batch effects (%s)\n\n**Batch effect: %s.**", escapeCell(br.Column), yesNo(br.Effect))
	if len(suspects) > 0 {
		fmt.Fprintf(&b, " Suspect batches: %s.", strings.Join(suspects, ", "))
	}
	b.WriteString("\n\n")
	if len(br.Groups) > 0 {
		rows := make([]string, len(br.Groups))
		for i, g := range br.Groups {
			rows[i] = fmt.Sprintf("| %s | %d | %s | %s |\n", escapeCell(g.Name), g.Tested, formatShare(g.Share), yesNo(g.Effect))
		}
		b.WriteString(boundedTable("| group | features tested | share with a batch effect | effect |\n| --- | ---: | ---: | --- |\n", rows, "groups", budget/3))
	}
	rows := make([]string, len(br.Batches))
	for i, x := range br.Batches {
		rows[i] = fmt.Sprintf("| %s | %d | %s | %s |\n", escapeCell(x.Name), x.Rows, formatShare(x.DriftedShare), yesNo(x.Suspect))
	}
	b.WriteString(boundedTable("| batch | rows | drifted share | suspect |\n| --- | ---: | ---: | --- |\n", rows, "batches", budget/2))
	return b.String()
}

func correlationSection(cs []drift.CorrelationReport, budget int) string {
	var b strings.Builder
	b.WriteString("### Correlation drift\n\n")
	rows := make([]string, len(cs))
	for i, c := range cs {
		rows[i] = fmt.Sprintf("| %s × %s | %d | %d | %s | %s |\n", escapeCell(c.Groups[0]), escapeCell(c.Groups[1]),
			c.Tested, c.Changed, formatShare(c.Share), yesNo(c.Drifted))
	}
	b.WriteString(boundedTable("| groups | pairs tested | changed | share | drifted |\n| --- | ---: | ---: | ---: | --- |\n", rows, "group pairs", budget/3))
	var pairs []string
	for _, c := range cs {
		for _, p := range c.Pairs[:min(len(c.Pairs), maxCorrelationPairs)] {
			pairs = append(pairs, fmt.Sprintf("| %s | %s | %s | %s | %s | %s |\n", escapeCell(p.A), escapeCell(p.B),
				formatNumber(float64(p.RReference)), formatNumber(float64(p.RCurrent)), formatNumber(float64(p.Z)), formatNumber(float64(p.QValue))))
		}
	}
	if len(pairs) > 0 {
		b.WriteString(boundedTable("| feature | feature | r reference | r current | Z | q |\n| --- | --- | ---: | ---: | ---: | ---: |\n", pairs, "pairs", budget/2))
	}
	return b.String()
}

// recommendationsSection lists the recommendations, or says none applies; empty when the
// report has none to give (no part-two check configured).
func recommendationsSection(r *drift.Report, budget int) string {
	if r.Recommendations == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString("### Recommendations\n\n")
	if len(r.Recommendations) == 0 {
		b.WriteString("None: no rule fired.\n\n")
	}
	for i, rec := range r.Recommendations {
		line := fmt.Sprintf("- %s (`%s`)\n", escapeText(rec.Text), rec.Rule)
		if b.Len()+len(line)+64 > budget {
			fmt.Fprintf(&b, "- … and %d more, see the full report.\n", len(r.Recommendations)-i)
			break
		}
		b.WriteString(line)
	}
	if len(r.Recommendations) > 0 {
		b.WriteString("\n")
	}
	return b.String()
}

func optNumber(n *drift.Number) string {
	if n == nil {
		return "—"
	}
	return formatNumber(float64(*n))
}
