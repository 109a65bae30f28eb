//go:build !lite

package main

import (
	"os"

	"github.com/medimind/modelops/internal/metrics/prometheus"
	"github.com/medimind/modelops/policies"
	"github.com/medimind/modelops/reconciler"
)

// newPrometheusSource returns the one Prometheus source that serves every policy: each query
// names its own server.
func newPrometheusSource() (reconciler.Metrics, error) {
	var popts []prometheus.Option
	if os.Getenv("MODELOPS_PROMETHEUS_TOKEN") != "" {
		popts = append(popts, prometheus.WithBearerTokenEnv("MODELOPS_PROMETHEUS_TOKEN"))
	}
	return prometheus.New(policies.PrometheusSpec{}, popts...)
}
