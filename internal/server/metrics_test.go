package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/medimind/modelops/reconciler"
)

func TestHealthAndReadiness(t *testing.T) {
	var notReady error = errors.New("no cycle has completed yet")
	s, err := New(WithReadiness(func(context.Context) error { return notReady }))
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, s)
	if r := c.do("GET", "/healthz", ""); r.status != http.StatusOK {
		t.Errorf("healthz: %d", r.status)
	}
	r := c.do("GET", "/readyz", "")
	var p map[string]string
	_ = json.Unmarshal(r.body, &p)
	if r.status != http.StatusServiceUnavailable || p["reason"] != "no cycle has completed yet" {
		t.Errorf("readyz before the first cycle: %d %s", r.status, r.body)
	}
	notReady = errors.New("lease held by modelops-7d9f-abcde")
	if r := c.do("GET", "/readyz", ""); r.status != http.StatusServiceUnavailable || !strings.Contains(string(r.body), "lease held by") {
		t.Errorf("readyz without the lease: %d %s", r.status, r.body)
	}
	notReady = nil
	if r := c.do("GET", "/readyz", ""); r.status != http.StatusOK {
		t.Errorf("readyz when ready: %d %s", r.status, r.body)
	}
}

func TestMetricsCollectWhatTheDecoratorReports(t *testing.T) {
	m := NewMetrics()
	m.SetDriftShare("sepsis-risk", 0.6)
	m.SetDriftShare("readmission-30d", 0.1)
	m.SetCanaryWeight("sepsis-risk", 25)
	m.SetRateLimit("core", 4971)
	m.SetLastSuccess(time.Unix(1767225600, 500_000_000))
	m.CountError(reconciler.DriftCheckFailedReason)
	m.CountError(reconciler.DriftCheckFailedReason)
	m.ForgetModel("readmission-30d")

	want := `
# HELP modelops_drift_share Share of columns that drifted in the model's last drift check (0..1).
# TYPE modelops_drift_share gauge
modelops_drift_share{model="sepsis-risk"} 0.6
# HELP modelops_canary_weight Canary traffic weight of the model at the tracked branch's tip, in percent.
# TYPE modelops_canary_weight gauge
modelops_canary_weight{model="sepsis-risk"} 25
# HELP modelops_github_rate_limit_remaining Requests left in the current GitHub rate-limit window, by resource (core, graphql, ...).
# TYPE modelops_github_rate_limit_remaining gauge
modelops_github_rate_limit_remaining{resource="core"} 4971
# HELP modelops_last_success_timestamp_seconds Unix time the last reconcile cycle completed without error.
# TYPE modelops_last_success_timestamp_seconds gauge
modelops_last_success_timestamp_seconds 1.7672256005e+09
# HELP modelops_errors_total Errors, by reason (the condition reason, or CycleFailed).
# TYPE modelops_errors_total counter
modelops_errors_total{reason="DriftCheckFailed"} 2
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want),
		"modelops_drift_share", "modelops_canary_weight", "modelops_github_rate_limit_remaining",
		"modelops_last_success_timestamp_seconds", "modelops_errors_total"); err != nil {
		t.Error(err)
	}
}

func TestObserveCycleCountsActionsByKindAndOutcome(t *testing.T) {
	m := NewMetrics()
	start := time.Unix(1767225600, 0)
	res := &reconciler.CycleResult{Actions: []reconciler.ActionResult{
		{Action: reconciler.Action{Kind: reconciler.ActionCheckDrift}},
		{Action: reconciler.Action{Kind: reconciler.ActionCheckDrift}, Error: "read data/current.parquet: no such file"},
		{Action: reconciler.Action{Kind: reconciler.ActionProposeRetrain}, Skipped: true},
		{Action: reconciler.Action{Kind: reconciler.ActionCheckDrift}},
	}}
	m.ObserveCycle(start, start.Add(1500*time.Millisecond), res, nil)
	m.ObserveCycle(start.Add(time.Minute), start.Add(time.Minute+3*time.Second), nil, errors.New("sync: fetch failed"))

	for _, tc := range []struct {
		kind    reconciler.ActionKind
		outcome string
		want    float64
	}{
		{reconciler.ActionCheckDrift, OutcomeSucceeded, 2},
		{reconciler.ActionCheckDrift, OutcomeFailed, 1},
		{reconciler.ActionProposeRetrain, OutcomeSkipped, 1},
		{reconciler.ActionProposeRetrain, OutcomeSucceeded, 0},
	} {
		if got := testutil.ToFloat64(m.actions.WithLabelValues(string(tc.kind), tc.outcome)); got != tc.want {
			t.Errorf("actions{%s,%s} = %g, want %g", tc.kind, tc.outcome, got, tc.want)
		}
	}
	if got := testutil.ToFloat64(m.errors.WithLabelValues(ReasonCycleFailed)); got != 1 {
		t.Errorf("errors{CycleFailed} = %g, want 1", got)
	}
	// Only the successful cycle sets the time of success.
	if got := testutil.ToFloat64(m.lastSuccess); got != float64(start.Add(1500*time.Millisecond).Unix())+0.5 {
		t.Errorf("last success = %f", got)
	}
	want := `
# HELP modelops_reconcile_duration_seconds Duration of reconcile cycles.
# TYPE modelops_reconcile_duration_seconds histogram
modelops_reconcile_duration_seconds_bucket{le="0.01"} 0
modelops_reconcile_duration_seconds_bucket{le="0.05"} 0
modelops_reconcile_duration_seconds_bucket{le="0.1"} 0
modelops_reconcile_duration_seconds_bucket{le="0.25"} 0
modelops_reconcile_duration_seconds_bucket{le="0.5"} 0
modelops_reconcile_duration_seconds_bucket{le="1"} 0
modelops_reconcile_duration_seconds_bucket{le="2.5"} 1
modelops_reconcile_duration_seconds_bucket{le="5"} 2
modelops_reconcile_duration_seconds_bucket{le="10"} 2
modelops_reconcile_duration_seconds_bucket{le="30"} 2
modelops_reconcile_duration_seconds_bucket{le="60"} 2
modelops_reconcile_duration_seconds_bucket{le="120"} 2
modelops_reconcile_duration_seconds_bucket{le="300"} 2
modelops_reconcile_duration_seconds_bucket{le="+Inf"} 2
modelops_reconcile_duration_seconds_sum 4.5
modelops_reconcile_duration_seconds_count 2
`
	if err := testutil.CollectAndCompare(m.reconcileDuration, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

func TestMetricsEndpointServesTheRegistry(t *testing.T) {
	m := NewMetrics()
	m.SetCanaryWeight("sepsis-risk", 10)
	m.CountAction(reconciler.ActionLaunchTraining, OutcomeSucceeded)
	m.ObserveReconcile(200 * time.Millisecond)
	s, err := New(WithMetrics(m))
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, s)
	r := c.do("GET", "/metrics", "")
	if r.status != http.StatusOK {
		t.Fatalf("metrics: %d", r.status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(r.body))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total", "modelops_reconcile_duration_seconds",
		"modelops_actions_total", "modelops_canary_weight", "modelops_last_success_timestamp_seconds"} {
		if families[name] == nil {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	if f := families["modelops_canary_weight"]; f != nil {
		got := f.GetMetric()[0]
		if got.GetGauge().GetValue() != 10 || got.GetLabel()[0].GetValue() != "sepsis-risk" {
			t.Errorf("canary weight scraped as %v", got)
		}
	}
	if f := families["modelops_actions_total"]; f != nil {
		if v := f.GetMetric()[0].GetCounter().GetValue(); v != 1 {
			t.Errorf("actions_total scraped as %g", v)
		}
	}
	if f := families["modelops_reconcile_duration_seconds"]; f != nil {
		if h := f.GetMetric()[0].GetHistogram(); h.GetSampleCount() != 1 || h.GetSampleSum() != 0.2 {
			t.Errorf("duration histogram scraped as count %d sum %g", h.GetSampleCount(), h.GetSampleSum())
		}
	}
}

func TestModelConditionsThresholdAndTrainingFailures(t *testing.T) {
	m := NewMetrics()
	m.SetModelConditions("sepsis-risk", []reconciler.Condition{
		{Type: reconciler.ConditionReady, Status: reconciler.ConditionFalse, Reason: reconciler.DriftCheckFailedReason},
		{Type: reconciler.ConditionStalled, Status: reconciler.ConditionFalse, Reason: reconciler.ReconciledReason},
	})
	// The reason changes: the series of the former reason goes, so Ready is reported once.
	m.SetModelConditions("sepsis-risk", []reconciler.Condition{
		{Type: reconciler.ConditionReady, Status: reconciler.ConditionFalse, Reason: reconciler.TrainingFailedReason},
		{Type: reconciler.ConditionStalled, Status: reconciler.ConditionTrue, Reason: reconciler.InvalidPolicyReason},
	})
	m.SetModelConditions("readmission-30d", []reconciler.Condition{
		{Type: reconciler.ConditionReady, Status: reconciler.ConditionTrue, Reason: reconciler.ReconciledReason},
		{Type: reconciler.ConditionReconciling, Status: reconciler.ConditionUnknown, Reason: reconciler.ProgressingReason},
	})
	m.SetDriftShareThreshold("sepsis-risk", 0.5)
	m.SetDriftShareThreshold("readmission-30d", 0.3)
	m.CountTrainingFailures("sepsis-risk", 0)
	m.CountTrainingFailures("sepsis-risk", 2)
	m.CountTrainingFailures("readmission-30d", 0)
	m.ForgetModel("readmission-30d")
	m.CountTrainingFailures("ward-occupancy", 0)

	want := `
# HELP modelops_model_condition 1 when the model's condition of type (Ready, Reconciling, Stalled) is True, 0 when False or Unknown; reason is the condition's.
# TYPE modelops_model_condition gauge
modelops_model_condition{model="sepsis-risk",reason="InvalidPolicy",type="Stalled"} 1
modelops_model_condition{model="sepsis-risk",reason="TrainingFailed",type="Ready"} 0
# HELP modelops_drift_share_threshold Share of drifted columns (0..1) at and above which the model's dataset drifts (spec.drift.datasetShare).
# TYPE modelops_drift_share_threshold gauge
modelops_drift_share_threshold{model="sepsis-risk"} 0.5
# HELP modelops_training_failures_total Training runs seen failing, by model.
# TYPE modelops_training_failures_total counter
modelops_training_failures_total{model="sepsis-risk"} 2
modelops_training_failures_total{model="ward-occupancy"} 0
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want),
		"modelops_model_condition", "modelops_drift_share_threshold", "modelops_training_failures_total"); err != nil {
		t.Error(err)
	}
}

func TestRollbackSeriesExistBeforeTheFirstRollback(t *testing.T) {
	m := NewMetrics()
	for _, outcome := range []string{OutcomeSucceeded, OutcomeFailed} {
		if n := testutil.CollectAndCount(m.actions, "modelops_actions_total"); n != 2 {
			t.Fatalf("%d actions series before any cycle, want the 2 of rollback", n)
		}
		if got := testutil.ToFloat64(m.actions.WithLabelValues(string(reconciler.ActionRollback), outcome)); got != 0 {
			t.Errorf("rollback %s = %g, want 0", outcome, got)
		}
	}
}
