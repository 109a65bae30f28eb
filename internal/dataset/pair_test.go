package dataset

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// writeFile writes content to name in dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// writeParquetFile writes tab with WriteParquet to name in dir and returns its path.
func writeParquetFile(t *testing.T, dir, name string, tab *Table) string {
	t.Helper()
	p := filepath.Join(dir, name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := WriteParquet(f, tab); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadPairAlignsColumnsAndRepresentations(t *testing.T) {
	dir := t.TempDir()
	ref := writeFile(t, dir, "ref.csv", "ward,age,sex\n1,30,F\n2,41,M\n1,50,F\n")
	// cur holds the same columns in another order, as Parquet; its ward has text.
	cur := writeParquetFile(t, dir, "cur.parquet", &Table{Rows: 3, Columns: []Column{
		{Name: "sex", Codes: []int32{0, 1, 1}, Dict: []string{"X", "M"}},
		{Name: "age", Float: []float64{33, 44, 55}},
		{Name: "ward", Codes: []int32{0, 1, -1}, Dict: []string{"ICU", "2"}},
	}})
	r, c, err := ReadPair(ref, cur, Options{Categorical: []string{"ward"}})
	if err != nil {
		t.Fatal(err)
	}
	checkTable(t, r, 3, str("ward", "1", "2", "1"), num("age", "30", "41", "50"), str("sex", "F", "M", "F"))
	checkTable(t, c, 3, str("ward", "ICU", "2", missingCell), num("age", "33", "44", "55"), str("sex", "X", "M", "M"))
	for i := range r.Columns {
		rc, cc := &r.Columns[i], &c.Columns[i]
		if rc.IsNumeric() {
			continue
		}
		if !slices.Equal(rc.Dict, cc.Dict) {
			t.Errorf("column %q: dictionaries %q and %q differ", rc.Name, rc.Dict, cc.Dict)
		}
	}
	// Shared dictionaries: ref's values first, then cur's new ones; equal codes mean
	// equal values across the two tables.
	if d := r.Columns[2].Dict; !slices.Equal(d, []string{"F", "M", "X"}) {
		t.Errorf("sex dictionary %q, want [F M X]", d)
	}
	if r.Columns[0].Codes[1] != c.Columns[0].Codes[1] {
		t.Errorf("ward \"2\" has codes %d and %d", r.Columns[0].Codes[1], c.Columns[0].Codes[1])
	}
}

func TestReadPairErrors(t *testing.T) {
	dir := t.TempDir()
	ref := writeFile(t, dir, "ref.csv", "a,b,c\n1,2,3\n")
	cur := writeFile(t, dir, "cur.csv", "a,d\n1,x\n")
	mixed := writeFile(t, dir, "mixed.csv", "a,b,c\n1,2,3\nx,5,6\n")
	tests := []struct {
		name     string
		ref, cur string
		opts     Options
		want     string
	}{
		{"columns on one side only are named with the file that lacks them", ref, cur, Options{},
			dir + `/cur.csv: no columns "b", "c", which ` + dir + "/ref.csv has\n" +
				dir + `/ref.csv: no column "d", which ` + dir + "/cur.csv has"},
		{"a numeric column holding text in one file", ref, mixed, Options{Numeric: []string{"a"}},
			dir + `/mixed.csv: line 3: column "a": want a number, got "x"`},
		{"an absent current file", ref, dir + "/absent.csv", Options{},
			"open " + dir + "/absent.csv: no such file or directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ReadPair(tc.ref, tc.cur, tc.opts)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("got %v\nwant %s", err, tc.want)
			}
		})
	}
}

func TestAlignNumericColumnAgainstTextNamesFirstNonNumber(t *testing.T) {
	newPair := func() (ref, cur *Table) {
		ref = &Table{Source: "ref", Rows: 2, Columns: []Column{{Name: "x", Float: []float64{1, 2}}}}
		cur = &Table{Source: "cur", Rows: 3, Columns: []Column{{Name: "x", Codes: []int32{-1, 0, 1}, Dict: []string{"3.5", "high"}}}}
		return ref, cur
	}
	// The reference makes the column numeric, with or without the Numeric option: the
	// text is an invalid value, not a reason to compare the column as categories.
	for _, opts := range []Options{{Numeric: []string{"x"}}, {}} {
		ref, cur := newPair()
		err := Align(ref, cur, opts)
		if want := `cur: row 3: column "x": want a number, got "high"`; err == nil || err.Error() != want {
			t.Fatalf("%+v: got %v, want %s", opts, err, want)
		}
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%v does not wrap ErrInvalid", err)
		}
	}
	// InvalidIgnore counts it instead, as missing.
	ref, cur := newPair()
	if err := Align(ref, cur, Options{Invalid: InvalidIgnore}); err != nil {
		t.Fatal(err)
	}
	checkTable(t, ref, 2, num("x", "1", "2"))
	checkTable(t, cur, 3, num("x", missingCell, "3.5", missingCell))
	if c := &cur.Columns[0]; c.Invalid != 1 || c.Missing() != 2 {
		t.Errorf("Invalid = %d, Missing = %d, want 1 and 2", c.Invalid, c.Missing())
	}
	// A column of text in the reference makes the current numbers text.
	ref, cur = newPair()
	if err := Align(cur, ref, Options{}); err != nil {
		t.Fatal(err)
	}
	checkTable(t, ref, 2, str("x", "1", "2"))
}

func TestReadPairKindComesFromTheReference(t *testing.T) {
	dir := t.TempDir()
	ref := writeFile(t, dir, "ref.csv", "age,ward\n30,a\n41,b\n50,a\n")
	cur := writeFile(t, dir, "cur.csv", "age,ward\n33,a\n\"abc\",b\nn/a,a\n,b\n")
	_, _, err := ReadPair(ref, cur, Options{})
	if want := dir + `/cur.csv: line 3: column "age": want a number, got "abc"`; err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	_, c, err := ReadPair(ref, cur, Options{Invalid: InvalidIgnore})
	if err != nil {
		t.Fatal(err)
	}
	checkTable(t, c, 4, num("age", "33", missingCell, missingCell, missingCell), str("ward", "a", "b", "a", "b"))
	if age := &c.Columns[0]; age.Invalid != 2 {
		t.Errorf("age: %d invalid values, want 2 (abc and n/a; the empty cell is missing)", age.Invalid)
	}
}
