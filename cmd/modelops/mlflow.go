package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/medimind/modelops/internal/git"
	"github.com/medimind/modelops/internal/registry/mlflow"
	"github.com/medimind/modelops/policies"
	"github.com/medimind/modelops/reconciler"
)

// openRegistry builds the MLflow Model Registry the policies' spec.registry blocks follow:
// the tracking server .modelops.yaml names at the tip (mlflow.trackingURI), else
// MLFLOW_TRACKING_URI, with MLflow's own environment for the credentials. It returns nil
// when neither names a server. The address is read once, when the reconciler starts: a
// change of mlflow.trackingURI takes effect on the next start.
func openRegistry(ctx context.Context, repo *git.Repo, branch string, log *slog.Logger) (reconciler.Registry, error) {
	uri, err := trackingURIAtTip(ctx, repo, branch)
	if err != nil {
		// The remote may be down at start; the environment may still name the server.
		log.WarnContext(ctx, "read mlflow.trackingURI from "+policies.RepositoryConfigFile+"; using "+mlflow.EnvTrackingURI, "error", err)
	}
	cfg, err := mlflow.ConfigFromEnv(uri, os.Getenv)
	if err != nil {
		return nil, invalidInput(err)
	}
	if cfg.TrackingURI == "" {
		return nil, nil
	}
	client, err := mlflow.New(cfg, mlflow.Options{})
	if err != nil {
		return nil, invalidInput(err)
	}
	return client, nil
}

// trackingURIAtTip is mlflow.trackingURI of the repository configuration at the tip of
// branch as git.Open fetched it (a second fetch would only cost a round trip).
func trackingURIAtTip(ctx context.Context, repo *git.Repo, branch string) (string, error) {
	_, tree, err := repo.BranchTree(ctx, branch)
	if err != nil {
		return "", err
	}
	cfg, err := policies.LoadRepositoryConfig(tree)
	if err != nil {
		return "", err
	}
	return cfg.Spec.MLflow.TrackingURI, nil
}
