// Package kfp runs training as Kubeflow Pipelines (v2) runs through the v2beta1 REST API,
// behind the same reconciler.Runner contract as the local and Kubernetes runners.
//
// Endpoints used (Host + path; Bearer token on every request):
//
//	GET  /apis/v2beta1/runs?namespace=&experiment_id=&filter=&page_token=  find a run by name
//	POST /apis/v2beta1/runs?experiment_id=                                  create a run
//	GET  /apis/v2beta1/runs/{run_id}                                        poll a run
//	POST /apis/v2beta1/runs/{run_id}:terminate                              timeout, cancel
//
// Launch is create-if-absent: a run's display name is DisplayName(model, generation,
// commit), and Start first lists the runs of that name in the experiment, so a reconciler
// that crashed between creating a run and recording it finds the run instead of making a
// second. A run found by name must carry the parameters modelops_model and
// modelops_generation of the same (model, generation), which modelops adds to every run.
//
// KFP has no watch API: Get polls GET /runs/{id}, at most once per poll interval per run,
// the interval doubling (up to a bound) while the state does not change, and never again
// once the run is terminal. PENDING, RUNNING, PAUSED and CANCELING are running;
// SUCCEEDED succeeded; FAILED, CANCELED and SKIPPED failed, with the run's error and the
// failing task of run_details. A run still running past its timeout is terminated and
// recorded failed.
//
// The result: the v2beta1 API does not expose a task's output parameters (run_details
// gives each task's state, error and the ML Metadata IDs of its artifacts, no values), so a
// pipeline output parameter named modelops_result cannot be read through it. A succeeded
// run's result comes from a ResultReader (cmd/modelops wires the MLflow Model Registry: a
// READY version tagged with the run's model and generation), or, without one, the run is
// recorded succeeded without a result and the pipeline registers its candidate itself with
// POST /api/v1/models/{model}/candidates (examples/kubeflow/README.md gives the contract).
package kfp
