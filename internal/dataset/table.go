package dataset

import "math"

// Column holds one column of a table in exactly one of two representations.
//
// A numeric column has Float set: one value per row, NaN for a missing cell (±Inf are kept;
// the drift engine cleans them). A string column has Codes and Dict set: Codes[i] indexes
// Dict, and -1 marks a missing cell.
type Column struct {
	Name  string
	Float []float64
	Codes []int32
	Dict  []string
	// Invalid counts the cells of a numeric column that were not numbers and were read
	// as missing (NaN) because Options.Invalid is InvalidIgnore; Missing includes them.
	// Such a cell holds the NaN IsInvalidCell tells apart, so that a selection of rows
	// (a window of a log) can count its own.
	Invalid int
}

// invalidNaN is the NaN an invalid cell is read as: a payload of its own, which copying
// keeps, unlike math.NaN()'s.
var invalidNaN = math.Float64frombits(0x7ff8_0000_0000_0bad)

// IsInvalidCell reports whether v is a numeric cell that held a non-number and was read
// as missing (Options.Invalid InvalidIgnore).
func IsInvalidCell(v float64) bool { return math.Float64bits(v) == math.Float64bits(invalidNaN) }

// IsNumeric reports whether the column holds float64 values.
func (c *Column) IsNumeric() bool { return c.Float != nil }

// Len is the number of rows of the column.
func (c *Column) Len() int {
	if c.Float != nil {
		return len(c.Float)
	}
	return len(c.Codes)
}

// Missing counts the missing cells (NaN, or code -1).
func (c *Column) Missing() int {
	n := 0
	if c.Float != nil {
		for _, v := range c.Float {
			if math.IsNaN(v) {
				n++
			}
		}
		return n
	}
	for _, code := range c.Codes {
		if code < 0 {
			n++
		}
	}
	return n
}

// Table is a set of equally long columns read from one file.
type Table struct {
	// Source names the file the table was read from, for error messages.
	Source  string
	Rows    int
	Columns []Column
}

// Column returns the column called name. It scans the columns: code that looks up many
// columns builds an index once with ColumnIndex.
func (t *Table) Column(name string) (*Column, bool) {
	for i := range t.Columns {
		if t.Columns[i].Name == name {
			return &t.Columns[i], true
		}
	}
	return nil, false
}

// ColumnIndex maps each column's name to its position in Columns.
func (t *Table) ColumnIndex() map[string]int {
	m := make(map[string]int, len(t.Columns))
	for i := range t.Columns {
		m[t.Columns[i].Name] = i
	}
	return m
}
