// Package server is the reconciler's HTTP face: liveness and readiness probes, Prometheus
// metrics, a small JSON API over the reconciler, and the GitHub webhook receiver.
//
//	GET  /healthz                              alive
//	GET  /readyz                               ready (the caller's readiness function), else 503
//	GET  /metrics                              Prometheus exposition of Metrics' registry
//	GET  /api/v1/status                        every model
//	POST /api/v1/models/{model}/drift          run a drift check now
//	POST /api/v1/models/{model}/retrain        open the retrain proposal (manual trigger)
//	POST /api/v1/models/{model}/candidates     register a candidate and run the promotion gate
//	GET  /api/v1/openapi.yaml                  the OpenAPI 3 description of all of the above
//	POST /webhooks/github                      GitHub deliveries: a reconcile now
//
// The API consumes a Backend (declared here, implemented over the reconciler by the
// caller). Mutating endpoints need a bearer token; bodies are size-limited and strictly
// decoded; errors are JSON {"error": {"code", "message"}}. The webhook receiver verifies
// X-Hub-Signature-256 with go-github before it looks at anything else, drops redelivered
// deliveries, and nudges the reconcile loop without ever waiting for it.
//
// Without a token the API's endpoints answer 404 api_disabled. A request refused before
// its body is read, and a GET announcing a body, closes its connection unread, and Listen and NewHTTPServer bound the
// connections (in all and per client address) and how long each may take, so clients
// without a token cannot exhaust the process's file descriptors.
//
// Neither the API token nor the webhook secret appears in a log line or a response.
package server
