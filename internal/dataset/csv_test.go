package dataset

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
)

func TestReadCSVFiles(t *testing.T) {
	tests := []struct {
		name string
		file string
		opts Options
		rows int
		cols []want
	}{
		{
			name: "quoted fields keep commas, doubled quotes and newlines",
			file: "quoted.csv", rows: 3,
			cols: []want{
				num("id", "1", "2", "3"),
				str("name", "Smith, Jane", `say "hi"`, "two\nlines"),
				num("score", "0.5", "1.5", "2.5"),
			},
		},
		{
			name: "CRLF line ends are not part of the cells",
			file: "crlf.csv", rows: 2,
			cols: []want{num("a", "1", "2"), str("b", "x", "y")},
		},
		{
			name: "a byte order mark is not part of the first column's name",
			file: "bom.csv", rows: 2,
			cols: []want{num("age", "30", "41"), str("sex", "F", "M")},
		},
		{
			// SPEC: empty cells and NaN are missing. pandas' other NA markers are text, so
			// that a placeholder in a numeric column is seen, never silently dropped.
			name: "only empty cells and NaN are missing, other NA markers are text",
			file: "missing.csv", rows: 9,
			cols: []want{
				str("num", "1", missingCell, missingCell, missingCell, "NULL", "#N/A", "n/a", "-nan", "8"),
				str("txt", "a", "b", "NA", missingCell, "null", "None", "<NA>", "-1.#IND", "NA"),
			},
		},
		{
			name: "infinities are numbers, out-of-range numbers are infinite",
			file: "inf.csv", rows: 6,
			cols: []want{num("x", "+Inf", "-Inf", "+Inf", "-Inf", "+Inf", "2.5")},
		},
		{
			name: "a column turning to text late keeps the original text of earlier numbers",
			file: "mixed.csv", rows: 5,
			cols: []want{
				str("ward", "1", "2.0", missingCell, "ICU", "1.0"),
				str("code", "7", "8", "9", "x10", "11"),
			},
		},
		{
			name: "gzip is detected and read",
			file: "mixed.csv.gz", rows: 5,
			cols: []want{
				str("ward", "1", "2.0", missingCell, "ICU", "1.0"),
				str("code", "7", "8", "9", "x10", "11"),
			},
		},
		{
			name: "a header-only file has numeric columns and no rows",
			file: "header_only.csv", rows: 0,
			cols: []want{num("a"), num("b"), num("c")},
		},
		{
			name: "categorical columns keep the text of numbers",
			file: "mixed.csv", rows: 5, opts: Options{Categorical: []string{"code"}, Exclude: []string{"ward"}},
			cols: []want{str("code", "7", "8", "9", "x10", "11")},
		},
		{
			name: "Columns restricts, Exclude removes",
			file: "quoted.csv", rows: 3, opts: Options{Columns: []string{"id", "score"}, Exclude: []string{"id", "absent"}},
			cols: []want{num("score", "0.5", "1.5", "2.5")},
		},
		{
			name: "numeric columns that hold numbers read as usual",
			file: "not_number.csv", rows: 2, opts: Options{Numeric: []string{"age"}},
			cols: []want{num("age", "30", "41"), str("weight", "70.5", "unknown")},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Read("testdata/"+tc.file, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got.Source != "testdata/"+tc.file {
				t.Errorf("Source = %q", got.Source)
			}
			checkTable(t, got, tc.rows, tc.cols...)
		})
	}
}

