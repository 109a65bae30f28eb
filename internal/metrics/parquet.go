package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/medimind/modelops/internal/dataset"
)

// pqBatch is how many rows are decoded at a time.
const pqBatch = 1024

// pqRole is what a column of the log holds, which decides the Parquet types it may have.
type pqRole int

const (
	pqNumber pqRole = iota // score, latency_ms
	pqLabel                // label
	pqText                 // model_version, category
	pqTime                 // timestamp
)

// pqColumn reads one column of the log in step with the others.
type pqColumn struct {
	name     string
	index    int // leaf column index
	role     pqRole
	unsigned bool          // an unsigned INT32 or INT64
	unit     time.Duration // of an INT64 TIMESTAMP

	pages parquet.Pages
	vr    parquet.ValueReader
	// held are the pages whose values the current batch refers to (strings point into
	// page buffers); they go back to parquet-go's pool once the batch is processed.
	held []parquet.Page
	vals []parquet.Value
}

// readParquet streams the Parquet log in file into acc, row group by row group, a
// batch of rows at a time from every needed column in step.
func readParquet(ctx context.Context, file *dataset.File, acc *Accumulator, win window, limits dataset.Limits) (err error) {
	source, size := file.Name, file.Size
	defer dataset.RecoverParquet(source, &err)
	ra, err := file.ReaderAt(limits)
	if err != nil {
		return err
	}
	// The footer and the pages are checked as a drift check's data files are, so that a
	// forged figure is an error rather than an allocation.
	pf, err := dataset.OpenParquet(ra, size, source, limits)
	if err != nil {
		return err
	}
	if err := limits.CheckTableSize(source, pf.NumRows(), logColumns); err != nil {
		return err
	}
	leaves := pf.Root().Columns()
	names := make([]string, len(leaves))
	for i, c := range leaves {
		names[i] = c.Name()
	}
	pos, err := findColumns(source, names, acc, win)
	if err != nil {
		return err
	}
	var cols []*pqColumn
	var leavesRead []*parquet.Column // the leaves of cols
	var errs []error
	add := func(i int, role pqRole) *pqColumn {
		if i < 0 {
			return nil
		}
		c, msg := newPQColumn(leaves[i], role)
		if msg != "" {
			errs = append(errs, &dataset.DataError{Source: source, Column: names[i], Msg: msg})
			return nil
		}
		cols = append(cols, c)
		leavesRead = append(leavesRead, leaves[i])
		return c
	}
	version, score, label := add(pos.version, pqText), add(pos.score, pqNumber), add(pos.label, pqLabel)
	latency, category, stamp := add(pos.latency, pqNumber), add(pos.category, pqText), add(pos.timestamp, pqTime)
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if acc.catIndex == nil {
		category = nil
	}
	if err := dataset.CheckParquetPages(ra, size, source, pf, leavesRead, limits); err != nil {
		return err
	}

	var text []byte // scratch for numbers written as text (integer versions, categories)
	row := 0        // rows before the batch
	for _, rg := range pf.RowGroups() {
		chunks := rg.ColumnChunks()
		for _, c := range cols {
			c.pages, c.vr = chunks[c.index].Pages(), nil
		}
		left := int(rg.NumRows())
		for left > 0 {
			if err := ctx.Err(); err != nil {
				closeColumns(cols)
				return err
			}
			k := min(left, pqBatch)
			for _, c := range cols {
				if err := c.fill(k); err != nil {
					closeColumns(cols)
					return &dataset.DataError{Source: source, Column: c.name, Msg: "read values", Err: err}
				}
			}
			for j := range k {
				bad := func(c *pqColumn, msg string) error {
					closeColumns(cols)
					return &dataset.DataError{Source: source, Row: row + j + 1, Column: c.name, Msg: msg}
				}
				v := version.vals[j]
				if v.IsNull() {
					return bad(version, msgVersion)
				}
				text = version.text(text[:0], v)
				s, msg := score.number(score.vals[j])
				if msg == "" && math.IsInf(s, 0) {
					msg = msgScore
				}
				if msg != "" {
					return bad(score, msg)
				}
				l, msg := label.label(label.vals[j])
				if msg != "" {
					return bad(label, msg)
				}
				lat := math.NaN()
				if latency != nil {
					if lat, msg = latency.number(latency.vals[j]); msg == "" && !validLatency(lat) {
						msg = fmt.Sprintf("%s, got %v", msgLatency, lat)
					}
					if msg != "" {
						return bad(latency, msg)
					}
				}
				if stamp != nil {
					t, ok, msg := stamp.time(stamp.vals[j])
					switch {
					case msg != "":
						return bad(stamp, msg)
					case !ok:
						return bad(stamp, msgTime+", got a null (a time window needs a time on every row)")
					case !win.holds(t):
						acc.seeBytes(text)
						continue
					}
				}
				vs := acc.statsForBytes(text)
				if vs == nil {
					continue
				}
				cat := -1
				if category != nil {
					if cv := category.vals[j]; !cv.IsNull() {
						var cb []byte
						if cv.Kind() == parquet.ByteArray {
							cb = cv.ByteArray()
						} else {
							cb = category.text(nil, cv)
						}
						if i, ok := acc.catIndex[string(cb)]; ok {
							cat = i
						}
					}
				}
				acc.add(vs, s, l, lat, cat)
			}
			for _, c := range cols {
				c.release()
			}
			row += k
			left -= k
		}
		if err := closeColumns(cols); err != nil {
			return fmt.Errorf("read %s: %w", source, err)
		}
	}
	return nil
}

