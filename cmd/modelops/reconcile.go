package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/medimind/modelops/reconciler"
)

type planOptions struct {
	repoOptions
	output string
	stdout io.Writer
}

func newPlanCmd() *cobra.Command {
	opts := planOptions{}
	cmd := &cobra.Command{
		Use:   "plan --repo PATH|URL",
		Short: "Print the actions the next reconcile cycle would take, doing nothing",
		Long: `plan observes the repository (policies at the tip of the tracked branch, the status branch,
proposals and training runs) and prints the actions the next cycle would take. Nothing is
written, launched or opened. Below the actions, each model's next drift check: when it is due
and why (the interval, the adaptive schedule's last step, the last report's time and verdict).
With -o json the output is {"commit", "actions": [...], "drift": [{"model", "due", "interval",
"lastReport"?, "lastOutcome"?, "adaptive"?: {"min", "max", "previous"?, "step"?}, "reason"}],
"invalid": [...]}.

Exit status: 0 success (whatever the plan), 1 failure, 2 invalid flags.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.stdout = cmd.OutOrStdout()
			return runPlan(cmd.Context(), opts)
		},
	}
	opts.bindRepoFlags(cmd.Flags())
	opts.bindReconcilerFlags(cmd.Flags()) // plan writes nothing: no author
	cmd.Flags().StringVarP(&opts.output, "output", "o", "table", "output format: table or json")
	return cmd
}

// planOutput is the JSON output of modelops plan.
type planOutput struct {
	Commit  string              `json:"commit"`
	Actions []reconciler.Action `json:"actions"`
	// Drift is when each model's next drift check is due, and why.
	Drift   []reconciler.DriftSchedule `json:"drift"`
	Invalid []string                   `json:"invalid"`
}

func runPlan(ctx context.Context, opts planOptions) error {
	if opts.output != "table" && opts.output != "json" {
		return invalidInput(fmt.Errorf("unknown output %q, want table or json", opts.output))
	}
	s, err := openStack(ctx, &opts.repoOptions, newLogger(slog.LevelWarn))
	if err != nil {
		return err
	}
	snap, actions, err := s.reconciler.Plan(ctx)
	if err != nil {
		return err
	}
	out := planOutput{Commit: snap.Commit, Actions: actions, Drift: snap.DriftSchedules(), Invalid: []string{}}
	if out.Actions == nil {
		out.Actions = []reconciler.Action{}
	}
	for _, e := range snap.Policies.Errors {
		out.Invalid = append(out.Invalid, e.Error())
	}
	if opts.output == "json" {
		enc := json.NewEncoder(opts.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	fmt.Fprintf(opts.stdout, "Plan at %s: %d model(s), %d action(s).\n", short(snap.Commit), len(snap.Policies.Policies), len(actions))
	if len(actions) > 0 {
		tw := tabwriter.NewWriter(opts.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "MODEL\tACTION\tREASON")
		for _, a := range actions {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", a.Model, a.Kind, a.Reason)
		}
		tw.Flush()
	}
	if len(out.Drift) > 0 {
		fmt.Fprintln(opts.stdout, "Next drift checks:")
		tw := tabwriter.NewWriter(opts.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  MODEL\tDUE\tINTERVAL\tWHY")
		for _, d := range out.Drift {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", d.Model, dueWhen(d.Due, snap.Now), d.Interval.Duration, d.Reason)
		}
		tw.Flush()
	}
	for _, e := range out.Invalid {
		fmt.Fprintf(opts.stdout, "invalid, left alone: %s\n", e)
	}
	return nil
}

type reconcileOptions struct {
	repoOptions
	once   bool
	output string
	stdout io.Writer
}

func newReconcileCmd() *cobra.Command {
	opts := reconcileOptions{}
	cmd := &cobra.Command{
		Use:   "reconcile --repo PATH|URL",
		Short: "Run one reconcile cycle",
		Long: `reconcile runs one cycle: observe, plan, apply, then record the observations on the status
branch. Invalid policies are reported and left alone; every other model is reconciled. For the
long-running reconciler, use modelops run.

Exit status: 0 success, 1 when the cycle, one of its actions or a training run it found
finished failed, 2 invalid flags or an invalid policy (after every valid model was reconciled).` + trainerContract,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.stdout = cmd.OutOrStdout()
			return runReconcile(cmd.Context(), opts)
		},
	}
	opts.bindFlags(cmd.Flags())
	cmd.Flags().BoolVar(&opts.once, "once", true, "run one cycle: what reconcile always does (kept for scripts; modelops run keeps going)")
	cmd.Flags().StringVarP(&opts.output, "output", "o", "table", "output format: table or json")
	return cmd
}

func runReconcile(ctx context.Context, opts reconcileOptions) error {
	if !opts.once {
		return invalidInput(fmt.Errorf("--once=false: reconcile runs one cycle; modelops run keeps going"))
	}
	if opts.output != "table" && opts.output != "json" {
		return invalidInput(fmt.Errorf("unknown output %q, want table or json", opts.output))
	}
	s, err := openStack(ctx, &opts.repoOptions, newLogger(slog.LevelWarn))
	if err != nil {
		return err
	}
	res, err := s.reconciler.Cycle(ctx)
	if res != nil {
		printCycle(opts.stdout, opts.output, res)
	}
	if err != nil {
		return err
	}
	if n := res.Failed(); n > 0 {
		return &exitError{code: 1, err: fmt.Errorf("%d action(s) failed; they are retried on the next cycle", n)}
	}
	if n := len(res.FailedRuns); n > 0 {
		return &exitError{code: 1, err: fmt.Errorf("%d training run(s) failed", n)}
	}
	if n := len(res.Invalid); n > 0 {
		return invalidInput(fmt.Errorf("%d invalid policy error(s); those models are left alone until fixed", n))
	}
	return nil
}

func printCycle(w io.Writer, output string, res *reconciler.CycleResult) {
	if output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(res)
		return
	}
	fmt.Fprintf(w, "Cycle at %s: %d model(s), %d action(s), %d failed, %d training run(s) failed, %d invalid.\n",
		short(res.Commit), res.Models, len(res.Actions), res.Failed(), len(res.FailedRuns), len(res.Invalid))
	if len(res.Actions) > 0 {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "MODEL\tACTION\tRESULT")
		for _, a := range res.Actions {
			result := a.Detail
			if a.Error != "" {
				result = "FAILED: " + a.Error
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", a.Action.Model, a.Action.Kind, result)
		}
		tw.Flush()
	}
	if c := res.StatusRestored; c != "" {
		fmt.Fprintf(w, "status branch lost: restored from the reconciler's backup at %s\n", short(c))
	}
	for _, run := range res.FailedRuns {
		fmt.Fprintf(w, "training FAILED: %s generation %d, run %s (commit %s): %s\n", run.Model, run.Generation, run.ID, short(run.Commit),
			strings.ReplaceAll(run.Message, "\n", "\n    "))
	}
	for _, e := range res.Invalid {
		fmt.Fprintf(w, "invalid, left alone: %s\n", e)
	}
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}

// dueWhen says when something is due: its time, or "now" once it has passed.
func dueWhen(due, now time.Time) string {
	if !due.After(now) {
		return "now (due " + due.UTC().Format(time.RFC3339) + ")"
	}
	return due.UTC().Format(time.RFC3339)
}
