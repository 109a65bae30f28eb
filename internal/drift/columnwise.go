package drift

import (
	"context"
	"fmt"

	"github.com/medimind/modelops/internal/dataset"
)

// Columnwise compares a reference and a current table a batch of columns at a time, so
// that neither is ever held whole: each batch of reference columns is prepared
// (Prepare), its table dropped, the same columns of the current data compared with it
// (Compare), and once every column has been seen Report applies the dataset share rule
// and the groups to all of them — the report Compare makes of the whole tables.
type Columnwise struct {
	opts   Options
	groups []compiledGroup
	source string
	cols   []ColumnReport
}

// NewColumnwise starts a comparison under opts of a reference whose columns (names and
// kinds, without values: the whole table's schema) are schema. The options are checked
// against the whole schema here, as NewProfile checks them against the whole table.
func NewColumnwise(schema *dataset.Table, opts Options) (*Columnwise, error) {
	opts = opts.clone()
	groups, err := opts.validate()
	if err != nil {
		return nil, err
	}
	// NewProfile's checks of the options against the whole reference.
	excluded, index := setOf(opts.Exclude), schema.ColumnIndex()
	for _, names := range [][]string{opts.Categorical, opts.Numeric} {
		for _, name := range names {
			if _, ok := index[name]; !ok && !excluded[name] {
				return nil, fmt.Errorf("%s: column %q named in the options is not in the reference: %w", schema.Source, name, ErrInvalidInput)
			}
		}
	}
	compared := 0
	for i := range schema.Columns {
		if !excluded[schema.Columns[i].Name] {
			compared++
		}
	}
	if compared == 0 {
		return nil, fmt.Errorf("%s: no columns to compare: %w", schema.Source, ErrInvalidInput)
	}
	return &Columnwise{opts: opts, groups: groups, source: schema.Source}, nil
}

// Prepare prepares a batch of the reference's columns. Batches are given in the
// reference's column order; the table may be dropped once Prepare returns.
func (c *Columnwise) Prepare(ctx context.Context, ref *dataset.Table) (*Profile, error) {
	return newProfile(ctx, ref, c.opts, c.groups, true)
}

// Compare compares the current data's columns of the batch p prepared with it.
func (c *Columnwise) Compare(ctx context.Context, p *Profile, cur *dataset.Table) error {
	cols, err := p.compareColumns(ctx, cur, false)
	if err != nil {
		return err
	}
	c.cols = append(c.cols, cols...)
	return nil
}

// Report is the report of every column compared, with the dataset share and the groups.
func (c *Columnwise) Report() (*Report, error) {
	if len(c.cols) == 0 {
		return nil, fmt.Errorf("%s: no columns to compare: %w", c.source, ErrInvalidInput)
	}
	return assemble(c.opts, c.groups, c.cols)
}
