package metrics

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/medimind/modelops/internal/datafs"
	"github.com/medimind/modelops/internal/driftcheck"
	"github.com/medimind/modelops/internal/objstore"
	"github.com/medimind/modelops/policies"
	"github.com/medimind/modelops/reconciler"
)

var _ reconciler.Metrics = (*ProductionLog)(nil)

// ProductionLog reads how the production version performs from a policy's prediction log
// (spec.metrics.predictions): the reconciler's source for the performance-drop trigger.
type ProductionLog struct {
	// Buckets reads logs in object storage; nil is objstore.Default.
	Buckets *objstore.Buckets
}

// Production evaluates the production version's rows of the log and returns the metric the
// policy's onPerformanceDrop watches (AUC by default). It returns nil without a log, without
// a production version, without labelled rows of it, or when the metric is undefined (one
// class only). The record's At is left zero: the reconciler stamps it when the figure
// changes.
func (l ProductionLog) Production(ctx context.Context, p *policies.Policy, data fs.FS) (*reconciler.PerformanceRecord, error) {
	m := p.Spec.Metrics
	if m == nil || m.Predictions == nil || p.Spec.Production == nil {
		return nil, nil
	}
	metric := policies.MetricAUC
	if rt := p.Spec.Retrain; rt != nil && rt.OnPerformanceDrop != nil && rt.OnPerformanceDrop.Metric != "" {
		metric = rt.OnPerformanceDrop.Metric
	}
	version := p.Spec.Production.Version
	res, err := evaluateSource(ctx, l.Buckets, *m.Predictions, data, Options{Version: version})
	if err != nil {
		return nil, err
	}
	ev := res.ByVersion[version]
	if ev == nil || ev.Samples == 0 {
		return nil, nil
	}
	var value *float64
	switch metric {
	case policies.MetricAUC:
		value = ev.AUC
	case policies.MetricPrecision:
		value = &ev.Precision
	case policies.MetricRecall:
		value = &ev.Recall
	default:
		return nil, fmt.Errorf("unknown metric %q", metric)
	}
	if value == nil {
		return nil, nil
	}
	return &reconciler.PerformanceRecord{Version: version, Metric: metric, Value: *value, Samples: ev.Samples}, nil
}

// evaluateSource evaluates a log given by path (below data, or in object storage through
// buckets) or by URL.
func evaluateSource(ctx context.Context, buckets *objstore.Buckets, src policies.DataSource, data fs.FS, opts Options) (*Result, error) {
	if src.URL == "" {
		if data == nil && !datafs.IsObjectURL(src.Path) {
			return nil, errors.New("no data root to read the prediction log from")
		}
		fsys, name, where, err := objstore.Locate(ctx, buckets, data, src.Path)
		if err != nil {
			return nil, err
		}
		res, err := EvaluateFS(ctx, fsys, name, opts)
		return res, driftcheck.RenameSource(err, name, where)
	}
	dir, err := os.MkdirTemp("", "modelops-predictions-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	file, err := driftcheck.Download(ctx, nil, src.URL, dir, "predictions")
	if err != nil {
		return nil, err
	}
	res, err := Evaluate(ctx, file, opts)
	return res, driftcheck.RenameSource(err, file, src.URL)
}
