package dataset

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/encoding"
)

// WriteCSV writes t as CSV: a header row, numbers in formatNumber's form ("+Inf" and
// "-Inf" for infinities, which ParseFloat reads back), missing cells empty. A string
// value that looks like a number or a missing marker ("NA") reads back as one; that is
// CSV's nature, not this writer's.
func WriteCSV(w io.Writer, t *Table) error {
	cw := csv.NewWriter(w)
	rec := make([]string, len(t.Columns))
	for i := range t.Columns {
		rec[i] = t.Columns[i].Name
	}
	if err := cw.Write(rec); err != nil {
		return fmt.Errorf("write csv header: %w", err)
	}
	buf := make([]byte, 0, 32)
	for row := 0; row < t.Rows; row++ {
		for i := range t.Columns {
			c := &t.Columns[i]
			switch {
			case c.IsNumeric() && math.IsNaN(c.Float[row]):
				rec[i] = ""
			case c.IsNumeric():
				buf = strconv.AppendFloat(buf[:0], c.Float[row], 'g', -1, 64)
				rec[i] = string(buf)
			case c.Codes[row] < 0:
				rec[i] = ""
			default:
				rec[i] = c.Dict[c.Codes[row]]
			}
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("write csv row %d: %w", row+1, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

// parquetRowGroupRows bounds the rows of one row group written by WriteParquet, so that
// the writer's buffers stay small whatever the table's size.
const parquetRowGroupRows = 1 << 16

// WriteParquet writes t as a Parquet file, Snappy-compressed, keeping the column order:
// numeric columns as DOUBLE, string columns as dictionary-encoded STRING. A column with
// missing values is optional (nulls), one without is required. The file reads back
// with ReadParquet into an equal table.
func WriteParquet(w io.Writer, t *Table) error {
	fields := make(orderedGroup, len(t.Columns))
	optional := make([]bool, len(t.Columns))
	for i := range t.Columns {
		c := &t.Columns[i]
		var node parquet.Node
		if c.IsNumeric() {
			node = parquet.Leaf(parquet.DoubleType)
		} else {
			node = parquet.Encoded(parquet.String(), &parquet.RLEDictionary)
		}
		if c.Missing() > 0 {
			optional[i] = true
			node = parquet.Optional(node)
		}
		fields[i] = namedField{Node: node, name: c.Name}
	}
	pw := parquet.NewWriter(w, parquet.NewSchema("table", fields), parquet.Compression(&parquet.Snappy))
	batch := make([]parquet.Value, valueBatch)
	for lo := 0; lo < t.Rows; lo += parquetRowGroupRows {
		hi := min(lo+parquetRowGroupRows, t.Rows)
		writers := pw.ColumnWriters()
		for i := range t.Columns {
			c := &t.Columns[i]
			def := 0
			if optional[i] {
				def = 1
			}
			var dict []parquet.Value
			if !c.IsNumeric() {
				dict = make([]parquet.Value, len(c.Dict))
				for k, s := range c.Dict {
					dict[k] = parquet.ByteArrayValue([]byte(s)).Level(0, def, i)
				}
			}
			for start := lo; start < hi; start += len(batch) {
				n := min(len(batch), hi-start)
				for k := range n {
					row := start + k
					switch {
					case c.IsNumeric() && math.IsNaN(c.Float[row]):
						batch[k] = parquet.NullValue().Level(0, 0, i)
					case c.IsNumeric():
						batch[k] = parquet.DoubleValue(c.Float[row]).Level(0, def, i)
					case c.Codes[row] < 0:
						batch[k] = parquet.NullValue().Level(0, 0, i)
					default:
						batch[k] = dict[c.Codes[row]]
					}
				}
				if _, err := writers[i].WriteRowValues(batch[:n]); err != nil {
					return fmt.Errorf("write parquet column %q: %w", c.Name, err)
				}
			}
		}
		if err := pw.Flush(); err != nil {
			return fmt.Errorf("write parquet row group: %w", err)
		}
	}
	if err := pw.Close(); err != nil {
		return fmt.Errorf("close parquet writer: %w", err)
	}
	return nil
}

// orderedGroup is a Parquet group node whose fields keep the order given, unlike
// parquet.Group, which sorts them by name.
type orderedGroup []parquet.Field

func (g orderedGroup) ID() int                           { return 0 }
func (g orderedGroup) String() string                    { return fmt.Sprintf("group(%d fields)", len(g)) }
func (g orderedGroup) Type() parquet.Type                { return parquet.Group{}.Type() }
func (g orderedGroup) Optional() bool                    { return false }
func (g orderedGroup) Repeated() bool                    { return false }
func (g orderedGroup) Required() bool                    { return true }
func (g orderedGroup) Leaf() bool                        { return false }
func (g orderedGroup) Fields() []parquet.Field           { return g }
func (g orderedGroup) Encoding() encoding.Encoding       { return nil }
func (g orderedGroup) Compression() compress.Codec       { return nil }
func (g orderedGroup) GoType() reflect.Type              { return reflect.TypeFor[map[string]any]() }
func (g orderedGroup) Value(reflect.Value) reflect.Value { return reflect.Value{} }

// namedField names a leaf node within an orderedGroup.
type namedField struct {
	parquet.Node
	name string
}

func (f namedField) Name() string                      { return f.name }
func (f namedField) Value(reflect.Value) reflect.Value { return reflect.Value{} }
