package dataset

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Options says which columns to read and how to type them. The zero value reads every
// column and infers its type.
type Options struct {
	// Numeric lists columns that must be numeric: a cell (CSV) or value (Parquet) that
	// is not missing and does not parse as a number is an error naming the file, the
	// line or row, the column and the value.
	Numeric []string
	// Categorical lists columns read as strings even when every cell is a number (ward
	// numbers, codes with leading zeros). CSV cells keep their original text.
	Categorical []string
	// Exclude lists columns not read at all. Naming a column the file lacks is not an
	// error, so one exclude list can serve files with different columns.
	Exclude []string
	// NamedMayBeAbsent lets Numeric and Categorical name columns the file lacks: a drift
	// check with data quality findings reports a column on one side only as a finding, so
	// the kinds a policy gives it must not fail the reading of the other side.
	NamedMayBeAbsent bool
	// Columns, when not empty, restricts reading to these columns (minus Exclude).
	// Naming a column the file lacks is an error.
	Columns []string
	// Reference, when set, is the reference table this file is compared with. A column
	// read as numbers there is read as numbers here too, whatever its cells look like: a
	// column's kind comes from the reference, so one stray word in the current data
	// cannot silently change the column's test. A column the reference has and this file
	// lacks is left for Align to report.
	Reference *Table
	// Invalid says what a cell that is neither missing nor a number does in a column that
	// must be numeric (Numeric, or numeric in Reference): stop with an error naming the
	// file, line or row, column and value (InvalidError, the default), or count as missing
	// and be counted in Column.Invalid (InvalidIgnore).
	Invalid InvalidValues
	// Limits bound the cost of reading a file; zero fields take DefaultLimits.
	Limits Limits
	// Context, when set, cancels reading and aligning; the error is then ctx.Err().
	Context context.Context
}

// InvalidValues is the policy for non-numbers in numeric columns (Options.Invalid).
type InvalidValues string

// The InvalidValues policies.
const (
	InvalidError  InvalidValues = "error"
	InvalidIgnore InvalidValues = "ignore"
)

// ctx is the context of the options, never nil.
func (o *Options) ctx() context.Context {
	if o.Context == nil {
		return context.Background()
	}
	return o.Context
}

// ErrInvalid is wrapped by every error that blames the content of an input file rather
// than the machine, so that callers can tell bad data (exit status 2) from failures.
var ErrInvalid = errors.New("invalid data")

// DataError reports bad input at a place in a file.
type DataError struct {
	// Source is the file, as the caller named it.
	Source string
	// Line is the 1-based line of the file where the offending CSV record starts; 0
	// when the error is not about a CSV record.
	Line int
	// Row is the 1-based data row of a Parquet file; 0 when not about a row.
	Row int
	// Column is the column's name; empty when the error is not about a column.
	Column string
	// Msg says what is wrong and what was expected.
	Msg string
	// Err is the underlying cause, if any (a gzip or Parquet decoding error).
	Err error
}

// Error formats the error as "file: line N: column "c": message: cause".
func (e *DataError) Error() string {
	var b strings.Builder
	b.WriteString(e.Source)
	if e.Line > 0 {
		fmt.Fprintf(&b, ": line %d", e.Line)
	}
	if e.Row > 0 {
		fmt.Fprintf(&b, ": row %d", e.Row)
	}
	if e.Column != "" {
		fmt.Fprintf(&b, ": column %q", e.Column)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns ErrInvalid and the cause, so errors.Is works with both.
func (e *DataError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrInvalid, e.Err}
	}
	return []error{ErrInvalid}
}

// notNumber is the message of a DataError for a non-numeric value in a numeric column.
func notNumber(value string) string {
	return fmt.Sprintf("want a number, got %q", value)
}

// columnKind says how a selected column is to be typed.
type columnKind int

const (
	kindInfer       columnKind = iota // numeric if every present cell is a number
	kindNumeric                       // listed in Options.Numeric
	kindCategorical                   // listed in Options.Categorical
)

// selected is one column chosen for reading: its position among the file's columns
// and how to type it.
type selected struct {
	name  string
	index int
	kind  columnKind
}

