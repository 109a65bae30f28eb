package audit

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/medimind/modelops/internal/git"
)

const timeLayout = "2006-01-02 15:04"

// WriteJSON writes the timeline as one indented JSON object.
func (t *Timeline) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(t); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

// WriteTable writes one aligned line per event: time (UTC), commit, model, event, what
// changed, who, why.
func (t *Timeline) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME (UTC)\tCOMMIT\tMODEL\tEVENT\tCHANGE\tWHO\tWHY")
	for _, e := range t.Events {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Time.Format(timeLayout), short(e.Commit), e.Model,
			kindList(e.Kinds), cell(e.What(), "; "), cell(e.Who(), ", "), cell(e.Why(), "; "))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	return nil
}

// WriteMarkdown writes a report for an auditor: one section per model, one table row per
// event, then the commits each merge brought in.
func (t *Timeline) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Model audit: `%s` at `%s`\n\n", t.Branch, short(t.Head))
	if t.Since != nil {
		fmt.Fprintf(&b, "Changes committed since %s.\n\n", t.Since.Format(time.RFC3339))
	}
	if len(t.Events) == 0 {
		b.WriteString("No policy changes.\n")
	}
	var models []string
	byModel := map[string][]Event{}
	for _, e := range t.Events {
		if _, ok := byModel[e.Model]; !ok {
			models = append(models, e.Model)
		}
		byModel[e.Model] = append(byModel[e.Model], e)
	}
	slices.Sort(models)
	for _, m := range models {
		fmt.Fprintf(&b, "## `%s`\n\n", m)
		b.WriteString("| When (UTC) | Commit | Event | What changed | Who | Why |\n")
		b.WriteString("|---|---|---|---|---|---|\n")
		for _, e := range byModel[m] {
			fmt.Fprintf(&b, "| %s | `%s` | %s | %s | %s | %s |\n", e.Time.Format(timeLayout), short(e.Commit),
				kindList(e.Kinds), mdCell(e.What()), mdCell(e.Who()), mdCell(e.Why()))
		}
		b.WriteString("\n")
		for _, e := range byModel[m] {
			if e.Merge == nil || len(e.Merge.Commits) == 0 {
				continue
			}
			fmt.Fprintf(&b, "Merge `%s` brought in:\n\n", short(e.Commit))
			for _, c := range e.Merge.Commits {
				fmt.Fprintf(&b, "- `%s` %s (%s, %s)\n", short(c.Hash), mdText(c.Subject), mdText(c.Author.Name), c.Author.Time.Format(timeLayout))
			}
			if e.Merge.Truncated {
				b.WriteString("- … and older commits\n")
			}
			b.WriteString("\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("write markdown: %w", err)
	}
	return nil
}

// What lists what the event changed, for people.
func (e Event) What() []string {
	var out []string
	switch {
	case e.File == "":
		out = append(out, "removed from "+e.PreviousFile)
	case e.PreviousFile != "":
		out = append(out, "moved "+e.PreviousFile+" → "+e.File)
	case len(e.Kinds) > 0 && e.Kinds[0] == KindAdded:
		out = append(out, "added in "+e.File)
	}
	if e.Error != "" {
		out = append(out, e.Error)
	}
	for _, c := range e.Changes {
		out = append(out, c.String())
	}
	return out
}

// Who lists the author, the committer when someone else, and who merged.
func (e Event) Who() []string {
	out := []string{e.Author.Name}
	if e.Merge != nil {
		out[0] = "merged by " + e.Merge.MergedBy.Name
		seen := map[string]bool{}
		var authors []string
		for _, c := range e.Merge.Commits {
			if !seen[c.Author.Name] {
				seen[c.Author.Name] = true
				authors = append(authors, c.Author.Name)
			}
		}
		if len(authors) > 0 {
			out = append(out, "written by "+strings.Join(authors, " and "))
		}
	} else if e.Committer.Name != e.Author.Name || e.Committer.Email != e.Author.Email {
		out = append(out, "committed by "+e.Committer.Name)
	}
	if e.PullRequest != 0 {
		out = append(out, fmt.Sprintf("PR #%d", e.PullRequest))
	}
	if e.Merge != nil && e.Merge.Proposal != nil {
		out = append(out, "proposal "+e.Merge.Proposal.ID)
	}
	return out
}

// Why lists the reasons: the action and reason trailers, the evidence, the proposal's first
// evidence line; without any, the commit's subject.
func (e Event) Why() []string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, key := range []string{git.TrailerAction, git.TrailerReason, git.TrailerEvidence} {
		for _, t := range e.Trailers {
			if strings.EqualFold(t.Key, key) {
				add(strings.ToLower(strings.TrimPrefix(key, "Modelops-")) + ": " + t.Value)
			}
		}
	}
	if e.Merge != nil && e.Merge.Proposal != nil && e.Merge.Proposal.Evidence != "" {
		add("evidence: " + e.Merge.Proposal.Evidence)
	}
	if len(out) == 0 && e.Subject != "" {
		// People say why in the commit message; its subject is the best short answer.
		add(e.Subject)
	}
	return out
}

func kindList(ks []Kind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, ",")
}

// cell joins items for a table cell; tabs and newlines would break the alignment.
func cell(items []string, sep string) string {
	if len(items) == 0 {
		return "-"
	}
	return strings.NewReplacer("\t", " ", "\n", " ").Replace(strings.Join(items, sep))
}

func mdCell(items []string) string {
	out := make([]string, len(items))
	for i, s := range items {
		out[i] = mdText(s)
	}
	return strings.Join(out, "<br>")
}

// mdText escapes what would break a Markdown table cell or start markup.
func mdText(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "<", "&lt;", ">", "&gt;", "*", `\*`, "_", `\_`, "`", "\\`").Replace(s)
}

func short(commit string) string {
	if len(commit) > 7 {
		return commit[:7]
	}
	return commit
}
