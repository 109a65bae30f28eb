package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/medimind/modelops/internal/datafs"
	"github.com/medimind/modelops/internal/dataset"
	"github.com/medimind/modelops/internal/drift"
	"github.com/medimind/modelops/internal/driftcheck"
	"github.com/medimind/modelops/internal/profilecache"
	"github.com/medimind/modelops/internal/report"
	"github.com/medimind/modelops/policies"
)

// driftProgressColumns is the number of columns above which a terminal gets a progress
// display: smaller inputs finish before one would be worth drawing.
const driftProgressColumns = 200

// driftOptions are the flags of modelops drift. A nil list or pointer means the flag was
// not given, so the policy's value (or the default) applies.
type driftOptions struct {
	reference, current string
	policy             string
	dataRoot           string
	categorical        []string
	numeric            []string
	exclude            []string
	tests              []string
	threshold          *float64
	share              *float64
	output             string // json, markdown or table
	reportLink         string
	// invalidValues and the limits are "" or 0 when not given.
	invalidValues string
	maxRows       int64
	maxColumns    int
	maxBytes      string
	maxCellBytes  string
	maxMemory     string
	// progress allows the progress display on stderr (stderr is a terminal).
	progress bool
	// stateDir, when set, keeps prepared references in <stateDir>/profiles.
	stateDir string
	// memory is the memory budget (--memory), "" when not given.
	memory string
	// batchColumn and quality turn on the batch and quality checks over the policy's.
	batchColumn string
	quality     bool
	// log compares windows of a timestamped log (drift_log.go).
	log driftLogFlags
}

