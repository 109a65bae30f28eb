package reconciler

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func comparisonFixture() Comparison {
	return Comparison{
		RegisteredModel: "sepsis-risk",
		Candidate: VersionLineage{Version: "15", Found: true, RunID: "run15", RunURL: "https://mlflow.example/#/experiments/3/runs/run15",
			Metrics:    map[string]float64{"auc": 0.912, "precision": 0.81, "recall": 0.77, "samples": 12000, "latencyMs": 41.5, "coverage": 1},
			Params:     map[string]string{"learning_rate": "0.05", "max_depth": "6", "seed": "7", "features": "omics|vitals"},
			CodeCommit: "9f1c2e4b7a",
			Datasets:   []DatasetDigest{{Name: "cohort-2026q4", Digest: "a1b2c3", Context: "training"}, {Name: "holdout", Digest: "d4e5f6", Context: "validation"}}},
		Production: VersionLineage{Version: "12", Found: true, RunID: "run12", RunURL: "https://mlflow.example/#/experiments/3/runs/run12",
			Metrics:  map[string]float64{"auc": 0.88, "precision": 0.79, "recall": 0.74, "samples": 10000},
			Params:   map[string]string{"learning_rate": "0.1", "max_depth": "6", "seed": "7", "dropout": "0.2"},
			Datasets: []DatasetDigest{{Name: "cohort-2026q2", Digest: "0f0f0f", Context: "training"}, {Name: "holdout", Digest: "d4e5f6", Context: "validation"}}},
		ProductionMerge: "4e2d1c0b9a8f7e6d5c4b3a29180716253443526",
	}
}

// TestPromotionBodyComparesCandidateWithProduction: the promotion body shows candidate and
// production side by side from the registry (runs linked, training code commit from MLflow
// or else the merge that launched the training, every gate metric, the hyperparameters
// that differ, dataset digests), as testdata/promotion-comparison.md holds it.
func TestPromotionBodyComparesCandidateWithProduction(t *testing.T) {
	p := policy("sepsis-risk", nil)
	v := passingVerdict()
	v.Version, v.JudgedAt = "15", time.Date(2026, 12, 7, 9, 30, 0, 0, time.UTC)
	a := promotionAction(p, "c0ffee0000000000000000000000000000000000", "run-15", RunResult{Version: "15", URI: "models:/sepsis-risk/15"}, v, "training run run-15")
	a.Generation = 8
	cmp := comparisonFixture()
	got := promotionBody(a, p, &cmp)
	golden := filepath.Join("testdata", "promotion-comparison.md")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("promotion body differs from %s (go test -run %s -update rewrites it):\n%s", golden, t.Name(), got)
	}
	for _, s := range []string{
		"[run15](https://mlflow.example/#/experiments/3/runs/run15)", "`9f1c2e4b7a` (mlflow.source.git.commit)",
		"`4e2d1c0b9a8f` (the merge that launched its training)", "| `learning_rate` | `0.05` | `0.1` |", "| `dropout` | not set | `0.2` |",
		"| `features` | `omics\\|vitals` | not set |", "| holdout (validation) | `d4e5f6` | `d4e5f6` (same) |", "| latencyMs | 41.5 | — |",
	} {
		if !strings.Contains(got, s) {
			t.Errorf("body lacks %q", s)
		}
	}
	if strings.Contains(got, "max_depth") || strings.Contains(got, "`seed`") {
		t.Error("the body lists a hyperparameter both runs set alike")
	}
}

// TestPromotionBodyStaysUnderGitHubsLimit: runs with thousands of long hyperparameters
// still give a body under 65,536 characters, the rows left out counted.
func TestPromotionBodyStaysUnderGitHubsLimit(t *testing.T) {
	p := policy("sepsis-risk", nil)
	a := promotionAction(p, "c1", "run-15", RunResult{Version: "15", URI: "models:/sepsis-risk/15"}, passingVerdict(), "run 15")
	cmp := comparisonFixture()
	cmp.Candidate.Params, cmp.Production.Params = map[string]string{}, map[string]string{}
	for i := range 5000 {
		cmp.Candidate.Params[fmt.Sprintf("layer_%04d_weight_init", i)] = strings.Repeat("é|`\n", 200)
		cmp.Production.Params[fmt.Sprintf("layer_%04d_weight_init", i)] = "xavier"
	}
	got := promotionBody(a, p, &cmp)
	if n := utf8.RuneCountInString(got); n >= 65536 || len(got) >= 65536 {
		t.Fatalf("body has %d characters (%d bytes), want under 65,536", n, len(got))
	}
	if !strings.Contains(got, "more not shown (the body has a size limit)") || !strings.Contains(got, "#### Training data") {
		t.Errorf("a cut body must say what it left out and keep the data digests:\n%s", got[len(got)-2000:])
	}
	for _, line := range strings.Split(got, "\n") {
		if strings.HasPrefix(line, "| `layer_") && strings.Count(line, " | ") != 2 {
			t.Fatalf("a value broke its table row: %q", line)
		}
	}
}

func TestDifferingParams(t *testing.T) {
	got := differingParams(map[string]string{"a": "1", "b": "2", "e": ""}, map[string]string{"a": "1", "b": "3", "c": "4"})
	want := [][3]string{{"b", "2", "3"}, {"c", "", "4"}, {"e", "", ""}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("differingParams = %v, want %v", got, want)
	}
}