// selectColumns applies opts to the file's column names (in file order) and returns
// the columns to read, in file order. Names in Numeric, Categorical or Columns that
// the file lacks are errors: they are almost always typos, and silently reading
// something else would hide them (Numeric and Categorical not with NamedMayBeAbsent).
func selectColumns(source string, names []string, opts Options) ([]selected, error) {
	pos := make(map[string]int, len(names))
	for i, n := range names {
		pos[n] = i
	}
	kinds := make(map[string]columnKind, len(opts.Numeric)+len(opts.Categorical))
	var errs []error
	for _, n := range opts.Numeric {
		if _, ok := pos[n]; !ok && !opts.NamedMayBeAbsent {
			errs = append(errs, &DataError{Source: source, Column: n, Msg: "no such column (named as numeric)"})
		}
		kinds[n] = kindNumeric
	}
	for _, n := range opts.Categorical {
		if _, ok := pos[n]; !ok && !opts.NamedMayBeAbsent {
			errs = append(errs, &DataError{Source: source, Column: n, Msg: "no such column (named as categorical)"})
		}
		if kinds[n] == kindNumeric {
			errs = append(errs, &DataError{Source: source, Column: n, Msg: "named both numeric and categorical"})
		}
		kinds[n] = kindCategorical
	}
	want := make(map[string]bool, len(opts.Columns))
	for _, n := range opts.Columns {
		if _, ok := pos[n]; !ok {
			errs = append(errs, &DataError{Source: source, Column: n, Msg: "no such column (named in the columns to read)"})
		}
		want[n] = true
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	excluded := make(map[string]bool, len(opts.Exclude))
	for _, n := range opts.Exclude {
		excluded[n] = true
	}
	var refNumeric map[string]bool
	if opts.Reference != nil {
		refNumeric = make(map[string]bool, len(opts.Reference.Columns))
		for i := range opts.Reference.Columns {
			if c := &opts.Reference.Columns[i]; c.IsNumeric() {
				refNumeric[c.Name] = true
			}
		}
	}
	sel := make([]selected, 0, len(names))
	for i, n := range names {
		if excluded[n] || (len(want) > 0 && !want[n]) {
			continue
		}
		kind := kinds[n]
		if kind == kindInfer && refNumeric[n] {
			kind = kindNumeric
		}
		sel = append(sel, selected{name: n, index: i, kind: kind})
	}
	return sel, nil
}

// IsMissing reports whether a CSV cell is missing: empty, or NaN in any case
// ("NaN", "nan"). Other placeholders ("NA", "n/a", "null") are
// text: in a numeric column they are invalid values, never silently missing.
func IsMissing(s string) bool { return isMissing(s) }

func isMissing(s string) bool {
	return s == "" || (len(s) == 3 && strings.EqualFold(s, "nan"))
}

// parseNumber parses a CSV cell as a float64. Out-of-range values ("1e999") are kept
// as ±Inf (or ±0), as pandas reads them, rather than turning the column into strings.
func parseNumber(s string) (float64, bool) {
	v, err := strconv.ParseFloat(s, 64)
	if err == nil {
		return v, true
	}
	var ne *strconv.NumError
	if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
		return v, true
	}
	return 0, false
}

// formatNumber is the one text form of a number used wherever a numeric column must
// become a string column.
func formatNumber(v float64) string {
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// dictBuilder dictionary-encodes strings in order of first appearance.
type dictBuilder struct {
	dict  []string
	index map[string]int32
}

// code returns the code of s, adding s to the dictionary if it is new. The lookup
// with a string converted from bytes does not allocate; only new entries are copied.
func (d *dictBuilder) code(s string) int32 {
	if c, ok := d.index[s]; ok {
		return c
	}
	if d.index == nil {
		d.index = make(map[string]int32)
	}
	c := int32(len(d.dict))
	s = strings.Clone(s)
	d.dict = append(d.dict, s)
	d.index[s] = c
	return c
}

// codeBytes is code for a byte slice, without allocating for known values.
func (d *dictBuilder) codeBytes(b []byte) int32 {
	if c, ok := d.index[string(b)]; ok {
		return c
	}
	return d.code(string(b))
}

// toText converts a numeric column to a string column using formatNumber.
func toText(c *Column) {
	var d dictBuilder
	codes := make([]int32, len(c.Float))
	for i, v := range c.Float {
		if v != v { // NaN: missing
			codes[i] = -1
			continue
		}
		codes[i] = d.code(formatNumber(v))
	}
	c.Float, c.Codes, c.Dict = nil, codes, d.dict
	if c.Dict == nil {
		c.Dict = []string{}
	}
}
