// Package prometheus reads model metrics from a Prometheus server: the production metrics
// source that stands beside the prediction log of package metrics.
//
// A policy's spec.metrics.prometheus maps metric names (auc, precision, recall,
// latencyP95, samples, coverage) to PromQL queries. Each query must answer with one value
// per model version: an instant vector whose series carry a model_version label, one
// series per version (aggregate with `by (model_version)`), or a scalar when only one
// version serves. The values land in the figures package metrics computes from a log
// (metrics.Evaluation), so the promotion gate and the canary analysis read one shape
// whatever the source: auc, precision, recall and coverage are fractions in 0..1,
// latencyP95 is in milliseconds and samples counts labelled predictions (rounded to
// an integer, as increase() may extrapolate to a fraction).
//
// Errors say which metric and query failed and why: Prometheus refused the query (the
// wrapped *v1.Error carries Prometheus's error type), answered with warnings, with
// something other than one finite value per version (ErrInvalidResult), or with nothing
// (ErrNoData). Errors worth retrying — Prometheus unreachable, overloaded or timing out —
// wrap ErrUnavailable.
package prometheus