// newPQColumn checks that leaf can hold a column of role and prepares its reading; msg
// says what is wrong when it cannot.
func newPQColumn(leaf *parquet.Column, role pqRole) (c *pqColumn, msg string) {
	switch {
	case !leaf.Leaf():
		return nil, "nested column (a group), want a flat column"
	case leaf.Repeated():
		return nil, "repeated column (a list), want one value per row"
	}
	c = &pqColumn{name: leaf.Name(), index: leaf.Index(), role: role, vals: make([]parquet.Value, pqBatch)}
	t := leaf.Type()
	var logical format.LogicalTypeValue
	if lt := t.LogicalType(); lt != nil {
		logical = lt.Value
	}
	plainInt := false
	switch lt := logical.(type) {
	case nil:
		plainInt = true
	case *format.IntType:
		plainInt, c.unsigned = true, !lt.IsSigned
	}
	kind := t.Kind()
	isString := kind == parquet.ByteArray && !isDecimal(logical)
	switch role {
	case pqNumber:
		if kind == parquet.Float || kind == parquet.Double || isString ||
			((kind == parquet.Int32 || kind == parquet.Int64) && plainInt) {
			return c, ""
		}
		return nil, fmt.Sprintf("unsupported type %s, want FLOAT, DOUBLE, INT32, INT64 or numbers as strings", t)
	case pqLabel:
		if kind == parquet.Boolean || kind == parquet.Float || kind == parquet.Double || isString ||
			((kind == parquet.Int32 || kind == parquet.Int64) && plainInt) {
			return c, ""
		}
		return nil, fmt.Sprintf("unsupported type %s, want BOOLEAN, an integer or a number 0 or 1, or a string", t)
	case pqText:
		if isString || ((kind == parquet.Int32 || kind == parquet.Int64) && plainInt) {
			return c, ""
		}
		return nil, fmt.Sprintf("unsupported type %s, want a string or an integer", t)
	default: // pqTime
		switch lt := logical.(type) {
		case *format.TimestampType:
			if kind == parquet.Int64 {
				c.unit = dataset.TimeUnit(lt.Unit)
				return c, ""
			}
		case *format.DateType:
			if kind == parquet.Int32 {
				return c, ""
			}
		}
		if kind == parquet.Int96 || isString {
			return c, ""
		}
		return nil, fmt.Sprintf("unsupported type %s, want TIMESTAMP, DATE, INT96 or RFC 3339 strings", t)
	}
}

func isDecimal(lt format.LogicalTypeValue) bool {
	_, ok := lt.(*format.DecimalType)
	return ok
}

