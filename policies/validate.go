package policies

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/url"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/medimind/modelops/internal/datafs"
)

// The metric names a policy may compare or gate on.
const (
	MetricAUC       = "auc"
	MetricPrecision = "precision"
	MetricRecall    = "recall"
)

// MetricNames lists the metric names accepted by onPerformanceDrop.metric and rollback.metric.
var MetricNames = []string{MetricAUC, MetricPrecision, MetricRecall}

// PrometheusQueryKeys are the metric names metrics.prometheus.queries may define.
var PrometheusQueryKeys = []string{"auc", "precision", "recall", "latencyP95", "samples", "coverage"}

// ReservedEnvPrefix starts the environment variables modelops sets for training jobs.
const ReservedEnvPrefix = "MODELOPS_"

// ReconcilerServiceAccount is the reconciler's own ServiceAccount in the shipped manifests
// (manifests/serviceaccount.yaml). No training job may run as it: its rights (creating Jobs,
// reading pods) are the reconciler's, not the training code's. The Kubernetes runner also
// refuses the account it actually runs as, whatever its name.
const ReconcilerServiceAccount = "modelops"

// MaxJobDisruptions bounds spec.retrain.job.maxDisruptions: a node pool that keeps
// preempting the job should fail the run, not keep it pending for its whole timeout.
const MaxJobDisruptions = 20

// Validate checks p and returns every problem at once: nil, or a *multierror.Error of
// *FieldError with Field and Message set (no position; Parse adds it). It is pure. A field
// left at its zero value where Default would fill it in is accepted, so Validate gives the
// same verdict before and after Default.
func (p *ModelPolicy) Validate() error {
	v := &validator{}
	if p.APIVersion != APIVersion {
		v.add("apiVersion", "must be %s, got %q", APIVersion, p.APIVersion)
	}
	if p.Kind != KindModelPolicy {
		v.add("kind", "must be %s, got %q", KindModelPolicy, p.Kind)
	}
	if p.Metadata.Name == "" {
		v.add("metadata.name", "is required")
	} else if msgs := validation.IsDNS1123Label(p.Metadata.Name); len(msgs) > 0 {
		v.add("metadata.name", "must be a DNS-1123 label, got %q: %s", p.Metadata.Name, strings.Join(msgs, "; "))
	}

	s := &p.Spec
	if s.Production != nil {
		v.version("spec.production.version", s.Production.Version)
	}
	if c := s.Canary; c != nil {
		if v.version("spec.canary.version", c.Version) && s.Production != nil && c.Version == s.Production.Version {
			v.add("spec.canary.version", "must differ from spec.production.version, got %q for both", c.Version)
		}
		if s.Production == nil {
			v.add("spec.canary", "a canary needs spec.production to compare with")
		}
		if c.Weight != nil && (*c.Weight < 0 || *c.Weight > 100) {
			v.add("spec.canary.weight", "must be between 0 and 100, got %d", *c.Weight)
		}
	}
	if s.Data != nil {
		v.data("spec.data", s.Data)
	}
	v.drift("spec.drift", &s.Drift)
	v.omics("spec.drift", &s.Drift, s.Data)
	if m := s.Metrics; m != nil {
		v.metrics("spec.metrics", m)
	}
	if r := s.Retrain; r != nil {
		v.retrain("spec.retrain", r)
	}
	v.promotion("spec.promotion", &s.Promotion)
	v.canaryAnalysis("spec.canaryAnalysis", &s.CanaryAnalysis)
	if r := s.Registry; r != nil {
		v.registry("spec.registry", r)
	}
	return multiError(v.errs)
}

// validator collects FieldErrors.
type validator struct {
	errs []error
}

