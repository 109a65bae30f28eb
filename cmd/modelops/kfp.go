package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"

	"github.com/medimind/modelops/internal/registry/mlflow"
	runnerkfp "github.com/medimind/modelops/internal/runner/kfp"
	"github.com/medimind/modelops/internal/runresult"
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
	newKFP func(cfg *policies.KubeflowConfig, trackingURI string) (*runnerkfp.Runner, error)

	mu       sync.Mutex
	kfp      *runnerkfp.Runner // the runner of the configured endpoint, nil without one
	kfpOf    policies.KubeflowConfig
	mlflowOf string
	kfpErr   error // why the configured endpoint has no runner
}

var (
	_ reconciler.Runner               = (*pipelineRunner)(nil)
	_ reconciler.RepositoryConfigured = (*pipelineRunner)(nil)
)

func newPipelineRunner(jobs reconciler.Runner) *pipelineRunner {
	return &pipelineRunner{jobs: jobs, newKFP: func(cfg *policies.KubeflowConfig, trackingURI string) (*runnerkfp.Runner, error) {
		c := runnerkfp.Config{Host: cfg.Host, Namespace: cfg.Namespace, User: cfg.User, UserHeader: cfg.UserHeader, Token: kfpToken}
		if trackingURI != "" {
			mc, err := mlflow.ConfigFromEnv(trackingURI, os.Getenv)
			if err != nil {
				return nil, err
			}
			client, err := mlflow.New(mc, mlflow.Options{})
			if err != nil {
				return nil, err
			}
			c.Results = mlflowResults{client: client}
		}
		return runnerkfp.New(c)
	}}
}

// mlflowResults reads a succeeded pipeline's result from the MLflow Model Registry: the
// newest READY version of the registered model (the policy's spec.registry.name, recorded
// with the run at launch; else the model's name), tagged
// modelops.model and modelops.generation by the pipeline, with its run's metrics (auc,
// precision, recall, samples, latencyMs, coverage, as the result JSON names them).
type mlflowResults struct{ client *mlflow.Client }

func (m mlflowResults) Result(ctx context.Context, model string, generation int64, run *runnerkfp.Run) (*reconciler.RunResult, error) {
	registered := cmp.Or(runnerkfp.RegisteredModel(run), model)
	versions, err := m.client.FindCandidates(ctx, registered, model, generation)
	if err != nil {
		return nil, err
	}
	var v *mlflow.ModelVersion
	for i := range versions {
		if versions[i].Status == mlflow.StatusReady {
			v = &versions[i]
			break
		}
	}
	if v == nil {
		return nil, fmt.Errorf("no READY version of registered model %s is tagged %s=%s and %s=%d (%d not ready)",
			registered, mlflow.TagModel, model, mlflow.TagGeneration, generation, len(versions))
	}
	lineage, err := m.client.ReadLineage(ctx, registered, v.Version)
	if err != nil {
		return nil, err
	}
	metrics, err := reconciler.CandidateMetrics(lineage.Metrics())
	if err != nil {
		return nil, fmt.Errorf("%s version %s: %w", registered, v.Version, err)
	}
	res := reconciler.RunResult{Version: v.Version, URI: "models:/" + registered + "/" + v.Version, Metrics: metrics}
	if problems := runresult.Problems(res); len(problems) > 0 {
		return nil, fmt.Errorf("%s version %s: %s", registered, v.Version, strings.Join(problems, "; "))
	}
	return &res, nil
}

// UseRepositoryConfig keeps the runner of the configured Kubeflow endpoint, building a new
// one (with nothing remembered) when the endpoint changes.
func (p *pipelineRunner) UseRepositoryConfig(cfg *policies.RepositoryConfig) {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := cfg.Spec.Kubeflow
	if k == nil {
		p.kfp, p.kfpErr = nil, nil
		return
	}
	trackingURI := cfg.Spec.MLflow.TrackingURI
	if trackingURI == "" {
		trackingURI = os.Getenv(mlflow.EnvTrackingURI)
	}
	if p.kfp != nil && p.kfpOf == *k && p.mlflowOf == trackingURI {
		return
	}
	r, err := p.newKFP(k, trackingURI)
	if err != nil {
		p.kfp = nil // Start then says the endpoint is unusable
		p.kfpErr = err
		return
	}
	p.kfp, p.kfpOf, p.mlflowOf, p.kfpErr = r, *k, trackingURI, nil
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
		p.mu.Lock()
		err := p.kfpErr
		p.mu.Unlock()
		if err != nil {
			return reconciler.TrainingRun{}, fmt.Errorf("%s: spec.retrain.pipeline: the Kubeflow runner of %s: %w", req.PolicyFile, policies.RepositoryConfigFile, err)
		}
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
