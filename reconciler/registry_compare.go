package reconciler

import (
	"context"
	"maps"
	"slices"

	"github.com/medimind/modelops/policies"
)

// Comparison is a promotion's candidate and production side by side, as the model registry
// knows them: what a reviewer needs to see what changed besides the figures.
type Comparison struct {
	RegisteredModel       string
	Candidate, Production VersionLineage
	// CandidateMerge and ProductionMerge are the commits that launched each version's
	// training (the merge of its retrain proposal), shown as the training code's commit
	// when MLflow recorded none; "" when unknown.
	CandidateMerge, ProductionMerge string
}

// compareWithProduction reads the lineage of a promotion's candidate and of the production
// version from the registry; nil without a registry or spec.registry. It is read when the
// proposal is written and is not part of its digest: the digest covers the verdict, and the
// comparison only explains it.
func (r *Reconciler) compareWithProduction(ctx context.Context, p *policies.Policy, ms *ModelStatus, a Action) (*Comparison, error) {
	registered := registeredName(p)
	if r.registry == nil || registered == "" {
		return nil, nil
	}
	c := &Comparison{RegisteredModel: registered}
	var err error
	if c.Candidate, err = r.registry.VersionLineage(ctx, registered, a.Promotion.Canary.Version); err != nil {
		return nil, err
	}
	if run, ok := ms.Run(a.Generation); ok && !a.Promotion.Registered {
		c.CandidateMerge = run.Commit
	}
	if prod := p.Spec.Production; prod != nil {
		if c.Production, err = r.registry.VersionLineage(ctx, registered, prod.Version); err != nil {
			return nil, err
		}
		for _, run := range ms.Runs {
			if run.Result != nil && run.Result.Version == prod.Version {
				c.ProductionMerge = run.Commit
			}
		}
	}
	return c, nil
}

// differingParams lists the hyperparameters whose values differ between candidate and
// production (a key one run lacks counts as differing), in key order.
func differingParams(candidate, production map[string]string) [][3]string {
	keys := map[string]bool{}
	for k := range candidate {
		keys[k] = true
	}
	for k := range production {
		keys[k] = true
	}
	var out [][3]string
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		c, cok := candidate[k]
		p, pok := production[k]
		if c != p || cok != pok {
			out = append(out, [3]string{k, c, p})
		}
	}
	return out
}
