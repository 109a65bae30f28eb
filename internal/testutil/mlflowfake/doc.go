// Package mlflowfake is an in-process, stateful fake of the MLflow tracking server's model
// registry and runs, for tests of internal/registry/mlflow and of what uses it. No MLflow
// server can run in this project's tests, so the fake is held to modelops' own contract
// description (openapi.yaml, written from MLflow's model_registry.proto and service.proto):
//
//   - every request is routed and validated with kin-openapi: a path or method outside the
//     contract, a missing or mistyped parameter, a field the contract does not know, a body
//     on a GET or an undeclared query parameter fails the test (tb.Errorf) and is answered
//     400 INVALID_PARAMETER_VALUE, or 404 ENDPOINT_NOT_FOUND for an unknown route;
//   - every answer, errors and injected faults included, is validated against the contract
//     before it is sent, so the fake cannot drift from it either.
//
// MLflow's behaviour it keeps: versions numbered from 1 per registered model and sent as
// strings; an alias is unique within its registered model, a set moves it, and a version
// lists the aliases pointing at it; a new version is PENDING_REGISTRATION and turns READY
// after WithReadyAfter on the injected clock (or never, or FAILED_REGISTRATION, as the test
// asks); deleting a version deletes its aliases; deleting an absent alias is a no-op;
// "latest" and "v<N>" are refused as alias names; model-versions/search takes conditions
// joined by AND (OR is refused) and pages with an opaque page_token; errors are
// {"error_code", "message"} with RESOURCE_DOES_NOT_EXIST 404, RESOURCE_ALREADY_EXISTS and
// INVALID_PARAMETER_VALUE 400, UNAUTHENTICATED 401, PERMISSION_DENIED 403.
//
// Faults (Inject) answer matching requests with 500, 503, 429 with Retry-After or 401, or
// delay them; a version created with NeverReady stays PENDING_REGISTRATION.
package mlflowfake
