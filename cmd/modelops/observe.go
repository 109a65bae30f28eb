//go:build !lite

package main

import (
	"context"
	"fmt"
	"log/slog"
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
	// failedRuns holds the failed training runs already notified (or seen at start-up).
	failedRuns map[string]bool
	started    bool
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
		for _, run := range ms.Runs {
			key := name + "/" + run.ID
			if run.Phase != reconciler.RunFailed || o.failedRuns[key] {
				continue
			}
			o.failedRuns[key] = true
			if o.started {
				o.notify(notify.Event{Kind: notify.KindTrainingFailed, Model: name, At: end,
					Title: fmt.Sprintf("Training of %s generation %d failed", name, run.Generation), Text: run.Message,
					Fields: []notify.Field{{Name: "run", Value: run.ID}, {Name: "commit", Value: short(run.Commit)}}})
			}
		}
	}
	o.started = true
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
			e.URL = proposalURL(ar.Detail)
		case a.Kind == reconciler.ActionProposePromotion || a.Kind == reconciler.ActionProposeFullPromotion:
			e.Kind, e.Title = notify.KindPromotionProposed, fmt.Sprintf("Promotion of %s proposed", a.Model)
			e.URL = proposalURL(ar.Detail)
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

// proposalURL picks the proposal's address out of an action's detail ("… proposal URL").
func proposalURL(detail string) string {
	if i := strings.LastIndex(detail, "proposal "); i >= 0 {
		if f := strings.Fields(detail[i+len("proposal "):]); len(f) > 0 && strings.HasPrefix(f[0], "http") {
			return strings.TrimSuffix(f[0], ";")
		}
	}
	return ""
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
