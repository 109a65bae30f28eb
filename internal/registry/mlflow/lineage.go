package mlflow

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
)

// Tags a training job puts on the versions it registers (it gets their values in
// MODELOPS_MODEL and MODELOPS_GENERATION), by which FindCandidates finds a version whose
// job wrote no result.
const (
	TagModel      = "modelops.model"
	TagGeneration = "modelops.generation"
)

// gitCommitTag is where MLflow records the training code's commit on a run.
const gitCommitTag = "mlflow.source.git.commit"

// Lineage is what the registry knows of a version: its status, run, metrics,
// hyperparameters, training code commit and data digests.
type Lineage struct {
	Version ModelVersion
	// Run is the version's run; nil when the version names none.
	Run *Run
}

// ReadLineage reads a version and its run (runs/get).
func (c *Client) ReadLineage(ctx context.Context, name, version string) (*Lineage, error) {
	v, err := c.GetModelVersion(ctx, name, version)
	if err != nil {
		return nil, err
	}
	l := &Lineage{Version: *v}
	if v.RunID == "" {
		return l, nil
	}
	if l.Run, err = c.GetRun(ctx, v.RunID); err != nil {
		return nil, fmt.Errorf("run %s of %s version %s: %w", v.RunID, name, version, err)
	}
	return l, nil
}

// FindCandidates returns the versions of the registered model a training job of model's
// generation registered (tagged modelops.model and modelops.generation with the values of
// its MODELOPS_MODEL and MODELOPS_GENERATION), newest first. The registered model's name may
// differ from the policy's (spec.registry.name).
func (c *Client) FindCandidates(ctx context.Context, registeredModel, model string, generation int64) ([]ModelVersion, error) {
	found, err := c.SearchModelVersions(ctx, VersionFilter{Name: registeredModel, Tags: map[string]string{
		TagModel: model, TagGeneration: strconv.FormatInt(generation, 10),
	}})
	if err != nil {
		return nil, err
	}
	// MLflow's search orders by name and version for the SQL stores, but no order is
	// promised: sort by the version's number.
	number := func(v ModelVersion) int64 { n, _ := strconv.ParseInt(v.Version, 10, 64); return n }
	slices.SortStableFunc(found, func(a, b ModelVersion) int { return cmp.Compare(number(b), number(a)) })
	return found, nil
}

// Metrics are the run's latest metrics; nil without a run.
func (l *Lineage) Metrics() map[string]float64 {
	if l.Run == nil {
		return nil
	}
	return l.Run.Data.MetricValues()
}

// CodeCommit is the training code's commit as MLflow recorded it; "" when it did not.
func (l *Lineage) CodeCommit() string {
	if l.Run == nil {
		return ""
	}
	commit, _ := l.Run.Data.Tag(gitCommitTag)
	return commit
}

// DatasetDigests maps each dataset the run read to its digest.
func (l *Lineage) DatasetDigests() map[string]string {
	out := map[string]string{}
	if l.Run != nil {
		for _, in := range l.Run.Inputs.DatasetInputs {
			out[in.Dataset.Name] = in.Dataset.Digest
		}
	}
	return out
}
