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
