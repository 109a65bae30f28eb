package reconciler

import (
	"slices"
	"sort"
	"strings"
)

// ModelSummary is one model at a glance: what the tip asks for and what was observed. It is
// the one source of GET /api/v1/status and `modelops status`.
type ModelSummary struct {
	Model string `json:"model"`
	// File is the policy file that defines the model.
	File      string `json:"file,omitempty"`
	Suspended bool   `json:"suspended"`
	// Traffic is the split the tip asks for; nil without a production version.
	Traffic *Traffic `json:"traffic,omitempty"`
	// CanaryStep is the canary weight's 1-based position in canaryAnalysis.steps (0 when no
	// canary serves, or its weight is not a step), of CanarySteps.
	CanaryStep  int `json:"canaryStep,omitempty"`
	CanarySteps int `json:"canarySteps,omitempty"`
	// Generation is spec.retrain.generation at the tip; LaunchedGeneration the last one
	// launched or adopted.
	Generation         int64                `json:"generation,omitempty"`
	LaunchedGeneration int64                `json:"launchedGeneration,omitempty"`
	Undecided          *UndecidedGeneration `json:"undecided,omitempty"`
	Conditions         []Condition          `json:"conditions"`
	LastDrift          *DriftRecord         `json:"lastDrift,omitempty"`
	// NextDrift is when the next drift check is due and why; nil without data or suspended.
	NextDrift *DriftSchedule `json:"nextDrift,omitempty"`
	// LastRun is the newest training run, with its result or failure.
	LastRun *TrainingRun `json:"lastRun,omitempty"`
	// Proposals are the model's open proposals.
	Proposals []Proposal `json:"proposals"`
	// Errors are the policy's validation errors; a model with errors is left alone.
	Errors []string `json:"errors,omitempty"`
}

// Summaries lists every model the tip defines, and those whose policy is invalid (Stalled,
// with their errors), sorted by name.
func (s *Snapshot) Summaries() []ModelSummary {
	var out []ModelSummary
	seen := map[string]bool{}
	for _, p := range s.Policies.Policies {
		name := p.Metadata.Name
		seen[name] = true
		ms := s.Status.Model(name)
		m := ModelSummary{Model: name, File: p.File, Suspended: p.Spec.Suspend, Conditions: ms.Conditions,
			LaunchedGeneration: ms.LaunchedGeneration, Undecided: ms.Undecided, Proposals: []Proposal{}}
		if t, ok := DesiredTraffic(p); ok {
			m.Traffic = &t
			if steps := p.Spec.CanaryAnalysis.Steps; t.Canary != "" {
				m.CanaryStep, m.CanarySteps = slices.Index(steps, t.Weight)+1, len(steps)
			}
		}
		if p.Spec.Retrain != nil {
			m.Generation = p.Spec.Retrain.Generation
		}
		if d, ok := ms.LastDrift(); ok {
			m.LastDrift = &d
		}
		if sched, ok := ScheduleDrift(p, ms); ok && !p.Spec.Suspend {
			m.NextDrift = &sched
		}
		if n := len(ms.Runs); n > 0 {
			run := ms.Runs[n-1]
			m.LastRun = &run
		}
		for _, prop := range s.Proposals {
			if prop.Model == name && prop.State == ProposalOpen {
				m.Proposals = append(m.Proposals, prop)
			}
		}
		out = append(out, m)
	}
	for name, ms := range s.Status.Models {
		if seen[name] {
			continue
		}
		if c, ok := findCondition(ms.Conditions, ConditionStalled); ok && c.Status == ConditionTrue && c.Reason == InvalidPolicyReason {
			out = append(out, ModelSummary{Model: name, Conditions: ms.Conditions, Proposals: []Proposal{}, Errors: strings.Split(c.Message, "; ")})
		}
	}
	for i := range out {
		if out[i].Conditions == nil {
			out[i].Conditions = []Condition{}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Model < out[j].Model })
	return out
}
