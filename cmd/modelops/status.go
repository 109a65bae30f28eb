package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/medimind/modelops/reconciler"
)

type statusOptions struct {
	repoOptions
	output string
	stdout io.Writer
}

func newStatusCmd() *cobra.Command {
	opts := statusOptions{}
	cmd := &cobra.Command{
		Use:   "status [MODEL] --repo PATH|URL",
		Short: "Show every model's state at a glance (read from the tip and the status branch)",
		Long: `status shows what the tip of the tracked branch asks for and what modelops observed, per
model: production and canary versions (weight and step), the training generation and the last
run with its result, the last drift verdict and share (and, for one MODEL, when the next drift
check is due and why), the conditions with their reasons, and
the open proposals with their links. It is what GET /api/v1/status serves; nothing is written.

With MODEL, one model in detail. -o wide adds the Ready message and the proposals' links to the
table; -o json prints {"commit", "models": [...]}.

Exit status: 0 success, 1 failure, 2 unknown model or invalid flags.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.stdout = cmd.OutOrStdout()
			model := ""
			if len(args) == 1 {
				model = args[0]
			}
			return runStatus(cmd.Context(), opts, model)
		},
	}
	opts.bindFlags(cmd.Flags())
	cmd.Flags().StringVarP(&opts.output, "output", "o", "table", "output format: table, wide or json")
	return cmd
}

// statusOutput is the JSON output of modelops status.
type statusOutput struct {
	Commit string                    `json:"commit"`
	Models []reconciler.ModelSummary `json:"models"`
}

func runStatus(ctx context.Context, opts statusOptions, model string) error {
	switch opts.output {
	case "table", "wide", "json":
	default:
		return invalidInput(fmt.Errorf("unknown output %q, want table, wide or json", opts.output))
	}
	s, err := openStack(ctx, &opts.repoOptions, newLogger(slog.LevelWarn))
	if err != nil {
		return err
	}
	snap, err := s.reconciler.Snapshot(ctx)
	if err != nil {
		return err
	}
	out := statusOutput{Commit: snap.Commit, Models: snap.Summaries()}
	if model != "" {
		var one []reconciler.ModelSummary
		for _, m := range out.Models {
			if m.Model == model {
				one = append(one, m)
			}
		}
		if len(one) == 0 {
			return invalidInput(fmt.Errorf("no model %q at %s", model, short(snap.Commit)))
		}
		out.Models = one
	}
	switch {
	case opts.output == "json":
		return writeJSON(opts.stdout, out)
	case model != "":
		printModelDetail(opts.stdout, out.Commit, out.Models[0])
	default:
		printStatusTable(opts.stdout, out, opts.output == "wide")
	}
	return nil
}

func printStatusTable(w io.Writer, out statusOutput, wide bool) {
	fmt.Fprintf(w, "Status at %s: %d model(s).\n", short(out.Commit), len(out.Models))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	head := "MODEL\tREADY\tPRODUCTION\tCANARY\tGENERATION\tLAST TRAINING\tLAST DRIFT\tPROPOSALS"
	if wide {
		head += "\tMESSAGE\tLINKS"
	}
	fmt.Fprintln(tw, head)
	for _, m := range out.Models {
		ready := readyOf(m)
		var kinds, links []string
		for _, p := range m.Proposals {
			kinds = append(kinds, string(p.Kind))
			links = append(links, p.Where())
		}
		row := []string{m.Model, ready.word, production(m), canary(m), generation(m), lastRun(m), lastDrift(m), orDash(strings.Join(kinds, ","))}
		if wide {
			row = append(row, orDash(firstLine(ready.message)), orDash(strings.Join(links, " ")))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	tw.Flush()
}

func printModelDetail(w io.Writer, commit string, m reconciler.ModelSummary) {
	field := func(name, value string) { fmt.Fprintf(w, "%-14s %s\n", name+":", value) }
	field("Model", m.Model)
	field("File", orDash(m.File))
	field("Commit", short(commit))
	if m.Suspended {
		field("Suspended", "true")
	}
	field("Production", production(m))
	field("Canary", canary(m))
	field("Generation", generation(m))
	field("Last training", lastRun(m))
	if r := m.LastRun; r != nil && r.Message != "" {
		fmt.Fprintf(w, "  %s\n", strings.ReplaceAll(r.Message, "\n", "\n  "))
	}
	field("Last drift", lastDrift(m))
	if d := m.LastDrift; d != nil && d.Report != "" {
		field("Drift report", d.Report+" (status branch)")
	}
	if d := m.NextDrift; d != nil {
		field("Next drift", fmt.Sprintf("%s (%s)", d.Due.UTC().Format(time.RFC3339), d.Reason))
	}
	fmt.Fprintln(w, "Conditions:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  TYPE\tSTATUS\tREASON\tSINCE\tMESSAGE")
	for _, c := range m.Conditions {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", c.Type, c.Status, c.Reason, since(c.LastTransition), orDash(firstLine(c.Message)))
	}
	tw.Flush()
	fmt.Fprintln(w, "Proposals:")
	if len(m.Proposals) == 0 {
		fmt.Fprintln(w, "  none open")
	}
	for _, p := range m.Proposals {
		fmt.Fprintf(w, "  %s/%s  %s  %s\n", p.Model, p.Kind, p.Title, p.Where())
	}
	for _, e := range m.Errors {
		fmt.Fprintf(w, "invalid, left alone: %s\n", e)
	}
}

type readiness struct{ word, message string }

// readyOf renders the Ready condition: "True", or "False (Reason)" with its message.
func readyOf(m reconciler.ModelSummary) readiness {
	for _, c := range m.Conditions {
		if c.Type != reconciler.ConditionReady {
			continue
		}
		if c.Status == reconciler.ConditionTrue {
			return readiness{word: "True", message: c.Message}
		}
		return readiness{word: fmt.Sprintf("%s (%s)", c.Status, c.Reason), message: c.Message}
	}
	return readiness{word: "Unknown (not reconciled yet)"}
}

func production(m reconciler.ModelSummary) string {
	if m.Traffic == nil {
		return "-"
	}
	return m.Traffic.Production
}

func canary(m reconciler.ModelSummary) string {
	t := m.Traffic
	if t == nil || t.Canary == "" {
		return "-"
	}
	s := fmt.Sprintf("%s at %d%%", t.Canary, t.Weight)
	if m.CanaryStep > 0 {
		s += fmt.Sprintf(" (step %d/%d)", m.CanaryStep, m.CanarySteps)
	}
	return s
}

func generation(m reconciler.ModelSummary) string {
	if m.Generation == 0 && m.LaunchedGeneration == 0 {
		return "-"
	}
	s := fmt.Sprintf("%d (launched %d)", m.Generation, m.LaunchedGeneration)
	if u := m.Undecided; u != nil {
		s += fmt.Sprintf(", %d undecided", u.Generation)
	}
	return s
}

func lastRun(m reconciler.ModelSummary) string {
	r := m.LastRun
	if r == nil {
		return "-"
	}
	s := fmt.Sprintf("gen %d %s", r.Generation, r.Phase)
	if res := r.Result; res != nil {
		s += " → " + res.Version
	}
	if v := r.Promotion; v != nil {
		if v.Passed {
			s += ", gate passed"
		} else {
			s += ", gate FAILED: " + strings.Join(v.Failed(), ", ")
		}
	}
	return s
}

func lastDrift(m reconciler.ModelSummary) string {
	d := m.LastDrift
	if d == nil {
		return "-"
	}
	verdict := "no drift"
	switch {
	case d.InsufficientData:
		verdict = "insufficient data"
	case d.Drifted:
		verdict = "DRIFT"
	}
	return fmt.Sprintf("%s, share %.2f (%d/%d) at %s", verdict, d.Share, d.DriftedColumns, d.Columns, d.At.UTC().Format(time.RFC3339))
}

func since(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// firstLine keeps a table row on one line; the rest of a message (a run's log) is shown in
// the model's detail.
func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
