package metrics

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/medimind/modelops/internal/testutil/benchcpu"
	"github.com/medimind/modelops/internal/testutil/peakrss"
)

// bigLogRow is a row of the generated Parquet logs.
type bigLogRow struct {
	Timestamp time.Time `parquet:"timestamp,timestamp(millisecond)"`
	Version   string    `parquet:"model_version,dict"`
	Score     float64   `parquet:"score"`
	Label     int32     `parquet:"label"`
	Latency   float64   `parquet:"latency_ms"`
	Category  string    `parquet:"category,dict"`
}

// writeBigLog writes an n-row log to path, CSV or Parquet by extension: two versions,
// continuous scores and latencies (every score and latency distinct, the most memory a
// log can ask for) and twelve categories.
func writeBigLog(tb testing.TB, path string, n int) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(uint64(n), 5))
	base := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	row := func(i int) bigLogRow {
		y := int32(0)
		if rng.Float64() < 0.3 {
			y = 1
		}
		return bigLogRow{
			Timestamp: base.Add(time.Duration(i) * 100 * time.Millisecond),
			Version:   strconv.Itoa(12 + i%2),
			Score:     1 / (1 + math.Exp(-(rng.NormFloat64() + 1.2*float64(y)))),
			Label:     y,
			Latency:   math.Exp(3 + 0.5*rng.NormFloat64()),
			Category:  "site" + strconv.Itoa(rng.IntN(12)),
		}
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if strings.HasSuffix(path, ".parquet") {
		pw := parquet.NewGenericWriter[bigLogRow](w, parquet.MaxRowsPerRowGroup(1<<20))
		batch := make([]bigLogRow, 0, 4096)
		for i := range n {
			batch = append(batch, row(i))
			if len(batch) == cap(batch) || i == n-1 {
				if _, err := pw.Write(batch); err != nil {
					tb.Fatal(err)
				}
				batch = batch[:0]
			}
		}
		err = pw.Close()
	} else {
		w.WriteString(header)
		var buf []byte
		for i := range n {
			r := row(i)
			buf = r.Timestamp.AppendFormat(buf[:0], "2006-01-02T15:04:05.000Z07:00")
			buf = append(buf, ',')
			buf = append(buf, r.Version...)
			buf = append(buf, ',')
			buf = strconv.AppendFloat(buf, r.Score, 'g', -1, 64)
			buf = append(buf, ',')
			buf = strconv.AppendInt(buf, int64(r.Label), 10)
			buf = append(buf, ',')
			buf = strconv.AppendFloat(buf, r.Latency, 'g', -1, 64)
			buf = append(buf, ',')
			buf = append(buf, r.Category...)
			buf = append(buf, '\n')
			w.Write(buf)
		}
	}
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		tb.Fatal(err)
	}
}

// benchRows is the size of the benchmark logs.
const benchRows = 1_000_000

func benchmarkEvaluate(b *testing.B, ext string, opts Options) {
	path := filepath.Join(b.TempDir(), "log"+ext)
	writeBigLog(b, path, benchRows)
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	b.ReportAllocs()
	b.ResetTimer()
	defer benchcpu.Report(b, "ms")()
	for b.Loop() {
		res, err := Evaluate(context.Background(), path, opts)
		if err != nil {
			b.Fatal(err)
		}
		if res.Samples != benchRows || res.AUC == nil || len(res.ByVersion) != 2 {
			b.Fatalf("result %+v", res.Evaluation)
		}
	}
	b.ReportMetric(float64(b.N*benchRows)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkEvaluateCSV1M evaluates a 1,000,000-row CSV log with continuous scores and
// latencies (generated before the timer starts): reading, AUC and p95 for two versions
// and for both together.
func BenchmarkEvaluateCSV1M(b *testing.B) { benchmarkEvaluate(b, ".csv", Options{}) }

// BenchmarkEvaluateParquet1M is BenchmarkEvaluateCSV1M on the same rows as Parquet.
func BenchmarkEvaluateParquet1M(b *testing.B) { benchmarkEvaluate(b, ".parquet", Options{}) }

// BenchmarkEvaluateCSV1MWindow adds a time window and expected categories, which read
// the timestamp and category columns too.
func BenchmarkEvaluateCSV1MWindow(b *testing.B) {
	benchmarkEvaluate(b, ".csv", Options{Since: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC),
		Categories: []string{"site0", "site1", "site2"}})
}

// BenchmarkAUCAndP95 is the final computation alone (sorting the chunks, the merge for
// the AUC, the selection for the p95) over 1,000,000 labelled rows of one version.
func BenchmarkAUCAndP95(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	preds := make([]Prediction, benchRows)
	for i := range preds {
		preds[i] = Prediction{Version: "1", Score: rng.Float64(), Label: int8(rng.IntN(2)), LatencyMs: rng.ExpFloat64()}
	}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		acc, err := NewAccumulator(Options{})
		if err != nil {
			b.Fatal(err)
		}
		for _, p := range preds {
			acc.Add(p)
		}
		b.StartTimer()
		if res := acc.Result(); res.AUC == nil {
			b.Fatal("no AUC")
		}
	}
}

