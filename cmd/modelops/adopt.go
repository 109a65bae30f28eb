package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/medimind/modelops/reconciler"
)

func newAdoptCmd() *cobra.Command {
	opts := retrainOptions{}
	cmd := &cobra.Command{
		Use:   "adopt MODEL --reason TEXT --repo PATH|URL",
		Short: "Take a generation modelops cannot tell was trained as trained",
		Long: `When the status branch is lost and cannot be restored, modelops rebuilds what it can from git
history. A generation raised in history whose training run the runner does not know is left
undecided (condition Ready=False, reason GenerationUndecided): it is neither launched nor
taken as trained. adopt records on the status branch that it was trained and runs one cycle;
to train it instead, use modelops retrain MODEL --reason TEXT.

Exit status: 0 success, 1 failure, 2 unknown model, missing reason or nothing undecided.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.stdout = cmd.OutOrStdout()
			return runAdopt(cmd.Context(), opts, args[0])
		},
	}
	opts.bindRequestFlags(cmd.Flags(), "why the generation counts as trained (required; it is recorded)", "who decides (default: the user name)")
	return cmd
}

func runAdopt(ctx context.Context, opts retrainOptions, model string) error {
	if err := opts.checkRequest(); err != nil {
		return err
	}
	s, err := openStack(ctx, &opts.repoOptions, newLogger(slog.LevelWarn))
	if err != nil {
		return err
	}
	snap, _, err := s.reconciler.Plan(ctx)
	if err != nil {
		return err
	}
	if _, err := snap.ModelPolicy(model); err != nil {
		return invalidInput(err)
	}
	u := snap.Status.Model(model).Undecided
	if u == nil {
		return invalidInput(fmt.Errorf("%s has no undecided generation: nothing to adopt", model))
	}
	by := opts.by
	if by == "" {
		by = reviewer(&proposalsOptions{}).Name
	}
	req := reconciler.ManualRequest{At: time.Now().UTC(), Reason: opts.reason, By: by, Adopt: true, Generation: u.Generation}
	if err := s.status.AddRequest(ctx, model, req); err != nil {
		return err
	}
	if _, err := s.reconciler.Cycle(ctx); err != nil {
		return err
	}
	fmt.Fprintf(opts.stdout, "Generation %d of %s (raised by %s) adopted as trained.\n", u.Generation, model, short(u.Commit))
	return nil
}
