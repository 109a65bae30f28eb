package main

import (
	"context"
	"strings"
	"testing"
	"time"

	runnerkfp "github.com/medimind/modelops/internal/runner/kfp"
	runnerlocal "github.com/medimind/modelops/internal/runner/local"
	"github.com/medimind/modelops/internal/testutil/kfpfake"
	"github.com/medimind/modelops/policies"
	"github.com/medimind/modelops/reconciler"
)

func TestPipelineRunnerSendsPipelinesToKubeflow(t *testing.T) {
	ctx := context.Background()
	fake := kfpfake.New(t)
	fake.Token = "kfp-token"
	t.Setenv(kfpTokenEnv, "kfp-token")
	local, err := runnerlocal.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	req := reconciler.JobRequest{Model: "sepsis-risk", Generation: 2, Commit: "89abcdef0123456789abcdef0123456789abcdef", PolicyFile: "models/sepsis.yaml",
		Pipeline: &policies.PipelineSpec{PipelineID: "p1", VersionID: "v1", Timeout: policies.Duration{Duration: time.Hour}}}

	r := newPipelineRunner(local)
	r.UseRepositoryConfig(policies.DefaultRepositoryConfig())
	if _, err := r.Start(ctx, req); err == nil || !strings.Contains(err.Error(), "set spec.kubeflow.host in .modelops.yaml") {
		t.Fatalf("without an endpoint: %v", err)
	}

	cfg := policies.DefaultRepositoryConfig()
	cfg.Spec.Kubeflow = &policies.KubeflowConfig{Host: fake.URL}
	r.UseRepositoryConfig(cfg)
	run, err := r.Start(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if runs := fake.Runs(); len(runs) != 1 || runs[0].RunID != run.ID {
		t.Fatalf("KFP runs %+v, started %+v", runs, run)
	}

	// A restarted reconciler: a new dispatcher finds the run in Kubeflow, not in the local
	// runner, and cancelling it terminates it there.
	again := newPipelineRunner(local)
	again.UseRepositoryConfig(cfg)
	got, err := again.Get(ctx, "sepsis-risk", 2)
	if err != nil || got.ID != run.ID {
		t.Fatalf("Get after a restart = %+v, %v", got, err)
	}
	if err := again.Cancel(ctx, "sepsis-risk", 2); err != nil {
		t.Fatal(err)
	}
	if st := fake.Runs()[0].State; st != runnerkfp.StateCanceling {
		t.Errorf("KFP state after cancel = %s, want CANCELING", st)
	}
}
