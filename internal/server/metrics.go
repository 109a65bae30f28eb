package server

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/medimind/modelops/reconciler"
)

// Action outcomes counted by modelops_actions_total.
const (
	OutcomeSucceeded = "succeeded"
	OutcomeFailed    = "failed"
	// OutcomeSkipped: the action waits for its retry backoff.
	OutcomeSkipped = "skipped"
)

// ReasonCycleFailed labels a cycle that failed as a whole in modelops_errors_total.
const ReasonCycleFailed = "CycleFailed"

// Metrics owns the reconciler's Prometheus collectors, registered on a registry of its own
// (with the Go and process collectors) rather than the global one, so tests and several
// instances never collide. The reconciler's metrics decorator calls its methods; they are
// safe for concurrent use.
type Metrics struct {
	reg               *prometheus.Registry
	reconcileDuration prometheus.Histogram
	actions           *prometheus.CounterVec
	errors            *prometheus.CounterVec
	driftShare        *prometheus.GaugeVec
	canaryWeight      *prometheus.GaugeVec
	lastSuccess       prometheus.Gauge
	rateLimit         *prometheus.GaugeVec
	modelCondition    *prometheus.GaugeVec
	driftThreshold    *prometheus.GaugeVec
	trainingFailures  *prometheus.CounterVec
}

// NewMetrics creates the collectors and their registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		reconcileDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "modelops_reconcile_duration_seconds",
			Help: "Duration of reconcile cycles.",
			// Cycles range from a no-op over a local repository (milliseconds) to drift checks
			// over large datasets and pushes to GitHub (minutes).
			Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300},
		}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "modelops_actions_total",
			Help: "Actions applied, by kind and outcome (succeeded, failed, skipped).",
		}, []string{"kind", "outcome"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "modelops_errors_total",
			Help: "Errors, by reason (the condition reason, or CycleFailed).",
		}, []string{"reason"}),
		driftShare: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "modelops_drift_share",
			Help: "Share of columns that drifted in the model's last drift check (0..1).",
		}, []string{"model"}),
		canaryWeight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "modelops_canary_weight",
			Help: "Canary traffic weight of the model at the tracked branch's tip, in percent.",
		}, []string{"model"}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "modelops_last_success_timestamp_seconds",
			Help: "Unix time the last reconcile cycle completed without error.",
		}),
		rateLimit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "modelops_github_rate_limit_remaining",
			Help: "Requests left in the current GitHub rate-limit window, by resource (core, graphql, ...).",
		}, []string{"resource"}),
		modelCondition: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "modelops_model_condition",
			Help: "1 when the model's condition of type (Ready, Reconciling, Stalled) is True, 0 when False or Unknown; reason is the condition's.",
		}, []string{"model", "type", "reason"}),
		driftThreshold: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "modelops_drift_share_threshold",
			Help: "Share of drifted columns (0..1) at and above which the model's dataset drifts (spec.drift.datasetShare).",
		}, []string{"model"}),
		trainingFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "modelops_training_failures_total",
			Help: "Training runs seen failing, by model.",
		}, []string{"model"}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.reconcileDuration, m.actions, m.errors, m.driftShare, m.canaryWeight, m.lastSuccess, m.rateLimit,
		m.modelCondition, m.driftThreshold, m.trainingFailures,
	)
	// A counter series that appears at 1 shows no increase() to Prometheus, so an alert on the
	// first rollback would never fire: the rollback series exist from the start, at 0.
	for _, outcome := range []string{OutcomeSucceeded, OutcomeFailed} {
		m.actions.WithLabelValues(string(reconciler.ActionRollback), outcome)
	}
	return m
}

// Registry is the registry the collectors are on; register more collectors here.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// ObserveReconcile records the duration of one cycle.
func (m *Metrics) ObserveReconcile(d time.Duration) { m.reconcileDuration.Observe(d.Seconds()) }

// CountAction counts one action of kind with outcome (OutcomeSucceeded, OutcomeFailed or
// OutcomeSkipped).
func (m *Metrics) CountAction(kind reconciler.ActionKind, outcome string) {
	m.actions.WithLabelValues(string(kind), outcome).Inc()
}

// CountError counts one error of reason (a condition reason such as DriftCheckFailed).
func (m *Metrics) CountError(reason string) { m.errors.WithLabelValues(reason).Inc() }

// SetDriftShare records the share of drifted columns in model's last drift check.
func (m *Metrics) SetDriftShare(model string, share float64) {
	m.driftShare.WithLabelValues(model).Set(share)
}

// SetCanaryWeight records model's canary weight in percent (0 without a canary).
func (m *Metrics) SetCanaryWeight(model string, weight int) {
	m.canaryWeight.WithLabelValues(model).Set(float64(weight))
}

// SetLastSuccess records when the last cycle completed without error.
func (m *Metrics) SetLastSuccess(t time.Time) {
	m.lastSuccess.Set(float64(t.UnixNano()) / 1e9)
}

// SetRateLimit records GitHub's remaining requests for resource (go-github's
// Response.Rate.Remaining, or the /rate_limit endpoint's resources).
func (m *Metrics) SetRateLimit(resource string, remaining int) {
	m.rateLimit.WithLabelValues(resource).Set(float64(remaining))
}

// SetModelConditions records model's conditions: one series per condition type, labelled
// with its current reason (the series of a former reason is removed).
func (m *Metrics) SetModelConditions(model string, conds []reconciler.Condition) {
	for _, c := range conds {
		m.modelCondition.DeletePartialMatch(prometheus.Labels{"model": model, "type": c.Type})
		v := 0.0
		if c.Status == reconciler.ConditionTrue {
			v = 1
		}
		m.modelCondition.WithLabelValues(model, c.Type, c.Reason).Set(v)
	}
}

// SetDriftShareThreshold records the share of drifted columns at which model's dataset
// drifts, so that dashboards and alerts compare modelops_drift_share with the policy's own
// threshold.
func (m *Metrics) SetDriftShareThreshold(model string, share float64) {
	m.driftThreshold.WithLabelValues(model).Set(share)
}

// CountTrainingFailures adds n newly failed training runs of model. Calling it with 0 makes
// the series exist, so that Prometheus sees the first failure as an increase.
func (m *Metrics) CountTrainingFailures(model string, n int) {
	m.trainingFailures.WithLabelValues(model).Add(float64(n))
}

// ForgetModel removes model's series, for a model whose policy was deleted, so a gauge does
// not report it forever.
func (m *Metrics) ForgetModel(model string) {
	m.driftShare.DeleteLabelValues(model)
	m.canaryWeight.DeleteLabelValues(model)
	m.modelCondition.DeletePartialMatch(prometheus.Labels{"model": model})
	m.driftThreshold.DeleteLabelValues(model)
	m.trainingFailures.DeleteLabelValues(model)
}

// ObserveCycle records one cycle from its outcome: the duration since start, each action's
// outcome, and either the time of success (at end) or a CycleFailed error when err is set.
func (m *Metrics) ObserveCycle(start, end time.Time, res *reconciler.CycleResult, err error) {
	m.ObserveReconcile(end.Sub(start))
	if err != nil {
		m.CountError(ReasonCycleFailed)
		return
	}
	if res != nil {
		for _, a := range res.Actions {
			outcome := OutcomeSucceeded
			switch {
			case a.Skipped:
				outcome = OutcomeSkipped
			case a.Error != "":
				outcome = OutcomeFailed
			}
			m.CountAction(a.Action.Kind, outcome)
		}
	}
	m.SetLastSuccess(end)
}
