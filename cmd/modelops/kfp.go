package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"

	runnerkfp "github.com/medimind/modelops/internal/runner/kfp"
	"github.com/medimind/modelops/policies"
	"github.com/medimind/modelops/reconciler"
)

// kfpTokenEnv holds the Bearer token for the Kubeflow Pipelines API (or, with _FILE, the
// path of a file holding it, read for each request so a projected token can rotate).
const kfpTokenEnv = "MODELOPS_KFP_TOKEN"

// kfpServiceAccountTokenPath is where a pod finds the projected ServiceAccount token (audience
// pipelines.kubeflow.org) that the KFP multi-user API accepts, as the KFP SDK reads it; used
// when MODELOPS_KFP_TOKEN[_FILE] is not set.
var kfpServiceAccountTokenPath = "/var/run/secrets/kubeflow/pipelines/token"

// kfpToken reads the token for each request: a projected token rotates.
func kfpToken() (string, error) {
	tok, err := secretFrom("", kfpTokenEnv)
	if err != nil || tok != "" {
		return tok, err
	}
	b, err := os.ReadFile(kfpServiceAccountTokenPath)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the Kubeflow ServiceAccount token: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// pipelineRunner sends the training of policies with spec.retrain.pipeline to Kubeflow
// Pipelines, on the endpoint of the repository configuration's spec.kubeflow, and every
// other job to the runner the flags chose (local processes or Kubernetes Jobs).
type pipelineRunner struct {
	jobs reconciler.Runner
	// newKFP builds the runner of an endpoint (tests replace it).
	newKFP func(cfg *policies.KubeflowConfig) (*runnerkfp.Runner, error)

	mu  sync.Mutex
	kfp *runnerkfp.Runner // the runner of the configured endpoint, nil without one
}

var (
	_ reconciler.Runner               = (*pipelineRunner)(nil)
	_ reconciler.RepositoryConfigured = (*pipelineRunner)(nil)
)

func newPipelineRunner(jobs reconciler.Runner) *pipelineRunner {
	return &pipelineRunner{jobs: jobs, newKFP: func(cfg *policies.KubeflowConfig) (*runnerkfp.Runner, error) {
		return runnerkfp.New(runnerkfp.Config{Host: cfg.Host, Namespace: cfg.Namespace,
			Token: kfpToken})
	}}
}

// UseRepositoryConfig keeps the runner of the configured Kubeflow endpoint, building a new
// one (with nothing remembered) when the endpoint changes.
func (p *pipelineRunner) UseRepositoryConfig(cfg *policies.RepositoryConfig) {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := cfg.Spec.Kubeflow
	if k == nil {
		p.kfp = nil
		return
	}
	if p.kfp != nil && p.kfp.Host() == k.Host && p.kfp.Namespace() == k.Namespace {
		return
	}
	r, err := p.newKFP(k)
	if err != nil {
		p.kfp = nil // validated config: not reached; Start then says no endpoint is configured
		return
	}
	p.kfp = r
}

func (p *pipelineRunner) pipelines() *runnerkfp.Runner {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.kfp
}

func (p *pipelineRunner) Start(ctx context.Context, req reconciler.JobRequest) (reconciler.TrainingRun, error) {
	if req.Pipeline == nil {
		return p.jobs.Start(ctx, req)
	}
	k := p.pipelines()
	if k == nil {
		return reconciler.TrainingRun{}, fmt.Errorf("%s: spec.retrain.pipeline needs a Kubeflow Pipelines endpoint: set spec.kubeflow.host in %s",
			req.PolicyFile, policies.RepositoryConfigFile)
	}
	return k.Start(ctx, req)
}

// Get asks the job runner, then Kubeflow: a (model, generation) has its run in one of them.
func (p *pipelineRunner) Get(ctx context.Context, model string, generation int64) (reconciler.TrainingRun, error) {
	run, err := p.jobs.Get(ctx, model, generation)
	k := p.pipelines()
	if !errors.Is(err, reconciler.ErrRunNotFound) || k == nil {
		return run, err
	}
	return k.Get(ctx, model, generation)
}

func (p *pipelineRunner) Cancel(ctx context.Context, model string, generation int64) error {
	if err := p.jobs.Cancel(ctx, model, generation); err != nil {
		return err
	}
	if k := p.pipelines(); k != nil {
		return k.Cancel(ctx, model, generation)
	}
	return nil
}
