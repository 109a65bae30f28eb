package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medimind/modelops/internal/notify"
	"github.com/medimind/modelops/internal/server"
	"github.com/medimind/modelops/reconciler"
)

// TestObserverNotifiesWhatACycleDid feeds the observer a cycle that rolled a canary back
// and proposed a drift retrain, and checks what reaches a webhook sink.
func TestObserverNotifiesWhatACycleDid(t *testing.T) {
	var mu sync.Mutex
	var got []notify.Event
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var e notify.Event
		if err := json.Unmarshal(b, &e); err != nil {
			t.Errorf("payload %s: %v", b, err)
		}
		mu.Lock()
		got = append(got, e)
		mu.Unlock()
	}))
	defer sink.Close()
	t.Setenv("MODELOPS_NOTIFY_WEBHOOK_URL", sink.URL)
	n, err := notifierFromEnv(slog.New(slog.DiscardHandler))
	if err != nil || n == nil {
		t.Fatalf("notifier: %v %v", n, err)
	}

	repo := runRepo(t, 6)
	ctx := context.Background()
	s, err := openStack(ctx, &repoOptions{repo: repo, branch: "main", stateDir: filepath.Join(t.TempDir(), "state"),
		authorName: "modelops[bot]", authorEmail: "bot@example.com"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	o := &cycleObserver{metrics: server.NewMetrics(), notifier: n, stack: s}
	res := &reconciler.CycleResult{Actions: []reconciler.ActionResult{
		{Action: reconciler.Action{Kind: reconciler.ActionRollback, Model: "sepsis-risk", Reason: "auc dropped", Canary: &reconciler.CanaryPlan{Version: "13"}}, Detail: "canary 13 removed in abc"},
		{Action: reconciler.Action{Kind: reconciler.ActionProposeRetrain, Model: "sepsis-risk", Reason: "drift", Proposal: &reconciler.ProposalPlan{Trigger: reconciler.TriggerDrift}}, Detail: "retrain proposal https://github.example/medimind/policies/pull/7",
			Proposal: &reconciler.Proposal{Model: "sepsis-risk", Kind: reconciler.ProposalRetrain, URL: "https://github.example/medimind/policies/pull/7"}},
		{Action: reconciler.Action{Kind: reconciler.ActionProposeRetrain, Model: "sepsis-risk", Reason: "manual", Proposal: &reconciler.ProposalPlan{Trigger: reconciler.TriggerManual}}},
		{Action: reconciler.Action{Kind: reconciler.ActionStepCanary, Model: "sepsis-risk"}, Error: "push refused"},
	}, FailedRuns: []reconciler.FailedRun{{Model: "sepsis-risk", TrainingRun: reconciler.TrainingRun{Generation: 7, ID: "run-7", Phase: reconciler.RunFailed, Message: "exit status 127"}}},
		StatusRestored: "0123456789abcdef0123456789abcdef01234567"}
	o.observe(ctx, time.Now(), res, nil)
	if err := n.Close(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 4 || got[0].Kind != notify.KindStatusRestored || !strings.Contains(got[0].Text, "0123456789ab") ||
		got[1].Kind != notify.KindTrainingFailed || got[1].Text != "exit status 127" ||
		got[2].Kind != notify.KindRollback || got[3].Kind != notify.KindDriftProposal ||
		got[3].URL != "https://github.example/medimind/policies/pull/7" || got[2].Title != "Canary 13 of sepsis-risk rolled back" {
		t.Fatalf("notified %+v, want the restored status, the failed run, the rollback and the drift proposal with its URL", got)
	}
}
