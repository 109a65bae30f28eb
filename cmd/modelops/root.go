package main

import (
	"github.com/spf13/cobra"
)

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "modelops",
		Short: "GitOps reconciler for machine-learning models",
		Long: `modelops reads the desired state of ML models from a git repository (ModelPolicy YAML),
checks data drift, proposes retrains and promotions as reviewable changes, launches training,
steps canary traffic and commits rollbacks itself. Git history is the audit trail.

Exit status: 0 success, 1 failure, 2 invalid input (policy or data).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// Each subcommand lives in its own file and is added here.
	root.AddCommand(
		newVersionCmd(),
		newSchemaCmd(),
		newValidateCmd(),
		newDriftCmd(),
		newEvaluateCmd(),
		newPlanCmd(),
		newReconcileCmd(),
		newStatusCmd(),
		newRunCmd(),
		newProposalsCmd(),
		newRetrainCmd(),
		newAdoptCmd(),
		newDemoCmd(),
		newAuditCmd(),
	)
	return root
}