// rssChildEnv names the log the child process of TestEvaluatePeakRSS evaluates.
const rssChildEnv = "MODELOPS_METRICS_RSS_LOG"

// rssRows is the size of the log of TestEvaluatePeakRSS.
const rssRows = 10_000_000

// TestEvaluatePeakRSS measures the memory of evaluating a 10,000,000-row log whose
// scores and latencies are all distinct (the worst case: 8 bytes kept per score and
// per latency, 160 MB), from CSV and from Parquet, each in a fresh process (this test
// binary re-run on TestEvaluatePeakRSSChild) whose VmHWM is the measure. It checks the
// peak stays within 64 MB above the values kept: the runtime, read buffers, parquet-go's
// pages and the garbage encoding/csv makes between collections (see collectEvery).
//
// It writes about 1 GB of files and takes a few minutes, so it runs only when
// MODELOPS_METRICS_RSS=1 (MODELOPS_METRICS_RSS_DIR=dir keeps the files for reruns):
//
//	MODELOPS_METRICS_RSS=1 go test -run 'TestEvaluatePeakRSS$' -v ./internal/metrics
func TestEvaluatePeakRSS(t *testing.T) {
	if os.Getenv("MODELOPS_METRICS_RSS") != "1" {
		t.Skip("set MODELOPS_METRICS_RSS=1 to measure peak memory (writes ~1 GB, takes minutes)")
	}
	dir := os.Getenv("MODELOPS_METRICS_RSS_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	const kept = rssRows * 16 // a float64 score and a float64 latency per row
	for _, ext := range []string{".csv", ".parquet"} {
		t.Run(strings.TrimPrefix(ext, "."), func(t *testing.T) {
			path := filepath.Join(dir, fmt.Sprintf("log%d%s", rssRows, ext))
			if _, err := os.Stat(path); err != nil {
				writeBigLog(t, path, rssRows)
			}
			start := time.Now()
			peak := peakrss.Child(t, "TestEvaluatePeakRSSChild", rssChildEnv+"="+path)
			t.Logf("%d rows: peak RSS %.0f MB for %.0f MB of kept values (%.2f×), child ran %s",
				rssRows, float64(peak)/1e6, kept/1e6, float64(peak)/kept, time.Since(start).Round(time.Millisecond))
			if limit := kept + 64<<20; peak >= limit {
				t.Errorf("peak RSS %d bytes, want < %d", peak, limit)
			}
		})
	}
}

// TestEvaluatePeakRSSChild is the child process of TestEvaluatePeakRSS: it evaluates the
// log and prints its peak resident memory.
func TestEvaluatePeakRSSChild(t *testing.T) {
	path := os.Getenv(rssChildEnv)
	if path == "" {
		t.Skip("run by TestEvaluatePeakRSS")
	}
	start := time.Now()
	res, err := Evaluate(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Samples != rssRows || res.AUC == nil || res.LatencyP95Ms == nil {
		t.Fatalf("result %+v", res.Evaluation)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("heap in use %d MB, heap sys %d MB, sys %d MB, gcs %d", ms.HeapInuse>>20, ms.HeapSys>>20, ms.Sys>>20, ms.NumGC)
	t.Logf("evaluated in %s: auc %.6f p95 %.3f ms", time.Since(start).Round(time.Millisecond), *res.AUC, *res.LatencyP95Ms)
	peakrss.Print(t)
}

// TestEvaluateAllocationsPerRow checks that reading allocates nothing per row beyond the
// one string encoding/csv makes per CSV record: the allocations of a log four times as
// long grow by at most that (CSV) or by a hundredth of an allocation per row (Parquet:
// pages and chunks only).
func TestEvaluateAllocationsPerRow(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and reads logs of 100,000 rows")
	}
	dir := t.TempDir()
	for _, tt := range []struct {
		ext    string
		perRow float64
	}{{".csv", 1.01}, {".parquet", 0.01}} {
		allocs := func(n int) float64 {
			path := filepath.Join(dir, fmt.Sprintf("log%d%s", n, tt.ext))
			writeBigLog(t, path, n)
			return testing.AllocsPerRun(1, func() {
				if _, err := Evaluate(context.Background(), path, Options{}); err != nil {
					t.Fatal(err)
				}
			})
		}
		small, large := allocs(20_000), allocs(100_000)
		if per := (large - small) / 80_000; per > tt.perRow {
			t.Errorf("%s: %.0f allocations for 20,000 rows, %.0f for 100,000: %.3f per row, want <= %.2f",
				tt.ext, small, large, per, tt.perRow)
		}
	}
}
