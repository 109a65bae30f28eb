package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/medimind/modelops/internal/dataset"
	"github.com/medimind/modelops/internal/drift"
	"github.com/medimind/modelops/internal/driftcheck"
	"github.com/medimind/modelops/policies"
)

// driftLogFlags are the flags of modelops drift that compare two windows of a timestamped
// log (drift-definitions.md §8) instead of two files.
type driftLogFlags struct {
	timestamp       string
	referenceWindow string
	currentWindow   string
	at              string
}

const driftLogHelp = `
Windows of a timestamped log: --timestamp names the column holding each row's time (RFC 3339
text, UTC without a zone, or a Parquet TIMESTAMP or DATE); --reference and --current then name
the log (the same file or directory for both is read once; a directory is partitioned by day,
date=YYYY-MM-DD/, and days outside both windows are not read). --reference-window and
--current-window are LAST[,ago=AGO][,min=N]: the rows with T-AGO-LAST <= t < T-AGO, T being
--at (default now), with durations such as 7d, 180d or 36h. A window with fewer than N rows
(default 30) makes the verdict "insufficient data": the report says so with the counts,
compares no column and is neither drift nor a failure (exit status 0). A policy's
spec.data.source does the same; the window flags replace its windows.`

func bindDriftLogFlags(f *pflag.FlagSet, o *driftLogFlags) {
	f.StringVar(&o.timestamp, "timestamp", "", "timestamp column of a log: compare windows of it (see --reference-window)")
	f.StringVar(&o.referenceWindow, "reference-window", "", "reference window of the log: LAST[,ago=AGO][,min=N], e.g. 180d or 30d,ago=365d,min=5000")
	f.StringVar(&o.currentWindow, "current-window", "", "current window of the log: LAST[,ago=AGO][,min=N], e.g. 7d,min=1000")
	f.StringVar(&o.at, "at", "", "time the windows end at (RFC 3339; default now)")
}

// parseWindowFlag reads a window flag: LAST[,ago=AGO][,min=N].
func parseWindowFlag(flag, s string) (driftcheck.LogWindow, error) {
	w := driftcheck.LogWindow{MinRows: policies.DefaultWindowMinRows}
	parts := strings.Split(s, ",")
	bad := func(why string) error {
		return fmt.Errorf("%s %q: %s; want LAST[,ago=AGO][,min=N] such as 180d or 30d,ago=365d,min=5000", flag, s, why)
	}
	last, err := policies.ParseDuration(strings.TrimSpace(parts[0]))
	if err != nil || last <= 0 {
		return w, bad("the window's length must be a positive duration")
	}
	w.Last = last
	seen := map[string]bool{}
	for _, p := range parts[1:] {
		key, value, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || seen[key] {
			return w, bad(fmt.Sprintf("%q is not ago=... or min=..., or is given twice", p))
		}
		seen[key] = true
		switch key {
		case "ago":
			if w.Ago, err = policies.ParseDuration(value); err != nil || w.Ago < 0 {
				return w, bad("ago must be a duration such as 365d")
			}
		case "min":
			if w.MinRows, err = strconv.ParseInt(value, 10, 64); err != nil || w.MinRows < 1 {
				return w, bad("min must be a count of rows of 1 or more")
			}
		default:
			return w, bad(fmt.Sprintf("unknown setting %q", key))
		}
	}
	return w, nil
}

// resolveDriftLog sets run.log from the policy's source and the log flags: nil when the
// run compares two files.
func resolveDriftLog(run *driftRun, opts driftOptions) error {
	o := opts.log
	if run.log == nil && o.timestamp == "" {
		if o.referenceWindow != "" || o.currentWindow != "" || o.at != "" {
			return errors.New("--reference-window, --current-window and --at compare windows of a log: name its timestamp column with --timestamp (or use a --policy with spec.data.source)")
		}
		return nil
	}
	if run.log == nil {
		if o.referenceWindow == "" || o.currentWindow == "" {
			return errors.New("--timestamp compares windows of a log: give --reference-window and --current-window too")
		}
		run.log = &driftcheck.Log{}
	}
	l := run.log
	if o.timestamp != "" {
		l.Timestamp = o.timestamp
	}
	for _, c := range []struct {
		flag, value string
		dst         *driftcheck.LogWindow
	}{{"--reference-window", o.referenceWindow, &l.Reference}, {"--current-window", o.currentWindow, &l.Current}} {
		if c.value == "" {
			continue
		}
		w, err := parseWindowFlag(c.flag, c.value)
		if err != nil {
			return err
		}
		*c.dst = w
	}
	run.at = time.Now()
	if o.at != "" {
		at, ok := dataset.ParseTimestamp(o.at)
		if !ok {
			return fmt.Errorf("--at %q: want an RFC 3339 time such as 2026-12-07T00:00:00Z", o.at)
		}
		run.at = at
	}
	for _, list := range [][]string{run.read.Numeric, run.read.Categorical} {
		for _, c := range list {
			if c == l.Timestamp {
				return fmt.Errorf("column %q is the timestamp of the log, not a feature: it cannot be numeric or categorical", c)
			}
		}
	}
	return nil
}

