package drift

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/medimind/modelops/internal/dataset"
	"github.com/medimind/modelops/internal/testutil/benchcpu"
	"gonum.org/v1/gonum/stat/distuv"
)

// benchTables builds a reference and a current table of rows×cols normal columns from a
// seeded source; every tenth current column is shifted (drift), every other one is not.
// scripts/drift_bench.py does the same work with SciPy/NumPy on the same shape.
func benchTables(rows, cols int) (ref, cur *dataset.Table) {
	src := rand.NewPCG(1, 2)
	ref = &dataset.Table{Source: "bench-ref", Rows: rows}
	cur = &dataset.Table{Source: "bench-cur", Rows: rows}
	for c := 0; c < cols; c++ {
		shift := 0.0
		if c%10 == 0 {
			shift = 0.3
		}
		nr := distuv.Normal{Mu: 0, Sigma: 1, Src: src}
		nc := distuv.Normal{Mu: shift, Sigma: 1, Src: src}
		rv, cv := make([]float64, rows), make([]float64, rows)
		for i := range rv {
			rv[i] = nr.Rand()
			cv[i] = nc.Rand()
		}
		name := fmt.Sprintf("f%04d", c)
		ref.Columns = append(ref.Columns, dataset.Column{Name: name, Float: rv})
		cur.Columns = append(cur.Columns, dataset.Column{Name: name, Float: cv})
	}
	return ref, cur
}

// benchOptions asks for KS (D and p-value), normed Wasserstein and PSI on every column.
var benchOptions = Options{Tests: []Test{TestKS, TestWasserstein, TestPSI}}

// BenchmarkCompare20kx1000 compares 20,000×1,000 numeric tables end to end: cleaning
// and sorting both sides, KS with its p-value, normed Wasserstein and PSI per column.
func BenchmarkCompare20kx1000(b *testing.B) {
	ref, cur := benchTables(20000, 1000)
	ctx := context.Background()
	b.ResetTimer()
	defer benchcpu.Report(b, "ms")()
	for b.Loop() {
		rep, err := Compare(ctx, ref, cur, benchOptions)
		if err != nil {
			b.Fatal(err)
		}
		if !rep.Columns[0].Drifted || rep.Columns[1].Drifted {
			b.Fatalf("unexpected verdicts: %+v %+v", rep.Columns[0], rep.Columns[1])
		}
	}
}

// BenchmarkProfileCompare20kx1000 is the same comparison against a reference Profile
// prepared once, as a reconciler comparing successive current datasets does.
func BenchmarkProfileCompare20kx1000(b *testing.B) {
	ref, cur := benchTables(20000, 1000)
	ctx := context.Background()
	p, err := NewProfile(ctx, ref, benchOptions)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	defer benchcpu.Report(b, "ms")()
	for b.Loop() {
		if _, err := p.Compare(ctx, cur); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSortColumn compares the column sorts on one 20,000-value normal column.
func BenchmarkSortColumn(b *testing.B) {
	src := rand.NewPCG(3, 4)
	n := distuv.Normal{Mu: 0, Sigma: 1, Src: src}
	vals := make([]float64, 20000)
	for i := range vals {
		vals[i] = n.Rand()
	}
	buf := make([]float64, len(vals))
	tmp, keys := make([]uint64, len(vals)), make([]uint64, len(vals))
	var s sortScratch
	b.Run("bucket", func(b *testing.B) {
		defer benchcpu.Report(b, "ms")()
		for b.Loop() {
			copy(buf, vals)
			sortFloats(buf, &s)
		}
	})
	b.Run("radix", func(b *testing.B) {
		defer benchcpu.Report(b, "ms")()
		for b.Loop() {
			copy(buf, vals)
			radixSortFloat64(buf, tmp, keys)
		}
	})
	b.Run("slices.Sort", func(b *testing.B) {
		defer benchcpu.Report(b, "ms")()
		for b.Loop() {
			copy(buf, vals)
			sortFloat64s(buf)
		}
	})
}

func sortFloat64s(x []float64) { slices.Sort(x) }