func TestReadCSVErrors(t *testing.T) {
	tests := []struct {
		name string
		file string
		opts Options
		want string
	}{
		{"an empty file", "empty.csv", Options{},
			"testdata/empty.csv: empty file, want a header row (CSV) or a Parquet file"},
		{"blank lines only", "blank.csv", Options{},
			"testdata/blank.csv: no header row (the file holds only blank lines)"},
		{"a ragged row names its line and both field counts", "ragged.csv", Options{},
			"testdata/ragged.csv: line 3: row has 2 fields, want 3 like the header"},
		{"a duplicate header name", "dup_header.csv", Options{},
			`testdata/dup_header.csv: line 1: column "a": duplicate column name (header fields 1 and 3)`},
		{"an empty header name", "empty_header.csv", Options{},
			"testdata/empty_header.csv: line 1: header field 2 is empty, want a column name"},
		{"a quoted field left open", "open_quote.csv", Options{},
			"testdata/open_quote.csv: line 2: quoted field not closed, or text after its closing quote (at line 3, column 5)"},
		{"a non-number in a numeric column names line, column and value", "not_number.csv", Options{Numeric: []string{"weight"}},
			`testdata/not_number.csv: line 3: column "weight": want a number, got "unknown"`},
		{"a numeric column the file lacks", "not_number.csv", Options{Numeric: []string{"height"}},
			`testdata/not_number.csv: column "height": no such column (named as numeric)`},
		{"a column both numeric and categorical", "not_number.csv", Options{Numeric: []string{"age"}, Categorical: []string{"age"}},
			`testdata/not_number.csv: column "age": named both numeric and categorical`},
		{"a .gz file that is not gzip", "not_gzip.csv.gz", Options{},
			"testdata/not_gzip.csv.gz: not a valid gzip file: gzip: invalid header"},
		{"a truncated gzip file", "truncated.csv.gz", Options{},
			"testdata/truncated.csv.gz: not a valid gzip file: unexpected EOF"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Read("testdata/"+tc.file, tc.opts)
			if err == nil {
				t.Fatalf("no error, read %d rows", got.Rows)
			}
			if err.Error() != tc.want {
				t.Errorf("error\n got %s\nwant %s", err, tc.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
		})
	}
}

func TestReadMissingFileIsNotInvalidData(t *testing.T) {
	_, err := Read("testdata/absent.csv", Options{})
	if err == nil || errors.Is(err, ErrInvalid) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v, want a not-exist error that is not ErrInvalid", err)
	}
}

func TestReadCSVFromStreamFormatsNumbersOfTurnedColumns(t *testing.T) {
	data, err := os.ReadFile("testdata/mixed.csv")
	if err != nil {
		t.Fatal(err)
	}
	got, err := ReadCSV(oneShot{bytes.NewReader(data)}, "stdin", Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Without a second look at the text, every number of a turned column is spelled
	// by formatNumber, before and after the turn alike.
	checkTable(t, got, 5,
		str("ward", "1", "2", missingCell, "ICU", "1"),
		str("code", "7", "8", "9", "x10", "11"))
	if d := got.Columns[0].Dict; len(d) != 3 {
		t.Errorf("ward dictionary %q, want 3 entries", d)
	}
}

func TestReadCSVFromSeekerStartsAtItsPosition(t *testing.T) {
	r := strings.NewReader("junk\nv,w\n1,a\nx,b\n")
	if _, err := r.Seek(5, 0); err != nil {
		t.Fatal(err)
	}
	got, err := ReadCSV(r, "mem.csv", Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkTable(t, got, 2, str("v", "1", "x"), str("w", "a", "b"))
}

func TestReadCSVErrorsFromStream(t *testing.T) {
	_, err := ReadCSV(oneShot{strings.NewReader("")}, "stdin", Options{})
	if want := "stdin: empty file, want a header row"; err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
	_, err = ReadCSV(oneShot{strings.NewReader("a,b\n1,2\n3,4,5\n")}, "stdin", Options{})
	if want := "stdin: line 3: row has 3 fields, want 2 like the header"; err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
}

func TestWriteCSVReadsBack(t *testing.T) {
	orig, err := Read("testdata/missing.csv", Options{})
	if err != nil {
		t.Fatal(err)
	}
	inf, err := Read("testdata/inf.csv", Options{})
	if err != nil {
		t.Fatal(err)
	}
	orig.Columns = append(orig.Columns, Column{Name: "x", Float: inf.Columns[0].Float[:orig.Rows-3]})
	orig.Columns[2].Float = append(orig.Columns[2].Float, 0.1, -3e-300, 12345678901234567)
	var buf bytes.Buffer
	if err := WriteCSV(&buf, orig); err != nil {
		t.Fatal(err)
	}
	back, err := ReadCSV(&buf, "back.csv", Options{})
	if err != nil {
		t.Fatal(err)
	}
	var cols []want
	for i := range orig.Columns {
		c := &orig.Columns[i]
		cols = append(cols, want{name: c.Name, numeric: c.IsNumeric(), cells: cellsOf(c)})
	}
	checkTable(t, back, orig.Rows, cols...)
}

// With NamedMayBeAbsent a kind given to a column the file lacks is no error (the drift
// check's quality findings report the column); one the file has still applies.
func TestReadNamedMayBeAbsent(t *testing.T) {
	tab, err := Read("testdata/not_number.csv", Options{Numeric: []string{"height"}, Categorical: []string{"age", "ward"}, NamedMayBeAbsent: true})
	if err != nil {
		t.Fatal(err)
	}
	age, ok := tab.Column("age")
	if !ok || age.IsNumeric() {
		t.Errorf("age %+v, want read as categorical", age)
	}
	if _, ok := tab.Column("height"); ok {
		t.Error("a column the file lacks was made up")
	}
}