// logSide is where one side's log is read: a file system and a name in it.
type logSide struct {
	fsys  fs.FS
	name  string
	file  string // the name in errors of the readers, renamed to shown
	shown string
}

// openLogSide finds a log named on the command line (a path or URL) or by the policy
// (inRoot, a path in data). A URL is downloaded into dir.
func openLogSide(ctx context.Context, src, inRoot string, data fs.FS, dir, as string) (logSide, error) {
	switch {
	case inRoot != "":
		return logSide{fsys: data, name: inRoot, shown: src}, nil
	case driftcheck.IsURL(src):
		file, err := driftcheck.Download(ctx, nil, src, dir, as)
		if err != nil {
			return logSide{}, err
		}
		return logSide{fsys: os.DirFS(dir), name: filepath.Base(file), file: file, shown: src}, nil
	}
	abs, err := filepath.Abs(src)
	if err != nil {
		return logSide{}, err
	}
	return logSide{fsys: os.DirFS(filepath.Dir(abs)), name: filepath.Base(abs), file: abs, shown: src}, nil
}

// renamed names the log as the command line or the policy did in err.
func (s logSide) renamed(err error) error {
	if s.file != "" {
		err = driftcheck.RenameSource(err, s.file, s.shown)
	}
	return driftcheck.RenameSource(err, s.name, s.shown)
}

// runDriftLog compares the windows of run.log and writes the report.
func runDriftLog(ctx context.Context, run *driftRun, opts driftOptions, stdout io.Writer) error {
	l := run.log
	run.read = run.omics.ReadOptions(run.read)
	data, closeRoot, err := run.openData()
	if err != nil {
		return err
	}
	defer closeRoot()
	dir, err := os.MkdirTemp("", "modelops-drift-")
	if err != nil {
		return fmt.Errorf("create download directory: %w", err)
	}
	defer os.RemoveAll(dir)
	refW := dataset.NewWindow(run.at, l.Reference.Last, l.Reference.Ago)
	curW := dataset.NewWindow(run.at, l.Current.Last, l.Current.Ago)
	run.read.Context = ctx
	refSide, err := openLogSide(ctx, run.reference, run.refInRoot, data, dir, "reference")
	if err != nil {
		return driftInputError(err)
	}
	var ref, cur *dataset.Table
	var refRows, curRows dataset.WindowRows
	if run.reference == run.current && run.refInRoot == run.curInRoot {
		// One log: each of its files is read once for both windows.
		tables, rows, err := dataset.ReadWindows(refSide.fsys, refSide.name, l.Timestamp, []dataset.Window{refW, curW}, run.read)
		if err != nil {
			return driftInputError(refSide.renamed(err))
		}
		ref, cur, refRows, curRows = tables[0], tables[1], rows[0], rows[1]
	} else {
		curSide, err := openLogSide(ctx, run.current, run.curInRoot, data, dir, "current")
		if err != nil {
			return driftInputError(err)
		}
		tables, rows, err := dataset.ReadWindows(refSide.fsys, refSide.name, l.Timestamp, []dataset.Window{refW}, run.read)
		if err != nil {
			return driftInputError(refSide.renamed(err))
		}
		ref, refRows = tables[0], rows[0]
		if tables, rows, err = dataset.ReadWindows(curSide.fsys, curSide.name, l.Timestamp, []dataset.Window{curW}, dataset.CurrentOptions(ref, run.read)); err != nil {
			return driftInputError(curSide.renamed(err))
		}
		cur, curRows = tables[0], rows[0]
		if err := dataset.Align(ref, cur, run.read); err != nil {
			return driftInputError(curSide.renamed(err))
		}
	}
	w := drift.NewWindows(refRows, curRows, l.Reference.MinRows, l.Current.MinRows)
	if !w.InsufficientData {
		if err := checkListedTests(run.listed, ref, run.omics.BatchColumn); err != nil {
			return invalidInput(err)
		}
	}
	rep, err := driftcheck.AnalyzeWindows(ctx, ref, cur, w, run.read, run.compare, run.omics)
	if err != nil {
		return driftInputError(err)
	}
	return writeDriftReport(stdout, rep, run, opts)
}
