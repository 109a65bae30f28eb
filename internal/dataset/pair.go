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
//   - Each column has the kind it has in the reference. The current file is read with
//     opts.Reference set to ref, so a non-number in a column numeric in the reference is
//     an invalid value (an error naming the file, line, column and value, or counted in
//     Column.Invalid, as opts.Invalid says), never a reason to compare the column as
//     text. A column that is text in the reference and numeric in the current file
//     becomes text (formatNumber: strconv.FormatFloat(v, 'g', -1, 64)).
//   - A string column's Dict is the same slice on both sides: ref's values in ref's
//     order, then values seen only in cur. Codes therefore compare directly, and a
//     category absent from one side is visible as a zero count.
func ReadPair(refPath, curPath string, opts Options) (ref, cur *Table, err error) {
	ref, err = Read(refPath, opts)
	if err != nil {
		return nil, nil, err
	}
	cur, err = Read(curPath, CurrentOptions(ref, opts))
	if err != nil {
		return nil, nil, err
	}
	if err := Align(ref, cur, opts); err != nil {
		return nil, nil, err
	}
	return ref, cur, nil
}

// CurrentOptions are the options to read the current file compared with ref: opts with
// Reference set to ref.
func CurrentOptions(ref *Table, opts Options) Options {
	opts.Reference = ref
	return opts
}

// Align makes two tables already read comparable, as ReadPair describes, changing both
// in place. Tables read without Options.Reference get the same kinds here, with rows
// rather than lines in the errors. It takes time linear in the number of columns and
// rows, and stops when opts.Context is cancelled.
func Align(ref, cur *Table, opts Options) error {
	ctx := opts.ctx()
	refIndex, curIndex := ref.ColumnIndex(), cur.ColumnIndex()
	if err := errors.Join(lacking(cur, curIndex, ref), lacking(ref, refIndex, cur)); err != nil {
		return err
	}
	ordered := make([]Column, len(ref.Columns))
	for i := range ref.Columns {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		r, c := &ref.Columns[i], &cur.Columns[curIndex[ref.Columns[i].Name]]
		switch {
		case r.IsNumeric() && !c.IsNumeric():
			if err := applyKind(cur.Source, c, kindNumeric, opts.Invalid); err != nil {
				return err
			}
		case !r.IsNumeric() && c.IsNumeric():
			toText(c)
		}
		if !r.IsNumeric() {
			shareDict(r, c)
		}
		ordered[i] = *c
	}
	cur.Columns = ordered
	return nil
}

// lacking reports the columns of has that t (with its column index) lacks, as one error
// naming t's file.
func lacking(t *Table, index map[string]int, has *Table) error {
	var missing []string
	for i := range has.Columns {
		if _, ok := index[has.Columns[i].Name]; !ok {
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
