package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
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
		{Action: reconciler.Action{Kind: reconciler.ActionSetAlias, Model: "sepsis-risk", Reason: "alias champion of sepsis-risk was moved outside git to version 13; setting it back to 12",
			Registry: &reconciler.RegistryPlan{RegisteredModel: "sepsis-risk", Alias: "champion", Version: "12", Observed: "13", Drift: true}}},
		{Action: reconciler.Action{Kind: reconciler.ActionSetAlias, Model: "sepsis-risk", Registry: &reconciler.RegistryPlan{RegisteredModel: "sepsis-risk", Alias: "challenger", Version: "14"}}},
	}, FailedRuns: []reconciler.FailedRun{{Model: "sepsis-risk", TrainingRun: reconciler.TrainingRun{Generation: 7, ID: "run-7", Phase: reconciler.RunFailed, Message: "exit status 127"}}},
		StatusRestored: "0123456789abcdef0123456789abcdef01234567"}
	o.observe(ctx, time.Now(), res, nil)
	if err := n.Close(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 5 || got[0].Kind != notify.KindStatusRestored || !strings.Contains(got[0].Text, "0123456789ab") ||
		got[1].Kind != notify.KindTrainingFailed || got[1].Text != "exit status 127" ||
		got[2].Kind != notify.KindRollback || got[3].Kind != notify.KindDriftProposal ||
		got[3].URL != "https://github.example/medimind/policies/pull/7" || got[2].Title != "Canary 13 of sepsis-risk rolled back" {
		t.Fatalf("notified %+v, want the restored status, the failed run, the rollback, the drift proposal with its URL and the registry drift", got)
	}
	// The alias a person moved is notified; an alias modelops sets in the normal course is not.
	if e := got[4]; e.Kind != notify.KindRegistryDrift || e.Title != "Registry alias champion of sepsis-risk was moved outside git; set back to 12" ||
		len(e.Fields) != 3 || e.Fields[1].Value != "13" || e.Fields[2].Value != "12" {
		t.Fatalf("registry drift notified as %+v", e)
	}
}

// TestObserverExportsConditionsThresholdsAndFailureCounters runs a real cycle and checks the
// series the alerts in manifests/monitoring read.
func TestObserverExportsConditionsThresholdsAndFailureCounters(t *testing.T) {
	repo := runRepo(t, 6)
	ctx := context.Background()
	s, err := openStack(ctx, &repoOptions{repo: repo, branch: "main", stateDir: filepath.Join(t.TempDir(), "state"),
		authorName: "modelops[bot]", authorEmail: "bot@example.com"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	m := server.NewMetrics()
	o := &cycleObserver{metrics: m, stack: s}
	start := time.Now()
	res, err := s.reconciler.Cycle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The cycle reports each failed run once (the reconciler marks it reported); the counter
	// counts what the cycles report.
	o.observe(ctx, start, res, nil)
	failed := *res
	failed.FailedRuns = []reconciler.FailedRun{{Model: "sepsis-risk", TrainingRun: reconciler.TrainingRun{Generation: 7, ID: "r7", Phase: reconciler.RunFailed, Message: "exit status 1"}}}
	o.observe(ctx, start, &failed, nil)

	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, mt := range f.GetMetric() {
			key := f.GetName()
			for _, l := range mt.GetLabel() {
				if l.GetName() == "model" || l.GetName() == "type" {
					key += "/" + l.GetValue()
				}
			}
			got[key] = mt.GetGauge().GetValue() + mt.GetCounter().GetValue()
		}
	}
	if v, ok := got["modelops_drift_share_threshold/sepsis-risk"]; !ok || v != 0.5 {
		t.Errorf("drift share threshold = %v (exported %v), want the default datasetShare 0.5", v, ok)
	}
	if _, ok := got["modelops_model_condition/sepsis-risk/Ready"]; !ok {
		t.Error("no Ready condition series for sepsis-risk")
	}
	if v, ok := got["modelops_training_failures_total/sepsis-risk"]; !ok || v != 1 {
		t.Errorf("training failures = %v (exported %v), want 1: the run the cycle reported failed", v, ok)
	}
}

func TestNotifierFromEnvBuildsTheEmailSink(t *testing.T) {
	const password = "smtp-s3cret"
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "password")
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MODELOPS_SMTP_URL", "smtp://modelops@mail.example.com:587")
	t.Setenv("MODELOPS_SMTP_PASSWORD_FILE", pwFile)
	t.Setenv("MODELOPS_SMTP_FROM", "modelops <modelops@example.com>")
	t.Setenv("MODELOPS_SMTP_TO", "ml-oncall@example.com, ward@example.com")
	n, err := notifierFromEnv(slog.New(slog.DiscardHandler))
	if err != nil || n == nil {
		t.Fatalf("notifier %v: %v", n, err)
	}
	defer n.Close(context.Background())
	if _, ok := n.Stats()["email"]; !ok {
		t.Errorf("sinks %v, want email", n.Stats())
	}

	// Without the password file the user cannot authenticate: a clear error, no secret in it.
	t.Setenv("MODELOPS_SMTP_PASSWORD_FILE", filepath.Join(dir, "missing"))
	if _, err := notifierFromEnv(slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "MODELOPS_SMTP_") || !strings.Contains(err.Error(), "no password") {
		t.Errorf("err = %v, want the missing password named", err)
	}
	t.Setenv("MODELOPS_SMTP_PASSWORD_FILE", pwFile)
	t.Setenv("MODELOPS_SMTP_TO", "")
	if _, err := notifierFromEnv(slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "no recipient") {
		t.Errorf("err = %v, want no recipient", err)
	}
}
