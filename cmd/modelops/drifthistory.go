package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/medimind/modelops/internal/drifthistory"
	"github.com/medimind/modelops/internal/git"
	"github.com/medimind/modelops/internal/status"
	"github.com/medimind/modelops/policies"
	"github.com/medimind/modelops/reconciler"
)

// driftHistoryOptions are the flags of modelops drift history.
type driftHistoryOptions struct {
	repoOptions
	output string
	since  string
	stdout io.Writer
	// spark draws the sparkline (stdout is a terminal).
	spark bool
	now   func() time.Time
}

func newDriftHistoryCmd() *cobra.Command {
	opts := &driftHistoryOptions{now: time.Now}
	cmd := &cobra.Command{
		Use:   "history MODEL --repo PATH|URL [--since DURATION|TIME] [-o table|json]",
		Short: "Show every drift report of a model from the status branch, oldest first",
		Long: `history reads the drift reports of MODEL on the status branch (modelops/status) and shows
one line per report: its time, verdict (drifted, no-drift, or insufficient-data for a report
that tested no column), dataset share, drifted columns and the share of each feature group
(* when the group drifted), and, when the reports have them, the adaptive schedule's interval,
the windows' rows, the count of data quality findings, the batch-effect verdict with its
suspect batches and the correlation verdicts per pair of groups. On a terminal a sparkline
of the dataset share comes first. Nothing is written.

--since keeps the reports made within a duration of now (168h, 7d, 1d12h) or at or after a
date (2026-01-31, midnight UTC) or an RFC 3339 time.

-o json prints a stable object:

  {"model", "branch", "commit", "since"?, "reports": [{
     "time", "report", "verdict": "drifted"|"no-drift"|"insufficient-data",
     "share", "datasetShare", "columns", "driftedColumns",
     "groups": [{"name", "share", "drifted"}], "interval"?,
     "windows"?: {"reference"?: {"from", "to", "rows", "droppedRows"}, "current"?: {...}},
     "qualityFindings"?, "batch"?: {"column", "effect", "suspect": [names]},
     "correlation"?: [{"groups": [A, B], "tested", "changed", "share", "drifted"}]}]}

Fields marked ? appear only when the report has them.

Exit status: 0 success (also with no report yet), 1 failure (git), 2 invalid input (a MODEL
with neither a policy at the tip nor anything on the status branch, a bad --since or output).`,
		Example: `  modelops drift history sepsis-risk --repo .
  modelops drift history sepsis-risk --repo . --since 7d -o json`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return invalidInput(fmt.Errorf("history takes one MODEL, got %q", args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.stdout = cmd.OutOrStdout()
			opts.spark = isTerminal(opts.stdout)
			return runDriftHistory(cmd.Context(), opts, args[0])
		},
	}
	opts.bindRepoFlags(cmd.Flags())
	cmd.Flags().StringVarP(&opts.output, "output", "o", "table", "output format: table or json")
	cmd.Flags().StringVar(&opts.since, "since", "", "only reports made within this duration of now (7d, 48h) or at or after this date or RFC 3339 time")
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return invalidInput(err) })
	return cmd
}

func runDriftHistory(ctx context.Context, opts *driftHistoryOptions, model string) error {
	if opts.output != "table" && opts.output != "json" {
		return invalidInput(fmt.Errorf("--output %q: want table or json", opts.output))
	}
	if opts.repo == "" {
		return invalidInput(errors.New("--repo is required"))
	}
	if msgs := validation.IsDNS1123Label(model); len(msgs) > 0 {
		return invalidInput(fmt.Errorf("no model %q: a model name is a DNS-1123 label: %s", model, strings.Join(msgs, "; ")))
	}
	h := &drifthistory.History{Model: model, Branch: status.Branch}
	if opts.since != "" {
		t, err := parseSince(opts.since, opts.now())
		if err != nil {
			return invalidInput(fmt.Errorf("--since: %w", err))
		}
		h.Since = t
	}
	repo, err := openAuditRepo(ctx, &opts.repoOptions)
	if err != nil {
		return err
	}
	tip, files, err := status.New(repo, status.Branch, git.Signature{}).Tree(ctx) // reads only
	if err != nil {
		return err
	}
	h.Commit = tip
	ms, err := status.ModelAt(files, model)
	if err != nil {
		return err
	}
	var records []reconciler.DriftRecord
	if ms != nil {
		records = ms.Drift
	}
	h.Reports, err = drifthistory.Read(files, model, h.Since, records)
	if errors.Is(err, drifthistory.ErrNoReports) {
		h.Reports = []drifthistory.Entry{}
		if ms == nil {
			known, kerr := policyAtTip(ctx, repo, opts.branch, model)
			if kerr != nil {
				return kerr
			}
			if !known {
				return invalidInput(fmt.Errorf("no model %q: no policy at the tip of %s and nothing on %s", model, opts.branch, status.Branch))
			}
		}
	} else if err != nil {
		return err
	}
	if opts.output == "json" {
		return h.WriteJSON(opts.stdout)
	}
	return h.WriteTable(opts.stdout, opts.spark)
}

// policyAtTip reports whether the tip of branch defines model with a valid policy. (A
// model whose policy is invalid has a status, Stalled, once a cycle has seen it.)
func policyAtTip(ctx context.Context, repo *git.Repo, branch, model string) (bool, error) {
	_, files, err := repo.BranchTree(ctx, branch)
	if err != nil {
		return false, err
	}
	set, err := policies.Load(files)
	if err != nil {
		return false, err
	}
	return set.Get(model) != nil, nil
}

// parseSince reads --since: a duration back from now (Go units, and d for days), a date
// (midnight UTC) or an RFC 3339 time.
func parseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := policies.ParseDuration(s)
	if s == "" || err != nil || d < 0 {
		return time.Time{}, fmt.Errorf("expected a duration (7d, 48h), a date (2026-01-31) or an RFC 3339 time, got %q", s)
	}
	return now.Add(-d), nil
}
