//go:build !lite

package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/medimind/modelops/internal/git"
	"github.com/medimind/modelops/internal/server"
	"github.com/medimind/modelops/reconciler"
)

// apiBackend serves the HTTP API from the reconcile stack. Every operation goes through the
// reconciler, which serialises it with the cycles.
type apiBackend struct {
	s         *stack
	proposals reconciler.Proposals
}

var _ server.Backend = apiBackend{}

// Status lists every model at the tip, those with an invalid policy too, from the same
// summaries as modelops status.
func (b apiBackend) Status(ctx context.Context) ([]server.ModelStatus, error) {
	snap, err := b.s.reconciler.Snapshot(ctx)
	if err != nil {
		return nil, apiError(err)
	}
	var out []server.ModelStatus
	for _, m := range snap.Summaries() {
		ms := server.ModelStatus{Model: m.Model, File: m.File, Suspended: m.Suspended, Conditions: m.Conditions,
			LastDrift: m.LastDrift, Proposals: m.Proposals, Errors: m.Errors}
		if t := m.Traffic; t != nil {
			ms.Production = &server.Version{Version: t.Production, URI: t.ProductionURI}
			if t.Canary != "" {
				ms.Canary, ms.CanaryWeight = &server.Version{Version: t.Canary, URI: t.CanaryURI}, t.Weight
			}
		}
		out = append(out, ms)
	}
	return out, nil
}

func (b apiBackend) CheckDrift(ctx context.Context, model string) (reconciler.DriftResult, error) {
	res, err := b.s.reconciler.CheckDrift(ctx, model)
	return res, apiError(err)
}

// Retrain records the request on the status branch and runs a cycle, which opens the retrain
// proposal (or updates the open one) as `modelops retrain` does.
func (b apiBackend) Retrain(ctx context.Context, model string, req server.RetrainRequest) (reconciler.Proposal, error) {
	snap, err := b.s.reconciler.Snapshot(ctx)
	if err != nil {
		return reconciler.Proposal{}, apiError(err)
	}
	p, err := snap.ModelPolicy(model)
	switch {
	case err != nil:
		return reconciler.Proposal{}, apiError(err)
	case p.Spec.Suspend:
		return reconciler.Proposal{}, fmt.Errorf("%w: %s is suspended", server.ErrConflict, model)
	case p.Spec.Retrain == nil:
		return reconciler.Proposal{}, fmt.Errorf("%w: %s has no spec.retrain", server.ErrInvalidInput, model)
	}
	if err := b.s.status.AddRequest(ctx, model, reconciler.ManualRequest{At: time.Now().UTC(), Reason: req.Reason, By: req.By}); err != nil {
		return reconciler.Proposal{}, err
	}
	res, err := b.s.reconciler.Cycle(ctx)
	if err != nil {
		return reconciler.Proposal{}, apiError(err)
	}
	for _, a := range res.Actions {
		if a.Action.Model == model && a.Action.Kind == reconciler.ActionProposeRetrain && a.Error != "" {
			return reconciler.Proposal{}, fmt.Errorf("open the retrain proposal of %s: %s", model, a.Error)
		}
	}
	props, err := b.proposals.List(ctx)
	if err != nil {
		return reconciler.Proposal{}, err
	}
	for _, prop := range props {
		if prop.Model == model && prop.Kind == reconciler.ProposalRetrain && prop.State == reconciler.ProposalOpen {
			return prop, nil
		}
	}
	return reconciler.Proposal{}, fmt.Errorf("%w: the request is recorded, but no retrain proposal could be opened for %s now (training may be running)", server.ErrConflict, model)
}

func (b apiBackend) RegisterCandidate(ctx context.Context, model string, c reconciler.RunResult) (server.CandidateOutcome, error) {
	v, prop, err := b.s.reconciler.RegisterCandidate(ctx, model, c)
	if err != nil {
		return server.CandidateOutcome{}, apiError(err)
	}
	return server.CandidateOutcome{Verdict: v, Proposal: prop}, nil
}

// apiError maps the reconciler's errors to the API's.
func apiError(err error) error {
	var ipe *reconciler.InvalidPolicyError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ipe):
		return &server.PolicyError{Model: ipe.Model, Errors: ipe.Errors}
	case errors.Is(err, reconciler.ErrUnknownModel):
		return fmt.Errorf("%w: %v", server.ErrUnknownModel, err)
	case errors.Is(err, reconciler.ErrCandidateConflict), errors.Is(err, reconciler.ErrSuspended):
		return fmt.Errorf("%w: %v", server.ErrConflict, err)
	case errors.Is(err, git.ErrUnreachable):
		// An outage of the remote, not a fault of the reconciler: 503, try again later.
		return fmt.Errorf("%w: %v", server.ErrUnavailable, err)
	}
	return err
}