func newDriftCmd() *cobra.Command {
	opts := driftOptions{}
	var threshold, share float64
	cmd := &cobra.Command{
		Use:   "drift --reference F --current F [--policy P] [flags]",
		Short: "Compare two datasets column by column and report data drift",
		Long: `drift compares a current dataset with a reference dataset, one statistical test per
column, and applies the dataset share rule: the dataset drifts when at least --share of the
columns drift. The tests, their default thresholds and the automatic choice follow
Evidently's definitions (ks, wasserstein, psi, kl_div, jensenshannon for numeric columns;
chisquare, z, psi, kl_div, jensenshannon for categorical ones).

Files are CSV (optionally gzip) with a header row, or Parquet; an http(s) URL is downloaded
first. Empty cells and NaN are missing values, dropped per column and counted.

--policy reads a ModelPolicy file and takes from it the data sources (spec.data.reference and
spec.data.current), the categorical, numeric and excluded columns, the feature groups and the
drift settings (numericTest, categoricalTest, threshold, datasetShare). Data paths in the policy
are read inside --data-root (default: the current directory, normally the root of the policy
repository), following symbolic links only inside it. A flag given on the command line replaces the policy's value.

--tests chooses the tests: auto (Evidently's choice per column), all (every test that applies
to each column, reported under stats; the verdict stays the automatic choice) or a
comma-separated list of test names, the first one that applies to a column being its
verdict. Every column must have a listed test that applies to its kind.

A column's kind comes from the reference (or --numeric/--categorical): a value in the
current data that is neither missing nor a number, in a column numeric in the reference, is
an error naming the file, line and column, or with --invalid-values ignore (the policy's
spec.data.invalidValues) is dropped and counted (invalidCurrent in the JSON report).

--max-rows, --max-columns, --max-bytes (decompressed text), --max-cell-bytes and --max-memory
bound each file (the policy's spec.data.limits; defaults 100000000 rows, 100000 columns, 16Gi,
1Mi, 6Gi of cells at 8 bytes each); a file over a limit is refused with an error naming it.

--memory (the policy's spec.data.limits.memory) is a budget for the comparison: when the two
tables would not fit in it, their columns are read and compared in batches sized to it
(Parquet a batch of column chunks at a time, CSV in one pass over the file per batch), with the
same report. --state-dir keeps the reference's prepared profile (sorted values, category
counts) in <state-dir>/profiles, keyed by the file's content and the options, so that the next
check of the same reference reads and prepares only the current data.
--quality adds the data quality findings (missing values, out-of-range values, new
categories, constant, added or removed columns); a column on one side only is then a finding,
not an error. --batch-column C tests each feature of the current data for a batch effect
across the values of C (lab, site, plate) and names the batches the drift comes from; C is
never a feature. A policy's spec.drift.quality, batch and correlation do the same, with their
thresholds. The report then adds quality, batch, correlation and recommendations.

Output (-o): table (the default when stdout is a terminal), json (the default otherwise; the
stable contract: {"drifted", "share", "datasetShare", "columns": [...], "groups": [...]}) or
markdown (for pull requests and check runs, at most 64,000 bytes however many columns).

Exit status: 0 whether or not drift is found, 1 failure (a download or read error),
2 invalid input (a missing or malformed file, a missing column, an unknown test, a bad flag
value or an invalid policy).
` + driftLogHelp,
		Example: `  modelops drift --reference ref.csv --current cur.csv
  modelops drift --reference ref.parquet --current cur.parquet --categorical sex,ward -o json
  modelops drift --policy models/sepsis-risk.yaml -o markdown --report-link https://example.com/r.json
  modelops drift --reference ref.csv --current cur.csv --tests ks,chisquare --threshold 0.01
  modelops drift --reference ref.parquet --current cur.parquet --batch-column lab_id --quality
  modelops drift --reference logs/features --current logs/features --timestamp ts \
      --reference-window 30d,ago=365d,min=5000 --current-window 7d,min=1000`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return invalidInput(fmt.Errorf("drift takes no arguments, got %q; name the files with --reference and --current", args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			flags := cmd.Flags()
			for name, list := range map[string]*[]string{"categorical": &opts.categorical, "numeric": &opts.numeric, "exclude": &opts.exclude, "tests": &opts.tests} {
				if !flags.Changed(name) {
					*list = nil
				} else if *list == nil {
					*list = []string{}
				}
			}
			if flags.Changed("threshold") {
				opts.threshold = &threshold
			}
			if flags.Changed("share") {
				opts.share = &share
			}
			if !flags.Changed("output") {
				opts.output = "json"
				if isTerminal(cmd.OutOrStdout()) {
					opts.output = "table"
				}
			}
			opts.progress = isTerminal(cmd.ErrOrStderr())
			return runDrift(cmd.Context(), opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.reference, "reference", "", "reference dataset: CSV, CSV.gz or Parquet file, or http(s) URL")
	f.StringVar(&opts.current, "current", "", "current dataset: CSV, CSV.gz or Parquet file, or http(s) URL")
	f.StringVar(&opts.policy, "policy", "", "ModelPolicy file to take the data sources, columns, groups and drift settings from")
	f.StringVar(&opts.dataRoot, "data-root", ".", "directory the policy's data paths are read inside (symbolic links are followed only inside it)")
	f.StringSliceVar(&opts.categorical, "categorical", nil, "columns to treat as categorical (comma-separated)")
	f.StringSliceVar(&opts.numeric, "numeric", nil, "columns that must be numeric (comma-separated)")
	f.StringSliceVar(&opts.exclude, "exclude", nil, "columns to leave out (comma-separated)")
	f.StringSliceVar(&opts.tests, "tests", nil, "auto, all, or a comma-separated list of tests (default auto)")
	f.Float64Var(&threshold, "threshold", 0, "threshold for every test instead of its default (a p-value for ks, chisquare, z; a distance otherwise)")
	f.Float64Var(&share, "share", 0, "share of drifted columns (0..1) at or above which the dataset drifts (default 0.5, or the policy's datasetShare)")
	f.StringVarP(&opts.output, "output", "o", "", "output format: table, json or markdown (default table on a terminal, json otherwise)")
	f.StringVar(&opts.reportLink, "report-link", "", "link or path of the full JSON report, named at the end of the markdown output")
	f.StringVar(&opts.invalidValues, "invalid-values", "", "a non-number in a numeric column: error (default) or ignore (dropped and counted)")
	f.Int64Var(&opts.maxRows, "max-rows", 0, "most data rows a file may have (default 100000000, or the policy's spec.data.limits)")
	f.IntVar(&opts.maxColumns, "max-columns", 0, "most columns a file may have (default 100000)")
	f.StringVar(&opts.maxBytes, "max-bytes", "", "most bytes of decompressed text, or the largest Parquet file, as a quantity (default 16Gi)")
	f.StringVar(&opts.maxCellBytes, "max-cell-bytes", "", "longest cell, as a quantity (default 1Mi)")
	f.StringVar(&opts.maxMemory, "max-memory", "", "most memory of a table's cells at 8 bytes each, as a quantity (default 6Gi)")
	f.StringVar(&opts.memory, "memory", "", "memory budget of the comparison, as a quantity (4GiB or 4Gi): tables that would not fit are compared in batches of columns sized to it, with the same report (default: the policy's spec.data.limits.memory, else none: the tables are read whole)")
	f.StringVar(&opts.stateDir, "state-dir", "", "keep the reference's prepared profile in <state-dir>/profiles, so the next check of the same reference reads only the current data (default: no cache)")
	f.StringVar(&opts.batchColumn, "batch-column", "", "column naming each row's batch (lab, site, plate): tests the current rows for batch effects and names suspect batches; never a feature")
	f.BoolVar(&opts.quality, "quality", false, "report data quality findings with the default thresholds (a column on one side only is then a finding, not an error)")
	bindDriftLogFlags(f, &opts.log)
	// A malformed flag value is invalid input (exit status 2), not a failure.
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return invalidInput(err) })
	cmd.AddCommand(newDriftHistoryCmd())
	return cmd
}

// driftRun is one resolved invocation: where the data is and how to compare it.
type driftRun struct {
	reference, current string
	title              string
	read               dataset.Options
	compare            drift.Options
	// listed are the tests named with --tests NAME,..., checked against the columns'
	// kinds once the data is read.
	listed []drift.Test
	// memory is the memory budget in bytes (--memory, or the policy's); 0: none.
	memory int64
	// omics are the part-two checks (quality, batch, correlation).
	omics driftcheck.Omics
	// refInRoot and curInRoot are the policy's data paths, read inside dataRoot; empty
	// for a file or URL named otherwise.
	refInRoot, curInRoot string
	dataRoot             string
	// log, when set, makes reference and current windows of a timestamped log ending at
	// at (drift_log.go).
	log *driftcheck.Log
	at  time.Time
}

// openData opens the data root when a policy's paths are read in it; data is nil otherwise.
func (run *driftRun) openData() (data fs.FS, closeRoot func(), err error) {
	if run.refInRoot == "" && run.curInRoot == "" {
		return nil, func() {}, nil
	}
	root, closeRoot, err := openDataRoot(run.dataRoot)
	if err != nil {
		return nil, nil, err
	}
	return root, closeRoot, nil
}

// runDrift compares the datasets opts names and writes the report to stdout. Errors
// caused by the input are *exitError with code 2; the rest are failures.
func runDrift(ctx context.Context, opts driftOptions, stdout, stderr io.Writer) error {
	run, err := resolveDrift(opts)
	if err != nil {
		return err
	}
	if run.log != nil {
		return runDriftLog(ctx, run, opts, stdout)
	}
	data, closeRoot, err := run.openData()
	if err != nil {
		return err
	}
	defer closeRoot()
	source := func(file, inRoot string) driftcheck.Source {
		switch {
		case inRoot != "":
			return driftcheck.Source{FS: data, Path: inRoot, Name: file}
		case driftcheck.IsURL(file):
			return driftcheck.Source{URL: file}
		case datafs.IsObjectURL(file):
			return driftcheck.Source{Path: file} // named by its URL without the query
		}
		if driftcheck.IsURL(file) {
			return driftcheck.Source{URL: file}
		}
		return driftcheck.Source{Path: file, Name: file}
	}
	plan := driftcheck.Plan{Read: run.read, Compare: run.compare, Memory: run.memory}
	if opts.stateDir != "" {
		profiles, err := profilecache.Open(filepath.Join(opts.stateDir, "profiles"), 0, nil)
		if err != nil {
			return err
		}
		plan.Profiles = profiles
	}
	run.read = run.omics.ReadOptions(run.read)
	plan.Read = run.read
	var bar *progressbar.ProgressBar
	if opts.progress {
		// The engine has no progress hook, so the display names the phase and the elapsed
		// time rather than a percentage; small inputs finish before it would be worth drawing.
		plan.ReadingCurrent = func(ref *dataset.Table) {
			if len(ref.Columns) <= driftProgressColumns {
				return
			}
			bar = progressbar.NewOptions(-1,
				progressbar.OptionSetWriter(stderr),
				progressbar.OptionSetDescription(fmt.Sprintf("reading %s", run.current)),
				progressbar.OptionSetElapsedTime(true),
				progressbar.OptionSpinnerType(14),
				progressbar.OptionClearOnFinish(),
				// Rendering at construction, before the spinner's goroutine starts, keeps
				// the library's unlocked start-time check free of data races.
				progressbar.OptionSetRenderBlankState(true),
			)
		}
		defer func() {
			if bar != nil {
				_ = bar.Finish()
			}
		}()
	}
	plan.Reference = func(ref *dataset.Table) error {
		if err := checkListedTests(run.listed, ref, run.omics.BatchColumn); err != nil {
			return invalidInput(err)
		}
		if bar != nil {
			bar.Describe(fmt.Sprintf("comparing %d columns", len(ref.Columns)))
		}
		return nil
	}
	ref, cur := source(run.reference, run.refInRoot), source(run.current, run.curInRoot)
	var rep *drift.Report
	if run.omics.Configured() {
		rep, err = driftcheck.AnalyzeSources(ctx, ref, cur, plan, run.omics)
	} else {
		rep, err = driftcheck.CompareSources(ctx, ref, cur, plan)
	}
	if err != nil {
		return driftInputError(err)
	}
	if bar != nil {
		_ = bar.Finish()
	}
	return writeDriftReport(stdout, rep, run, opts)
}

// writeDriftReport writes rep in the format opts asks for.
func writeDriftReport(stdout io.Writer, rep *drift.Report, run *driftRun, opts driftOptions) error {
	switch opts.output {
	case "json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return fmt.Errorf("write drift report: %w", err)
		}
	case "markdown":
		md := report.DriftMarkdown(rep, report.MarkdownOptions{Title: run.title, ReportLink: opts.reportLink})
		if _, err := io.WriteString(stdout, md); err != nil {
			return fmt.Errorf("write drift report: %w", err)
		}
	default:
		if err := report.DriftTable(stdout, rep); err != nil {
			return err
		}
	}
	return nil
}