func (v *validator) add(field, format string, args ...any) {
	v.errs = append(v.errs, &FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// version requires a non-blank model version.
func (v *validator) version(field, version string) bool {
	if strings.TrimSpace(version) == "" {
		v.add(field, "is required")
		return false
	}
	return true
}

// The checks below take the path of the field as parent and key, joined only for an error:
// a valid policy, the common case, then costs no string building.

// fraction requires *f, the field key of parent, when set, to be in 0..1 (NaN is not).
func (v *validator) fraction(parent, key string, f *float64) {
	if f != nil && !(*f >= 0 && *f <= 1) {
		v.add(parent+"."+key, "must be between 0 and 1, got %s", formatFloat(*f))
	}
}

// nonNegative requires *f, the field key of parent, when set, to be a finite number >= 0.
func (v *validator) nonNegative(parent, key string, f *float64) {
	if f != nil && !(*f >= 0 && *f <= maxFloat) {
		v.add(parent+"."+key, "must be a number >= 0, got %s", formatFloat(*f))
	}
}

const maxFloat = 1.7976931348623157e308

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// oneOf requires s to be one of allowed.
func (v *validator) oneOf(field, s string, allowed []string) {
	if !slices.Contains(allowed, s) {
		v.add(field, "must be one of %s, got %q", strings.Join(allowed, ", "), s)
	}
}

// keyOneOf is oneOf for the field key of parent.
func (v *validator) keyOneOf(parent, key, s string, allowed []string) {
	if !slices.Contains(allowed, s) {
		v.oneOf(parent+"."+key, s, allowed)
	}
}

func (v *validator) data(field string, d *DataSpec) {
	if d.Source != nil {
		v.logSource(field, d)
	} else {
		v.source(field+".reference", &d.Reference)
		v.source(field+".current", &d.Current)
	}
	v.columns(field+".categorical", d.Categorical)
	v.columns(field+".numeric", d.Numeric)
	v.columns(field+".exclude", d.Exclude)
	for i, c := range d.Numeric {
		if slices.Contains(d.Categorical, c) {
			v.add(indexPath(field+".numeric", i), "column %q is listed as both categorical and numeric", c)
		}
	}
	if d.InvalidValues != "" {
		v.oneOf(field+".invalidValues", d.InvalidValues, []string{"error", "ignore"})
	}
	if l := d.Limits; l != nil {
		v.limits(field+".limits", l)
	}
	names := make([]string, 0, len(d.Groups))
	for name := range d.Groups {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		g := d.Groups[name]
		gf := childPath(field+".groups", name)
		if strings.TrimSpace(name) == "" {
			v.add(gf, "group name must not be empty")
		}
		switch {
		case g.Pattern != "" && len(g.Features) > 0:
			v.add(gf, "must set exactly one of pattern or features, got both")
		case g.Pattern == "" && len(g.Features) == 0:
			v.add(gf, "must set exactly one of pattern or features, got neither")
		case g.Pattern != "":
			if err := compilePattern(g.Pattern); err != nil {
				v.add(gf+".pattern", "must be a regular expression (RE2 syntax), got %q: %s", g.Pattern, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
			}
		default:
			v.columns(gf+".features", g.Features)
		}
	}
}

// limits requires positive counts and byte quantities.
func (v *validator) limits(field string, l *DataLimits) {
	for _, c := range []struct {
		name string
		n    *int64
	}{{"maxRows", l.MaxRows}, {"maxColumns", l.MaxColumns}} {
		if c.n != nil && *c.n < 1 {
			v.add(field+"."+c.name, "must be a positive count, got %d", *c.n)
		}
	}
	for _, q := range []struct{ name, value string }{{"maxBytes", l.MaxBytes}, {"maxCellBytes", l.MaxCellBytes}, {"maxMemory", l.MaxMemory}, {"memory", l.Memory}} {
		if q.value == "" {
			continue
		}
		if n, err := resource.ParseQuantity(q.value); err != nil || n.Value() < 1 {
			v.add(field+"."+q.name, "must be a positive number of bytes such as 1Mi or 16Gi, got %q", q.value)
		}
	}
}

// Bytes returns the byte count of a quantity field of DataLimits ("16Gi"); 0 when unset.
// Validate has checked the quantity.
func (l *DataLimits) Bytes(q string) int64 {
	if q == "" {
		return 0
	}
	v, err := resource.ParseQuantity(q)
	if err != nil {
		return 0
	}
	return v.Value()
}

// columns requires column names to be non-empty and listed once.
func (v *validator) columns(field string, cols []string) {
	for i, c := range cols {
		switch {
		case strings.TrimSpace(c) == "":
			v.add(indexPath(field, i), "column name must not be empty")
		case slices.Index(cols, c) < i:
			v.add(indexPath(field, i), "column %q is listed twice", c)
		}
	}
}

// source requires exactly one of path (relative, clean, inside the root; or an object-storage
// URL) or url (http/https), and no window fields: a file is not a window.
func (v *validator) source(field string, s *DataSource) {
	for _, f := range []struct {
		name string
		set  bool
	}{{"last", s.Last.Duration != 0}, {"ago", s.Ago.Duration != 0}, {"minRows", s.MinRows != 0}} {
		if f.set {
			v.add(field+"."+f.name, "is a window field, allowed only with spec.data.source (a timestamped log); a file is read whole")
		}
	}
	switch {
	case s.Path != "" && s.URL != "":
		v.add(field, "must set exactly one of path or url, got both")
	case s.Path == "" && s.URL == "":
		v.add(field, "must set exactly one of path or url, got neither")
	case datafs.IsObjectURL(s.Path):
		if _, err := datafs.ParseObjectURL(s.Path); err != nil {
			v.add(field+".path", "%v", err)
		}
	case s.Path != "":
		v.relPath(field+".path", s.Path)
	default:
		v.httpURL(field+".url", s.URL)
	}
}

// relPath requires p to be a clean slash-separated path below the repository root.
func (v *validator) relPath(field, p string) {
	clean := path.Clean(strings.ReplaceAll(p, `\`, "/"))
	switch {
	case path.IsAbs(p) || strings.HasPrefix(p, `\`) || len(p) >= 2 && p[1] == ':':
		v.add(field, "must be relative to the repository root, got absolute path %q", p)
	case clean == ".." || strings.HasPrefix(clean, "../"):
		v.add(field, "must stay inside the repository root, got %q", p)
	case clean == ".":
		v.add(field, "must name a file, got %q", p)
	case !fs.ValidPath(p):
		v.add(field, "must be a clean slash-separated path, got %q (write %q)", p, clean)
	}
}

// httpURL requires an absolute http or https URL with a host.
func (v *validator) httpURL(field, s string) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		v.add(field, "must be an http or https URL, got %q: %s", s, unwrapURLError(err))
	case u.Scheme != "http" && u.Scheme != "https":
		v.add(field, "must be an http or https URL, got scheme %q in %q", u.Scheme, s)
	case u.Host == "":
		v.add(field, "must be an http or https URL with a host, got %q", s)
	}
}

func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

func (v *validator) drift(field string, d *DriftSpec) {
	if d.Interval.Duration < 0 {
		v.add(field+".interval", "must be a positive duration, got %s", d.Interval)
	}
	if d.NumericTest != "" {
		v.keyOneOf(field, "numericTest", string(d.NumericTest), numericTestNames)
	}
	if d.CategoricalTest != "" {
		v.keyOneOf(field, "categoricalTest", string(d.CategoricalTest), categoricalTestNames)
	}
	v.nonNegative(field, "threshold", d.Threshold)
	v.fraction(field, "datasetShare", d.DatasetShare)
	if a := d.Adaptive; a != nil {
		v.adaptive(field, d.Interval.Duration, a)
	}
}

// adaptive requires min <= interval <= max. A bound left out is accepted: Default puts it
// around the interval.
func (v *validator) adaptive(field string, interval time.Duration, a *AdaptiveSchedule) {
	if interval == 0 {
		interval = DefaultDriftInterval
	}
	af := field + ".adaptive"
	if a.Min.Duration > interval {
		v.add(af+".min", "must be at most %s.interval (%s), got %s", field, interval, a.Min)
	}
	if a.Max.Duration != 0 && a.Max.Duration < interval {
		v.add(af+".max", "must be at least %s.interval (%s), got %s", field, interval, a.Max)
	}
}

// The names of the tests drift.numericTest and drift.categoricalTest accept.
var (
	numericTestNames     = testNames(NumericTests)
	categoricalTestNames = testNames(CategoricalTests)
)

func testNames(tests []StatTest) []string {
	out := make([]string, len(tests))
	for i, t := range tests {
		out[i] = string(t)
	}
	return out
}

func (v *validator) metrics(field string, m *MetricsSpec) {
	if m.Predictions != nil && m.Prometheus != nil {
		v.add(field, "must set at most one of predictions or prometheus, got both")
	}
	if m.Predictions != nil {
		v.source(field+".predictions", m.Predictions)
	}
	if pm := m.Prometheus; pm != nil {
		pf := field + ".prometheus"
		if pm.URL == "" {
			v.add(pf+".url", "is required")
		} else {
			v.httpURL(pf+".url", pm.URL)
		}
		if len(pm.Queries) == 0 {
			v.add(pf+".queries", "must define at least one query (%s)", strings.Join(PrometheusQueryKeys, ", "))
		}
		keys := make([]string, 0, len(pm.Queries))
		for k := range pm.Queries {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			qf := childPath(pf+".queries", k)
			if !slices.Contains(PrometheusQueryKeys, k) {
				v.add(qf, "unknown metric, expected one of %s", strings.Join(PrometheusQueryKeys, ", "))
			} else if strings.TrimSpace(pm.Queries[k]) == "" {
				v.add(qf, "query must not be empty")
			}
		}
	}
}

func (v *validator) retrain(field string, r *RetrainSpec) {
	if r.Generation < 0 {
		v.add(field+".generation", "must be >= 0, got %d", r.Generation)
	}
	if r.Schedule != nil && *r.Schedule != "" {
		if err := parseSchedule(*r.Schedule); err != nil {
			v.add(field+".schedule", "must be a cron schedule (5 fields, or a descriptor such as @weekly), got %q: %s", *r.Schedule, err)
		}
	}
	if t := r.OnDrift; t != nil {
		v.fraction(field, "onDrift.share", t.Share)
		if t.Of < 0 {
			v.add(field+".onDrift.of", "must be >= 1, got %d", t.Of)
		}
	}
	if t := r.OnPerformanceDrop; t != nil {
		if t.Metric != "" {
			v.keyOneOf(field, "onPerformanceDrop.metric", t.Metric, MetricNames)
		}
		v.fraction(field, "onPerformanceDrop.drop", t.Drop)
	}
	switch {
	case r.Job != nil && r.Pipeline != nil:
		v.add(field, "must set exactly one of job or pipeline, got both")
	case r.Pipeline != nil:
		v.pipeline(field+".pipeline", r.Pipeline)
	case r.Job == nil:
		v.add(field+".job", "is required (or pipeline): the training job to launch for a new generation")
	default:
		v.job(field+".job", r.Job)
	}
}

func (v *validator) pipeline(field string, p *PipelineSpec) {
	set := 0
	for _, s := range []string{p.PipelineID, p.PipelineName, p.Spec} {
		if strings.TrimSpace(s) != "" {
			set++
		}
	}
	switch {
	case set != 1:
		v.add(field, "must set exactly one of pipelineID, pipelineName (an uploaded pipeline) or spec (a compiled pipeline in the repository), got %d", set)
	case p.Spec != "":
		if p.VersionID != "" {
			v.add(field+".versionID", "goes with pipelineID or pipelineName, not with spec: an inline spec has no version")
		}
		v.relPath(field+".spec", p.Spec)
	case strings.TrimSpace(p.VersionID) == "":
		v.add(field+".versionID", "is required: the ID of the pipeline version to run, or latest")
	}
	if p.CachingEnabled != nil && p.Spec == "" {
		v.add(field+".cachingEnabled", "goes with spec only: an uploaded pipeline version's caching is compiled into it")
	}
	if p.ExperimentID != "" && p.Experiment != "" {
		v.add(field, "must set at most one of experimentID and experiment")
	}
	for _, name := range slices.Sorted(maps.Keys(p.Parameters)) {
		switch {
		case strings.TrimSpace(name) == "":
			v.add(field+".parameters", "parameter names must not be empty")
		case strings.HasPrefix(strings.ToLower(name), PipelineParameterPrefix):
			v.add(childPath(field+".parameters", name), "%s* parameters are set by modelops and cannot be overridden, got %q", PipelineParameterPrefix, name)
		}
	}
	if sa := p.ServiceAccount; sa != "" {
		v.serviceAccount(field+".serviceAccount", sa)
	}
	if p.Timeout.Duration < 0 {
		v.add(field+".timeout", "must be a positive duration, got %s", p.Timeout)
	}
}

func (v *validator) job(field string, j *JobSpec) {
	if len(j.Command) == 0 {
		v.add(field+".command", "must not be empty")
	}
	for i, c := range j.Command {
		if c == "" {
			v.add(indexPath(field+".command", i), "must not be empty")
		}
	}
	seen := map[string]bool{}
	for i, e := range j.Env {
		ef := indexPath(field+".env", i) + ".name"
		switch {
		case e.Name == "":
			v.add(ef, "is required")
		case strings.HasPrefix(strings.ToUpper(e.Name), ReservedEnvPrefix):
			v.add(ef, "%s* variables are set by modelops and cannot be overridden, got %q", ReservedEnvPrefix, e.Name)
		case seen[e.Name]:
			v.add(ef, "variable %q is set twice", e.Name)
		default:
			if msgs := envVarNameProblems(e.Name); len(msgs) > 0 {
				v.add(ef, "must be a valid environment variable name, got %q: %s", e.Name, strings.Join(msgs, "; "))
			}
		}
		seen[e.Name] = true
	}
	if j.GPUs != nil && *j.GPUs < 0 {
		v.add(field+".gpus", "must be >= 0, got %d", *j.GPUs)
	}
	if j.GPUResource != "" {
		if msgs := resourceNameProblems(j.GPUResource); len(msgs) > 0 {
			v.add(field+".gpuResource", "must be a resource name such as nvidia.com/gpu, got %q: %s", j.GPUResource, strings.Join(msgs, "; "))
		}
	}
	if j.BackoffLimit != nil && *j.BackoffLimit < 0 {
		v.add(field+".backoffLimit", "must be >= 0, got %d", *j.BackoffLimit)
	}
	if d := j.MaxDisruptions; d != nil && (*d < 0 || *d > MaxJobDisruptions) {
		v.add(field+".maxDisruptions", "must be between 0 and %d, got %d", MaxJobDisruptions, *d)
	}
	if sa := j.ServiceAccountName; sa != "" {
		v.serviceAccount(field+".serviceAccountName", sa)
	}
	if sc := j.SecurityContext; sc != nil {
		if sc.RunAsUser != nil && *sc.RunAsUser < 1 {
			v.add(field+".securityContext.runAsUser", "must be a non-root user ID (>= 1), got %d", *sc.RunAsUser)
		}
		if sc.RunAsGroup != nil && *sc.RunAsGroup < 0 {
			v.add(field+".securityContext.runAsGroup", "must be >= 0, got %d", *sc.RunAsGroup)
		}
		if sc.FSGroup != nil && *sc.FSGroup < 0 {
			v.add(field+".securityContext.fsGroup", "must be >= 0, got %d", *sc.FSGroup)
		}
	}
	if j.Timeout.Duration < 0 {
		v.add(field+".timeout", "must be a positive duration, got %s", j.Timeout)
	}
	if r := j.Resources; r != nil {
		for _, part := range []struct {
			name string
			list map[string]string
		}{{"requests", r.Requests}, {"limits", r.Limits}} {
			for _, name := range slices.Sorted(maps.Keys(part.list)) {
				qf := field + ".resources." + part.name + "." + name
				if _, err := resource.ParseQuantity(part.list[name]); err != nil {
					v.add(qf, "must be a Kubernetes quantity such as 500m, 8 or 64Gi, got %q", part.list[name])
				}
			}
		}
	}
	for i, t := range j.Tolerations {
		tf := indexPath(field+".tolerations", i)
		if t.Operator != "" {
			v.oneOf(tf+".operator", t.Operator, []string{"Exists", "Equal"})
		}
		if t.Effect != "" {
			v.oneOf(tf+".effect", t.Effect, []string{"NoSchedule", "PreferNoSchedule", "NoExecute"})
		}
		if t.Operator == "Exists" && t.Value != "" {
			v.add(tf+".value", "must be empty when operator is Exists, got %q", t.Value)
		}
	}
}

// serviceAccount requires name to be a ServiceAccount name other than the reconciler's.
func (v *validator) serviceAccount(field, name string) {
	if msg := ServiceAccountProblem(name); msg != "" {
		v.add(field, "%s, got %q", msg, name)
	}
}

// ServiceAccountProblem says what makes name unfit to run training jobs as, or "": it must
// be a ServiceAccount name, and not the reconciler's own.
func ServiceAccountProblem(name string) string {
	if msgs := validation.IsDNS1123Subdomain(name); len(msgs) > 0 {
		return "must be a ServiceAccount name (" + strings.Join(msgs, "; ") + ")"
	}
	if name == ReconcilerServiceAccount {
		return "must not be the reconciler's own ServiceAccount: training code would get the reconciler's rights"
	}
	return ""
}

func (v *validator) promotion(field string, p *PromotionSpec) {
	v.metricThresholds(field+".minImprovement", &p.MinImprovement)
	v.metricThresholds(field+".minimums", &p.Minimums)
	if p.MinSamples != nil && *p.MinSamples < 0 {
		v.add(field+".minSamples", "must be >= 0, got %d", *p.MinSamples)
	}
	v.nonNegative(field, "maxLatencyMs", p.MaxLatencyMs)
	v.fraction(field, "minCategoryCoverage", p.MinCategoryCoverage)
	v.columns(field+".categories", p.Categories)
}

func (v *validator) metricThresholds(field string, m *Metrics) {
	v.fraction(field, "auc", m.AUC)
	v.fraction(field, "precision", m.Precision)
	v.fraction(field, "recall", m.Recall)
}

func (v *validator) canaryAnalysis(field string, ca *CanaryAnalysisSpec) {
	sf := field + ".steps"
	for i, w := range ca.Steps {
		switch {
		case w < 1 || w > 100:
			v.add(indexPath(sf, i), "must be between 1 and 100, got %d", w)
		case i > 0 && w <= ca.Steps[i-1]:
			v.add(indexPath(sf, i), "must be greater than the step before (%d), got %d", ca.Steps[i-1], w)
		}
	}
	if n := len(ca.Steps); n > 0 && ca.Steps[n-1] != 100 {
		v.add(sf, "must end at 100, got %d as the last step", ca.Steps[n-1])
	}
	if ca.Interval.Duration < 0 {
		v.add(field+".interval", "must be a positive duration, got %s", ca.Interval)
	}
	if ca.Duration.Duration < 0 {
		v.add(field+".duration", "must be a positive duration, got %s", ca.Duration)
	}
	if ca.Interval.Duration > 0 && ca.Duration.Duration > 0 && ca.Duration.Duration < ca.Interval.Duration {
		v.add(field+".duration", "must be at least the interval (%s), got %s", ca.Interval, ca.Duration)
	}
	if ca.MinSamples != nil && *ca.MinSamples < 0 {
		v.add(field+".minSamples", "must be >= 0, got %d", *ca.MinSamples)
	}
	if c := ca.Confidence; c != nil && !(*c > 0 && *c < 1) {
		v.add(field+".confidence", "must be between 0 and 1 (exclusive), got %s", formatFloat(*c))
	}
	rf := field + ".rollback"
	if ca.Rollback.Metric != "" {
		v.keyOneOf(rf, "metric", ca.Rollback.Metric, MetricNames)
	}
	v.fraction(rf, "maxDrop", ca.Rollback.MaxDrop)
	v.nonNegative(rf, "maxLatencyMs", ca.Rollback.MaxLatencyMs)
	if ca.Rollback.FailedChecks < 0 {
		v.add(rf+".failedChecks", "must be >= 1, got %d", ca.Rollback.FailedChecks)
	}
}

// A repository's policies repeat the same few group patterns, schedules, environment
// variable names and GPU resource names thousands of times; checking each distinct one once
// keeps validating 10,000 files cheap. The caches hold only the verdicts (nil or the
// problems), keyed by the text.
var (
	patternVerdicts  sync.Map // string → error
	scheduleVerdicts sync.Map // string → error
	envVarVerdicts   sync.Map // string → []string, the problems with an environment variable name
	resourceVerdicts sync.Map // string → []string, the problems with a resource name
)

// envVarNameProblems returns what makes name an invalid environment variable name.
func envVarNameProblems(name string) []string {
	return problems(&envVarVerdicts, name, validation.IsEnvVarName)
}

// resourceNameProblems returns what makes name an invalid resource name (gpuResource, which
// Default sets in every policy with a job).
func resourceNameProblems(name string) []string {
	return problems(&resourceVerdicts, name, validation.IsQualifiedName)
}

// problems returns check(s), from verdicts when s was checked before.
func problems(verdicts *sync.Map, s string, check func(string) []string) []string {
	if v, ok := verdicts.Load(s); ok {
		return v.([]string)
	}
	msgs := check(s)
	verdicts.Store(s, msgs)
	return msgs
}

// compilePattern checks that pattern is a valid RE2 regular expression.
func compilePattern(pattern string) error {
	if v, ok := patternVerdicts.Load(pattern); ok {
		err, _ := v.(error)
		return err
	}
	_, err := regexp.Compile(pattern)
	patternVerdicts.Store(pattern, err)
	return err
}

// parseSchedule checks that schedule is a standard cron expression or descriptor.
func parseSchedule(schedule string) error {
	if v, ok := scheduleVerdicts.Load(schedule); ok {
		err, _ := v.(error)
		return err
	}
	_, err := cron.ParseStandard(schedule)
	if err != nil {
		err = errors.New(cronInternals.ReplaceAllString(err.Error(), "$1 is not a number"))
	}
	scheduleVerdicts.Store(schedule, err)
	return err
}

// cronInternals matches the part of a cron parse error that speaks Go ("failed to parse int
// from x: strconv.Atoi: parsing "x": invalid syntax").
var cronInternals = regexp.MustCompile(`failed to parse int from (\S+): strconv\.\w+: .*`)
