package mlflow_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/medimind/modelops/internal/registry/mlflow"
	"github.com/medimind/modelops/internal/testutil/mlflowfake"
	"github.com/medimind/modelops/reconciler"
)

func TestLineageAndComparisonFromTheRegistry(t *testing.T) {
	fake := mlflowfake.New(t)
	fake.AddRun(mlflowfake.RunSpec{ID: "r12", Metrics: map[string]float64{"auc": 0.86}, Params: map[string]string{"max_depth": "4", "lr": "0.1"},
		Datasets: []mlflowfake.DatasetSpec{{Name: "train", Digest: "aaa"}}})
	fake.AddRun(mlflowfake.RunSpec{ID: "r14", Metrics: map[string]float64{"auc": 0.91}, Params: map[string]string{"max_depth": "6", "lr": "0.1", "seed": "7"},
		Tags: map[string]string{"mlflow.source.git.commit": "9f1e2d"}, Datasets: []mlflowfake.DatasetSpec{{Name: "train", Digest: "bbb", Context: "training"}}})
	for i := 1; i <= 11; i++ {
		fake.CreateVersion("sepsis-risk", mlflowfake.VersionSpec{Source: "s3://m"})
	}
	fake.CreateVersion("sepsis-risk", mlflowfake.VersionSpec{Source: "s3://m/12", RunID: "r12"})
	fake.CreateVersion("sepsis-risk", mlflowfake.VersionSpec{Source: "s3://m/13", Tags: map[string]string{mlflow.TagModel: "sepsis-risk", mlflow.TagGeneration: "6"}})
	fake.CreateVersion("sepsis-risk", mlflowfake.VersionSpec{Source: "s3://m/14", RunID: "r14", Tags: map[string]string{mlflow.TagModel: "sepsis-risk", mlflow.TagGeneration: "7"}})
	c := newClient(t, fake, mlflow.Config{}, fastRetries)
	ctx := context.Background()

	found, err := c.FindCandidates(ctx, "sepsis-risk", "sepsis-risk", 7)
	if err != nil || len(found) != 1 || found[0].Version != "14" {
		t.Fatalf("candidates of generation 7: %+v %v", found, err)
	}
	cand, err := c.ReadLineage(ctx, "sepsis-risk", "14")
	if err != nil {
		t.Fatal(err)
	}
	prod, err := c.ReadLineage(ctx, "sepsis-risk", "12")
	if err != nil {
		t.Fatal(err)
	}
	if cand.Metrics()["auc"] != 0.91 || prod.Metrics()["auc"] != 0.86 {
		t.Errorf("metrics %v vs %v", cand.Metrics(), prod.Metrics())
	}
	if cand.CodeCommit() != "9f1e2d" || prod.CodeCommit() != "" {
		t.Errorf("code commits %q, %q", cand.CodeCommit(), prod.CodeCommit())
	}
	if cand.DatasetDigests()["train"] != "bbb" || prod.DatasetDigests()["train"] != "aaa" {
		t.Errorf("digests %v vs %v", cand.DatasetDigests(), prod.DatasetDigests())
	}

	// The comparison of a promotion proposal: the reconciler's view of both versions.
	cl, err := c.VersionLineage(ctx, "sepsis-risk", "14")
	if err != nil {
		t.Fatal(err)
	}
	wantCand := reconciler.VersionLineage{Version: "14", Found: true, RunID: "r14", RunURL: fake.URL() + "/#/experiments/0/runs/r14",
		Metrics: map[string]float64{"auc": 0.91}, Params: map[string]string{"max_depth": "6", "lr": "0.1", "seed": "7"}, CodeCommit: "9f1e2d",
		Datasets: []reconciler.DatasetDigest{{Name: "train", Digest: "bbb", Context: "training"}}}
	if !reflect.DeepEqual(cl, wantCand) {
		t.Errorf("VersionLineage(14) = %+v\nwant %+v", cl, wantCand)
	}
	if l, err := c.VersionLineage(ctx, "sepsis-risk", "13"); err != nil || !l.Found || l.RunID != "" || l.Metrics != nil {
		t.Errorf("VersionLineage of a version without a run = %+v, %v", l, err)
	}
	if l, err := c.VersionLineage(ctx, "sepsis-risk", "99"); err != nil || l.Found {
		t.Errorf("VersionLineage of a version the registry lacks = %+v, %v; want not found, no error", l, err)
	}
	if l, err := c.ReadLineage(ctx, "sepsis-risk", "13"); err != nil || l.Run != nil || l.Metrics() != nil {
		t.Errorf("a version without a run: %+v %v", l, err)
	}
}
