package metrics

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/medimind/modelops/internal/dataset"
)

func TestPredictionLogsAreBoundedByTheDataLimits(t *testing.T) {
	// A gzip bomb: 64 MiB of rows that compress to a few hundred kilobytes. Every row
	// is scored, so without a bound the accumulator would keep them all.
	var bomb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	zw.Write([]byte("model_version,score,label\n"))
	rows := []byte(strings.Repeat("v1,0.25,1\nv1,0.75,0\n", 3000))
	for written := 0; written < 64<<20; written += len(rows) {
		zw.Write(rows)
	}
	zw.Close()
	path := writeFile(t, "log.csv.gz", bomb.String())
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := Evaluate(context.Background(), path, Options{Limits: dataset.Limits{MaxBytes: 1 << 20}})
	runtime.ReadMemStats(&after)
	if !errors.Is(err, dataset.ErrLimit) || !errors.Is(err, dataset.ErrInvalid) || !strings.Contains(err.Error(), "log.csv.gz: more than 1048576 bytes of text, more than the limit maxBytes") {
		t.Errorf("gzip bomb: got %v, want a maxBytes error naming the file", err)
	}
	if used := after.TotalAlloc - before.TotalAlloc; used > 16<<20 {
		t.Errorf("gzip bomb: allocated %d MB", used>>20)
	}

	log := writeFile(t, "log.csv", "model_version,score,label\nv1,0.1,0\nv1,0.9,1\nv1,0.5,1\n")
	_, err = Evaluate(context.Background(), log, Options{Limits: dataset.Limits{MaxRows: 2}})
	if !errors.Is(err, dataset.ErrLimit) || !strings.HasSuffix(err.Error(), "log.csv: 3 rows, more than the limit maxRows = 2: "+dataset.ErrLimit.Error()) {
		t.Errorf("rows: got %v, want a maxRows error naming the file", err)
	}
	_, err = Evaluate(context.Background(), log, Options{Limits: dataset.Limits{MaxColumns: 2}})
	if !errors.Is(err, dataset.ErrLimit) || !strings.Contains(err.Error(), "3 columns, more than the limit maxColumns = 2") {
		t.Errorf("columns: got %v, want a maxColumns error", err)
	}
}
