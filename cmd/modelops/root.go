package main

import (
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"
)

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "modelops",
		Short: "GitOps reconciler for machine-learning models",
		Long: `modelops reads the desired state of ML models from a git repository (ModelPolicy YAML),
checks data drift, proposes retrains and promotions as reviewable changes, launches training,
steps canary traffic and commits rollbacks itself. Git history is the audit trail.

Logs go to stderr (text on a terminal, JSON otherwise), human and -o json output to stdout.
Commands that run once log warnings and errors; run logs at info. --log-level or
MODELOPS_LOG_LEVEL sets the level, -q keeps errors only.

Exit status: 0 success, 1 failure, 2 invalid input (policy or data).`,
		Version:       buildVersion(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("modelops {{.Version}}\n")
	logLevel = nil
	var level string
	var quiet bool
	root.PersistentFlags().StringVar(&level, "log-level", "", "debug, info, warn or error (default: warn, and info for run; or MODELOPS_LOG_LEVEL)")
	root.PersistentFlags().BoolVarP(&quiet, "quiet", "q", false, "log errors only (same as --log-level error)")
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		switch {
		case quiet && level != "":
			return invalidInput(fmt.Errorf("-q and --log-level: give one"))
		case quiet:
			l := slog.LevelError
			logLevel = &l
		case level != "":
			var l slog.Level
			if err := l.UnmarshalText([]byte(level)); err != nil {
				return invalidInput(fmt.Errorf("--log-level %q: want debug, info, warn or error", level))
			}
			logLevel = &l
		}
		return nil
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
