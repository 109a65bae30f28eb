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

// TestSteadyStateCostsWithHourlyTokens polls a fleet whose evidence does not change for
// several simulated hours, as the reconciler does each cycle: list the proposals, ensure
// each model's proposal, report each model's drift check on the tip. modelops
// authenticates as a GitHub App, whose installation token lasts an hour; GitHub's ETags are
// specific to the token, so every new token pays once for each URL the cycle reads again
// (answered 304, free, for the rest of the hour). It asserts the ceiling of requests
// counted against GitHub's rate limit per model per hour, and logs the figure.
func TestSteadyStateCostsWithHourlyTokens(t *testing.T) {
	const (
		models = 8
		poll   = 5 * time.Minute
		hours  = 4
	)
	e := setupFixture(t, githubfake.InstallationToken, fleet(t, models))
	minter := &tokenMinter{next: e.fake.HTTPClient().Transport, fake: e.fake, clock: e.clock, validity: time.Hour}
	auth, err := NewAuth(AuthConfig{AppID: testAppID, InstallationID: 34, PrivateKeyFile: privateKey(t)}, minter)
	if err != nil {
		t.Fatal(err)
	}
	client, _, err := NewClient(auth, ClientOptions{BaseURL: e.fake.URL(), Base: minter, Transport: TransportOptions{Clock: e.clock}})
	if err != nil {
		t.Fatal(err)
	}
	f := New(client, e.repo, Options{Owner: e.fake.Owner(), Repo: e.fake.Repo(), Tracked: "main", Bot: bot, Now: e.clock.Now})
	r := NewReporter(client, ReporterOptions{Owner: e.fake.Owner(), Repo: e.fake.Repo(), Now: e.clock.Now, AppID: auth.AppID()})
	cycle := func() {
		t.Helper()
		if _, err := f.List(ctx); err != nil {
			t.Fatal(err)
		}
		for i := range models {
			model := fmt.Sprintf("model-%d", i)
			if _, err := f.Ensure(ctx, retrain(model, 1, e.base, "steady")); err != nil {
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
	counted0, requests0, tokens0 := len(e.fake.Calls()), len(e.fake.Requests()), len(minter.minted)
	polls := hours * int(time.Hour/poll)
	for range polls {
		e.clock.Sleep(ctx, poll)
		cycle()
	}
	counted, requests := len(e.fake.Calls())-counted0, len(e.fake.Requests())-requests0
	tokens := len(minter.minted) - tokens0
	perModel := float64(counted) / models / hours
	t.Logf("steady state, %d models, %d polls in %d simulated hours, %d new installation tokens: %d requests, %d counted against the rate limit = %.2f per model per hour",
		models, polls, hours, tokens, requests, counted, perModel)
	if w, _ := e.writes(requests0); w != 0 {
		t.Errorf("%d writes in the steady state", w)
	}
	if tokens < hours-1 {
		t.Fatalf("%d new tokens in %d hours: the simulation did not rotate them", tokens, hours)
	}
	// Each new token reads again, once, the proposal and check of every model and the
	// shared lists of open and closed pull requests: a little over two per model per hour.
	if perModel > 2.5 {
		t.Errorf("%.2f counted calls per model per hour, want at most 2.5", perModel)
	}
	if requests < polls*models {
		t.Fatalf("only %d requests in %d polls: the simulation did not poll", requests, polls)
	}
	if list, err := f.List(ctx); err != nil || len(list) != models || list[0].State != reconciler.ProposalOpen {
		t.Errorf("List = %d proposals, %v", len(list), err)
	}
}
