package mlflow

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/medimind/modelops/policies"
	"github.com/medimind/modelops/reconciler"
)

// The Client is the reconciler's Registry port.
var _ reconciler.Registry = (*Client)(nil)

// TagCommit is the version tag naming the commit that last gave the version an alias.
const TagCommit = "modelops.commit"

// TagArchived marks a version spec.registry.cleanup with action tag retired.
const TagArchived = "modelops.archived"

// ObserveRegistry reads what reconciler.PlanRegistry needs for p: the registered model's
// aliases and the registry state of the versions the tip references; with
// spec.registry.cleanup, every version with its age (model-versions/search by name). A registered model
// that does not exist yet has no aliases and no versions. applied is what modelops last set
// (from the status branch), passed through.
func (c *Client) ObserveRegistry(ctx context.Context, p *policies.Policy, applied map[string]string) (reconciler.RegistryObservation, error) {
	obs := reconciler.RegistryObservation{Aliases: map[string]string{}, Applied: applied, Versions: map[string]reconciler.RegistryVersion{}}
	r := p.Spec.Registry
	if r == nil {
		return obs, nil
	}
	m, err := c.GetRegisteredModel(ctx, r.Name)
	if errors.Is(err, ErrNotFound) {
		return obs, nil
	}
	if err != nil {
		return obs, err
	}
	obs.Aliases = m.AliasVersions()
	var versions []string
	if prod := p.Spec.Production; prod != nil {
		versions = append(versions, prod.Version)
	}
	if can := p.Spec.Canary; can != nil {
		versions = append(versions, can.Version)
	}
	if r.Cleanup != nil {
		all, err := c.SearchModelVersions(ctx, VersionFilter{Name: r.Name})
		if err != nil {
			return obs, err
		}
		for _, mv := range all {
			archived, _ := mv.Tag(TagArchived)
			obs.All = append(obs.All, reconciler.RegistryVersionAge{Version: mv.Version, Created: time.UnixMilli(mv.CreationTimestamp),
				Aliased: len(mv.Aliases) > 0, Archived: archived == "true"})
		}
	}
	for _, v := range versions {
		mv, err := c.GetModelVersion(ctx, r.Name, v)
		switch {
		case errors.Is(err, ErrNotFound), errors.Is(err, ErrInvalidParameter):
			obs.Versions[v] = reconciler.RegistryVersion{} // absent, or not a registry version number
		case err != nil:
			return obs, err
		default:
			obs.Versions[v] = reconciler.RegistryVersion{Status: mv.Status, Message: mv.StatusMessage}
		}
	}
	return obs, nil
}

// ApplyRegistryAction carries out a registry action of reconciler.PlanRegistry or
// PlanRegistryCleanup: set-alias points the alias and tags the version with the commit,
// delete-alias removes it, cleanup-version deletes the version or tags it archived. Report
// and wait actions change nothing in the registry. Each call is idempotent, so an action
// applied twice (after a crash) converges.
func (c *Client) ApplyRegistryAction(ctx context.Context, a reconciler.Action) error {
	ap := a.Registry
	switch a.Kind {
	case reconciler.ActionSetAlias:
		if err := c.SetAlias(ctx, ap.RegisteredModel, ap.Alias, ap.Version); err != nil {
			return err
		}
		if a.Commit == "" {
			return nil
		}
		return c.SetModelVersionTag(ctx, ap.RegisteredModel, ap.Version, TagCommit, a.Commit)
	case reconciler.ActionDeleteAlias:
		return c.DeleteAlias(ctx, ap.RegisteredModel, ap.Alias)
	case reconciler.ActionCleanupVersion:
		if ap.Cleanup == policies.CleanupTag {
			return c.SetModelVersionTag(ctx, ap.RegisteredModel, ap.Version, TagArchived, "true")
		}
		// MLflow deletes a version's aliases with it: one set since the plan was made
		// (by a person) keeps the version.
		mv, err := c.GetModelVersion(ctx, ap.RegisteredModel, ap.Version)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if len(mv.Aliases) > 0 {
			return fmt.Errorf("version %s of %s is not cleaned up: alias %s points at it now", ap.Version, ap.RegisteredModel, strings.Join(mv.Aliases, ", "))
		}
		// Gone already (an earlier attempt whose answer was lost) is done.
		if err := c.DeleteModelVersion(ctx, ap.RegisteredModel, ap.Version); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		return nil
	case reconciler.ActionReportRegistryDrift, reconciler.ActionAwaitRegistryVersion:
		return nil
	}
	return fmt.Errorf("mlflow: %s is not a registry action", a.Kind)
}

