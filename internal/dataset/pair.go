package dataset

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ReadPair reads a reference and a current table and makes them comparable:
//
//   - Both have the same columns, and cur's columns are put in ref's order, so that
//     ref.Columns[i] and cur.Columns[i] are the same column. A column on one side only
//     is an error naming the file that lacks it.
//   - Each column has one representation on both sides. When one side is numeric and
//     the other not, the numeric side becomes strings (formatNumber:
//     strconv.FormatFloat(v, 'g', -1, 64)), unless the column is in opts.Numeric, in
//     which case the error names the file, line or row, column and value of the first
//     non-numeric cell (Read already enforces opts.Numeric on each file).
//   - A string column's Dict is the same slice on both sides: ref's values in ref's
//     order, then values seen only in cur. Codes therefore compare directly, and a
//     category absent from one side is visible as a zero count.
func ReadPair(refPath, curPath string, opts Options) (ref, cur *Table, err error) {
	ref, err = Read(refPath, opts)
	if err != nil {
		return nil, nil, err
	}
	cur, err = Read(curPath, opts)
	if err != nil {
		return nil, nil, err
	}
	if err := Align(ref, cur, opts); err != nil {
		return nil, nil, err
	}
	return ref, cur, nil
}

// Align makes two tables already read comparable, as ReadPair describes, changing
// both in place.
func Align(ref, cur *Table, opts Options) error {
	if err := errors.Join(lacking(cur, ref), lacking(ref, cur)); err != nil {
		return err
	}
	numeric := make(map[string]bool, len(opts.Numeric))
	for _, n := range opts.Numeric {
		numeric[n] = true
	}
	ordered := make([]Column, len(ref.Columns))
	for i := range ref.Columns {
		r := &ref.Columns[i]
		c, _ := cur.Column(r.Name)
		if r.IsNumeric() != c.IsNumeric() {
			num, text, textTable := r, c, cur
			if c.IsNumeric() {
				num, text, textTable = c, r, ref
			}
			if numeric[r.Name] {
				return firstNonNumber(textTable, text)
			}
			toText(num)
		}
		if !r.IsNumeric() {
			shareDict(r, c)
		}
		ordered[i] = *c
	}
	cur.Columns = ordered
	return nil
}

// lacking reports the columns of has that t lacks, as one error naming t's file.
func lacking(t, has *Table) error {
	var missing []string
	for i := range has.Columns {
		if _, ok := t.Column(has.Columns[i].Name); !ok {
			missing = append(missing, fmt.Sprintf("%q", has.Columns[i].Name))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	word := "column"
	if len(missing) > 1 {
		word = "columns"
	}
	return &DataError{Source: t.Source, Msg: fmt.Sprintf("no %s %s, which %s has", word, strings.Join(missing, ", "), has.Source)}
}

// firstNonNumber is the error for a string column that must be numeric: it names the
// first row whose value is not a number. Rows of a string column have no line
// numbers left, so the row is the 1-based data row.
func firstNonNumber(t *Table, c *Column) error {
	for row, code := range c.Codes {
		if code < 0 {
			continue
		}
		if _, ok := parseNumber(c.Dict[code]); !ok {
			return &DataError{Source: t.Source, Row: row + 1, Column: c.Name, Msg: notNumber(c.Dict[code])}
		}
	}
	return &DataError{Source: t.Source, Column: c.Name, Msg: "string column, want numbers"}
}

// shareDict gives cur the dictionary of ref, extended with cur's own values, and
// re-codes cur.
func shareDict(ref, cur *Column) {
	d := dictBuilder{dict: slices.Clip(ref.Dict), index: make(map[string]int32, len(ref.Dict)+len(cur.Dict))}
	for i, s := range ref.Dict {
		d.index[s] = int32(i)
	}
	remap := make([]int32, len(cur.Dict))
	for i, s := range cur.Dict {
		remap[i] = d.code(s)
	}
	for i, code := range cur.Codes {
		if code >= 0 {
			cur.Codes[i] = remap[code]
		}
	}
	ref.Dict, cur.Dict = d.dict, d.dict
}
