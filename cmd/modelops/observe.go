package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/medimind/modelops/internal/notify"
	"github.com/medimind/modelops/internal/server"
	"github.com/medimind/modelops/reconciler"
)

// cycleObserver turns what each cycle did into Prometheus metrics and notifications. It
// runs after the cycle, on the loop's goroutine; notifications are queued, never awaited.
type cycleObserver struct {
	metrics  *server.Metrics
	notifier *notify.Notifier // nil without sinks
	stack    *stack
}

func (o *cycleObserver) observe(ctx context.Context, start time.Time, res *reconciler.CycleResult, err error) {
	end := time.Now()
	o.metrics.ObserveCycle(start, end, res, err)
	if gh := o.stack.github; gh != nil {
		if rl := gh.transport.RateLimit(); !rl.Observed.IsZero() {
			resource := rl.Resource
			if resource == "" {
				resource = "core"
			}
			o.metrics.SetRateLimit(resource, rl.Remaining)
		}
	}
	if err != nil {
		return
	}
	st, lerr := o.stack.status.Load(ctx)
	if lerr != nil {
		return
	}
	for name, ms := range st.Models {
		if d, ok := ms.LastDrift(); ok {
			o.metrics.SetDriftShare(name, d.Share)
		}
		weight := 0
		if ms.Canary != nil {
			weight = ms.Canary.Weight
		}
		o.metrics.SetCanaryWeight(name, weight)
	}
	if c := res.StatusRestored; c != "" {
		o.notify(notify.Event{Kind: notify.KindStatusRestored, Model: "(all models)", At: end,
			Title: "The status branch was lost and restored from the reconciler's backup",
			Text:  "Someone deleted (or lost) the status branch; modelops pushed it back at its last known commit " + short(c) + ". Nothing was adopted or forgotten."})
	}
	// The cycle reports each failed run once (recorded on the status branch), across restarts.
	for _, run := range res.FailedRuns {
		o.notify(notify.Event{Kind: notify.KindTrainingFailed, Model: run.Model, At: end,
			Title: fmt.Sprintf("Training of %s generation %d failed", run.Model, run.Generation), Text: run.Message,
			Fields: []notify.Field{{Name: "run", Value: run.ID}, {Name: "commit", Value: short(run.Commit)}}})
	}
	for _, ar := range res.Actions {
		if ar.Error != "" || ar.Skipped {
			continue
		}
		a := ar.Action
		e := notify.Event{Model: a.Model, At: end, Text: a.Reason}
		switch {
		case a.Kind == reconciler.ActionRollback:
			e.Kind, e.Title = notify.KindRollback, fmt.Sprintf("Canary %s of %s rolled back", a.Canary.Version, a.Model)
			e.Fields = []notify.Field{{Name: "detail", Value: ar.Detail}}
		case a.Kind == reconciler.ActionProposeRetrain && a.Proposal != nil && a.Proposal.Trigger == reconciler.TriggerDrift:
			e.Kind, e.Title = notify.KindDriftProposal, fmt.Sprintf("Drift: retrain of %s proposed", a.Model)
			e.URL = proposalURL(ar.Proposal)
		case a.Kind == reconciler.ActionProposePromotion || a.Kind == reconciler.ActionProposeFullPromotion:
			e.Kind, e.Title = notify.KindPromotionProposed, fmt.Sprintf("Promotion of %s proposed", a.Model)
			e.URL = proposalURL(ar.Proposal)
		default:
			continue
		}
		o.notify(e)
	}
}

func (o *cycleObserver) notify(e notify.Event) {
	if o.notifier != nil {
		o.notifier.Notify(e)
	}
}

// proposalURL is the web address of the proposal an action opened: a pull request's URL;
// "" for none, or for a local proposal, whose URL is an ID a browser cannot open.
func proposalURL(p *reconciler.Proposal) string {
	if p == nil || !strings.HasPrefix(p.URL, "http") {
		return ""
	}
	return p.URL
}

// secretFrom reads a secret from the file a flag names, else from the environment variable
// env, else from the file env_FILE names. Secrets never come from flag values: those show
// in the process list. A file named by env_FILE that does not exist leaves the secret unset
// (a Kubernetes Secret mounts only the keys it has); a file named by a flag must exist.
func secretFrom(file, env string) (string, error) {
	optional := false
	if file == "" {
		if v := os.Getenv(env); v != "" {
			return v, nil
		}
		file, optional = os.Getenv(env+"_FILE"), true
	}
	if file == "" {
		return "", nil
	}
	b, err := os.ReadFile(file)
	if optional && errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the secret for %s: %w", env, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// notifierFromEnv builds the notification sinks from MODELOPS_NOTIFY_WEBHOOK_URL and
// MODELOPS_SLACK_WEBHOOK_URL (or their _FILE variants); nil without any.
func notifierFromEnv(log *slog.Logger) (*notify.Notifier, error) {
	var sinks []notify.Sink
	for _, s := range []struct {
		env  string
		sink func(name, url string) notify.Sink
	}{{"MODELOPS_NOTIFY_WEBHOOK_URL", notify.Webhook}, {"MODELOPS_SLACK_WEBHOOK_URL", notify.Slack}} {
		url, err := secretFrom("", s.env)
		if err != nil {
			return nil, err
		}
		if url != "" {
			sinks = append(sinks, s.sink(strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(s.env, "MODELOPS_"), "_URL")), url))
		}
	}
	if len(sinks) == 0 {
		return nil, nil
	}
	return notify.New(sinks, notify.WithLogger(log))
}
