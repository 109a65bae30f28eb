package dataset

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"
)

// This file reads windows of a timestamped log (drift-definitions.md §8): the rows whose
// timestamp falls in a time range, from one file or from a directory partitioned by day.

// Window is the half-open time range [From, To) of a window of a log.
type Window struct {
	From, To time.Time
}

// NewWindow is the window {last, ago} at time at: at-ago-last <= t < at-ago.
func NewWindow(at time.Time, last, ago time.Duration) Window {
	to := at.Add(-ago)
	return Window{From: to.Add(-last), To: to}
}

// Holds reports whether t is in the window.
func (w Window) Holds(t time.Time) bool { return !t.Before(w.From) && t.Before(w.To) }

// overlapsDay reports whether the window holds any instant of the UTC day that starts at day.
func (w Window) overlapsDay(day time.Time) bool {
	return day.Before(w.To) && day.Add(24*time.Hour).After(w.From)
}

// WindowRows says what a window of a log held.
type WindowRows struct {
	Window
	// Rows counts the rows whose timestamp is in the window.
	Rows int
	// Dropped counts the rows with a missing or unparseable timestamp in the files read
	// for the window: those rows are in no window.
	Dropped int
}

// PartitionKey is the Hive-style partition directory of a log partitioned by day:
// date=YYYY-MM-DD holds the rows of that UTC day.
const PartitionKey = "date"

// maxLogDepth bounds the directories below a log's root, so that a link cycle in a file
// system that follows links ends in an error.
const maxLogDepth = 32

// ReadWindows reads the rows of the log at name in fsys whose timestamp column lies in
// each window, and returns one table per window, in the order of windows, with what each
// held.
//
// The log is one file (CSV, optionally gzip, or Parquet, as Read tells them) or a
// directory of them. Below a directory every file is read, in path order, except names
// starting with "." or "_" (_SUCCESS, .crc); a directory date=YYYY-MM-DD (PartitionKey)
// that no window overlaps is neither listed nor read, at any depth (lab=x/date=.../ too).
// Each file is read once, whatever the number of windows it serves. Listing uses only
// fs.ReadDir and fs.Stat.
//
// A timestamp is RFC 3339 text, with a 'T', 't' or a space between date and time, an
// optional fraction of a second and an optional zone (without one it is UTC), or a date
// alone (its midnight UTC): Parquet TIMESTAMP and DATE columns read as such text. A row
// whose timestamp is missing or anything else is in no window and counted in
// WindowRows.Dropped of every window its file was read for. The timestamp column is left
// out of the tables: it is not a feature.
//
// The tables are comparable as ReadPair makes them: the same columns in the same order,
// a string column's Dict shared. A column's kind comes from the first file read (the
// earliest partition): later files are read with that file as Options.Reference. A file
// lacking a column of the first, or having one more, is an error naming it. The limits
// of opts bound each file and each window's table.
func ReadWindows(fsys fs.FS, name, timestamp string, windows []Window, opts Options) ([]*Table, []WindowRows, error) {
	if len(windows) == 0 || len(windows) > 64 {
		return nil, nil, fmt.Errorf("read windows of %s: want 1 to 64 windows, got %d", name, len(windows))
	}
	files, err := logFiles(fsys, name, windows)
	if err != nil {
		return nil, nil, err
	}
	ctx, limits := opts.ctx(), opts.Limits.WithDefaults()
	ro := opts
	ro.Exclude = slices.DeleteFunc(slices.Clone(opts.Exclude), func(c string) bool { return c == timestamp })
	ro.Numeric = slices.DeleteFunc(slices.Clone(opts.Numeric), func(c string) bool { return c == timestamp })
	ro.Categorical = slices.DeleteFunc(slices.Clone(opts.Categorical), func(c string) bool { return c == timestamp })
	if len(opts.Columns) > 0 && !slices.Contains(opts.Columns, timestamp) {
		ro.Columns = append(slices.Clone(opts.Columns), timestamp)
	}

	stats := make([]WindowRows, len(windows))
	parts := make([]windowBuilder, len(windows))
	for i, w := range windows {
		stats[i].Window = w
		parts[i].source = fmt.Sprintf("%s [%s, %s)", name, w.From.UTC().Format(time.RFC3339), w.To.UTC().Format(time.RFC3339))
	}
	// kinds holds the first file's columns, emptied of rows once gathered: the kind of each
	// column, and the dictionaries every later file's codes are aligned with.
	var kinds *Table
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		fo := ro
		if kinds != nil {
			fo.Reference = kinds
		}
		t, err := ReadFS(fsys, f.name, fo)
		if err != nil {
			return nil, nil, err
		}
		times, valid, err := takeTimestamps(t, timestamp)
		if err != nil {
			return nil, nil, err
		}
		if kinds == nil {
			kinds = t
			for i := range parts {
				parts[i].start(kinds)
			}
		} else if err := Align(kinds, t, opts); err != nil {
			return nil, nil, err
		}
		bad := 0
		for _, ok := range valid {
			if !ok {
				bad++
			}
		}
		for i, w := range windows {
			if f.windows&(1<<i) == 0 {
				continue
			}
			stats[i].Dropped += bad
			rows := make([]int, 0, len(times))
			for r, tm := range times {
				if valid[r] && w.Holds(tm) {
					rows = append(rows, r)
				}
			}
			parts[i].add(t, rows)
			if err := limits.CheckTableSize(parts[i].source, int64(parts[i].rows), len(parts[i].cols)); err != nil {
				return nil, nil, err
			}
		}
		if t == kinds {
			for i := range kinds.Columns {
				c := &kinds.Columns[i]
				if c.IsNumeric() {
					c.Float = []float64{}
				} else {
					c.Codes = []int32{}
				}
			}
			kinds.Rows = 0
		}
	}
	tables := make([]*Table, len(windows))
	for i := range parts {
		tables[i] = parts[i].table(kinds)
		stats[i].Rows = tables[i].Rows
	}
	return tables, stats, nil
}

