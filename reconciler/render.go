package reconciler

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"k8s.io/utils/ptr"

	"github.com/medimind/modelops/policies"
)

// The Markdown the reconciler writes for people: proposal bodies and check-run summaries.
// Nothing here is read back; the forges find a proposal by their own marker.

// retrainBody renders the body of a retrain proposal; drift is the latest drift report's
// Markdown, appended for a drift trigger ("" for none).
func retrainBody(a Action, p *policies.Policy, drift string) string {
	plan := a.Proposal
	var b strings.Builder
	if plan.Note != "" {
		fmt.Fprintf(&b, "> **Warning:** %s.\n\n", plan.Note)
	}
	fmt.Fprintf(&b, "## Retrain `%s`\n\n", a.Model)
	fmt.Fprintf(&b, "modelops proposes training generation **%d** of `%s` because the **%s** trigger holds.\n\n", a.Generation, a.Model, plan.Trigger)
	fmt.Fprintf(&b, "Merging this change raises `spec.retrain.generation` in `%s` (%s); the reconciler then launches the training job once.\n\n", p.File, plan.Change)
	writeEvidence(&b, plan.Evidence)
	if job := p.Spec.Retrain.Job; job != nil {
		b.WriteString("\n### Training job\n\n")
		fmt.Fprintf(&b, "| image | command | GPUs | timeout |\n|---|---|---|---|\n| `%s` | `%s` | %d | %s |\n",
			job.Image, strings.Join(job.Command, " "), ptr.Deref(job.GPUs, 0), job.Timeout.Duration)
	}
	if pl := p.Spec.Retrain.Pipeline; pl != nil {
		b.WriteString("\n### Training pipeline (Kubeflow Pipelines)\n\n")
		pipeline, version := "`"+pl.PipelineID+"`", "`"+pl.VersionID+"`"
		switch {
		case pl.PipelineName != "":
			pipeline = "`" + pl.PipelineName + "` (by name)"
		case pl.Spec != "":
			pipeline, version = "`"+pl.Spec+"` (compiled, submitted inline)", "as merged"
		}
		if pl.VersionID == "latest" {
			version = "the latest, resolved at launch"
		}
		fmt.Fprintf(&b, "| pipeline | version | timeout |\n|---|---|---|\n| %s | %s | %s |\n", pipeline, version, pl.Timeout.Duration)
	}
	fmt.Fprintf(&b, "\nPlanned on commit `%s`. Close this proposal to decline it: modelops does not propose generation %d again unless someone asks for it (`modelops retrain %s --reason ...`).\n", short(a.Commit), a.Generation, a.Model)
	if drift != "" && plan.Trigger == TriggerDrift {
		b.WriteString("\n### Latest drift report\n\n" + drift)
	}
	return b.String()
}

// codeSpan shows s, a value that comes from data, as a Markdown code span: nothing in it
// renders, links or mentions anyone, and neither a backtick nor a line break in it can end
// the span early.
func codeSpan(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '`':
			return '\''
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029':
			return ' '
		}
		return r
	}, s)
	return "`" + s + "`"
}

// writeEvidence writes the "### Evidence" section (internal/audit reads its first item).
func writeEvidence(b *strings.Builder, evidence []Evidence) {
	b.WriteString("### Evidence\n\n")
	for _, e := range evidence {
		fmt.Fprintf(b, "- %s\n", e.Text)
	}
}

// promotionBody renders the body of a promotion proposal: the change and the evaluation
// table of candidate against production.
func promotionBody(a Action, p *policies.Policy, cmp *Comparison) string {
	plan, promo := a.Proposal, a.Promotion
	var b strings.Builder
	fmt.Fprintf(&b, "## Promote `%s` version `%s` to canary\n\n", a.Model, promo.Canary.Version)
	if promo.Registered {
		fmt.Fprintf(&b, "The candidate `%s`, registered through the API (%s), passed the promotion gate.\n\n", promo.Canary.Version, plan.Evidence[0].Text)
	} else {
		fmt.Fprintf(&b, "The candidate of training generation **%d** (run `%s`) passed the promotion gate.\n\n", a.Generation, promo.RunID)
	}
	fmt.Fprintf(&b, "Merging this change sets `spec.canary` in `%s` (%s, uri `%s`); canary analysis then steps its traffic through %s.\n\n",
		p.File, plan.Change, promo.Canary.URI, stepsText(p.Spec.CanaryAnalysis.Steps))
	b.WriteString("### Evaluation\n\n")
	b.WriteString(promotionTable(promo.Verdict))
	if cmp != nil {
		b.WriteString("\n" + comparisonSection(*cmp))
	}
	fmt.Fprintf(&b, "\nJudged at %s. Planned on commit `%s`. Close this proposal to decline it: modelops does not propose version %s again.\n",
		describeTime(promo.Verdict.JudgedAt), short(a.Commit), promo.Canary.Version)
	return b.String()
}

