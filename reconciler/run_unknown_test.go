package reconciler

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"
)

// A run whose job vanished before its outcome was read (the runner's TTL passed while the
// reconciler was down) is Unknown, asking for a decision; never Failed.
func TestARunWhoseJobIsGoneIsUnknownNotFailed(t *testing.T) {
	h := newHarness(6)
	rep := &fakeReporter{}
	cycle := func() {
		t.Helper()
		r, err := New(Deps{Repo: h.repo, Proposals: h.proposals, Runner: h.runner, Drift: h.drift, Status: h.status, Reporter: rep},
			WithClock(func() time.Time { return h.now }), WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Cycle(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	cycle()
	h.repo.set("models/sepsis-risk.yaml", fmt.Sprintf(sepsisPolicy, 7), "c2")
	cycle()
	if h.runner.started != 1 {
		t.Fatalf("started %d runs, want 1", h.runner.started)
	}
	h.runner.mu.Lock()
	clear(h.runner.runs)
	h.runner.mu.Unlock()
	h.now = h.now.Add(8 * 24 * time.Hour)
	cycle()

	st, _ := h.status.Load(context.Background())
	run, ok := st.Models["sepsis-risk"].Run(7)
	if !ok || run.Phase != RunUnknown || run.Message != RunGoneMessage || run.Finished.IsZero() {
		t.Fatalf("run = %+v, want Unknown with a finish time and the message asking for a decision", run)
	}
	var got []string
	for _, c := range rep.named("modelops/training: sepsis-risk") {
		got = append(got, fmt.Sprintf("%s %s", c.Status, c.Conclusion))
	}
	if want := []string{"in_progress ", "completed neutral"}; !slices.Equal(got, want) {
		t.Errorf("training reports = %q, want %q: an unknown outcome is not a failure", got, want)
	}
	if h.runner.started != 1 {
		t.Errorf("started %d runs, want 1: an unknown outcome is not retried on its own", h.runner.started)
	}
}

// The launch carries the repository configuration's ServiceAccounts to the runner, which
// refuses a job naming another.
func TestALaunchCarriesTheServiceAccountsTheRepositoryAllows(t *testing.T) {
	h := newHarness(6)
	h.repo.set(".modelops.yaml", "apiVersion: modelops.medimind.io/v1alpha1\nkind: RepositoryConfig\nspec:\n  kubernetes: {serviceAccounts: [trainer]}\n", "c1")
	h.cycle(t)
	h.repo.set("models/sepsis-risk.yaml", fmt.Sprintf(sepsisPolicy, 7), "c2")
	h.cycle(t)
	if len(h.runner.asked) != 1 || !slices.Equal(h.runner.asked[0].ServiceAccounts, []string{"trainer"}) {
		t.Fatalf("Start requests = %+v, want one carrying [trainer]", h.runner.asked)
	}
}
