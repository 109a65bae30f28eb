package reconciler

import (
	"testing"

	"github.com/medimind/modelops/policies"
)

func TestSummariesShowEachModelAtAGlance(t *testing.T) {
	weight := 25
	p := policy("sepsis", func(s *policies.ModelPolicySpec) {
		s.Retrain.Generation = 8
		s.Canary = &policies.Canary{Version: "13", URI: "models:/sepsis/13", Weight: &weight}
	})
	st := NewStatus()
	ms := st.Model("sepsis")
	*ms = trained(8, "14", goodCandidate())
	ms.Model = "sepsis"
	ms.Conditions = []Condition{{Type: ConditionReady, Status: ConditionTrue, Reason: ReconciledReason}}
	st.Model("broken").Conditions = []Condition{{Type: ConditionStalled, Status: ConditionTrue, Reason: InvalidPolicyReason, Message: "a: bad; b: worse"}}
	st.Model("gone") // a model no policy defines any more, and not invalid: not listed
	snap := &Snapshot{Commit: "c0ffee", Policies: &policies.Set{Policies: []*policies.Policy{p}}, Status: st,
		Proposals: []Proposal{
			{Model: "sepsis", Kind: ProposalPromote, State: ProposalOpen, Key: "version-14", URL: "https://forge/pull/3"},
			{Model: "sepsis", Kind: ProposalRetrain, State: ProposalDeclined, Key: "generation-9"},
		}}

	got := snap.Summaries()
	if len(got) != 2 || got[0].Model != "broken" || got[1].Model != "sepsis" {
		t.Fatalf("summaries %+v, want broken and sepsis", got)
	}
	if b := got[0]; len(b.Errors) != 2 || b.Errors[1] != "b: worse" {
		t.Errorf("broken errors = %q", b.Errors)
	}
	s := got[1]
	if s.Traffic == nil || s.Traffic.Production != "12" || s.Traffic.Canary != "13" || s.Traffic.Weight != 25 || s.CanaryStep != 2 || s.CanarySteps != 4 {
		t.Errorf("traffic %+v step %d/%d, want 12 with canary 13 at 25%% (step 2/4)", s.Traffic, s.CanaryStep, s.CanarySteps)
	}
	if s.Generation != 8 || s.LaunchedGeneration != 8 || s.LastRun == nil || s.LastRun.Generation != 8 || s.LastRun.Result.Version != "14" {
		t.Errorf("generation %d launched %d last run %+v", s.Generation, s.LaunchedGeneration, s.LastRun)
	}
	if s.LastDrift == nil || len(s.Proposals) != 1 || s.Proposals[0].Where() != "https://forge/pull/3" {
		t.Errorf("last drift %+v, proposals %+v: want the drift and the one open proposal", s.LastDrift, s.Proposals)
	}
}
