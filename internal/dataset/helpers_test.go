package dataset

import (
	"io"
	"math"
	"slices"
	"strconv"
	"testing"
)

// missingCell stands for a missing cell in expected columns.
const missingCell = "<missing>"

// want describes an expected column: its name, whether it is numeric, and its cells as
// text (numbers in formatNumber's form, missingCell for a missing cell).
type want struct {
	name    string
	numeric bool
	cells   []string
}

func num(name string, cells ...string) want { return want{name: name, numeric: true, cells: cells} }
func str(name string, cells ...string) want { return want{name: name, cells: cells} }

// cellsOf renders a column as want.cells does.
func cellsOf(c *Column) []string {
	out := make([]string, c.Len())
	for i := range out {
		switch {
		case c.IsNumeric() && math.IsNaN(c.Float[i]):
			out[i] = missingCell
		case c.IsNumeric():
			out[i] = strconv.FormatFloat(c.Float[i], 'g', -1, 64)
		case c.Codes[i] < 0:
			out[i] = missingCell
		default:
			out[i] = c.Dict[c.Codes[i]]
		}
	}
	return out
}

// checkTable compares a table with the expected columns and checks the invariants
// every table must hold.
func checkTable(t *testing.T, got *Table, rows int, cols ...want) {
	t.Helper()
	checkInvariants(t, got)
	if got.Rows != rows {
		t.Errorf("Rows = %d, want %d", got.Rows, rows)
	}
	if len(got.Columns) != len(cols) {
		names := make([]string, len(got.Columns))
		for i := range got.Columns {
			names[i] = got.Columns[i].Name
		}
		t.Fatalf("columns %q, want %d columns", names, len(cols))
	}
	for i, w := range cols {
		c := &got.Columns[i]
		if c.Name != w.name {
			t.Errorf("column %d is %q, want %q", i, c.Name, w.name)
		}
		if c.IsNumeric() != w.numeric {
			t.Errorf("column %q numeric = %v, want %v", c.Name, c.IsNumeric(), w.numeric)
		}
		if cells := cellsOf(c); !slices.Equal(cells, w.cells) {
			t.Errorf("column %q = %q, want %q", c.Name, cells, w.cells)
		}
	}
}

// checkInvariants checks what every table must satisfy: one representation per column,
// Rows values in each, codes inside the dictionary, no duplicate dictionary entries.
func checkInvariants(t testing.TB, tab *Table) {
	t.Helper()
	for i := range tab.Columns {
		c := &tab.Columns[i]
		if (c.Float != nil) == (c.Codes != nil) {
			t.Fatalf("column %q: Float set = %v, Codes set = %v; want exactly one", c.Name, c.Float != nil, c.Codes != nil)
		}
		if c.Len() != tab.Rows {
			t.Fatalf("column %q has %d values, want %d", c.Name, c.Len(), tab.Rows)
		}
		if c.IsNumeric() {
			continue
		}
		seen := make(map[string]bool, len(c.Dict))
		for _, s := range c.Dict {
			if seen[s] {
				t.Fatalf("column %q: %q twice in the dictionary", c.Name, s)
			}
			seen[s] = true
		}
		for row, code := range c.Codes {
			if code < -1 || int(code) >= len(c.Dict) {
				t.Fatalf("column %q row %d: code %d outside the dictionary of %d", c.Name, row, code, len(c.Dict))
			}
		}
	}
}

// oneShot hides every method of a reader but Read, as a pipe or stdin would.
type oneShot struct{ r io.Reader }

func (o oneShot) Read(p []byte) (int, error) { return o.r.Read(p) }
