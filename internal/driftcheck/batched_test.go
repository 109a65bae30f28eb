package driftcheck

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/medimind/modelops/internal/dataset"
	"github.com/medimind/modelops/internal/drift"
)

// budgetFor is the memory budget under which the columns of a rows×rows pair are
// compared k at a time.
func budgetFor(k int, rows int64) int64 {
	live := int64(k)*columnBytes(rows, rows) + 8*rows*int64(runtime.GOMAXPROCS(0))
	return int64(float64(live)/heapHeadroom) + 1
}

// TestBatchesGiveTheOneTableReport compares the same pairs (CSV and Parquet; numeric,
// few-valued, categorical and text columns, an excluded one, groups by pattern and by
// list) as one table and in batches of 1, 2 and 3 columns: the JSON reports — columns,
// dataset share and verdict, groups — are the same bytes.
func TestBatchesGiveTheOneTableReport(t *testing.T) {
	ctx := context.Background()
	const rows = 3000
	for _, ext := range []string{".csv", ".parquet"} {
		t.Run(ext, func(t *testing.T) {
			dir := t.TempDir()
			ref, cur := mixedTables(rows)
			refPath, curPath := filepath.Join(dir, "ref"+ext), filepath.Join(dir, "cur"+ext)
			writeTable(t, refPath, ref)
			writeTable(t, curPath, cur)
			whole, err := CompareSources(ctx, Source{Path: refPath}, Source{Path: curPath}, plan(nil))
			if err != nil {
				t.Fatal(err)
			}
			want := reportJSON(t, whole)
			for _, k := range []int{1, 2, 3} {
				budget := budgetFor(k, rows)
				if got := batchColumns(budget, 4, rows, rows); got != k {
					t.Fatalf("budget %d: batches of %d columns, want %d", budget, got, k)
				}
				p := plan(nil)
				p.Memory = budget
				var batches []string
				p.Reference = func(ref *dataset.Table) error {
					var names []string
					for _, c := range ref.Columns {
						names = append(names, c.Name)
					}
					batches = append(batches, strings.Join(names, ","))
					return nil
				}
				rep, err := CompareSources(ctx, Source{Path: refPath}, Source{Path: curPath}, p)
				if err != nil {
					t.Fatal(err)
				}
				if got := reportJSON(t, rep); !bytes.Equal(got, want) {
					t.Fatalf("batches of %d: report differs:\n%s\nwant\n%s", k, got, want)
				}
				if len(batches) != (4+k-1)/k {
					t.Errorf("batches of %d: %q", k, batches)
				}
			}
			// A budget the whole tables fit in reads them as one table.
			p := plan(nil)
			p.Memory = 1 << 40
			calls := 0
			p.Reference = func(*dataset.Table) error { calls++; return nil }
			if _, err := CompareSources(ctx, Source{Path: refPath}, Source{Path: curPath}, p); err != nil || calls != 1 {
				t.Fatalf("a large budget: %d batches (%v), want the one table", calls, err)
			}
		})
	}
}

// TestBatchesFailAsTheOneTablePathDoes: a column missing on one side, an option naming
// no column, and a group feature that is not compared are errors of invalid input under
// a budget too.
func TestBatchesFailAsTheOneTablePathDoes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ref, cur := mixedTables(500)
	cur.Columns = cur.Columns[:4] // no ward
	refPath, curPath := filepath.Join(dir, "ref.parquet"), filepath.Join(dir, "cur.parquet")
	writeTable(t, refPath, ref)
	writeTable(t, curPath, cur)
	p := plan(nil)
	p.Memory = budgetFor(1, 500)
	_, err := CompareSources(ctx, Source{Path: refPath}, Source{Path: curPath}, p)
	if !errors.Is(err, dataset.ErrInvalid) || !strings.Contains(err.Error(), `no column "ward", which `+refPath+` has`) {
		t.Fatalf("a column missing from the current file: %v", err)
	}
	writeTable(t, curPath, mixedTablesCur(500))
	p.Compare.Groups = append(p.Compare.Groups, drift.Group{Name: "vitals", Features: []string{"heart_rate"}})
	if _, err := CompareSources(ctx, Source{Path: refPath}, Source{Path: curPath}, p); !errors.Is(err, drift.ErrInvalidInput) || !strings.Contains(err.Error(), `feature "heart_rate"`) {
		t.Fatalf("a group feature that is not a column: %v", err)
	}
	p = plan(nil)
	p.Memory = budgetFor(1, 500)
	p.Compare.Numeric = []string{"pulse"}
	if _, err := CompareSources(ctx, Source{Path: refPath}, Source{Path: curPath}, p); !errors.Is(err, drift.ErrInvalidInput) || !strings.Contains(err.Error(), `"pulse"`) {
		t.Fatalf("an option naming no column: %v", err)
	}
}

func mixedTablesCur(rows int) *dataset.Table {
	_, cur := mixedTables(rows)
	return cur
}
