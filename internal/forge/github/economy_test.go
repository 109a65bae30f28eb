package github

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/medimind/modelops/internal/testutil/githubfake"
	"github.com/medimind/modelops/reconciler"
)

// fleet writes a repository of n models, without pull-request limits, and returns its
// directory.
func fleet(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "models"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(".modelops.yaml", "apiVersion: modelops.medimind.io/v1alpha1\nkind: RepositoryConfig\nspec: {labels: [modelops], prConcurrentLimit: 0, prHourlyLimit: 0}\n")
	for i := range n {
		write(fmt.Sprintf("models/model-%d.yaml", i), fmt.Sprintf(`apiVersion: modelops.medimind.io/v1alpha1
kind: ModelPolicy
metadata:
  name: model-%d
spec:
  production: {version: "1", uri: "models:/model-%d/1"}
  retrain:
    generation: 1
    job:
      command: [python, train.py]
`, i, i))
	}
	return dir
}

// TestSteadyStateCostsAtMostOneCountedCallPerModelPerHour polls a fleet whose evidence does
// not change for a simulated hour, as the reconciler does each cycle: list the proposals,
// ensure each model's proposal, report each model's drift check on the tip. It asserts the
// ceiling of requests counted against GitHub's rate limit per model per hour, and logs the
// figure.
func TestSteadyStateCostsAtMostOneCountedCallPerModelPerHour(t *testing.T) {
	const (
		models = 8
		poll   = 5 * time.Minute
	)
	e := setupFixture(t, githubfake.InstallationToken, fleet(t, models))
	r := e.reporter(ReporterOptions{})
	cycle := func() {
		t.Helper()
		if _, err := e.forge.List(ctx); err != nil {
			t.Fatal(err)
		}
		for i := range models {
			model := fmt.Sprintf("model-%d", i)
			if _, err := e.forge.Ensure(ctx, retrain(model, 1, e.base, "steady")); err != nil {
				t.Fatal(err)
			}
			c := driftCheck(e.base, 2)
			c.Name = "modelops/drift: " + model
			if err := r.Report(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The first cycle opens every proposal and check; the second sees them once.
	cycle()
	cycle()
	counted0, requests0 := len(e.fake.Calls()), len(e.fake.Requests())
	polls := int(time.Hour / poll)
	for range polls {
		e.clock.Sleep(ctx, poll)
		cycle()
	}
	counted, requests := len(e.fake.Calls())-counted0, len(e.fake.Requests())-requests0
	perModel := float64(counted) / models
	t.Logf("steady state, %d models, %d polls in a simulated hour: %d requests, %d counted against the rate limit = %.2f per model per hour",
		models, polls, requests, counted, perModel)
	if perModel > 1 {
		t.Errorf("%.2f counted calls per model per hour, want at most 1", perModel)
	}
	if requests < polls*models {
		t.Fatalf("only %d requests in %d polls: the simulation did not poll", requests, polls)
	}
	if list, err := e.forge.List(ctx); err != nil || len(list) != models || list[0].State != reconciler.ProposalOpen {
		t.Errorf("List = %d proposals, %v", len(list), err)
	}
}
