package server

import (
	"context"

	"github.com/medimind/modelops/reconciler"
)

// Backend is what the API needs from the reconciler. Its methods are called from HTTP
// handlers, concurrently with the reconcile loop; an implementation serialises with the
// loop as it must. Errors are the package's sentinels (ErrUnknownModel, ErrInvalidPolicy
// via *PolicyError, ErrConflict, ErrInvalidInput, ErrUnavailable), wrapped or not; any other
// error is answered 500 and logged.
type Backend interface {
	// Status returns every model the tracked branch's tip defines, sorted by name, models
	// with an invalid policy included (with their validation errors).
	Status(ctx context.Context) ([]ModelStatus, error)
	// CheckDrift runs model's drift check now, records it as the scheduled check would, and
	// returns its result. ErrUnknownModel, ErrInvalidPolicy.
	CheckDrift(ctx context.Context, model string) (reconciler.DriftResult, error)
	// Retrain records a manual retrain request and opens the retrain proposal, or updates
	// the open one (idempotent: never a second proposal). ErrUnknownModel, ErrInvalidPolicy,
	// ErrConflict (the model is suspended).
	Retrain(ctx context.Context, model string, req RetrainRequest) (reconciler.Proposal, error)
	// RegisterCandidate records a trained candidate, judges it with the promotion gate and,
	// when it passes, opens the promotion proposal. Registering the same candidate twice
	// judges it once. ErrUnknownModel, ErrInvalidPolicy, ErrConflict (the version is
	// registered with other figures), ErrInvalidInput.
	RegisterCandidate(ctx context.Context, model string, c reconciler.RunResult) (CandidateOutcome, error)
}

// ModelStatus is one model as GET /api/v1/status shows it.
type ModelStatus struct {
	Model string `json:"model"`
	// File is the policy file that defines the model.
	File       string   `json:"file,omitempty"`
	Suspended  bool     `json:"suspended"`
	Production *Version `json:"production,omitempty"`
	// Canary is absent when no canary runs; CanaryWeight is then 0.
	Canary       *Version               `json:"canary,omitempty"`
	CanaryWeight int                    `json:"canaryWeight"`
	Conditions   []reconciler.Condition `json:"conditions"`
	// LastDrift is the newest drift check's summary.
	LastDrift *reconciler.DriftRecord `json:"lastDrift,omitempty"`
	// Proposals are the model's open proposals.
	Proposals []reconciler.Proposal `json:"proposals"`
	// Errors are the policy's validation errors; a model with errors is left alone.
	Errors []string `json:"errors,omitempty"`
}

// Version is a model version and where it is stored.
type Version struct {
	Version string `json:"version"`
	URI     string `json:"uri,omitempty"`
}

// RetrainRequest is the body of POST /api/v1/models/{model}/retrain.
type RetrainRequest struct {
	// Reason is required: it goes into the proposal body and the commit trailers.
	Reason string `json:"reason"`
	// By names who asked.
	By string `json:"by,omitempty"`
}

// CandidateOutcome is what registering a candidate gave: the gate's verdict and, when it
// passed and a proposal was opened or updated, the proposal.
type CandidateOutcome struct {
	Verdict  reconciler.PromotionVerdict
	Proposal *reconciler.Proposal
}
