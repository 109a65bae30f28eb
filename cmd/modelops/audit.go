package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/medimind/modelops/internal/audit"
	"github.com/medimind/modelops/internal/git"
	"github.com/medimind/modelops/internal/status"
)

// auditOptions are the flags of modelops audit.
type auditOptions struct {
	repoOptions
	output string
	since  string
	stdout io.Writer
}

func newAuditCmd() *cobra.Command {
	opts := &auditOptions{}
	cmd := &cobra.Command{
		Use:   "audit [MODEL] --repo PATH|URL [--since DATE] [-o table|json|markdown]",
		Short: "Show why each model changed: a semantic timeline from git history",
		Long: `audit reads the first-parent history of the tracked branch and shows, for every commit that
changed the meaning of a model's policy, what changed (spec.production.version 12 → 13,
spec.canary.weight 10 → 25, spec.retrain.generation 6 → 7, added, removed, moved, invalid),
who wrote, committed and merged it (with the pull request number or the local proposal), when,
and why (the Modelops-Action, -Reason and -Evidence trailers of the commit and of the commits
a merge brought in, and the first evidence line of the linked proposal record). Models are
followed by metadata.name, so renamed and moved files keep their history. Without MODEL every
model is shown. Edits that change no field (comments, formatting) are not events.

Output: -o table (default, one line per event), -o markdown (a report for an auditor) or
-o json, a stable object:

  {"branch", "head", "model"?, "since"?, "events": [{
     "model", "kinds": ["added"|"removed"|"moved"|"invalid"|"fixed"|"promotion"|"rollback"|
                        "retrain"|"canary"|"canary-step"|"canary-removed"|"change"],
     "commit", "time", "subject", "file"?, "previousFile"?,
     "changes": [{"path", "op": "changed"|"added"|"removed", "from", "to"}],
     "error"?, "author": {"name", "email", "time"}, "committer": {...}, "pullRequest"?,
     "merge"?: {"mergedBy": {...}, "proposal"?: {"id", "record", "recordCommit"?, "title"?,
                "state"?, "branch"?, "evidence"?}, "commits": [{"hash", "subject", "author",
                "trailers"?}], "truncated"?},
     "trailers": [{"key", "value", "commit"}]}]}

Events are oldest first; times are UTC. --since keeps the commits made at or after a date
(2026-01-31, midnight UTC) or an RFC 3339 time.

Exit status: 0 success, 1 failure (git), 2 invalid input (a bad date or output format, or a
MODEL the branch's history never held).`,
		Example: `  modelops audit --repo .
  modelops audit sepsis-risk --repo . --since 2026-01-01 -o markdown > audit.md
  modelops audit --repo https://github.com/medimind/policies.git -o json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return invalidInput(fmt.Errorf("audit takes at most one MODEL, got %q", args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.stdout = cmd.OutOrStdout()
			return runAudit(cmd.Context(), opts, args)
		},
	}
	opts.bindRepoFlags(cmd.Flags()) // an audit only reads history
	cmd.Flags().StringVarP(&opts.output, "output", "o", "table", "output format: table, json or markdown")
	cmd.Flags().StringVar(&opts.since, "since", "", "only commits made at or after this date (2026-01-31) or RFC 3339 time")
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return invalidInput(err) })
	return cmd
}

// runAudit builds the timeline of the repository's tracked branch and prints it.
func runAudit(ctx context.Context, opts *auditOptions, args []string) error {
	var write func(*audit.Timeline, io.Writer) error
	switch opts.output {
	case "table":
		write = (*audit.Timeline).WriteTable
	case "json":
		write = (*audit.Timeline).WriteJSON
	case "markdown":
		write = (*audit.Timeline).WriteMarkdown
	default:
		return invalidInput(fmt.Errorf("--output %q: want table, json or markdown", opts.output))
	}
	if opts.repo == "" {
		return invalidInput(errors.New("--repo is required"))
	}
	aopts := audit.Options{Branch: opts.branch, StatusBranch: status.Branch}
	if len(args) == 1 {
		aopts.Model = args[0]
	}
	if opts.since != "" {
		t, err := audit.ParseSince(opts.since)
		if err != nil {
			return invalidInput(fmt.Errorf("--since: %w", err))
		}
		aopts.Since = t
	}
	// An audit is a batch, as validate is (BenchmarkAudit10kCommits with and without
	// GOGC=off GOMEMLIMIT=400MiB: 2.1 against 2.7 CPU-seconds; the peak heap of that
	// 10,000-commit audit grows from about 170 to 420 MB).
	defer batchGC()()
	repo, err := openAuditRepo(ctx, &opts.repoOptions)
	if err != nil {
		return err
	}
	// A History keeps the pack files open for the walk: on a long history that is most of
	// the difference between seconds and tens of seconds.
	hist, err := repo.OpenHistory(ctx)
	if err != nil {
		return err
	}
	defer hist.Close()
	tl, err := audit.Build(ctx, hist, aopts)
	if errors.Is(err, audit.ErrUnknownModel) {
		return invalidInput(err)
	}
	if err != nil {
		return fmt.Errorf("audit %s: %w", opts.branch, err)
	}
	return write(tl, opts.stdout)
}

// openAuditRepo opens the repository alone: an audit only reads history, so it needs none of
// the reconciler's stack. A remote is mirrored into the state directory, as other commands do.
func openAuditRepo(ctx context.Context, o *repoOptions) (*git.Repo, error) {
	auth, err := o.auth()
	if err != nil {
		return nil, err
	}
	gopts := git.Options{Auth: auth}
	if !isLocalPath(o.repo) {
		stateDir, err := o.state()
		if err != nil {
			return nil, err
		}
		gopts.Dir = filepath.Join(stateDir, "mirror")
	}
	return git.Open(ctx, o.repo, gopts)
}
