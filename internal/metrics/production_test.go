package metrics

import (
	"context"
	"math"
	"testing"
	"testing/fstest"

	"github.com/medimind/modelops/policies"
)

func productionPolicy(t *testing.T, extra string) *policies.Policy {
	t.Helper()
	src := `apiVersion: modelops.medimind.io/v1alpha1
kind: ModelPolicy
metadata: {name: sepsis-risk}
spec:
  production: {version: "12"}
  metrics:
    predictions: {path: logs/predictions.csv}
` + extra
	ps, err := policies.Parse("m.yaml", []byte(src))
	if err != nil || len(ps) != 1 {
		t.Fatalf("parse: %v", err)
	}
	return ps[0]
}

// Version 12: scores 0.9 (1), 0.8 (0), 0.7 (1), 0.2 (0). Of the 4 positive–negative pairs,
// 3 are ordered right: AUC 0.75. At threshold 0.5, 3 predicted positive of which 2 are
// right: precision 2/3; recall 2/2 = 1. Version 13's rows must not count.
const productionLog = `timestamp,model_version,score,label,latency_ms,category
2026-03-01T00:00:00Z,12,0.9,1,10,icu
2026-03-01T00:01:00Z,12,0.8,0,12,icu
2026-03-01T00:02:00Z,12,0.7,1,11,ward
2026-03-01T00:03:00Z,12,0.2,0,9,ward
2026-03-01T00:04:00Z,13,0.1,1,9,ward
2026-03-01T00:05:00Z,12,,1,9,ward
`

func TestProductionReadsThePolicysMetricForTheProductionVersion(t *testing.T) {
	data := fstest.MapFS{"logs/predictions.csv": {Data: []byte(productionLog)}}
	for _, tt := range []struct {
		extra  string
		metric string
		want   float64
	}{
		{"", "auc", 0.75},
		{"  retrain:\n    onPerformanceDrop: {metric: precision}\n    job: {command: [x]}\n", "precision", 2.0 / 3},
		{"  retrain:\n    onPerformanceDrop: {metric: recall}\n    job: {command: [x]}\n", "recall", 1},
	} {
		rec, err := ProductionLog{}.Production(context.Background(), productionPolicy(t, tt.extra), data)
		if err != nil {
			t.Fatal(err)
		}
		if rec == nil || rec.Metric != tt.metric || rec.Version != "12" || rec.Samples != 4 || math.Abs(rec.Value-tt.want) > 1e-15 {
			t.Fatalf("%s: record = %+v, want %s %.4f on 4 samples of version 12", tt.metric, rec, tt.metric, tt.want)
		}
	}
}

func TestProductionWithoutLogOrLabelsIsNil(t *testing.T) {
	oneClass := fstest.MapFS{"logs/predictions.csv": {Data: []byte("model_version,score,label\n12,0.4,1\n12,0.6,1\n")}}
	rec, err := ProductionLog{}.Production(context.Background(), productionPolicy(t, ""), oneClass)
	if err != nil || rec != nil {
		t.Fatalf("one class only = %+v, %v; want nil (AUC undefined)", rec, err)
	}
	p := productionPolicy(t, "")
	p.Spec.Metrics = nil
	if rec, err := (ProductionLog{}).Production(context.Background(), p, oneClass); rec != nil || err != nil {
		t.Fatalf("no metrics block = %+v, %v; want nil", rec, err)
	}
	if _, err := (ProductionLog{}).Production(context.Background(), productionPolicy(t, ""), fstest.MapFS{}); err == nil {
		t.Fatal("a missing log did not fail")
	}
}