// resolveDrift checks the flags, reads the policy if one is given and merges the two:
// a flag given on the command line wins over the policy.
func resolveDrift(opts driftOptions) (*driftRun, error) {
	switch opts.output {
	case "json", "markdown", "table":
	default:
		return nil, invalidInput(fmt.Errorf("--output %q: want table, json or markdown", opts.output))
	}
	run := &driftRun{title: "Data drift", omics: driftcheck.DefaultOmics()}
	if opts.policy != "" {
		if err := applyDriftPolicy(run, opts.policy, opts.dataRoot); err != nil {
			return nil, err
		}
	}
	if opts.reference != "" {
		run.reference, run.refInRoot = opts.reference, ""
	}
	if opts.current != "" {
		run.current, run.curInRoot = opts.current, ""
	}
	if run.reference == "" || run.current == "" {
		return nil, invalidInput(errors.New("--reference and --current are required (or a --policy whose spec.data names both)"))
	}
	// A column the command line types one way leaves the policy's list of the other
	// kind, so that --numeric ward overrides a policy's categorical: [ward].
	if opts.categorical != nil {
		run.read.Categorical = opts.categorical
		if opts.numeric == nil {
			run.read.Numeric = driftWithout(run.read.Numeric, opts.categorical)
		}
	}
	if opts.numeric != nil {
		run.read.Numeric = opts.numeric
		if opts.categorical == nil {
			run.read.Categorical = driftWithout(run.read.Categorical, opts.numeric)
		}
	}
	if opts.exclude != nil {
		run.read.Exclude = opts.exclude
	}
	for _, flag := range []struct {
		name  string
		names []string
	}{{"--categorical", run.read.Categorical}, {"--numeric", run.read.Numeric}, {"--exclude", run.read.Exclude}} {
		for _, n := range flag.names {
			if strings.TrimSpace(n) == "" {
				return nil, invalidInput(fmt.Errorf("%s: empty column name in %q", flag.name, strings.Join(flag.names, ",")))
			}
		}
	}
	run.compare.Categorical, run.compare.Numeric, run.compare.Exclude = run.read.Categorical, run.read.Numeric, run.read.Exclude
	if opts.tests != nil {
		if err := applyDriftTests(run, opts.tests); err != nil {
			return nil, invalidInput(err)
		}
	}
	if t := opts.threshold; t != nil {
		if math.IsNaN(*t) || math.IsInf(*t, 0) || *t < 0 {
			return nil, invalidInput(fmt.Errorf("--threshold %s: want a number >= 0", driftFloat(*t)))
		}
		run.compare.Threshold = t
	}
	if s := opts.share; s != nil {
		if !(*s >= 0 && *s <= 1) {
			return nil, invalidInput(fmt.Errorf("--share %s: want a fraction between 0 and 1", driftFloat(*s)))
		}
		run.compare.DatasetShare = s
	}
	if err := applyDriftLimits(&run.read, opts); err != nil {
		return nil, invalidInput(err)
	}
	if opts.memory != "" {
		// "4GiB" is the common spelling of the quantity 4Gi.
		q := opts.memory
		if strings.HasSuffix(q, "iB") {
			q = strings.TrimSuffix(q, "B")
		}
		n, err := resource.ParseQuantity(q)
		if err != nil || n.Value() < 1 {
			return nil, invalidInput(fmt.Errorf("--memory %q: want a positive number of bytes such as 512MiB or 4GiB", opts.memory))
		}
		run.memory = n.Value()
	}
	if opts.batchColumn != "" {
		run.omics.BatchColumn = strings.TrimSpace(opts.batchColumn)
		if run.omics.BatchColumn == "" {
			return nil, invalidInput(errors.New("--batch-column: empty column name"))
		}
	}
	if opts.quality && run.omics.Quality == nil {
		q := drift.DefaultQualityOptions()
		run.omics.Quality = &q
	}
	if err := resolveDriftLog(run, opts); err != nil {
		return nil, invalidInput(err)
	}
	return run, nil
}

