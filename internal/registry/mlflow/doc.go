// Package mlflow is modelops' client of an MLflow tracking server's Model Registry and
// runs (MLflow 2.x and 3.x, and Databricks workspaces, which serve the same REST API).
//
// # Endpoints
//
// Under /api/2.0/mlflow/, as model_registry.proto and service.proto define them; GET
// parameters in the query string, the others as JSON bodies:
//
//	GET    registered-models/get      the registered model and its aliases
//	POST   registered-models/alias    set an alias (moves it from any other version)
//	DELETE registered-models/alias    delete an alias
//	GET    registered-models/alias    the version an alias points at
//	GET    model-versions/get         a version: status, run_id, tags, aliases
//	GET    model-versions/search      versions by filter (name = 'x' AND tags.`k` = 'v'), paged by page_token
//	POST   model-versions/set-tag     tag a version (modelops.commit, modelops.archived)
//	DELETE model-versions/delete      delete a version (cleanup)
//	GET    runs/get                   a run's metrics, params, tags and dataset inputs
//
// The contract these are held to in tests is internal/testutil/mlflowfake/openapi.yaml.
//
// # Retries and errors
//
// Every call the client makes is idempotent, so 429, 5xx and network failures are retried
// with exponential backoff (Options.MaxAttempts, default 4; a 429's Retry-After is heeded).
// Other answers are *APIError, matched with errors.Is against ErrNotFound
// (RESOURCE_DOES_NOT_EXIST, 404), ErrAlreadyExists and ErrInvalidParameter (400),
// ErrPermissionDenied (403), ErrUnauthenticated (401) and ErrUnavailable.
//
// # Setting up against a real MLflow server
//
//  1. Point the repository at the server in .modelops.yaml:
//     spec.mlflow.trackingURI: https://mlflow.example (or "databricks"), or set
//     MLFLOW_TRACKING_URI.
//
//  2. Credentials come from the environment, as for MLflow's own clients, never from the
//     repository: MLFLOW_TRACKING_TOKEN (sent as a Bearer token, e.g. behind an auth proxy),
//     or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (Basic, for `mlflow server
//     --app-name basic-auth`); each may be given as a file with the _FILE suffix (a mounted
//     Kubernetes Secret). For Databricks: DATABRICKS_HOST and DATABRICKS_TOKEN (a personal
//     access token or a service principal's).
//
//  3. Permissions: with MLflow's basic-auth app, EDIT on a registered model allows setting
//     aliases and version tags, but deleting an alias or a version needs MANAGE; so give
//     the modelops user MANAGE on each registered model it reconciles, and READ on the
//     experiments of the training runs (runs/get). On Databricks, CAN MANAGE on the
//     registered models and CAN READ on the experiments.
//
//  4. Verify the credentials and the model with curl:
//
//     curl -fsS -H "Authorization: Bearer $MLFLOW_TRACKING_TOKEN" \
//     "$MLFLOW_TRACKING_URI/api/2.0/mlflow/registered-models/get?name=sepsis-risk"
//
//     (or -u "$MLFLOW_TRACKING_USERNAME:$MLFLOW_TRACKING_PASSWORD"); the answer lists the
//     aliases under registered_model.aliases. With MLflow's Python client:
//     python -c "import mlflow; print(mlflow.MlflowClient().get_model_version_by_alias('sepsis-risk', 'champion'))".
package mlflow