// SetVersionTags sets each of tags on a version of the registered model, in key order.
func (c *Client) SetVersionTags(ctx context.Context, registeredModel, version string, tags map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		if err := c.SetModelVersionTag(ctx, registeredModel, version, k, tags[k]); err != nil {
			return fmt.Errorf("tag %s of %s version %s: %w", k, registeredModel, version, err)
		}
	}
	return nil
}

// FindRegistered returns the newest version of registeredModel a training job of model's
// generation registered, by its tags; "" when there is none.
func (c *Client) FindRegistered(ctx context.Context, registeredModel, model string, generation int64) (string, error) {
	found, err := c.FindCandidates(ctx, registeredModel, model, generation)
	if err != nil || len(found) == 0 {
		return "", err
	}
	return found[0].Version, nil
}

// VersionLineage reads a version and its run (runs/get) for a promotion proposal's
// comparison. The run's link is MLflow's run_link when it is a web address, else the run's
// page in the tracking server's UI.
func (c *Client) VersionLineage(ctx context.Context, registeredModel, version string) (reconciler.VersionLineage, error) {
	out := reconciler.VersionLineage{Version: version}
	mv, err := c.GetModelVersion(ctx, registeredModel, version)
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalidParameter) {
		return out, nil // absent, or not a registry version number
	}
	if err != nil {
		return out, err
	}
	out.Found, out.RunID = true, mv.RunID
	if mv.RunID == "" {
		return out, nil
	}
	run, err := c.GetRun(ctx, mv.RunID)
	if errors.Is(err, ErrNotFound) {
		return out, nil // the run was deleted; the version stays
	}
	if err != nil {
		return out, fmt.Errorf("run %s of %s version %s: %w", mv.RunID, registeredModel, version, err)
	}
	l := Lineage{Version: *mv, Run: run}
	out.Metrics, out.CodeCommit = l.Metrics(), l.CodeCommit()
	out.Params = map[string]string{}
	for _, p := range run.Data.Params {
		out.Params[p.Key] = p.Value
	}
	for _, in := range run.Inputs.DatasetInputs {
		ctxTag, _ := lookup(in.Tags, "mlflow.data.context")
		out.Datasets = append(out.Datasets, reconciler.DatasetDigest{Name: in.Dataset.Name, Digest: in.Dataset.Digest, Context: ctxTag})
	}
	out.RunURL = c.runURL(run.Info.ExperimentID, mv.RunID)
	if u, err := url.Parse(mv.RunLink); err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" {
		out.RunURL = mv.RunLink
	}
	return out, nil
}

// runURL is a run's page in the tracking server's UI.
func (c *Client) runURL(experimentID, runID string) string {
	u := c.base
	u.Fragment = ""
	return u.String() + "/#/experiments/" + url.PathEscape(experimentID) + "/runs/" + url.PathEscape(runID)
}

// ReadCandidate reads a version a training job registered: its status and, once READY, the
// latest metrics of its run (runs/get). A version that does not exist has an empty status.
func (c *Client) ReadCandidate(ctx context.Context, registeredModel, version string) (reconciler.RegistryCandidate, error) {
	var out reconciler.RegistryCandidate
	mv, err := c.GetModelVersion(ctx, registeredModel, version)
	if errors.Is(err, ErrNotFound) {
		return out, nil
	}
	if err != nil {
		return out, err
	}
	out.State = reconciler.RegistryVersion{Status: mv.Status, Message: mv.StatusMessage}
	if mv.Status != StatusReady || mv.RunID == "" {
		return out, nil
	}
	run, err := c.GetRun(ctx, mv.RunID)
	if err != nil {
		return out, fmt.Errorf("run %s of %s version %s: %w", mv.RunID, registeredModel, version, err)
	}
	out.Metrics = run.Data.MetricValues()
	return out, nil
}
