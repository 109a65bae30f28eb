package drift

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/medimind/modelops/internal/dataset"
	"github.com/medimind/modelops/internal/testutil/benchcpu"
)

// corrTables builds reference and current tables with na sensor and nb omics columns of
// uniform noise; each omics column leans on one sensor column, more strongly in current
// for every tenth one (correlation drift).
func corrTables(rows, na, nb int) (ref, cur *dataset.Table, a, b []string) {
	src := rand.New(rand.NewPCG(3, 4))
	for i := range na {
		a = append(a, fmt.Sprintf("s%02d", i))
	}
	for j := range nb {
		b = append(b, fmt.Sprintf("o%04d", j))
	}
	build := func(source string, current bool) *dataset.Table {
		t := &dataset.Table{Source: source, Rows: rows}
		for _, name := range a {
			x := make([]float64, rows)
			for i := range x {
				x[i] = src.Float64()
			}
			t.Columns = append(t.Columns, dataset.Column{Name: name, Float: x})
		}
		for j, name := range b {
			lean := 0.2
			if current && j%10 == 0 {
				lean = 0.6
			}
			s := t.Columns[j%na].Float
			y := make([]float64, rows)
			for i := range y {
				y[i] = lean*s[i] + src.Float64()
			}
			t.Columns = append(t.Columns, dataset.Column{Name: name, Float: y})
		}
		return t
	}
	return build("ref", false), build("cur", true), a, b
}

// BenchmarkCorrelationDrift runs §11 on 50 × 2,000 feature pairs (100,000 pairs) in
// both windows; sub-benchmarks hold 20,000 and 100,000 rows per window. The work is linear in
// the rows: ranking is n log n per column, the pair products n per pair.
func BenchmarkCorrelationDrift(b *testing.B) {
	for _, rows := range []int{5000, 20000, 100000} {
		b.Run(fmt.Sprintf("50x2000x%d", rows), func(b *testing.B) {
			ref, cur, na, nb := corrTables(rows, 50, 2000)
			ctx := context.Background()
			b.ResetTimer()
			defer benchcpu.Report(b, "ms")()
			for b.Loop() {
				rep, err := CorrelationDrift(ctx, [2]string{"sensor", "omics"}, na, nb, ref, cur, DefaultCorrelationOptions())
				if err != nil {
					b.Fatal(err)
				}
				if rep.Tested != 100000 || rep.Changed < 200 {
					b.Fatalf("tested %d, changed %d", rep.Tested, rep.Changed)
				}
			}
		})
	}
}
