package metrics

import (
	"context"
	"math"
	"testing"
	"testing/fstest"
	"time"
)

// The window holds version 12's four rows of productionLog's shape (AUC 0.75) and version 13's
// four rows: positives 0.9 and 0.2, negatives 0.8 and 0.7, so 2 of 4 pairs are ordered right
// (AUC 0.5). DeLong by hand: for 12, the positives' placements are 1 and 1/2 and the
// negatives' 1/2 and 1, each with sample variance 0.125, so Var = 0.125/2 + 0.125/2 = 0.125;
// for 13 the placements are 1, 0 (variance 0.5) and 1/2, 1/2 (variance 0), so Var = 0.25.
// The difference is 0.5 − 0.75 = −0.25 with standard error sqrt(0.375). A canary row after
// the window (a negative scored 0.95) would change 13's AUC if it were counted.
const canaryLog = `timestamp,model_version,score,label,latency_ms,category
2026-03-01T00:00:00Z,12,0.9,1,10,icu
2026-03-01T00:01:00Z,12,0.8,0,12,icu
2026-03-01T00:02:00Z,12,0.7,1,11,ward
2026-03-01T00:03:00Z,12,0.2,0,9,ward
2026-03-01T00:04:00Z,13,0.9,1,30,ward
2026-03-01T00:05:00Z,13,0.2,1,30,ward
2026-03-01T00:06:00Z,13,0.8,0,30,icu
2026-03-01T00:07:00Z,13,0.7,0,30,icu
2026-03-01T02:00:00Z,13,0.95,0,30,icu
`

func TestCompareCanaryEvaluatesBothVersionsOnTheWindow(t *testing.T) {
	p := productionPolicy(t, "  canary: {version: \"13\", weight: 10}\n")
	data := fstest.MapFS{"logs/predictions.csv": {Data: []byte(canaryLog)}}
	since := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	obs, err := ProductionLog{}.CompareCanary(context.Background(), p, data, since, since.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if obs == nil {
		t.Fatal("no observation")
	}
	c, pr := obs.Canary, obs.Production
	if c.Version != "13" || c.Samples != 4 || c.AUC == nil || *c.AUC != 0.5 {
		t.Errorf("canary figures = %+v, want version 13, 4 samples, AUC 0.5", c)
	}
	if pr.Version != "12" || pr.Samples != 4 || pr.AUC == nil || *pr.AUC != 0.75 {
		t.Errorf("production figures = %+v, want version 12, 4 samples, AUC 0.75", pr)
	}
	if c.LatencyP95Ms == nil || *c.LatencyP95Ms != 30 {
		t.Errorf("canary latency p95 = %v, want 30", c.LatencyP95Ms)
	}
	d := obs.AUC
	if d == nil {
		t.Fatal("no AUC interval")
	}
	se := math.Sqrt(0.375)
	if math.Abs(d.Diff+0.25) > 1e-15 || math.Abs(d.StdErr-se) > 1e-15 || d.Confidence != 0.95 {
		t.Errorf("AUC difference = %+v, want diff -0.25, stderr %.17g at 0.95", d, se)
	}
	if math.Abs(d.Lower-(-0.25-1.959963984540054*se)) > 1e-12 || math.Abs(d.Upper-(-0.25+1.959963984540054*se)) > 1e-12 {
		t.Errorf("interval [%v, %v], want -0.25 ∓ 1.959963984540054·se", d.Lower, d.Upper)
	}
}

func TestCompareCanaryWithoutACanaryOrLogIsNil(t *testing.T) {
	data := fstest.MapFS{"logs/predictions.csv": {Data: []byte(canaryLog)}}
	obs, err := ProductionLog{}.CompareCanary(context.Background(), productionPolicy(t, ""), data, time.Time{}, time.Now())
	if err != nil || obs != nil {
		t.Fatalf("without a canary: %+v, %v; want nil, nil", obs, err)
	}
}

func TestCompareCanaryWithTooFewLabelsHasNoInterval(t *testing.T) {
	p := productionPolicy(t, "  canary: {version: \"14\", weight: 10}\n")
	data := fstest.MapFS{"logs/predictions.csv": {Data: []byte(canaryLog)}}
	obs, err := ProductionLog{}.CompareCanary(context.Background(), p, data, time.Time{}, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if obs.AUC != nil || obs.Canary.Samples != 0 || obs.Production.Samples != 4 {
		t.Fatalf("observation of a canary without rows = %+v", obs)
	}
}
