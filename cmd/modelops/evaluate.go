package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/medimind/modelops/internal/datafs"
	"github.com/medimind/modelops/internal/dataset"
	"github.com/medimind/modelops/internal/driftcheck"
	"github.com/medimind/modelops/internal/metrics"
	"github.com/medimind/modelops/internal/objstore"
	"github.com/medimind/modelops/policies"
)

// evaluateOptions are the flags of modelops evaluate.
type evaluateOptions struct {
	predictions  string
	policy       string
	dataRoot     string
	version      string
	threshold    float64
	categories   []string // nil: not given (the policy's, if any)
	since, until string
	output       string // json or table
}

func newEvaluateCmd() *cobra.Command {
	opts := evaluateOptions{}
	cmd := &cobra.Command{
		Use:   "evaluate --predictions F [--version V] [--threshold 0.5] [--categories a,b] [flags]",
		Short: "Compute AUC, precision, recall, latency p95 and coverage from a prediction log",
		Long: `evaluate reads a prediction log (CSV, optionally gzip, with a header row, or Parquet) with the
columns score, label and model_version, and optionally latency_ms, category and timestamp, and
prints per model version and over all rows:

  samples      rows with both a label and a score (the others count as unlabelled)
  positives    samples labelled 1
  auc          area under the ROC curve, ties counting one half as in sklearn's
               roc_auc_score; null when the samples hold only one class
  precision    TP / (TP + FP), a sample being predicted positive when score >= --threshold;
               0 without predicted positives
  recall       TP / positives; 0 without positives
  latencyP95Ms 95th percentile of latency_ms over the rows with a latency, interpolated
               linearly between the closest ranks (NumPy's default); null without any
  coverage     share of the expected categories (--categories, or the policy's
               promotion.categories) with at least one sample; null without a list

Labels are 0 or 1 (also true/false); empty cells and NaN are missing. With --version the
top-level figures are that version's; without, they cover all rows. --since and --until
(RFC 3339) keep the rows with since <= timestamp < until, as a canary window does.

--policy reads a ModelPolicy file and takes from it the log (spec.metrics.predictions,
relative to --data-root) and the expected categories (spec.promotion.categories); flags
given on the command line win.

Output (-o): table (the default when stdout is a terminal) or json (the default otherwise;
the stable contract: {"samples", "positives", "unlabelled", "auc", "precision", "recall",
"threshold", "latencyP95Ms", "coverage", "byVersion": {"<version>": {...same fields...}}}).

Exit status: 0 success, 1 failure (a read error), 2 invalid input (a missing or malformed
log, a bad value naming file, line or row and column, a version the log lacks, a bad flag).`,
		Example: `  modelops evaluate --predictions logs/sepsis/predictions.parquet
  modelops evaluate --predictions predictions.csv --version 13 --threshold 0.4 -o json
  modelops evaluate --predictions predictions.csv --categories icu,ward,er
  modelops evaluate --policy models/sepsis-risk.yaml --since 2024-03-01T00:00:00Z`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return invalidInput(fmt.Errorf("evaluate takes no arguments, got %q; name the log with --predictions", args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("categories") {
				opts.categories = nil
			} else if opts.categories == nil {
				opts.categories = []string{}
			}
			if !cmd.Flags().Changed("output") {
				opts.output = "json"
				if isTerminal(cmd.OutOrStdout()) {
					opts.output = "table"
				}
			}
			return runEvaluate(cmd.Context(), opts, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.predictions, "predictions", "", "prediction log: CSV, CSV.gz or Parquet file, or http(s) URL")
	f.StringVar(&opts.policy, "policy", "", "ModelPolicy file to take the log and the expected categories from")
	f.StringVar(&opts.dataRoot, "data-root", ".", "directory the policy's paths are read inside (symbolic links are followed only inside it)")
	f.StringVar(&opts.version, "version", "", "evaluate only this model version")
	f.Float64Var(&opts.threshold, "threshold", metrics.DefaultThreshold, "score at and above which a prediction is positive")
	f.StringSliceVar(&opts.categories, "categories", nil, "expected categories for coverage (comma-separated)")
	f.StringVar(&opts.since, "since", "", "keep rows at or after this time (RFC 3339)")
	f.StringVar(&opts.until, "until", "", "keep rows before this time (RFC 3339)")
	f.StringVarP(&opts.output, "output", "o", "", "output format: table or json (default table on a terminal, json otherwise)")
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return invalidInput(err) })
	return cmd
}

// runEvaluate evaluates the log opts names and writes the result to stdout. Errors caused
// by the input are *exitError with code 2; the rest are failures.
func runEvaluate(ctx context.Context, opts evaluateOptions, stdout io.Writer) error {
	if opts.output != "json" && opts.output != "table" {
		return invalidInput(fmt.Errorf("--output %q: want table or json", opts.output))
	}
	if math.IsNaN(opts.threshold) || math.IsInf(opts.threshold, 0) {
		return invalidInput(fmt.Errorf("--threshold %v: want a finite number", opts.threshold))
	}
	mopts := metrics.Options{Threshold: &opts.threshold, Version: opts.version, Categories: opts.categories}
	source := opts.predictions
	inRoot := "" // the policy's log path, read inside --data-root
	if opts.policy != "" {
		src, rel, cats, err := evaluatePolicy(opts.policy, opts.dataRoot)
		if err != nil {
			return err
		}
		if source == "" {
			source, inRoot = src, rel
		}
		if mopts.Categories == nil {
			mopts.Categories = cats
		}
	}
	if source == "" {
		return invalidInput(errors.New("--predictions is required (or a --policy whose spec.metrics.predictions names the log)"))
	}
	for _, c := range mopts.Categories {
		if strings.TrimSpace(c) == "" {
			return invalidInput(fmt.Errorf("--categories: empty category name in %q", strings.Join(mopts.Categories, ",")))
		}
	}
	var err error
	if mopts.Since, err = evaluateTime("--since", opts.since); err != nil {
		return err
	}
	if mopts.Until, err = evaluateTime("--until", opts.until); err != nil {
		return err
	}
	if !mopts.Since.IsZero() && !mopts.Until.IsZero() && !mopts.Since.Before(mopts.Until) {
		return invalidInput(fmt.Errorf("--since %s is not before --until %s", opts.since, opts.until))
	}

	file := source
	if driftcheck.IsURL(source) {
		dir, err := os.MkdirTemp("", "modelops-evaluate-")
		if err != nil {
			return fmt.Errorf("create download directory: %w", err)
		}
		defer os.RemoveAll(dir)
		if file, err = driftcheck.Download(ctx, nil, source, dir, "predictions"); err != nil {
			return evaluateInputError(err)
		}
	}
	var res *metrics.Result
	if datafs.IsObjectURL(source) {
		fsys, name, where, lerr := objstore.Locate(ctx, nil, nil, source)
		if lerr != nil {
			return evaluateInputError(lerr)
		}
		res, err = metrics.EvaluateFS(ctx, fsys, name, mopts)
		err = driftcheck.RenameSource(err, name, where)
	} else if inRoot != "" {
		root, closeRoot, rerr := openDataRoot(opts.dataRoot)
		if rerr != nil {
			return rerr
		}
		defer closeRoot()
		res, err = metrics.EvaluateFS(ctx, root, inRoot, mopts)
	} else {
		res, err = metrics.Evaluate(ctx, file, mopts)
	}
	if err != nil {
		return evaluateInputError(driftcheck.RenameSource(err, file, source))
	}
	if opts.version != "" && !slices.Contains(res.Versions, opts.version) {
		have := "it has no rows"
		if len(res.Versions) > 0 {
			have = "its versions are " + strings.Join(res.Versions, ", ")
		}
		return invalidInput(fmt.Errorf("--version %q: not in %s (%s)", opts.version, source, have))
	}

	if opts.output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return fmt.Errorf("write evaluation: %w", err)
		}
		return nil
	}
	return evaluateTable(stdout, res, opts.version)
}

