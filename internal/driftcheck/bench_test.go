package driftcheck

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/medimind/modelops/internal/dataset"
	"github.com/medimind/modelops/internal/drift"
)

// writeBenchParquet writes a reference and a current Parquet file of rows×cols normal
// columns; every tenth current column is shifted by 0.3 (the shape of the drift engine's
// in-memory benchmark and of scripts/drift_bench.py).
func writeBenchParquet(b testing.TB, dir string, rows, cols int) (ref, cur string) {
	b.Helper()
	src := rand.NewPCG(1, 2)
	rt := &dataset.Table{Rows: rows}
	ct := &dataset.Table{Rows: rows}
	for c := 0; c < cols; c++ {
		shift := 0.0
		if c%10 == 0 {
			shift = 0.3
		}
		nr := distuv.Normal{Mu: 0, Sigma: 1, Src: src}
		nc := distuv.Normal{Mu: shift, Sigma: 1, Src: src}
		rv, cv := make([]float64, rows), make([]float64, rows)
		for i := range rv {
			rv[i], cv[i] = nr.Rand(), nc.Rand()
		}
		name := fmt.Sprintf("f%04d", c)
		rt.Columns = append(rt.Columns, dataset.Column{Name: name, Float: rv})
		ct.Columns = append(ct.Columns, dataset.Column{Name: name, Float: cv})
	}
	ref, cur = filepath.Join(dir, "reference.parquet"), filepath.Join(dir, "current.parquet")
	for path, t := range map[string]*dataset.Table{ref: rt, cur: ct} {
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		if err := dataset.WriteParquet(f, t); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
	return ref, cur
}

// BenchmarkParquetEndToEnd20kx1000 is a drift check from files: read a 20,000×1,000
// reference and current from Parquet, then KS (D and p-value), normed Wasserstein and PSI
// on every column.
func BenchmarkParquetEndToEnd20kx1000(b *testing.B) {
	ref, cur := writeBenchParquet(b, b.TempDir(), 20000, 1000)
	opts := drift.Options{Tests: []drift.Test{drift.TestKS, drift.TestWasserstein, drift.TestPSI}}
	ctx := context.Background()
	for b.Loop() {
		rt, ct, err := dataset.ReadPair(ref, cur, dataset.Options{})
		if err != nil {
			b.Fatal(err)
		}
		rep, err := drift.Compare(ctx, rt, ct, opts)
		if err != nil {
			b.Fatal(err)
		}
		if !rep.Columns[0].Drifted || rep.Columns[1].Drifted {
			b.Fatalf("unexpected verdicts: %+v %+v", rep.Columns[0], rep.Columns[1])
		}
	}
}
