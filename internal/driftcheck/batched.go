package driftcheck

import (
	"context"
	"runtime"

	"github.com/medimind/modelops/internal/dataset"
	"github.com/medimind/modelops/internal/drift"
	"github.com/medimind/modelops/internal/profilecache"
	"github.com/medimind/modelops/policies"
)

// The memory budget (Plan.Memory, spec.data.limits.memory, modelops drift --memory).
//
// A drift check holds, for each column, the reference's values, their sorted copy and
// the current values (8 bytes each); each worker also sorts one current column at a
// time. When the two tables would not fit in the budget, the columns are compared in
// batches sized to it: a batch of reference columns is read and prepared, the table is
// dropped, the same columns of the current data are read and compared, and the next
// batch follows, so that peak memory grows with rows × batch rather than rows × columns.
// Parquet files are read a batch of column chunks at a time from a footer parsed once;
// CSV files are read in one pass over their text per batch (dataset.ColumnFile), which
// costs k passes for k batches but nothing on disk. The dataset share and the groups
// are applied to all the columns at the end (drift.Columnwise): the report is the one
// the whole tables give, byte for byte.

// MemoryBudget is the policy's memory budget (spec.data.limits.memory) in bytes; 0 when
// it sets none.
func MemoryBudget(p *policies.Policy) int64 {
	if d := p.Spec.Data; d != nil && d.Limits != nil {
		return d.Limits.Bytes(d.Limits.Memory)
	}
	return 0
}

// heapHeadroom is the share of the budget the batches' values may take; the rest is for
// the garbage of the batch before (collected at each phase, see compareBatch), the
// readers' buffers and the runtime. Measured: a 4 GiB budget peaked at 2.1 GiB (README).
const heapHeadroom = 0.45

// columnBytes is what one column of the batch holds at the peak: the reference's values
// and their sorted copy while it is prepared, then the sorted copy and the current values.
func columnBytes(refRows, curRows int64) int64 {
	return 8 * max(2*refRows, refRows+curRows)
}

// batchColumns is how many columns of a batch fit in budget; 0 when the whole tables fit
// (no batching needed). It is at least 1: a single column over the budget is still
// compared, one at a time.
func batchColumns(budget int64, columns int, refRows, curRows int64) int {
	live := int64(float64(budget) * heapHeadroom)
	live -= 8 * curRows * int64(runtime.GOMAXPROCS(0)) // the workers' sorted current columns
	per := columnBytes(refRows, curRows)
	if per*int64(columns) <= live {
		return 0
	}
	return int(max(1, live/max(per, 1)))
}

func (s *Source) openColumns(ctx context.Context, opts dataset.Options) (*dataset.ColumnFile, error) {
	if err := s.fetch(ctx); err != nil {
		return nil, err
	}
	var cf *dataset.ColumnFile
	var err error
	if s.FS != nil {
		cf, err = dataset.OpenColumnsFS(s.FS, s.Path, opts)
	} else {
		cf, err = dataset.OpenColumns(s.Path, opts)
	}
	if err != nil {
		if s.Name != "" {
			return nil, RenameSource(err, s.Path, s.Name)
		}
		return nil, err
	}
	if s.Name != "" {
		cf.Source = s.Name
	}
	return cf, nil
}

// compareInBatches compares ref and cur a batch of columns at a time when the whole
// tables would not fit in plan.Memory; done is false when they fit, and nothing was read
// but their shapes.
func compareInBatches(ctx context.Context, ref, cur *Source, plan Plan) (rep *drift.Report, done bool, err error) {
	refFile, err := ref.openColumns(ctx, plan.Read)
	if err != nil {
		return nil, true, err
	}
	defer refFile.Close()
	curFile, err := cur.openColumns(ctx, plan.Read)
	if err != nil {
		return nil, true, err
	}
	defer curFile.Close()
	// The shapes alone say whether a column is missing on one side, as Align would.
	refSchema, curSchema := shape(refFile), shape(curFile)
	if err := dataset.Align(refSchema, curSchema, plan.Read); err != nil {
		return nil, true, err
	}
	k := batchColumns(plan.Memory, len(refFile.Names), refFile.Rows, curFile.Rows)
	if k == 0 {
		return nil, false, nil
	}
	cw, err := drift.NewColumnwise(refSchema, plan.Compare)
	if err != nil {
		return nil, true, err
	}
	if plan.ReadingCurrent != nil {
		plan.ReadingCurrent(refSchema)
	}
	names := refFile.Names
	for start := 0; start < len(names); start += k {
		batch := names[start:min(start+k, len(names))]
		if err := compareBatch(ctx, cw, refFile, curFile, batch, plan); err != nil {
			return nil, true, err
		}
	}
	rep, err = cw.Report()
	return rep, true, err
}

// compareBatch reads, prepares and compares one batch of columns.
func compareBatch(ctx context.Context, cw *drift.Columnwise, refFile, curFile *dataset.ColumnFile, batch []string, plan Plan) error {
	// The previous batch's values are garbage, and after prepareBatch the reference
	// batch's: collecting them now, rather than when the heap has doubled (GOGC), keeps
	// the peak at one batch's values. A collection of slices of numbers costs little
	// beside reading them.
	runtime.GC()
	p, schema, err := prepareBatch(ctx, cw, refFile, batch, plan)
	if err != nil {
		return err
	}
	runtime.GC()
	curTable, err := curFile.Read(batch, dataset.CurrentOptions(schema, plan.Read))
	if err != nil {
		return err
	}
	curTable.Source = curFile.Source
	if err := dataset.Align(schema, curTable, plan.Read); err != nil {
		return err
	}
	if plan.Reference != nil {
		if err := plan.Reference(schema); err != nil {
			return err
		}
	}
	return cw.Compare(ctx, p, curTable)
}

// prepareBatch reads and prepares a batch of reference columns. The table is dropped on
// return, before the current data is read: only its profile and schema are kept.
func prepareBatch(ctx context.Context, cw *drift.Columnwise, refFile *dataset.ColumnFile, batch []string, plan Plan) (*drift.Profile, *dataset.Table, error) {
	refTable, err := refFile.Read(batch, plan.Read)
	if err != nil {
		return nil, nil, err
	}
	refTable.Source = refFile.Source
	p, err := cw.Prepare(ctx, refTable)
	if err != nil {
		return nil, nil, err
	}
	return p, profilecache.Schema(refTable), nil
}

// shape is a table of a file's selected columns without rows.
func shape(cf *dataset.ColumnFile) *dataset.Table {
	t := &dataset.Table{Source: cf.Source, Columns: make([]dataset.Column, len(cf.Names))}
	for i, n := range cf.Names {
		t.Columns[i] = dataset.Column{Name: n, Float: []float64{}}
	}
	return t
}
