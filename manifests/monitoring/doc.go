// Package monitoring holds the reconciler's monitoring for a cluster running the Prometheus
// Operator and Grafana: a ServiceMonitor, the alerts (prometheusrule.yaml, with promtool unit
// tests in alerts_test.yaml) and the Grafana dashboard (dashboard.json), deployed with
// `kubectl apply -k manifests/monitoring/`. It has no Go code: its tests check the files with
// promtool, from Debian's prometheus package, against the metrics internal/server exposes.
package monitoring
