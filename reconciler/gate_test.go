package reconciler

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/medimind/modelops/policies"
)

func f64(v float64) *float64 { return &v }

// seedGate is the promotion gate with the seed figures of SPEC.md.
func seedGate() policies.PromotionSpec {
	return policy("sepsis", nil).Spec.Promotion
}

// goodCandidate passes every seed criterion against a production AUC of 0.85.
func goodCandidate() TrainingMetrics {
	return TrainingMetrics{AUC: f64(0.90), Precision: f64(0.80), Recall: f64(0.75), Samples: 12000, LatencyMs: f64(120), Coverage: f64(1)}
}

func TestJudgePromotionBoundaries(t *testing.T) {
	prod := map[string]float64{"auc": 0.85}
	tests := []struct {
		name       string
		mutate     func(*TrainingMetrics)
		production map[string]float64
		wantPassed bool
		// failing names the only criterion that must fail; empty when all pass.
		failing   string
		notJudged bool
	}{
		{name: "a candidate above every threshold passes", wantPassed: true},
		{name: "AUC exactly +0.03 over production passes", mutate: func(m *TrainingMetrics) { m.AUC = f64(0.88) }, wantPassed: true},
		{name: "AUC exactly +0.03 where float64 subtraction gives 0.0299999 passes", mutate: func(m *TrainingMetrics) { m.AUC = f64(0.83) },
			production: map[string]float64{"auc": 0.80}, wantPassed: true},
		{name: "AUC +0.0299 over production fails the improvement", mutate: func(m *TrainingMetrics) { m.AUC = f64(0.8799) }, failing: CriterionAUCImprovement},
		{name: "AUC +0.02999999 over production fails the improvement", mutate: func(m *TrainingMetrics) { m.AUC = f64(0.87999999) }, failing: CriterionAUCImprovement},
		{name: "AUC exactly at the 0.80 minimum passes", mutate: func(m *TrainingMetrics) { m.AUC = f64(0.80) },
			production: map[string]float64{"auc": 0.70}, wantPassed: true},
		{name: "AUC 0.7999 is under the minimum", mutate: func(m *TrainingMetrics) { m.AUC = f64(0.7999) },
			production: map[string]float64{"auc": 0.70}, failing: CriterionAUC},
		{name: "precision exactly 0.75 passes", mutate: func(m *TrainingMetrics) { m.Precision = f64(0.75) }, wantPassed: true},
		{name: "precision 0.7499 fails", mutate: func(m *TrainingMetrics) { m.Precision = f64(0.7499) }, failing: CriterionPrecision},
		{name: "recall exactly 0.70 passes", mutate: func(m *TrainingMetrics) { m.Recall = f64(0.70) }, wantPassed: true},
		{name: "recall 0.6999 fails", mutate: func(m *TrainingMetrics) { m.Recall = f64(0.6999) }, failing: CriterionRecall},
		{name: "exactly 10000 samples pass", mutate: func(m *TrainingMetrics) { m.Samples = 10000 }, wantPassed: true},
		{name: "9999 samples fail", mutate: func(m *TrainingMetrics) { m.Samples = 9999 }, failing: CriterionSamples},
		{name: "latency 199.999 ms is under the maximum", mutate: func(m *TrainingMetrics) { m.LatencyMs = f64(199.999) }, wantPassed: true},
		{name: "latency equal to the 200 ms maximum fails, since it must be under", mutate: func(m *TrainingMetrics) { m.LatencyMs = f64(200) }, failing: CriterionLatency},
		{name: "coverage exactly 0.95 passes", mutate: func(m *TrainingMetrics) { m.Coverage = f64(0.95) }, wantPassed: true},
		{name: "coverage 0.9499 fails", mutate: func(m *TrainingMetrics) { m.Coverage = f64(0.9499) }, failing: CriterionCoverage},
		{name: "a missing latency fails its criterion", mutate: func(m *TrainingMetrics) { m.LatencyMs = nil }, failing: CriterionLatency},
		{name: "a missing coverage fails its criterion", mutate: func(m *TrainingMetrics) { m.Coverage = nil }, failing: CriterionCoverage},
		{name: "a NaN recall fails its criterion", mutate: func(m *TrainingMetrics) { m.Recall = f64(math.NaN()) }, failing: CriterionRecall},
		{name: "unknown production AUC leaves the improvement not judged and the gate not passed",
			production: map[string]float64{}, failing: CriterionAUCImprovement, notJudged: true},
		{name: "a production figure of another metric does not stand in for AUC",
			production: map[string]float64{"recall": 0.9}, failing: CriterionAUCImprovement, notJudged: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := goodCandidate()
			if tt.mutate != nil {
				tt.mutate(&m)
			}
			p := prod
			if tt.production != nil {
				p = tt.production
			}
			v := JudgePromotion(seedGate(), m, p)
			if v.Passed != tt.wantPassed {
				t.Fatalf("Passed = %v, want %v; criteria %+v", v.Passed, tt.wantPassed, v.Criteria)
			}
			var want []string
			if tt.failing != "" {
				want = []string{tt.failing}
			}
			if got := v.Failed(); !reflect.DeepEqual(got, want) {
				t.Fatalf("failed criteria = %v, want %v", got, want)
			}
			for _, c := range v.Criteria {
				if c.NotJudged != (tt.notJudged && c.Name == tt.failing) {
					t.Errorf("criterion %s NotJudged = %v", c.Name, c.NotJudged)
				}
				if !c.Pass && c.Got == nil && c.Note == "" {
					t.Errorf("criterion %s failed without a figure and without a note", c.Name)
				}
			}
		})
	}
}

