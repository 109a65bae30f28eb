package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/medimind/modelops/policies"
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
	var u *reconciler.UndecidedGeneration
	_, _, err := opts.submitRequest(ctx, model, func(snap *reconciler.Snapshot, _ *policies.Policy, req *reconciler.ManualRequest) error {
		if u = snap.Status.Model(model).Undecided; u == nil {
			return fmt.Errorf("%s has no undecided generation: nothing to adopt", model)
		}
		req.Adopt, req.Generation = true, u.Generation
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.stdout, "Generation %d of %s (raised by %s) adopted as trained.\n", u.Generation, model, short(u.Commit))
	return nil
}
