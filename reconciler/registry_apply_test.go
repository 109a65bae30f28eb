package reconciler

import (
	"strings"
	"testing"
)

func TestCandidateMetricsAreCheckedAsAnInlineResult(t *testing.T) {
	got, err := CandidateMetrics(map[string]float64{"auc": 0.91, "recall": 0.7, "samples": 5000, "latencyMs": 40, "val_loss": 0.3})
	if err != nil || got.AUC == nil || *got.AUC != 0.91 || got.Recall == nil || *got.Recall != 0.7 || got.Precision != nil ||
		got.Samples != 5000 || got.LatencyMs == nil || *got.LatencyMs != 40 {
		t.Fatalf("CandidateMetrics = %+v, %v; want auc, recall, samples and latency taken, the rest left out", got, err)
	}
	for _, tt := range []struct {
		metrics map[string]float64
		want    string
	}{
		{map[string]float64{"auc": 1.5}, "metric auc must be between 0 and 1, got 1.5"},
		{map[string]float64{"coverage": -0.1}, "metric coverage must be between 0 and 1"},
		{map[string]float64{"samples": 10.5}, "metric samples must be a count, got 10.5"},
		{map[string]float64{"latencyMs": -1}, "metric latencyMs must not be negative"},
	} {
		if _, err := CandidateMetrics(tt.metrics); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("CandidateMetrics(%v) = %v, want %q", tt.metrics, err, tt.want)
		}
	}
}
