// Package kserve routes a model's traffic by patching its KServe InferenceService
// (serving.kserve.io/v1beta1) through the dynamic client.
//
// # KServe's canary semantics
//
// An InferenceService's predictor serves the model at spec.predictor.model.storageUri.
// KServe (v0.20.0, pkg/controller/v1beta1/inferenceservice/reconcilers/knative/
// ksvc_reconciler.go) turns spec.predictor.canaryTrafficPercent into Knative traffic
// targets: when it is set and a revision has been rolled out before, the latest ready
// revision (the one created from the current spec) gets canaryTrafficPercent percent
// and the last rolled-out revision (status.components.predictor.latestRolledoutRevision,
// the one that last took all traffic) the rest, tagged "prev". When it is unset, the latest
// ready revision takes 100 % (blue-green). Changing only canaryTrafficPercent changes the
// split, not the revisions.
//
// # Mapping of reconciler.Traffic
//
//   - No canary, or canary weight 0: storageUri is the production URI and
//     canaryTrafficPercent is removed, so the revision serving the production URI takes all
//     traffic. A rollback therefore restores the production URI.
//   - Canary at weight w (1..100): storageUri is the canary URI and canaryTrafficPercent is
//     w. The canary's revision, the latest, takes w %; the previously rolled-out revision,
//     which served the production URI, takes 100 - w %.
//
// The versions and the production URI are recorded in annotations on the
// InferenceService (modelops.medimind.io/production-version, -production-uri,
// -canary-version, -canary-uri), because the spec holds only the URI of the latest
// revision: Get answers in the reconciler's terms from them and from the spec as served,
// so an edit of storageUri or canaryTrafficPercent made by hand reads as a difference and
// is set back.
//
// Caveats: canary splitting needs KServe's Serverless (Knative) deployment mode; the raw
// deployment mode ignores canaryTrafficPercent. Knative routes "latest" to the latest
// revision that is ready, so after a rollback the canary's revision keeps the traffic
// until the production URI's new revision is ready.
//
// The router patches with a JSON merge patch that carries the resourceVersion it read, so
// a concurrent writer makes it read again instead of being overwritten. It never creates
// an InferenceService: a missing one is an error naming it (ErrNoInferenceService).
// Needed RBAC: inferenceservices get and patch in the namespace.
package kserve
