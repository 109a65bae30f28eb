//go:build !lite

package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

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

// Status lists every model at the tip, those with an invalid policy too.
func (b apiBackend) Status(ctx context.Context) ([]server.ModelStatus, error) {
	snap, err := b.s.reconciler.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	var out []server.ModelStatus
	seen := map[string]bool{}
	for _, p := range snap.Policies.Policies {
		name := p.Metadata.Name
		seen[name] = true
		ms := snap.Status.Model(name)
		m := server.ModelStatus{
			Model: name, File: p.File, Suspended: p.Spec.Suspend,
			Conditions: ms.Conditions, Proposals: []reconciler.Proposal{},
		}
		if m.Conditions == nil {
			m.Conditions = []reconciler.Condition{}
		}
		if v := p.Spec.Production; v != nil {
			m.Production = &server.Version{Version: v.Version, URI: v.URI}
		}
		if t, ok := reconciler.DesiredTraffic(p); ok && t.Canary != "" {
			m.Canary, m.CanaryWeight = &server.Version{Version: t.Canary, URI: t.CanaryURI}, t.Weight
		}
		if d, ok := ms.LastDrift(); ok {
			m.LastDrift = &d
		}
		for _, prop := range snap.Proposals {
			if prop.Model == name && prop.State == reconciler.ProposalOpen {
				m.Proposals = append(m.Proposals, prop)
			}
		}
		out = append(out, m)
	}
	// Models whose policy is invalid are Stalled with the errors as the message.
	for name, ms := range snap.Status.Models {
		if seen[name] {
			continue
		}
		for _, c := range ms.Conditions {
			if c.Type == reconciler.ConditionStalled && c.Status == reconciler.ConditionTrue && c.Reason == reconciler.InvalidPolicyReason {
				out = append(out, server.ModelStatus{Model: name, Conditions: ms.Conditions, Proposals: []reconciler.Proposal{},
					Errors: strings.Split(c.Message, "; ")})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Model < out[j].Model })
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
		return reconciler.Proposal{}, err
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
		return reconciler.Proposal{}, err
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
	}
	return err
}