// windowBuilder gathers the rows of one window from the files of a log.
type windowBuilder struct {
	source string
	rows   int
	cols   []Column
}

// start gives the window the columns of kinds, without rows.
func (b *windowBuilder) start(kinds *Table) {
	b.cols = make([]Column, len(kinds.Columns))
	for i := range kinds.Columns {
		c := &kinds.Columns[i]
		b.cols[i].Name = c.Name
		if c.IsNumeric() {
			b.cols[i].Float = []float64{}
		} else {
			b.cols[i].Codes = []int32{}
		}
	}
}

// add appends rows of t, whose columns are aligned with the window's.
func (b *windowBuilder) add(t *Table, rows []int) {
	for i := range b.cols {
		dst, src := &b.cols[i], &t.Columns[i]
		if !dst.IsNumeric() {
			for _, r := range rows {
				dst.Codes = append(dst.Codes, src.Codes[r])
			}
			continue
		}
		for _, r := range rows {
			v := src.Float[r]
			dst.Float = append(dst.Float, v)
			if src.Invalid > 0 && IsInvalidCell(v) {
				dst.Invalid++
			}
		}
	}
	b.rows += len(rows)
}

// table is the window's table; kinds' dictionaries are the final ones, which every code
// gathered indexes (Align only ever appends to them).
func (b *windowBuilder) table(kinds *Table) *Table {
	t := &Table{Source: b.source, Rows: b.rows, Columns: b.cols}
	if kinds == nil {
		t.Columns = []Column{}
		return t
	}
	for i := range t.Columns {
		if !t.Columns[i].IsNumeric() {
			t.Columns[i].Dict = kinds.Columns[i].Dict
		}
	}
	return t
}

