package metrics

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"runtime"
	"slices"
	"strings"

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
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", name, err)
	}
	if st.Size() == 0 {
		return nil, &dataset.DataError{Source: name, Msg: "empty file, want a header row (CSV) or a Parquet file"}
	}
	br := bufio.NewReaderSize(f, 1<<16)
	head, err := br.Peek(4)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	win := window{since: opts.Since, until: opts.Until}
	limits := opts.Limits.WithDefaults()
	ext := strings.ToLower(path.Ext(name))
	switch {
	case bytes.Equal(head, []byte("PAR1")) || ext == ".parquet" || ext == ".pq":
		if err := limits.CheckBytes(name, st.Size()); err != nil {
			return nil, err
		}
		ra, ok := f.(io.ReaderAt)
		if !ok {
			data, err := io.ReadAll(br)
			if err != nil {
				return nil, fmt.Errorf("read %s: %w", name, err)
			}
			ra = bytes.NewReader(data)
		}
		err = readParquet(ctx, ra, st.Size(), name, acc, win, limits)
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}) || ext == ".gz":
		zr, zerr := gzip.NewReader(br)
		if zerr != nil {
			return nil, &dataset.DataError{Source: name, Msg: "not a valid gzip file", Err: zerr}
		}
		err = readCSV(ctx, dataset.BoundReader(ctx, zr, name, limits), name, true, acc, win, limits)
	default:
		err = readCSV(ctx, dataset.BoundReader(ctx, br, name, limits), name, false, acc, win, limits)
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

// readCSV streams the CSV log r into acc. gz says r is gunzipped text, whose read
// errors are bad data.
func readCSV(ctx context.Context, r io.Reader, source string, gz bool, acc *Accumulator, win window, limits dataset.Limits) error {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 1<<16)
	}
	if head, _ := br.Peek(3); bytes.Equal(head, []byte{0xEF, 0xBB, 0xBF}) {
		br.Discard(3) // Excel's byte order mark
	}
	cr := csv.NewReader(br)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return &dataset.DataError{Source: source, Msg: "no header row, want one naming the columns score, label and model_version"}
	}
	if err != nil {
		return csvError(source, gz, err, header, 0)
	}
	names := slices.Clone(header)
	if err := limits.CheckColumns(source, len(names)); err != nil {
		return err
	}
	cols, err := findColumns(source, names, acc, win)
	if err != nil {
		return err
	}
	cr.FieldsPerRecord = len(names)
	bad := func(col int, msg string) error {
		line, _ := cr.FieldPos(col)
		return &dataset.DataError{Source: source, Line: line, Column: names[col], Msg: msg}
	}
	var collected int64
	for rows := 0; ; rows++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return csvError(source, gz, err, rec, len(names))
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

// csvError turns an error of encoding/csv or of the reader under it into a DataError
// naming the line; rec is the record read with it and want the header's field count.
func csvError(source string, gz bool, err error, rec []string, want int) error {
	var de *dataset.DataError
	if errors.As(err, &de) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err // a limit of the reader, or cancellation
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		switch {
		case errors.Is(pe.Err, csv.ErrFieldCount):
			return &dataset.DataError{Source: source, Line: pe.StartLine, Msg: fmt.Sprintf("row has %d fields, want %d like the header", len(rec), want)}
		case errors.Is(pe.Err, csv.ErrQuote):
			return &dataset.DataError{Source: source, Line: pe.StartLine,
				Msg: fmt.Sprintf("quoted field not closed, or text after its closing quote (at line %d, column %d)", pe.Line, pe.Column)}
		case errors.Is(pe.Err, csv.ErrBareQuote):
			return &dataset.DataError{Source: source, Line: pe.StartLine,
				Msg: fmt.Sprintf("bare \" in an unquoted field (at line %d, column %d); quote the field and double the \"", pe.Line, pe.Column)}
		}
		return &dataset.DataError{Source: source, Line: pe.StartLine, Msg: "malformed CSV", Err: pe.Err}
	}
	var corrupt flate.CorruptInputError
	if gz && (errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &corrupt)) {
		return &dataset.DataError{Source: source, Msg: "not a valid gzip file", Err: err}
	}
	return fmt.Errorf("read %s: %w", source, err)
}
