package metrics

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"math"
	"os"
	"runtime"

	"github.com/medimind/modelops/internal/dataset"
)

// Evaluate reads the prediction log at path (CSV, gzip CSV or Parquet, told apart by
// content, then extension) and computes its figures. Errors about the content of the
// log are *dataset.DataError values wrapping dataset.ErrInvalid; an invalid option is a
// plain error. It stops early, with ctx's error, when ctx is cancelled.
func Evaluate(ctx context.Context, path string, opts Options) (*Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err // an *fs.PathError, naming the file
	}
	defer f.Close()
	return evaluateFile(ctx, f, path, opts)
}

// EvaluateFS is Evaluate for the file name of fsys, such as a policy repository's tree.
func EvaluateFS(ctx context.Context, fsys fs.FS, name string, opts Options) (*Result, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err // an *fs.PathError, naming the file
	}
	defer f.Close()
	return evaluateFile(ctx, f, name, opts)
}

// evaluateFile evaluates the open file f; name names it in errors.
func evaluateFile(ctx context.Context, f fs.File, name string, opts Options) (*Result, error) {
	acc, err := NewAccumulator(opts)
	if err != nil {
		return nil, err
	}
	file, err := dataset.Sniff(f, name)
	if err != nil {
		return nil, err
	}
	win := window{since: opts.Since, until: opts.Until}
	limits := opts.Limits.WithDefaults()
	if file.Format == dataset.FormatParquet {
		err = readParquet(ctx, file, acc, win, limits)
	} else {
		err = readCSV(ctx, file, acc, win, limits)
	}
	if err != nil {
		return nil, err
	}
	return acc.Result(), nil
}

// columns are the positions of the log's columns in a record; -1 when absent.
type columns struct {
	version, score, label, latency, category, timestamp int
}

// findColumns locates the columns the evaluation needs among names. score, label and
// model_version are always needed, category when categories are expected, timestamp
// when there is a window; latency_ms is optional (no column, no latency).
func findColumns(source string, names []string, acc *Accumulator, win window) (columns, error) {
	pos := make(map[string]int, len(names))
	var errs []error
	for i, n := range names {
		if _, dup := pos[n]; dup && isLogColumn(n) {
			errs = append(errs, &dataset.DataError{Source: source, Column: n, Msg: "duplicate column name"})
		}
		pos[n] = i
	}
	find := func(name string, needed bool, why string) int {
		if i, ok := pos[name]; ok {
			return i
		}
		if needed {
			errs = append(errs, &dataset.DataError{Source: source, Column: name, Msg: "no such column, " + why})
		}
		return -1
	}
	const always = "want the columns score, label and model_version"
	c := columns{
		version:   find(ColumnVersion, true, always),
		score:     find(ColumnScore, true, always),
		label:     find(ColumnLabel, true, always),
		latency:   find(ColumnLatency, false, ""),
		category:  find(ColumnCategory, acc.categories != nil, "needed for the coverage of the expected categories"),
		timestamp: -1,
	}
	if win.on() {
		c.timestamp = find(ColumnTimestamp, true, "needed for a time window")
	}
	return c, errors.Join(errs...)
}

// logColumns is the most columns of a log that are read (timestamp, model_version,
// score, label, latency_ms and category).
const logColumns = 6

func isLogColumn(n string) bool {
	switch n {
	case ColumnTimestamp, ColumnVersion, ColumnScore, ColumnLabel, ColumnLatency, ColumnCategory:
		return true
	}
	return false
}

// Garbage collection while reading CSV. encoding/csv allocates one string per record
// (ReuseRecord reuses only the slice), so a log makes as much garbage as it has text,
// far more than the values kept. The collector lets garbage grow to the size of the
// live heap before it runs, which would double the peak of a big log. Once the kept
// values pass collectAbove bytes, reading collects every collectEvery bytes of text;
// the values hold no pointers, so each collection costs little.
const (
	collectAbove = 32 << 20
	collectEvery = 16 << 20
)

// readCSV streams the CSV log in file into acc.
func readCSV(ctx context.Context, file *dataset.File, acc *Accumulator, win window, limits dataset.Limits) error {
	source := file.Name
	text, err := file.Text()
	if err != nil {
		return err
	}
	cr, err := dataset.NewCSVReader(dataset.BoundReader(ctx, text, source, limits), source, file.Format == dataset.FormatGzipCSV)
	if err != nil {
		return err
	}
	names, err := cr.Header()
	if errors.Is(err, io.EOF) {
		return &dataset.DataError{Source: source, Msg: "no header row, want one naming the columns score, label and model_version"}
	}
	if err != nil {
		return err
	}
	if err := limits.CheckColumns(source, len(names)); err != nil {
		return err
	}
	cols, err := findColumns(source, names, acc, win)
	if err != nil {
		return err
	}
	bad := func(col int, msg string) error { return cr.CellError(col, msg) }
	var collected int64
	for rows := 0; ; rows++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		// The accumulator keeps a few values a row: bounded as a table of the log's
		// columns would be.
		if err := limits.CheckTableSize(source, int64(rows)+1, logColumns); err != nil {
			return err
		}
		if rows%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if off := cr.InputOffset(); off-collected >= collectEvery && acc.bytes() >= collectAbove {
				runtime.GC()
				collected = off
			}
		}
		version := rec[cols.version]
		if isMissing(version) {
			return bad(cols.version, msgVersion)
		}
		score, msg := parseScore(rec[cols.score])
		if msg != "" {
			return bad(cols.score, msg)
		}
		label, msg := parseLabel(rec[cols.label])
		if msg != "" {
			return bad(cols.label, msg)
		}
		latency := math.NaN()
		if cols.latency >= 0 {
			if latency, msg = parseLatency(rec[cols.latency]); msg != "" {
				return bad(cols.latency, msg)
			}
		}
		if cols.timestamp >= 0 {
			t, ok, msg := parseTime(rec[cols.timestamp])
			switch {
			case msg != "":
				return bad(cols.timestamp, msg)
			case !ok:
				return bad(cols.timestamp, msgTime+", got an empty cell (a time window needs a time on every row)")
			case !win.holds(t):
				acc.see(version) // the version is in the log, its row outside the window
				continue
			}
		}
		vs := acc.statsFor(version)
		if vs == nil {
			continue
		}
		cat := -1
		if cols.category >= 0 && acc.catIndex != nil {
			if i, ok := acc.catIndex[rec[cols.category]]; ok {
				cat = i
			}
		}
		acc.add(vs, score, label, latency, cat)
	}
}