// takeTimestamps removes the timestamp column from t and returns the time of each row,
// and whether it has one.
func takeTimestamps(t *Table, timestamp string) ([]time.Time, []bool, error) {
	idx := slices.IndexFunc(t.Columns, func(c Column) bool { return c.Name == timestamp })
	if idx < 0 {
		return nil, nil, &DataError{Source: t.Source, Column: timestamp, Msg: "no such column, which is the log's timestamp column"}
	}
	c := t.Columns[idx]
	t.Columns = slices.Delete(t.Columns, idx, idx+1)
	times, valid := make([]time.Time, t.Rows), make([]bool, t.Rows)
	if c.IsNumeric() {
		// Numbers (or an empty column, read as numbers) are not timestamps.
		return times, valid, nil
	}
	parsed, ok := make([]time.Time, len(c.Dict)), make([]bool, len(c.Dict))
	for i, s := range c.Dict {
		parsed[i], ok[i] = ParseTimestamp(s)
	}
	for r, code := range c.Codes {
		if code >= 0 && ok[code] {
			times[r], valid[r] = parsed[code], true
		}
	}
	return times, valid, nil
}

// timestampShape is the text ParseTimestamp reads: RFC 3339 with its optional parts.
var timestampShape = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})?)?$`)

// ParseTimestamp reads a timestamp of a log: RFC 3339 ("2026-12-01T08:30:00Z",
// "2026-12-01T09:30:00.25+01:00"), with 't' or a space for the 'T' and 'z' for 'Z';
// without a zone ("2026-12-01T08:30:00") the time is UTC, and a date alone
// ("2026-12-01") is its midnight UTC. ok is false for anything else, an impossible date
// (2026-02-30) or time (24:00:00) included.
func ParseTimestamp(s string) (t time.Time, ok bool) {
	if !timestampShape.MatchString(s) {
		return time.Time{}, false
	}
	if len(s) == len(time.DateOnly) {
		t, err := time.Parse(time.DateOnly, s)
		return t, err == nil
	}
	b := []byte(s)
	b[10] = 'T'
	layout := "2006-01-02T15:04:05.999999999"
	if last := b[len(b)-1]; last == 'z' || last == 'Z' || b[len(b)-6] == '+' || b[len(b)-6] == '-' {
		if last == 'z' {
			b[len(b)-1] = 'Z'
		}
		layout = time.RFC3339Nano
	}
	t, err := time.ParseInLocation(layout, string(b), time.UTC)
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// logFile is a file of a log and the windows (a bit each) it is read for.
type logFile struct {
	name    string
	windows uint64
}

// logFiles lists the files of the log at name: itself when it is a file; below a
// directory, the files ReadWindows describes, pruned by day partition.
func logFiles(fsys fs.FS, name string, windows []Window) ([]logFile, error) {
	all := uint64(1)<<len(windows) - 1
	if len(windows) == 64 {
		all = ^uint64(0)
	}
	fi, err := fs.Stat(fsys, name)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return []logFile{{name, all}}, nil
	}
	var files []logFile
	var walk func(dir string, mask uint64, depth int) error
	walk = func(dir string, mask uint64, depth int) error {
		if depth > maxLogDepth {
			return fmt.Errorf("read log %s: more than %d directories deep at %s", name, maxLogDepth, dir)
		}
		entries, err := fs.ReadDir(fsys, dir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			base := e.Name()
			if strings.HasPrefix(base, ".") || strings.HasPrefix(base, "_") {
				continue
			}
			p := path.Join(dir, base)
			isDir := e.IsDir()
			if e.Type()&fs.ModeSymlink != 0 {
				fi, err := fs.Stat(fsys, p)
				if err != nil {
					return err
				}
				isDir = fi.IsDir()
			}
			if !isDir {
				files = append(files, logFile{p, mask})
				continue
			}
			m := mask
			if key, value, ok := strings.Cut(base, "="); ok && key == PartitionKey {
				day, err := time.Parse(time.DateOnly, value)
				if err != nil {
					return &DataError{Source: p, Msg: fmt.Sprintf("partition directory %s=%q, want %s=YYYY-MM-DD", PartitionKey, value, PartitionKey)}
				}
				for i, w := range windows {
					if !w.overlapsDay(day) {
						m &^= 1 << i
					}
				}
			}
			if m == 0 {
				continue // a day no window holds: not listed, not read
			}
			if err := walk(p, m, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(name, all, 0); err != nil {
		return nil, err
	}
	return files, nil
}