// fullPromotionBody renders the body of the proposal making a canary the production version.
func fullPromotionBody(a Action, p *policies.Policy) string {
	plan, c := a.Proposal, a.Canary
	var b strings.Builder
	fmt.Fprintf(&b, "## Promote `%s` version `%s` to production\n\n", a.Model, c.Version)
	fmt.Fprintf(&b, "%s.\n\n", capitalize(a.Reason))
	fmt.Fprintf(&b, "Merging this change makes `%s` (uri `%s`) the production version in `%s` and removes `spec.canary` (%s).\n\n",
		c.Version, c.URI, p.File, plan.Change)
	b.WriteString("### Latest check\n\n")
	b.WriteString(canaryCheckTable(c.Check))
	b.WriteString("\n")
	writeEvidence(&b, plan.Evidence)
	fmt.Fprintf(&b, "\nPlanned on commit `%s`. Close this proposal to keep the canary where it is.\n", short(a.Commit))
	return b.String()
}

// canaryEditBody renders the body of a canary step or rollback proposed as a pull request.
func canaryEditBody(a Action, title, evidence string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s\n\n%s.\n\nThe repository configuration (`%s`) asks for pull requests: merge this one to apply it.\n\n### Latest check\n\n",
		title, capitalize(a.Reason), policies.RepositoryConfigFile)
	b.WriteString(canaryCheckTable(a.Canary.Check))
	fmt.Fprintf(&b, "\nEvidence: `%s` on the status branch.\n", evidence)
	return b.String()
}

