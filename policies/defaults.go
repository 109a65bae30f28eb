package policies

import "time"

// The seed system's figures (SPEC.md), used where a policy leaves a field out.
const (
	DefaultDriftInterval        = 6 * time.Hour
	DefaultDatasetShare         = 0.5
	DefaultAdaptiveMin          = time.Hour
	DefaultAdaptiveMax          = 24 * time.Hour
	DefaultRetrainSchedule      = "0 2 * * 1"
	DefaultOnDriftShare         = 0.5
	DefaultOnDriftOf            = 10
	DefaultPerformanceMetric    = MetricAUC
	DefaultPerformanceDrop      = 0.05
	DefaultJobGPUs              = 1
	DefaultGPUResource          = "nvidia.com/gpu"
	DefaultJobTimeout           = 12 * time.Hour
	DefaultJobBackoffLimit      = 0
	DefaultJobMaxDisruptions    = 3
	DefaultMinImprovementAUC    = 0.03
	DefaultMinAUC               = 0.80
	DefaultMinPrecision         = 0.75
	DefaultMinRecall            = 0.70
	DefaultPromotionMinSamples  = 10000
	DefaultMaxLatencyMs         = 200
	DefaultMinCategoryCoverage  = 0.95
	DefaultCanaryInterval       = 12 * time.Hour
	DefaultCanaryDuration       = 48 * time.Hour
	DefaultCanaryMinSamples     = 500
	DefaultCanaryConfidence     = 0.95
	DefaultRollbackMetric       = MetricAUC
	DefaultRollbackMaxDrop      = 0.02
	DefaultRollbackFailedChecks = 2
	// DefaultWindowMinRows is a window's minRows: fewer rows than this make a drift
	// verdict noise (the column tests' p-values and distances swing on a handful of rows).
	DefaultWindowMinRows = 30
)

// DefaultCanarySteps are the canary traffic weights used when a policy gives none.
func DefaultCanarySteps() []int { return []int{10, 25, 50, 100} }

// Default fills in the seed figures of SPEC.md wherever p leaves a field out. It is pure apart
// from writing p, and idempotent. Retrain defaults apply only when the retrain block exists,
// and job defaults only when the job does. canary.weight defaults to the first canary step.
// canaryAnalysis.rollback.maxLatencyMs is left unset: RollbackMaxLatencyMs resolves it, so
// that a problem with promotion.maxLatencyMs is reported once, where it is written.
func (p *ModelPolicy) Default() {
	s := &p.Spec

	if s.Drift.Interval.Duration == 0 {
		s.Drift.Interval.Duration = DefaultDriftInterval
	}
	if s.Drift.NumericTest == "" {
		s.Drift.NumericTest = StatTestAuto
	}
	if s.Drift.CategoricalTest == "" {
		s.Drift.CategoricalTest = StatTestAuto
	}
	setFloat(&s.Drift.DatasetShare, DefaultDatasetShare)
	s.Drift.defaultOmics()
	if d := s.Data; d != nil && d.Source != nil {
		for _, w := range []*DataSource{&d.Reference, &d.Current} {
			if w.MinRows == 0 {
				w.MinRows = DefaultWindowMinRows
			}
		}
	}
	if a := s.Drift.Adaptive; a != nil {
		// The bounds default around the interval, so that {} is always valid.
		if a.Min.Duration == 0 {
			a.Min.Duration = min(DefaultAdaptiveMin, s.Drift.Interval.Duration)
		}
		if a.Max.Duration == 0 {
			a.Max.Duration = max(DefaultAdaptiveMax, s.Drift.Interval.Duration)
		}
	}

	if r := s.Retrain; r != nil {
		if r.Schedule == nil {
			r.Schedule = ptrTo(DefaultRetrainSchedule)
		}
		if r.OnDrift == nil {
			r.OnDrift = &DriftTrigger{}
		}
		setFloat(&r.OnDrift.Share, DefaultOnDriftShare)
		if r.OnDrift.Of == 0 {
			r.OnDrift.Of = DefaultOnDriftOf
		}
		if r.OnPerformanceDrop == nil {
			r.OnPerformanceDrop = &PerformanceTrigger{}
		}
		if r.OnPerformanceDrop.Metric == "" {
			r.OnPerformanceDrop.Metric = DefaultPerformanceMetric
		}
		setFloat(&r.OnPerformanceDrop.Drop, DefaultPerformanceDrop)
		if pl := r.Pipeline; pl != nil && pl.Timeout.Duration == 0 {
			pl.Timeout.Duration = DefaultJobTimeout
		}
		if j := r.Job; j != nil {
			if j.GPUs == nil {
				j.GPUs = ptrTo(DefaultJobGPUs)
			}
			if j.GPUResource == "" {
				j.GPUResource = DefaultGPUResource
			}
			if j.Timeout.Duration == 0 {
				j.Timeout.Duration = DefaultJobTimeout
			}
			if j.BackoffLimit == nil {
				j.BackoffLimit = ptrTo[int32](DefaultJobBackoffLimit)
			}
			if j.MaxDisruptions == nil {
				j.MaxDisruptions = ptrTo[int32](DefaultJobMaxDisruptions)
			}
		}
	}

	pr := &s.Promotion
	setFloat(&pr.MinImprovement.AUC, DefaultMinImprovementAUC)
	setFloat(&pr.Minimums.AUC, DefaultMinAUC)
	setFloat(&pr.Minimums.Precision, DefaultMinPrecision)
	setFloat(&pr.Minimums.Recall, DefaultMinRecall)
	if pr.MinSamples == nil {
		pr.MinSamples = ptrTo[int64](DefaultPromotionMinSamples)
	}
	setFloat(&pr.MaxLatencyMs, DefaultMaxLatencyMs)
	setFloat(&pr.MinCategoryCoverage, DefaultMinCategoryCoverage)

	ca := &s.CanaryAnalysis
	if len(ca.Steps) == 0 {
		ca.Steps = DefaultCanarySteps()
	}
	if ca.Interval.Duration == 0 {
		ca.Interval.Duration = DefaultCanaryInterval
	}
	if ca.Duration.Duration == 0 {
		ca.Duration.Duration = DefaultCanaryDuration
	}
	if ca.MinSamples == nil {
		ca.MinSamples = ptrTo[int64](DefaultCanaryMinSamples)
	}
	setFloat(&ca.Confidence, DefaultCanaryConfidence)
	if ca.Rollback.Metric == "" {
		ca.Rollback.Metric = DefaultRollbackMetric
	}
	setFloat(&ca.Rollback.MaxDrop, DefaultRollbackMaxDrop)
	if ca.Rollback.FailedChecks == 0 {
		ca.Rollback.FailedChecks = DefaultRollbackFailedChecks
	}

	if c := s.Canary; c != nil && c.Weight == nil {
		c.Weight = ptrTo(ca.Steps[0])
	}
	p.defaultRegistry()
}

// setFloat points *f at v when it is unset.
func setFloat(f **float64, v float64) {
	if *f == nil {
		*f = &v
	}
}

func ptrTo[T any](v T) *T { return &v }

// RollbackMaxLatencyMs is the highest tolerated canary p95 latency: rollback.maxLatencyMs, or
// promotion.maxLatencyMs when it is left out (both after Default).
func (p *ModelPolicy) RollbackMaxLatencyMs() float64 {
	if v := p.Spec.CanaryAnalysis.Rollback.MaxLatencyMs; v != nil {
		return *v
	}
	if v := p.Spec.Promotion.MaxLatencyMs; v != nil {
		return *v
	}
	return DefaultMaxLatencyMs
}