// evaluatePolicy returns the prediction log (a path under dataRoot, or a URL), the log's path
// inside dataRoot ("" for a URL) and the expected categories of the one ModelPolicy in file.
func evaluatePolicy(file, dataRoot string) (source, inRoot string, categories []string, err error) {
	data, err := os.ReadFile(file)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", "", nil, invalidInput(fmt.Errorf("read policy: %w", err))
		}
		return "", "", nil, fmt.Errorf("read policy: %w", err)
	}
	ps, err := policies.Parse(file, data)
	if err != nil {
		return "", "", nil, invalidInput(fmt.Errorf("invalid policy:\n%w", err))
	}
	if len(ps) != 1 {
		return "", "", nil, invalidInput(fmt.Errorf("%s: want exactly one ModelPolicy, found %d", file, len(ps)))
	}
	p := ps[0]
	if m := p.Spec.Metrics; m != nil && m.Predictions != nil {
		source, inRoot = driftPolicySource(*m.Predictions, dataRoot), dataInRoot(m.Predictions.Path)
	}
	return source, inRoot, p.Spec.Promotion.Categories, nil
}

// evaluateTime parses the value of --since or --until; empty is the zero time.
func evaluateTime(flag, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, invalidInput(fmt.Errorf("%s %q: want a time such as 2024-03-01T12:00:00Z or a date 2024-03-01", flag, s))
}

