package driftcheck

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/medimind/modelops/internal/dataset"
	"github.com/medimind/modelops/internal/drift"
	"github.com/medimind/modelops/internal/profilecache"
	"github.com/medimind/modelops/internal/testutil/benchcpu"
)

// BenchmarkProfileCache20kx1000 is a drift check of a 20,000×1,000 numeric pair (KS with
// its p-value, normed Wasserstein and PSI per column) from files, three ways: without the
// profile cache (uncached), the first check with it (first: read and prepare the
// reference, then store its profile) and a later one (second: the reference's digest,
// then its profile from the cache, and the current file read and prepared). CSV is the
// ≈180 MB-a-side pair of make bench; Parquet the pair of BenchmarkParquetEndToEnd20kx1000.
func BenchmarkProfileCache20kx1000(b *testing.B) {
	dir := b.TempDir()
	refPQ, curPQ := writeBenchParquet(b, dir, 20000, 1000)
	refCSV, curCSV := filepath.Join(dir, "reference.csv"), filepath.Join(dir, "current.csv")
	for pq, csv := range map[string]string{refPQ: refCSV, curPQ: curCSV} {
		t, err := dataset.Read(pq, dataset.Options{})
		if err != nil {
			b.Fatal(err)
		}
		f, err := os.Create(csv)
		if err != nil {
			b.Fatal(err)
		}
		if err := dataset.WriteCSV(f, t); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	opts := drift.Options{Tests: []drift.Test{drift.TestKS, drift.TestWasserstein, drift.TestPSI}}
	check := func(b *testing.B, ref, cur string, cache *profilecache.Cache) {
		rep, err := CompareSources(ctx, Source{Path: ref}, Source{Path: cur}, Plan{Compare: opts, Profiles: cache})
		if err != nil {
			b.Fatal(err)
		}
		if !rep.Columns[0].Drifted || rep.Columns[1].Drifted {
			b.Fatalf("unexpected verdicts: %+v %+v", rep.Columns[0], rep.Columns[1])
		}
	}
	for _, format := range []struct{ name, ref, cur string }{{"csv", refCSV, curCSV}, {"parquet", refPQ, curPQ}} {
		b.Run(format.name+"/uncached", func(b *testing.B) {
			defer benchcpu.Report(b, "ms")()
			for b.Loop() {
				check(b, format.ref, format.cur, nil)
			}
		})
		b.Run(format.name+"/first", func(b *testing.B) {
			defer benchcpu.Report(b, "ms")()
			for b.Loop() {
				b.StopTimer()
				cache, err := profilecache.Open(filepath.Join(b.TempDir(), "profiles"), 0, nil)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				check(b, format.ref, format.cur, cache)
			}
		})
		b.Run(format.name+"/second", func(b *testing.B) {
			cache, err := profilecache.Open(filepath.Join(b.TempDir(), "profiles"), 0, nil)
			if err != nil {
				b.Fatal(err)
			}
			check(b, format.ref, format.cur, cache)
			b.ResetTimer()
			defer benchcpu.Report(b, "ms")()
			for b.Loop() {
				check(b, format.ref, format.cur, cache)
			}
			if hits, _ := cache.Stats(); hits == 0 {
				b.Fatal("no hit")
			}
		})
	}
}