// applyDriftLimits applies --invalid-values and the limit flags given over the policy's.
func applyDriftLimits(read *dataset.Options, opts driftOptions) error {
	switch opts.invalidValues {
	case "":
	case string(dataset.InvalidError), string(dataset.InvalidIgnore):
		read.Invalid = dataset.InvalidValues(opts.invalidValues)
	default:
		return fmt.Errorf("--invalid-values %q: want error or ignore", opts.invalidValues)
	}
	for _, c := range []struct {
		flag string
		n    int64
		dst  func(int64)
	}{
		{"--max-rows", opts.maxRows, func(n int64) { read.Limits.MaxRows = n }},
		{"--max-columns", int64(opts.maxColumns), func(n int64) { read.Limits.MaxColumns = int(n) }},
	} {
		switch {
		case c.n < 0:
			return fmt.Errorf("%s %d: want a positive count", c.flag, c.n)
		case c.n > 0:
			c.dst(c.n)
		}
	}
	for _, q := range []struct {
		flag, value string
		dst         func(int64)
	}{
		{"--max-bytes", opts.maxBytes, func(n int64) { read.Limits.MaxBytes = n }},
		{"--max-cell-bytes", opts.maxCellBytes, func(n int64) { read.Limits.MaxCellBytes = int(min(n, math.MaxInt32)) }},
		{"--max-memory", opts.maxMemory, func(n int64) { read.Limits.MaxMemory = n }},
	} {
		if q.value == "" {
			continue
		}
		n, err := resource.ParseQuantity(q.value)
		if err != nil || n.Value() < 1 {
			return fmt.Errorf("%s %q: want a positive number of bytes such as 1Mi or 16Gi", q.flag, q.value)
		}
		q.dst(n.Value())
	}
	return nil
}

