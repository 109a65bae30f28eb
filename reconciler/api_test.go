package reconciler

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func (h *harness) apiReconciler(t *testing.T) *Reconciler {
	t.Helper()
	r, err := New(Deps{Repo: h.repo, Proposals: h.proposals, Runner: h.runner, Drift: h.drift, Metrics: &fakeMetrics{auc: 0.85}, Status: h.status},
		WithClock(func() time.Time { return h.now }), WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRegisterCandidateJudgesOnceAndProposesAPassingOne(t *testing.T) {
	h := newHarness(6)
	h.drift.drifted = false
	ctx := context.Background()
	h.apiReconciler(t).Cycle(ctx) // production AUC 0.85 is observed

	good := RunResult{Version: "13", URI: "models:/sepsis-risk/13", Metrics: goodCandidate()} // AUC 0.90: +0.05
	v, prop, err := h.apiReconciler(t).RegisterCandidate(ctx, "sepsis-risk", good)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Passed || v.Version != "13" || v.ProductionVersion != "12" || prop == nil || prop.Key != "version-13" {
		t.Fatalf("verdict %+v, proposal %+v; want a pass proposed as version-13", v, prop)
	}
	req := h.proposals.reqs["sepsis-risk/promote"]
	if !strings.Contains(req.Body, "registered through the API") || !strings.Contains(req.Trailers["Modelops-Evidence"], "candidate 13 registered") || len(req.Edits) != 1 {
		t.Errorf("promotion request = %+v", req)
	}
	// The same candidate again: the recorded verdict, nothing proposed again.
	v2, prop2, err := h.apiReconciler(t).RegisterCandidate(ctx, "sepsis-risk", good)
	if err != nil || !v2.Passed || !v2.JudgedAt.Equal(v.JudgedAt) || prop2 == nil || h.proposals.opened != 1 || h.proposals.updated != 0 {
		t.Fatalf("again: %+v %+v %v; opened %d updated %d", v2, prop2, err, h.proposals.opened, h.proposals.updated)
	}
	// The same version with other figures is a conflict.
	other := good
	other.Metrics.AUC = f64(0.95)
	if _, _, err := h.apiReconciler(t).RegisterCandidate(ctx, "sepsis-risk", other); !errors.Is(err, ErrCandidateConflict) {
		t.Fatalf("other figures: %v, want ErrCandidateConflict", err)
	}
	// A failing candidate is recorded with its reasons, and proposes nothing.
	bad := RunResult{Version: "14", URI: "models:/sepsis-risk/14", Metrics: goodCandidate()}
	bad.Metrics.Samples = 500
	v3, prop3, err := h.apiReconciler(t).RegisterCandidate(ctx, "sepsis-risk", bad)
	if err != nil || v3.Passed || prop3 != nil || strings.Join(v3.Failed(), ",") != "samples" {
		t.Fatalf("failing candidate: %+v %+v %v", v3, prop3, err)
	}
	st, _ := h.status.Load(ctx)
	if got := st.Models["sepsis-risk"].Candidates; len(got) != 2 || got[1].Verdict.Passed {
		t.Fatalf("recorded candidates = %+v", got)
	}
	// A cycle afterwards does not judge or close anything about them.
	res, err := h.apiReconciler(t).Cycle(ctx)
	if err != nil || len(res.Actions) != 0 {
		t.Fatalf("cycle after registering: %v %v", actionKinds(res), err)
	}
}

func TestOnDemandOperationsNameUnknownAndInvalidModels(t *testing.T) {
	h := newHarness(6)
	ctx := context.Background()
	r := h.apiReconciler(t)
	if _, err := r.CheckDrift(ctx, "nope"); !errors.Is(err, ErrUnknownModel) {
		t.Errorf("unknown model: %v", err)
	}
	var ipe *InvalidPolicyError
	if _, _, err := r.RegisterCandidate(ctx, "broken", RunResult{Version: "2"}); !errors.As(err, &ipe) || ipe.Model != "broken" ||
		len(ipe.Errors) == 0 || !strings.HasPrefix(ipe.Errors[0], "models/broken.yaml:5:") {
		t.Errorf("invalid policy: %v", err)
	}
	// A drift check on request is recorded as a scheduled one: the next cycle does not repeat it.
	res, err := r.CheckDrift(ctx, "sepsis-risk")
	if err != nil || !res.Drifted || h.drift.checks != 1 {
		t.Fatalf("check drift: %+v %v (checks %d)", res, err, h.drift.checks)
	}
	st, _ := h.status.Load(ctx)
	if d := st.Models["sepsis-risk"].Drift; len(d) != 1 || !strings.HasPrefix(d[0].Report, "reports/sepsis-risk/drift-") || h.status.files[d[0].Report] == nil {
		t.Fatalf("drift history after the check = %+v", d)
	}
	cyc, err := h.apiReconciler(t).Cycle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range cyc.Actions {
		if a.Action.Kind == ActionCheckDrift {
			t.Fatalf("the cycle repeated the drift check made on request")
		}
	}
}
