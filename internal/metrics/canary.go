package metrics

import (
	"context"
	"errors"
	"io/fs"
	"time"

	"github.com/medimind/modelops/policies"
	"github.com/medimind/modelops/reconciler"
)

var _ reconciler.CanaryMetrics = ProductionLog{}

// CompareCanary evaluates the canary and production versions of p over the rows of its
// prediction log whose timestamp is in [since, until), in one pass over the log, and
// compares their AUCs by DeLong's method at canaryAnalysis.confidence. It returns nil
// without a log, a production version or a canary.
func (l ProductionLog) CompareCanary(ctx context.Context, p *policies.Policy, data fs.FS, since, until time.Time) (*reconciler.CanaryObservation, error) {
	m := p.Spec.Metrics
	if m == nil || m.Predictions == nil || p.Spec.Production == nil || p.Spec.Canary == nil {
		return nil, nil
	}
	res, err := evaluateSource(ctx, l.Buckets, *m.Predictions, data, Options{Since: since, Until: until})
	if err != nil {
		return nil, err
	}
	canary, production := res.ByVersion[p.Spec.Canary.Version], res.ByVersion[p.Spec.Production.Version]
	obs := &reconciler.CanaryObservation{
		Since: since, Until: until,
		Canary:     figuresOf(p.Spec.Canary.Version, canary),
		Production: figuresOf(p.Spec.Production.Version, production),
	}
	confidence := policies.DefaultCanaryConfidence
	if c := p.Spec.CanaryAnalysis.Confidence; c != nil {
		confidence = *c
	}
	d, err := CompareAUC(canary, production, confidence)
	switch {
	case err == nil:
		obs.AUC = &reconciler.AUCInterval{Diff: d.Diff, StdErr: d.StdErr, Lower: d.Lower, Upper: d.Upper, P: d.P, Confidence: d.Confidence}
	case errors.Is(err, ErrNoAUC), errors.Is(err, ErrNoAUCStdErr), canary == nil || production == nil:
		// Too few labelled rows yet: the check waits for more.
	default:
		return nil, err
	}
	return obs, nil
}

// figuresOf are an evaluation's figures in the reconciler's terms; zero without rows.
func figuresOf(version string, e *Evaluation) reconciler.VersionFigures {
	f := reconciler.VersionFigures{Version: version}
	if e == nil {
		return f
	}
	f.Samples, f.Positives, f.AUC = e.Samples, e.Positives, e.AUC
	f.Precision, f.Recall, f.LatencyP95Ms = e.Precision, e.Recall, e.LatencyP95Ms
	return f
}
