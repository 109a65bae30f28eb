package mlflow_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/medimind/modelops/internal/registry/mlflow"
	"github.com/medimind/modelops/internal/testutil/mlflowfake"
	"github.com/medimind/modelops/policies"
	"github.com/medimind/modelops/reconciler"
)

func registryPolicy(t *testing.T, canaryWeight int) *policies.Policy {
	t.Helper()
	src := "apiVersion: modelops.medimind.io/v1alpha1\nkind: ModelPolicy\nmetadata: {name: sepsis-risk}\nspec:\n  production: {version: \"12\"}\n  registry: {}\n"
	if canaryWeight > 0 {
		src += "  canary: {version: \"14\", weight: " + strconv.Itoa(canaryWeight) + "}\n"
	}
	ps, err := policies.Parse("models/sepsis-risk.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return ps[0]
}

// cycle plans and applies the registry actions once, as a reconcile cycle would, keeping
// the aliases modelops set in applied (the status branch's record).
func cycle(t *testing.T, c *mlflow.Client, p *policies.Policy, served *reconciler.Traffic, applied map[string]string) []reconciler.Action {
	t.Helper()
	ctx := context.Background()
	obs, err := c.ObserveRegistry(ctx, p, applied)
	if err != nil {
		t.Fatal(err)
	}
	actions := reconciler.PlanRegistry("c0ffee", p, served, obs)
	for _, a := range actions {
		if err := c.ApplyRegistryAction(ctx, a); err != nil {
			t.Fatalf("%s: %v", a.Key, err)
		}
		switch a.Kind {
		case reconciler.ActionSetAlias:
			applied[a.Registry.Alias] = a.Registry.Version
		case reconciler.ActionDeleteAlias:
			applied[a.Registry.Alias] = ""
		}
	}
	return actions
}

// TestRegistryFollowsCanaryDriftAndRollbackOnTheFake runs the plan against the fake: the
// canary gets the challenger alias once served, a person moving champion in the UI is set
// back, and a rollback removes challenger while champion stays on 12.
func TestRegistryFollowsCanaryDriftAndRollbackOnTheFake(t *testing.T) {
	fake := mlflowfake.New(t)
	for i := 1; i <= 14; i++ {
		fake.CreateVersion("sepsis-risk", mlflowfake.VersionSpec{Source: "s3://m"})
	}
	c := newClient(t, fake, mlflow.Config{}, fastRetries)
	applied := map[string]string{}

	cycle(t, c, registryPolicy(t, 0), &reconciler.Traffic{Production: "12"}, applied)
	canary := registryPolicy(t, 10)
	cycle(t, c, canary, &reconciler.Traffic{Production: "12", Canary: "14", Weight: 10}, applied)
	if got := fake.Aliases("sepsis-risk"); got["champion"] != "12" || got["challenger"] != "14" || len(got) != 2 {
		t.Fatalf("after the canary: %v", got)
	}
	if tags := fake.VersionTags("sepsis-risk", "14"); tags[mlflow.TagCommit] != "c0ffee" {
		t.Errorf("version 14's tags %v lack the commit", tags)
	}

	fake.MoveAlias("sepsis-risk", "champion", "13") // a person in the MLflow UI
	actions := cycle(t, c, canary, &reconciler.Traffic{Production: "12", Canary: "14", Weight: 10}, applied)
	if len(actions) != 1 || !actions[0].Registry.Drift {
		t.Fatalf("drift cycle planned %+v, want one set-back", actions)
	}
	if again := cycle(t, c, canary, &reconciler.Traffic{Production: "12", Canary: "14", Weight: 10}, applied); len(again) != 0 {
		t.Fatalf("a converged registry planned %+v", again)
	}

	cycle(t, c, registryPolicy(t, 0), &reconciler.Traffic{Production: "12", Canary: "14", Weight: 10}, applied)
	if got := fake.Aliases("sepsis-risk"); got["champion"] != "12" || len(got) != 1 {
		t.Fatalf("after the rollback: %v, want only champion→12", got)
	}
}

func TestObserveRegistryOfAnUnregisteredModelAndPendingVersions(t *testing.T) {
	fake := mlflowfake.New(t)
	c := newClient(t, fake, mlflow.Config{}, fastRetries)
	p := registryPolicy(t, 10)
	obs, err := c.ObserveRegistry(context.Background(), p, nil)
	if err != nil || len(obs.Aliases) != 0 {
		t.Fatalf("unregistered model: %+v %v", obs, err)
	}
	for i := 1; i <= 12; i++ {
		fake.CreateVersion("sepsis-risk", mlflowfake.VersionSpec{Source: "s3://m"})
	}
	fake.CreateVersion("sepsis-risk", mlflowfake.VersionSpec{Source: "s3://m"})
	fake.CreateVersion("sepsis-risk", mlflowfake.VersionSpec{Source: "s3://m", NeverReady: true})
	obs, err = c.ObserveRegistry(context.Background(), p, nil)
	if err != nil || obs.Versions["12"].Status != mlflow.StatusReady || obs.Versions["14"].Status != mlflow.StatusPending {
		t.Fatalf("versions %+v %v", obs.Versions, err)
	}
	actions := reconciler.PlanRegistry("c", p, &reconciler.Traffic{Production: "12", Canary: "14", Weight: 10}, obs)
	if len(actions) != 2 || actions[0].Kind != reconciler.ActionSetAlias || actions[1].Kind != reconciler.ActionAwaitRegistryVersion {
		t.Fatalf("plan %+v: want champion set and challenger held back", actions)
	}
}

func TestCleanupActionsDeleteOrTagOnTheFake(t *testing.T) {
	fake := mlflowfake.New(t)
	for i := 1; i <= 3; i++ {
		fake.CreateVersion("sepsis-risk", mlflowfake.VersionSpec{Source: "s3://m"})
	}
	c := newClient(t, fake, mlflow.Config{}, fastRetries)
	ctx := context.Background()
	del := reconciler.Action{Kind: reconciler.ActionCleanupVersion, Registry: &reconciler.RegistryPlan{RegisteredModel: "sepsis-risk", Version: "1", Cleanup: policies.CleanupDelete}}
	for range 2 { // the second time finds it gone, which is done
		if err := c.ApplyRegistryAction(ctx, del); err != nil {
			t.Fatal(err)
		}
	}
	if fake.VersionTags("sepsis-risk", "1") != nil {
		t.Fatal("version 1 was not deleted")
	}
	tag := reconciler.Action{Kind: reconciler.ActionCleanupVersion, Registry: &reconciler.RegistryPlan{RegisteredModel: "sepsis-risk", Version: "2", Cleanup: policies.CleanupTag}}
	if err := c.ApplyRegistryAction(ctx, tag); err != nil {
		t.Fatal(err)
	}
	if tags := fake.VersionTags("sepsis-risk", "2"); tags[mlflow.TagArchived] != "true" {
		t.Fatalf("version 2 tags %v", tags)
	}
}
