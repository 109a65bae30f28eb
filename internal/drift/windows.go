package drift

import (
	"context"
	"time"

	"github.com/medimind/modelops/internal/dataset"
)

// Windows says which rows of a timestamped log the reference and the current side of a
// check held (drift-definitions.md §8).
type Windows struct {
	Reference WindowReport `json:"reference"`
	Current   WindowReport `json:"current"`
	// InsufficientData is the verdict "insufficient data": a window held fewer rows than
	// its minRows. The columns are then not compared (the report has none and does not
	// drift); the check is neither drifted nor failed.
	InsufficientData bool `json:"insufficientData"`
}

// WindowReport is one window: the rows whose timestamp t satisfies from <= t < to.
type WindowReport struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Rows counts the rows of the window.
	Rows int `json:"rows"`
	// DroppedRows counts the rows with a missing or unparseable timestamp in the files
	// read for the window.
	DroppedRows int `json:"droppedRows"`
	// MinRows is the fewest rows the window must hold.
	MinRows int64 `json:"minRows"`
}

// NewWindows reports the windows a log's reading gave (dataset.ReadWindows), each with its
// minimum of rows.
func NewWindows(ref, cur dataset.WindowRows, refMin, curMin int64) *Windows {
	w := &Windows{
		Reference: WindowReport{From: ref.From.UTC(), To: ref.To.UTC(), Rows: ref.Rows, DroppedRows: ref.Dropped, MinRows: refMin},
		Current:   WindowReport{From: cur.From.UTC(), To: cur.To.UTC(), Rows: cur.Rows, DroppedRows: cur.Dropped, MinRows: curMin},
	}
	w.InsufficientData = int64(ref.Rows) < refMin || int64(cur.Rows) < curMin
	return w
}

// CompareWindows compares two windows of a log as Compare does, and reports the windows.
// With insufficient data it compares nothing: the report has no columns, does not drift,
// and says so in Windows.
func CompareWindows(ctx context.Context, ref, cur *dataset.Table, w *Windows, opts Options) (*Report, error) {
	if w.InsufficientData {
		return &Report{DatasetShare: opts.datasetShare(), Columns: []ColumnReport{}, Groups: []GroupReport{}, Windows: w}, nil
	}
	rep, err := Compare(ctx, ref, cur, opts)
	if err != nil {
		return nil, err
	}
	rep.Windows = w
	return rep, nil
}