// driftWithout returns the names in list that are not in drop.
func driftWithout(list, drop []string) []string {
	var kept []string
	for _, n := range list {
		if !slices.Contains(drop, n) {
			kept = append(kept, n)
		}
	}
	return kept
}

func driftFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// applyDriftPolicy takes the data sources, columns, groups and drift settings of the one
// ModelPolicy in file.
func applyDriftPolicy(run *driftRun, file, dataRoot string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return invalidInput(fmt.Errorf("read policy: %w", err))
		}
		return fmt.Errorf("read policy: %w", err)
	}
	ps, err := policies.Parse(file, data)
	if err != nil {
		return invalidInput(fmt.Errorf("invalid policy:\n%w", err))
	}
	if len(ps) != 1 {
		return invalidInput(fmt.Errorf("%s: want exactly one ModelPolicy, found %d", file, len(ps)))
	}
	p := ps[0]
	run.title = "Data drift: " + p.Metadata.Name
	run.read, run.compare = driftcheck.Options(p)
	run.memory = driftcheck.MemoryBudget(p)
	run.omics = driftcheck.OmicsOptions(p)
	if d := p.Spec.Data; d != nil && d.Source != nil {
		// Both windows come from the one log.
		run.log = driftcheck.LogOf(p)
		src := driftPolicySource(policies.DataSource{Path: d.Source.Path, URL: d.Source.URL}, dataRoot)
		run.reference, run.current = src, src
		run.refInRoot, run.curInRoot, run.dataRoot = d.Source.Path, d.Source.Path, dataRoot
	} else if d != nil {
		run.reference = driftPolicySource(d.Reference, dataRoot)
		run.current = driftPolicySource(d.Current, dataRoot)
		run.refInRoot, run.curInRoot, run.dataRoot = dataInRoot(d.Reference.Path), dataInRoot(d.Current.Path), dataRoot
	}
	return nil
}