func capitalize(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

// canaryCheckTable renders a check as a Markdown table of canary against production.
func canaryCheckTable(ch CanaryCheck) string {
	var b strings.Builder
	b.WriteString("| | canary | production |\n|---|---|---|\n")
	fmt.Fprintf(&b, "| version | `%s` | `%s` |\n", ch.Canary.Version, ch.Production.Version)
	fmt.Fprintf(&b, "| labelled predictions | %d | %d |\n", ch.Canary.Samples, ch.Production.Samples)
	fmt.Fprintf(&b, "| AUC | %s | %s |\n", figure(ch.Canary.AUC), figure(ch.Production.AUC))
	fmt.Fprintf(&b, "| precision | %.4f | %.4f |\n", ch.Canary.Precision, ch.Production.Precision)
	fmt.Fprintf(&b, "| recall | %.4f | %.4f |\n", ch.Canary.Recall, ch.Production.Recall)
	fmt.Fprintf(&b, "| latency p95 ms | %s | %s |\n", latencyText(ch.Canary.LatencyP95Ms), latencyText(ch.Production.LatencyP95Ms))
	if d := ch.AUC; d != nil {
		fmt.Fprintf(&b, "\nAUC difference %+.4f, %g%% confidence interval [%+.4f, %+.4f] (DeLong), p = %.3g.\n", d.Diff, d.Confidence*100, d.Lower, d.Upper, d.P)
	}
	b.WriteString("\n")
	for _, f := range ch.Findings {
		fmt.Fprintf(&b, "- %s\n", f)
	}
	return b.String()
}

func latencyText(v *float64) string {
	if v == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.1f", *v)
}

// promotionTable renders the verdict as a Markdown table: one row per criterion with what is
// wanted, the candidate's and production's figures, and ✓ or ✗. It is a variable so a test
// can change the format and see that no proposal's digest depends on it.
var promotionTable = func(v PromotionVerdict) string {
	var b strings.Builder
	prodHead := "production"
	if v.ProductionVersion != "" {
		prodHead = fmt.Sprintf("production (`%s`)", v.ProductionVersion)
	}
	fmt.Fprintf(&b, "| criterion | wanted | candidate (`%s`) | %s | result |\n", v.Version, prodHead)
	b.WriteString("|---|---|---|---|---|\n")
	for _, c := range v.Criteria {
		wanted := fmt.Sprintf("%s %s", c.Op, formatFigure(c.Name, c.Wanted))
		cand := formatOpt(c.Name, c.Candidate)
		if strings.HasSuffix(c.Name, " improvement") {
			wanted = fmt.Sprintf("%s +%s over production", c.Op, formatFigure(c.Name, c.Wanted))
			if c.Got != nil {
				cand = fmt.Sprintf("%s (%+.4f)", cand, *c.Got)
			}
		}
		result := "✓"
		switch {
		case c.NotJudged:
			result = "✗ " + c.Note
		case !c.Pass && c.Note != "":
			result = "✗ " + c.Note
		case !c.Pass:
			result = "✗"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", c.Name, wanted, cand, formatOpt(c.Name, c.Production), result)
	}
	return b.String()
}

func stepsText(steps []int) string {
	var parts []string
	for _, s := range steps {
		parts = append(parts, fmt.Sprintf("%d%%", s))
	}
	return strings.Join(parts, " → ")
}

// comparisonBudget bounds the comparison section of a promotion body, so that with the
// evaluation table the body stays well under GitHub's 65,536 characters whatever the runs
// logged (hundreds of hyperparameters, long values).
const comparisonBudget = 30000

// maxCellRunes bounds a value from the registry in a table cell.
const maxCellRunes = 120

// gateMetrics are the run metrics the promotion gate reads (CandidateMetrics), in the order
// of the evaluation table.
var gateMetrics = []string{"auc", "precision", "recall", "samples", "latencyMs", "coverage"}

// comparisonSection renders candidate and production side by side from the registry: the
// runs with links, the training code's commit, every gate metric as the runs logged it,
// the hyperparameters that differ and the digests of the data each run read. Rows that do
// not fit comparisonBudget are counted, not shown.
func comparisonSection(c Comparison) string {
	var b strings.Builder
	cand, prod := c.Candidate, c.Production
	fmt.Fprintf(&b, "### Comparison with production (model registry `%s`)\n\n", cell(c.RegisteredModel))
	fmt.Fprintf(&b, "| | candidate (`%s`) | production (`%s`) |\n|---|---|---|\n", cell(cand.Version), cell(prod.Version))
	fmt.Fprintf(&b, "| run | %s | %s |\n", runLink(cand), runLink(prod))
	fmt.Fprintf(&b, "| training code | %s | %s |\n", codeCommit(cand, c.CandidateMerge), codeCommit(prod, c.ProductionMerge))
	for _, m := range gateMetrics {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", m, metricCell(cand, m), metricCell(prod, m))
	}

	rows := func(title, head string, lines []string) {
		fmt.Fprintf(&b, "\n#### %s\n\n", title)
		if len(lines) == 0 {
			b.WriteString("None.\n")
			return
		}
		b.WriteString(head)
		for i, l := range lines {
			if b.Len()+len(l) > comparisonBudget {
				fmt.Fprintf(&b, "\n%d more not shown (the body has a size limit); the runs above list them all.\n", len(lines)-i)
				return
			}
			b.WriteString(l)
		}
	}
	var params []string
	for _, d := range differingParams(cand.Params, prod.Params) {
		params = append(params, fmt.Sprintf("| %s | %s | %s |\n", code(d[0]), optCode(d[1], cand.Params, d[0]), optCode(d[2], prod.Params, d[0])))
	}
	rows("Hyperparameters that differ", "| parameter | candidate | production |\n|---|---|---|\n", params)

	digests := map[string][2]string{}
	var names []string
	for i, side := range []VersionLineage{cand, prod} {
		for _, d := range side.Datasets {
			name := d.Name
			if d.Context != "" {
				name += " (" + d.Context + ")"
			}
			got, seen := digests[name]
			if !seen {
				names = append(names, name)
			}
			got[i] = d.Digest
			digests[name] = got
		}
	}
	slices.Sort(names)
	var data []string
	for _, n := range names {
		d := digests[n]
		same := ""
		if d[0] != "" && d[0] == d[1] {
			same = " (same)"
		}
		data = append(data, fmt.Sprintf("| %s | %s | %s%s |\n", cell(n), orDash(d[0]), orDash(d[1]), same))
	}
	rows("Training data (dataset digests)", "| dataset | candidate | production |\n|---|---|---|\n", data)
	return b.String()
}

// cell makes text from the registry safe in a Markdown table cell: one line, no pipe, at
// most maxCellRunes characters.
func cell(s string) string {
	s = strings.NewReplacer("\r", " ", "\n", " ", "|", "\\|", "`", "'").Replace(s)
	if utf8.RuneCountInString(s) > maxCellRunes {
		s = string([]rune(s)[:maxCellRunes]) + "…"
	}
	return s
}

func code(s string) string { return "`" + cell(s) + "`" }

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return code(s)
}

// optCode renders a parameter's value, or says the run does not set it.
func optCode(v string, params map[string]string, key string) string {
	if _, ok := params[key]; !ok {
		return "not set"
	}
	return code(v)
}

func runLink(l VersionLineage) string {
	switch {
	case !l.Found:
		return "not in the registry"
	case l.RunID == "":
		return "no run recorded"
	case l.RunURL == "":
		return code(l.RunID)
	}
	return fmt.Sprintf("[%s](%s)", cell(l.RunID), strings.NewReplacer(" ", "%20", ")", "%29", "(", "%28").Replace(l.RunURL))
}

func codeCommit(l VersionLineage, merge string) string {
	switch {
	case l.CodeCommit != "":
		return code(l.CodeCommit) + " (mlflow.source.git.commit)"
	case merge != "":
		return code(short(merge)) + " (the merge that launched its training)"
	}
	return "unknown"
}

func metricCell(l VersionLineage, key string) string {
	v, ok := l.Metrics[key]
	if !ok {
		return "—"
	}
	if key == "latencyMs" {
		return formatFigure(CriterionLatency, v)
	}
	return formatFigure(key, v)
}