// fill reads the next k values of the column into c.vals, across pages as needed.
func (c *pqColumn) fill(k int) error {
	got := 0
	for got < k {
		if c.vr == nil {
			p, err := c.pages.ReadPage()
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("column ends %d values before its row group", k-got)
			}
			if err != nil {
				return err
			}
			c.held = append(c.held, p)
			c.vr = p.Values()
		}
		n, err := c.vr.ReadValues(c.vals[got:k])
		got += n
		switch {
		case errors.Is(err, io.EOF):
			c.vr = nil
		case err != nil:
			return err
		case n == 0:
			return io.ErrNoProgress
		}
	}
	return nil
}

// release hands back the pages the processed batch needed, keeping the one still being
// read.
func (c *pqColumn) release() {
	keep := 0
	if c.vr != nil {
		keep = 1
	}
	for _, p := range c.held[:len(c.held)-keep] {
		parquet.Release(p)
	}
	if keep == 1 {
		c.held[0] = c.held[len(c.held)-1]
	}
	c.held = c.held[:keep]
}

// closeColumns releases every page and closes the columns' page readers.
func closeColumns(cols []*pqColumn) error {
	var errs []error
	for _, c := range cols {
		for _, p := range c.held {
			parquet.Release(p)
		}
		c.held, c.vr = c.held[:0], nil
		if c.pages != nil {
			errs = append(errs, c.pages.Close())
			c.pages = nil
		}
	}
	return errors.Join(errs...)
}

// number converts a value of a number column: NaN for a null.
func (c *pqColumn) number(v parquet.Value) (float64, string) {
	switch v.Kind() {
	case parquet.Float:
		return float64(v.Float()), ""
	case parquet.Double:
		return v.Double(), ""
	case parquet.Int32:
		if c.unsigned {
			return float64(v.Uint32()), ""
		}
		return float64(v.Int32()), ""
	case parquet.Int64:
		if c.unsigned {
			return float64(v.Uint64()), ""
		}
		return float64(v.Int64()), ""
	case parquet.ByteArray:
		return parseNumber(string(v.ByteArray()))
	}
	return math.NaN(), "" // null
}

// label converts a value of the label column: -1 for a null.
func (c *pqColumn) label(v parquet.Value) (int8, string) {
	switch v.Kind() {
	case parquet.Boolean:
		if v.Boolean() {
			return 1, ""
		}
		return 0, ""
	case parquet.ByteArray:
		if b := v.ByteArray(); len(b) == 1 && (b[0] == '0' || b[0] == '1') {
			return int8(b[0] - '0'), ""
		}
		return parseLabel(string(v.ByteArray()))
	}
	if v.IsNull() {
		return -1, ""
	}
	f, _ := c.number(v)
	if l, ok := labelOf(f); ok {
		return l, ""
	}
	return 0, fmt.Sprintf("%s, got %v", msgLabel, f)
}

// text appends the text of a non-null value of a text column to buf.
func (c *pqColumn) text(buf []byte, v parquet.Value) []byte {
	switch v.Kind() {
	case parquet.ByteArray:
		return append(buf, v.ByteArray()...)
	case parquet.Int32:
		if c.unsigned {
			return strconv.AppendUint(buf, uint64(v.Uint32()), 10)
		}
		return strconv.AppendInt(buf, int64(v.Int32()), 10)
	case parquet.Int64:
		if c.unsigned {
			return strconv.AppendUint(buf, v.Uint64(), 10)
		}
		return strconv.AppendInt(buf, v.Int64(), 10)
	}
	return buf
}

// time converts a value of the timestamp column; ok is false for a null.
func (c *pqColumn) time(v parquet.Value) (t time.Time, ok bool, msg string) {
	switch v.Kind() {
	case parquet.Int64:
		return dataset.UnixTime(v.Int64(), c.unit), true, ""
	case parquet.Int32:
		return time.Unix(int64(v.Int32())*86400, 0).UTC(), true, ""
	case parquet.Int96:
		return dataset.Int96Time(v.Int96()), true, ""
	case parquet.ByteArray:
		return parseTime(string(v.ByteArray()))
	}
	return time.Time{}, false, ""
}