// driftPolicySource is the file or URL a policy data source names, for messages; a path is
// relative to dataRoot, and is read inside it (openDataRoot), unless it is in object storage.
func driftPolicySource(s policies.DataSource, dataRoot string) string {
	if s.URL != "" {
		return s.URL
	}
	if s.Path == "" || datafs.IsObjectURL(s.Path) {
		return s.Path
	}
	return filepath.Join(dataRoot, filepath.FromSlash(s.Path))
}

// dataInRoot is a policy's data path p when it is read inside the data root, "" when it is in
// object storage.
func dataInRoot(p string) string {
	if datafs.IsObjectURL(p) {
		return ""
	}
	return p
}

// applyDriftTests applies --tests: auto, all, or a list of test names.
func applyDriftTests(run *driftRun, tests []string) error {
	known := drift.KnownTests()
	if len(tests) == 1 {
		switch tests[0] {
		case "auto":
			run.compare.NumericTest, run.compare.CategoricalTest = drift.TestAuto, drift.TestAuto
			return nil
		case "all":
			run.compare.AllTests = true
			return nil
		}
	}
	if len(tests) == 0 {
		return fmt.Errorf("--tests: want auto, all or a comma-separated list of %s", driftTestList(known))
	}
	for _, name := range tests {
		t := drift.Test(strings.TrimSpace(name))
		switch {
		case t == "auto" || t == "all":
			return fmt.Errorf("--tests %s: %q cannot be combined with test names", strings.Join(tests, ","), name)
		case !slices.Contains(known, t):
			return fmt.Errorf("--tests: unknown test %q, want auto, all or a comma-separated list of %s", name, driftTestList(known))
		case slices.Contains(run.listed, t):
			return fmt.Errorf("--tests: %q is listed twice", name)
		}
		run.listed = append(run.listed, t)
	}
	run.compare.Tests = run.listed
	return nil
}

// checkListedTests makes sure every column of t has a test in listed that applies to
// its kind, so that --tests never silently falls back to another test.
func checkListedTests(listed []drift.Test, t *dataset.Table, batchColumn string) error {
	if len(listed) == 0 {
		return nil
	}
	for i := range t.Columns {
		c := &t.Columns[i]
		if c.Name == batchColumn {
			continue // never tested
		}
		kind := drift.KindNumeric
		if !c.IsNumeric() {
			kind = drift.KindCategorical
		}
		applies := drift.TestsFor(kind)
		if slices.ContainsFunc(listed, func(x drift.Test) bool { return slices.Contains(applies, x) }) {
			continue
		}
		word := "does"
		if len(listed) > 1 {
			word = "do"
		}
		return fmt.Errorf("--tests %s %s not apply to %s column %q of %s: %s columns take %s",
			driftTestList(listed), word, kind, c.Name, t.Source, kind, driftTestList(applies))
	}
	return nil
}

func driftTestList(tests []drift.Test) string {
	s := make([]string, len(tests))
	for i, t := range tests {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// driftInputError marks errors about the data (malformed or missing files, columns,
// options the data contradicts) as invalid input; anything else stays a failure.
func driftInputError(err error) error {
	if errors.Is(err, dataset.ErrInvalid) || errors.Is(err, drift.ErrInvalidInput) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, datafs.ErrLink) {
		return invalidInput(err)
	}
	return err
}