// evaluateInputError marks errors about the log (malformed or missing) as invalid input;
// anything else stays a failure.
func evaluateInputError(err error) error {
	if errors.Is(err, dataset.ErrInvalid) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, datafs.ErrLink) {
		return invalidInput(err)
	}
	return err
}

// evaluateTable writes the result for a terminal: the top-level figures ("all", or the
// version asked for), then one row per version when there are several.
func evaluateTable(w io.Writer, res *metrics.Result, version string) error {
	bw := bufio.NewWriter(w)
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tSAMPLES\tPOSITIVES\tUNLABELLED\tAUC\tPRECISION\tRECALL\tLATENCY P95 MS\tCOVERAGE")
	row := func(name string, e *metrics.Evaluation) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\n", name, e.Samples, e.Positives, e.Unlabelled,
			evaluateShare(e.AUC), evaluateShare(&e.Precision), evaluateShare(&e.Recall),
			evaluateMs(e.LatencyP95Ms), evaluateShare(e.Coverage))
	}
	if version != "" {
		row(evaluateName(version), &res.Evaluation)
	} else {
		row("(all)", &res.Evaluation)
		if len(res.ByVersion) > 1 {
			names := make([]string, 0, len(res.ByVersion))
			for v := range res.ByVersion {
				names = append(names, v)
			}
			slices.Sort(names)
			for _, v := range names {
				row(evaluateName(v), res.ByVersion[v])
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write evaluation: %w", err)
	}
	fmt.Fprintf(bw, "\nthreshold %s (score >= threshold is a positive prediction)\n", strconv.FormatFloat(res.Threshold, 'g', -1, 64))
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write evaluation: %w", err)
	}
	return nil
}

// evaluateName is a version as the table shows it: Go-quoted when empty or holding a
// character that is not printable, so it cannot break the alignment or drive the terminal.
func evaluateName(s string) string {
	if s == "" || strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) || r == unicode.ReplacementChar }) >= 0 {
		return strconv.Quote(s)
	}
	return s
}

func evaluateShare(f *float64) string {
	if f == nil {
		return "-"
	}
	return strconv.FormatFloat(*f, 'f', 4, 64)
}

func evaluateMs(f *float64) string {
	if f == nil {
		return "-"
	}
	return strconv.FormatFloat(*f, 'f', 1, 64)
}