func TestJudgePromotionListsEveryCriterionOfTheSeedGate(t *testing.T) {
	v := JudgePromotion(seedGate(), goodCandidate(), map[string]float64{"auc": 0.85})
	var names []string
	for _, c := range v.Criteria {
		names = append(names, c.Name+" "+c.Op)
	}
	want := []string{"auc improvement >=", "auc >=", "precision >=", "recall >=", "samples >=", "latency p95 ms <", "category coverage >="}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("criteria = %v, want %v", names, want)
	}
	imp := v.Criteria[0]
	if imp.Wanted != 0.03 || imp.Got == nil || math.Abs(*imp.Got-0.05) > 1e-12 || *imp.Production != 0.85 || *imp.Candidate != 0.90 {
		t.Fatalf("improvement criterion = %+v, want wanted 0.03, got 0.05, production 0.85, candidate 0.90", imp)
	}
}

func TestJudgePromotionJudgesOnlyWhatThePolicySets(t *testing.T) {
	spec := policies.PromotionSpec{Minimums: policies.Metrics{Recall: f64(0.5)}}
	// Nothing but recall is set: no AUC and no production figure are needed.
	v := JudgePromotion(spec, TrainingMetrics{Recall: f64(0.6)}, nil)
	if !v.Passed || len(v.Criteria) != 1 || v.Criteria[0].Name != CriterionRecall {
		t.Fatalf("verdict = %+v, want one passing recall criterion", v)
	}
	if v := JudgePromotion(policies.PromotionSpec{}, goodCandidate(), nil); v.Passed {
		t.Fatalf("a gate without criteria passed: %+v", v)
	}
	// An improvement in precision is judged against production's precision when known.
	spec = policies.PromotionSpec{MinImprovement: policies.Metrics{Precision: f64(0.01)}}
	if v := JudgePromotion(spec, TrainingMetrics{Precision: f64(0.80)}, map[string]float64{"precision": 0.795}); v.Passed {
		t.Fatalf("precision +0.005 passed a +0.01 improvement: %+v", v.Criteria)
	}
}

func TestPromotionTableRendersEveryCriterion(t *testing.T) {
	m := goodCandidate()
	m.LatencyMs = f64(200)
	m.Coverage = nil
	v := JudgePromotion(seedGate(), m, map[string]float64{"auc": 0.85})
	v.Version, v.ProductionVersion = "13", "12"
	got := promotionTable(v)
	want := "| criterion | wanted | candidate (`13`) | production (`12`) | result |\n" +
		"|---|---|---|---|---|\n" +
		"| auc improvement | >= +0.0300 over production | 0.9000 (+0.0500) | 0.8500 | ✓ |\n" +
		"| auc | >= 0.8000 | 0.9000 | 0.8500 | ✓ |\n" +
		"| precision | >= 0.7500 | 0.8000 | — | ✓ |\n" +
		"| recall | >= 0.7000 | 0.7500 | — | ✓ |\n" +
		"| samples | >= 10000 | 12000 | — | ✓ |\n" +
		"| latency p95 ms | < 200 | 200 | — | ✗ |\n" +
		"| category coverage | >= 0.9500 | — | — | ✗ the candidate reported no category coverage |\n"
	if got != want {
		t.Fatalf("table:\n%s\nwant:\n%s", got, want)
	}
	v = JudgePromotion(seedGate(), goodCandidate(), nil)
	if table := promotionTable(v); !strings.Contains(table, "✗ production's auc is unknown: not judged") {
		t.Fatalf("table does not say the improvement was not judged:\n%s", table)
	}
}
