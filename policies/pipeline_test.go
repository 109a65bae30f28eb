package policies

import (
	"strings"
	"testing"
	"time"
)

const pipelinePolicyHead = `apiVersion: modelops.medimind.io/v1alpha1
kind: ModelPolicy
metadata:
  name: sepsis-risk
spec:
  retrain:
    generation: 3
`

func TestParsePipelinePolicy(t *testing.T) {
	src := pipelinePolicyHead + `    pipeline:
      pipelineID: 4f1c
      versionID: 9a2b
      experimentID: e-1
      serviceAccount: trainer
      pipelineRoot: gs://bucket/root
      parameters:
        learning_rate: 0.01
        epochs: 5
`
	ps, err := Parse("models/sepsis.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	pl := ps[0].Spec.Retrain.Pipeline
	if pl == nil || pl.PipelineID != "4f1c" || pl.VersionID != "9a2b" || pl.ExperimentID != "e-1" || pl.ServiceAccount != "trainer" || pl.PipelineRoot != "gs://bucket/root" {
		t.Fatalf("pipeline = %+v", pl)
	}
	if pl.Parameters["learning_rate"] != 0.01 || pl.Parameters["epochs"] != 5 {
		t.Errorf("parameters = %#v", pl.Parameters)
	}
	if pl.Timeout.Duration != 12*time.Hour {
		t.Errorf("timeout = %s, want the default 12h", pl.Timeout)
	}
	if ps[0].Spec.Retrain.Job != nil {
		t.Errorf("job = %+v, want none", ps[0].Spec.Retrain.Job)
	}
}

func TestParsePipelinePolicyReportsProblemsAtTheirLine(t *testing.T) {
	tests := []struct {
		name, body string
		want       []string
	}{
		{"job and pipeline both set", `    job:
      command: [train]
    pipeline:
      pipelineID: p
      versionID: v
`, []string{"models/sepsis.yaml:6:3: spec.retrain: must set exactly one of job or pipeline, got both"}},
		{"ids missing, a reserved parameter, a bad account", `    pipeline:
      parameters:
        modelops_generation: 9
      serviceAccount: modelops
      timeout: -1h
`, []string{
			"models/sepsis.yaml:8:5: spec.retrain.pipeline: must set exactly one of pipelineID, pipelineName (an uploaded pipeline) or spec (a compiled pipeline in the repository), got 0",
			`models/sepsis.yaml:10:30: spec.retrain.pipeline.parameters.modelops_generation: modelops_* parameters are set by modelops and cannot be overridden, got "modelops_generation"`,
			"models/sepsis.yaml:11:23: spec.retrain.pipeline.serviceAccount: must not be the reconciler's own ServiceAccount",
			"models/sepsis.yaml:12:16: spec.retrain.pipeline.timeout: must be a positive duration",
		}},
		{"an unknown pipeline field", `    pipeline:
      pipelineID: p
      versionID: v
      pipelineVersion: v
`, []string{"models/sepsis.yaml:11:7: spec.retrain.pipeline.pipelineVersion: unknown field"}},
		{"a pipeline by id and by name, caching without a spec, two experiments", `    pipeline:
      pipelineID: p
      pipelineName: sepsis-train
      versionID: latest
      cachingEnabled: false
      experimentID: e-1
      experiment: sepsis
`, []string{
			"models/sepsis.yaml:8:5: spec.retrain.pipeline: must set at most one of experimentID and experiment",
			"models/sepsis.yaml:8:5: spec.retrain.pipeline: must set exactly one of pipelineID, pipelineName (an uploaded pipeline) or spec (a compiled pipeline in the repository), got 2",
			"models/sepsis.yaml:12:23: spec.retrain.pipeline.cachingEnabled: goes with spec only",
		}},
		{"a name without a version", `    pipeline:
      pipelineName: sepsis-train
`, []string{"models/sepsis.yaml:8:5: spec.retrain.pipeline.versionID: is required: the ID of the pipeline version to run, or latest"}},
		{"an inline spec with a version, outside the repository", `    pipeline:
      spec: ../pipelines/train.yaml
      versionID: v1
`, []string{
			`models/sepsis.yaml:9:13: spec.retrain.pipeline.spec: must stay inside the repository root, got "../pipelines/train.yaml"`,
			"models/sepsis.yaml:10:18: spec.retrain.pipeline.versionID: goes with pipelineID or pipelineName, not with spec",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("models/sepsis.yaml", []byte(pipelinePolicyHead+tt.body))
			got := FieldErrors(err)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(got), len(tt.want), err)
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(got[i].Error(), w) {
					t.Errorf("error %d = %q\nwant prefix %q", i, got[i].Error(), w)
				}
			}
		})
	}
}

func TestParsePipelineByNameAndInlineSpec(t *testing.T) {
	ps, err := Parse("models/sepsis.yaml", []byte(pipelinePolicyHead+`    pipeline:
      pipelineName: sepsis-train
      versionID: latest
      experiment: sepsis
`))
	if err != nil {
		t.Fatal(err)
	}
	if pl := ps[0].Spec.Retrain.Pipeline; pl.PipelineName != "sepsis-train" || pl.VersionID != "latest" || pl.Experiment != "sepsis" {
		t.Fatalf("pipeline = %+v", pl)
	}
	ps, err = Parse("models/sepsis.yaml", []byte(pipelinePolicyHead+`    pipeline:
      spec: pipelines/sepsis-train.yaml
      cachingEnabled: false
`))
	if err != nil {
		t.Fatal(err)
	}
	if pl := ps[0].Spec.Retrain.Pipeline; pl.Spec != "pipelines/sepsis-train.yaml" || pl.CachingEnabled == nil || *pl.CachingEnabled {
		t.Fatalf("pipeline = %+v", pl)
	}
}

func TestRepositoryConfigKubeflow(t *testing.T) {
	head := "apiVersion: modelops.medimind.io/v1alpha1\nkind: RepositoryConfig\nspec:\n  kubeflow:\n"
	c, err := ParseRepositoryConfig(".modelops.yaml", []byte(head+"    host: https://kfp.example/pipeline\n    namespace: ml-team\n"))
	if err != nil {
		t.Fatal(err)
	}
	if k := c.Spec.Kubeflow; k == nil || k.Host != "https://kfp.example/pipeline" || k.Namespace != "ml-team" {
		t.Fatalf("kubeflow = %+v", c.Spec.Kubeflow)
	}
	_, err = ParseRepositoryConfig(".modelops.yaml", []byte(head+"    host: https://user:pw@kfp.example\n    namespace: ML\n"))
	got := FieldErrors(err)
	want := []string{".modelops.yaml:5:11: spec.kubeflow.host: must be an http(s) URL without credentials", ".modelops.yaml:6:16: spec.kubeflow.namespace: must be a Kubernetes namespace name"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %d errors", err, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(got[i].Error(), w) {
			t.Errorf("error %d = %q\nwant prefix %q", i, got[i].Error(), w)
		}
	}
	if strings.Contains(err.Error(), "pw@") {
		t.Errorf("the error quotes the credentials: %v", err)
	}
}
