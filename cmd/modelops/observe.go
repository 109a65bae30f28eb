//go:build !lite

package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/medimind/modelops/internal/notify"
	"github.com/medimind/modelops/internal/server"
	"github.com/medimind/modelops/policies"
	"github.com/medimind/modelops/reconciler"
)

// cycleObserver turns what each cycle did into Prometheus metrics and notifications. It
// runs after the cycle, on the loop's goroutine; notifications are queued, never awaited.
type cycleObserver struct {
	metrics  *server.Metrics
	notifier *notify.Notifier // nil without sinks
	stack    *stack
	// policies caches the parse of the policy files read for the drift thresholds.
	policies policies.Cache
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
	o.setDriftThresholds(ctx, res.Commit)
	for name, ms := range st.Models {
		o.metrics.SetModelConditions(name, ms.Conditions)
		// Insufficient data compared no column: the gauge keeps the last share measured.
		if d, ok := ms.LastDrift(); ok && !d.InsufficientData {
			o.metrics.SetDriftShare(name, d.Share)
		}
		weight := 0
		if ms.Canary != nil {
			weight = ms.Canary.Weight
		}
		o.metrics.SetCanaryWeight(name, weight)
		o.metrics.CountTrainingFailures(name, 0) // the series exists before the first failure
	}
	if c := res.StatusRestored; c != "" {
		o.notify(notify.Event{Kind: notify.KindStatusRestored, Model: "(all models)", At: end,
			Title: "The status branch was lost and restored from the reconciler's backup",
			Text:  "Someone deleted (or lost) the status branch; modelops pushed it back at its last known commit " + short(c) + ". Nothing was adopted or forgotten."})
	}
	// The cycle reports each failed run once (recorded on the status branch), across restarts.
	for _, run := range res.FailedRuns {
		o.metrics.CountTrainingFailures(run.Model, 1)
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
		case a.Registry != nil && (a.Registry.Drift || a.Kind == reconciler.ActionReportRegistryDrift):
			// The RegistryDrift condition says the same; the notification reaches a person.
			r := a.Registry
			e.Kind = notify.KindRegistryDrift
			e.Title = fmt.Sprintf("Registry alias %s of %s was moved outside git; set back to %s", r.Alias, r.RegisteredModel, r.Version)
			if a.Kind == reconciler.ActionReportRegistryDrift {
				e.Title = fmt.Sprintf("Registry alias %s of %s was moved outside git; left there (enforce: false)", r.Alias, r.RegisteredModel)
			}
			moved := r.Observed
			if moved == "" {
				moved = "(deleted)"
			}
			e.Fields = []notify.Field{{Name: "alias", Value: r.Alias}, {Name: "moved to", Value: moved}, {Name: "git has", Value: r.Version}}
		default:
			continue
		}
		o.notify(e)
	}
}

// setDriftThresholds records each valid policy's spec.drift.datasetShare at commit, for the
// drift alert. A tree that cannot be read leaves the last values: metrics never fail a cycle.
func (o *cycleObserver) setDriftThresholds(ctx context.Context, commit string) {
	tree, err := o.stack.repo.Tree(ctx, commit)
	if err != nil {
		return
	}
	set, err := policies.LoadCached(tree, &o.policies)
	if err != nil {
		return
	}
	for _, p := range set.Policies {
		if share := p.Spec.Drift.DatasetShare; share != nil {
			o.metrics.SetDriftShareThreshold(p.Metadata.Name, *share)
		}
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

// notifierFromEnv builds the notification sinks from MODELOPS_NOTIFY_WEBHOOK_URL,
// MODELOPS_SLACK_WEBHOOK_URL (or their _FILE variants) and MODELOPS_SMTP_*; nil without any.
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
	email, err := emailSinkFromEnv()
	if err != nil {
		return nil, err
	}
	if email != nil {
		sinks = append(sinks, *email)
	}
	if len(sinks) == 0 {
		return nil, nil
	}
	return notify.New(sinks, notify.WithLogger(log))
}

// emailSinkFromEnv builds the email sink from MODELOPS_SMTP_URL (smtp://user@host:587, or its
// _FILE), MODELOPS_SMTP_PASSWORD[_FILE], MODELOPS_SMTP_FROM and MODELOPS_SMTP_TO (addresses
// separated by commas); nil without a URL.
func emailSinkFromEnv() (*notify.Sink, error) {
	smtpURL, err := secretFrom("", "MODELOPS_SMTP_URL")
	if err != nil || smtpURL == "" {
		return nil, err
	}
	password, err := secretFrom("", "MODELOPS_SMTP_PASSWORD")
	if err != nil {
		return nil, err
	}
	sink, err := notify.Email("email", notify.EmailConfig{URL: smtpURL, Password: password,
		From: os.Getenv("MODELOPS_SMTP_FROM"), To: strings.Split(os.Getenv("MODELOPS_SMTP_TO"), ",")})
	if err != nil {
		return nil, fmt.Errorf("MODELOPS_SMTP_*: %w", err)
	}
	return &sink, nil
}
