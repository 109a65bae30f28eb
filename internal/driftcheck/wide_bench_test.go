package driftcheck

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/medimind/modelops/internal/dataset"
	"github.com/medimind/modelops/internal/drift"
	"github.com/medimind/modelops/internal/testutil/benchcpu"
)

// BenchmarkWidePair measures the memory budget on the wide pair TestWriteWideData
// writes (internal/dataset), skipped unless MODELOPS_WIDE_DIR names its directory;
// MODELOPS_WIDE_FORMAT is parquet (the default) or csv:
//
//	MODELOPS_WIDE_DIR=/tmp/wide go test -run '^$' -bench BenchmarkWidePair -benchtime 1x -timeout 1h ./internal/driftcheck
//
// Under a 4 GiB budget, read is the floor (every column of both files read in the
// budget's batches, nothing computed) and drift the drift check (KS with its p-value,
// normed Wasserstein and PSI per column) in the same batches.
func BenchmarkWidePair(b *testing.B) {
	dir := os.Getenv("MODELOPS_WIDE_DIR")
	if dir == "" {
		b.Skip("MODELOPS_WIDE_DIR not set")
	}
	ext := ".parquet"
	if os.Getenv("MODELOPS_WIDE_FORMAT") == "csv" {
		ext = ".csv"
	}
	ref, cur := filepath.Join(dir, "reference"+ext), filepath.Join(dir, "current"+ext)
	const budget = 4 << 30
	ctx := context.Background()
	b.Run("read", func(b *testing.B) {
		defer benchcpu.Report(b, "s")()
		for b.Loop() {
			rf, err := dataset.OpenColumns(ref, dataset.Options{})
			if err != nil {
				b.Fatal(err)
			}
			cf, err := dataset.OpenColumns(cur, dataset.Options{})
			if err != nil {
				b.Fatal(err)
			}
			k := batchColumns(budget, len(rf.Names), rf.Rows, cf.Rows)
			if k == 0 {
				k = len(rf.Names)
			}
			for start := 0; start < len(rf.Names); start += k {
				batch := rf.Names[start:min(start+k, len(rf.Names))]
				for _, f := range []*dataset.ColumnFile{rf, cf} {
					runtime.GC() // as the drift check does between batches
					if _, err := f.Read(batch, dataset.Options{}); err != nil {
						b.Fatal(err)
					}
				}
			}
			rf.Close()
			cf.Close()
		}
	})
	b.Run("drift", func(b *testing.B) {
		defer benchcpu.Report(b, "s")()
		for b.Loop() {
			rep, err := CompareSources(ctx, Source{Path: ref}, Source{Path: cur}, Plan{Memory: budget,
				Compare: drift.Options{Tests: []drift.Test{drift.TestKS, drift.TestWasserstein, drift.TestPSI}}})
			if err != nil {
				b.Fatal(err)
			}
			if !rep.Columns[0].Drifted || rep.Columns[1].Drifted {
				b.Fatalf("unexpected verdicts: %+v %+v", rep.Columns[0], rep.Columns[1])
			}
		}
	})
}
