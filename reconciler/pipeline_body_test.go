package reconciler

import (
	"strings"
	"testing"
	"time"

	"github.com/medimind/modelops/policies"
)

// TestRetrainBodyNamesThePipeline: a retrain proposal of a policy that trains on Kubeflow
// Pipelines says which pipeline version will run.
func TestRetrainBodyNamesThePipeline(t *testing.T) {
	p := &policies.Policy{File: "models/sepsis.yaml", ModelPolicy: policies.ModelPolicy{Spec: policies.ModelPolicySpec{
		Retrain: &policies.RetrainSpec{Generation: 2, Pipeline: &policies.PipelineSpec{PipelineID: "p-7", VersionID: "v-9", Timeout: policies.Duration{Duration: 6 * time.Hour}}},
	}}}
	a := Action{Model: "sepsis-risk", Generation: 3, Commit: "0123456789abcdef",
		Proposal: &ProposalPlan{Kind: ProposalRetrain, Key: "generation-3", Change: "spec.retrain.generation 2 → 3"}}
	body := retrainBody(a, p, "")
	if !strings.Contains(body, "| `p-7` | `v-9` | 6h0m0s |") || strings.Contains(body, "### Training job") {
		t.Errorf("body:\n%s", body)
	}
}

// TestRetrainBodyNamesAPipelineByNameOrSpec: a pipeline given by name with latest, or as a
// compiled spec in the repository, is named as the policy names it.
func TestRetrainBodyNamesAPipelineByNameOrSpec(t *testing.T) {
	for _, tc := range []struct {
		pl   policies.PipelineSpec
		want string
	}{
		{policies.PipelineSpec{PipelineName: "sepsis-train", VersionID: "latest"}, "| `sepsis-train` (by name) | the latest, resolved at launch |"},
		{policies.PipelineSpec{Spec: "pipelines/train.yaml"}, "| `pipelines/train.yaml` (compiled, submitted inline) | as merged |"},
	} {
		pl := tc.pl
		p := &policies.Policy{File: "models/sepsis.yaml", ModelPolicy: policies.ModelPolicy{Spec: policies.ModelPolicySpec{
			Retrain: &policies.RetrainSpec{Generation: 2, Pipeline: &pl},
		}}}
		a := Action{Model: "sepsis-risk", Generation: 3, Commit: "0123456789abcdef",
			Proposal: &ProposalPlan{Kind: ProposalRetrain, Key: "generation-3", Change: "spec.retrain.generation 2 → 3"}}
		if body := retrainBody(a, p, ""); !strings.Contains(body, tc.want) {
			t.Errorf("body lacks %q:\n%s", tc.want, body)
		}
	}
}
