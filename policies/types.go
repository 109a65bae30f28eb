package policies

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/invopop/jsonschema"
	"go.yaml.in/yaml/v3"
)

// Group is the API group of every modelops policy kind.
const Group = "modelops.medimind.io"

// APIVersion is the only apiVersion this release reads.
const APIVersion = Group + "/v1alpha1"

// KindModelPolicy is the kind of a model policy document.
const KindModelPolicy = "ModelPolicy"

// ModelPolicy is the desired state of one machine-learning model: which version serves
// production, which runs as a canary, how data drift is measured and when the model is
// retrained or promoted. One policy per model, kept in git.
type ModelPolicy struct {
	// APIVersion must be modelops.medimind.io/v1alpha1.
	APIVersion string `json:"apiVersion" yaml:"apiVersion" jsonschema:"enum=modelops.medimind.io/v1alpha1"`
	// Kind must be ModelPolicy.
	Kind string `json:"kind" yaml:"kind" jsonschema:"enum=ModelPolicy"`
	// Metadata names the model.
	Metadata ObjectMeta `json:"metadata" yaml:"metadata"`
	// Spec is the desired state of the model.
	Spec ModelPolicySpec `json:"spec" yaml:"spec"`
}

// ObjectMeta identifies a policy, as Kubernetes metadata does.
type ObjectMeta struct {
	// Name of the model: a DNS-1123 label (lowercase letters, digits and '-', at most 63
	// characters), unique in the repository.
	Name string `json:"name" yaml:"name" jsonschema:"pattern=^[a-z0-9]([-a-z0-9]*[a-z0-9])?$,maxLength=63"`
	// Labels are free-form key/value pairs for people and tools.
	Labels map[string]string `json:"labels,omitempty" yaml:"labels,omitempty"`
	// Annotations are free-form key/value pairs for people and tools.
	Annotations map[string]string `json:"annotations,omitempty" yaml:"annotations,omitempty"`
}

// ModelPolicySpec is the desired state of a model.
type ModelPolicySpec struct {
	// Suspend stops every action for this model while true; observations stop too.
	Suspend bool `json:"suspend,omitempty" yaml:"suspend,omitempty"`
	// Production is the version serving production traffic.
	Production *ModelVersion `json:"production,omitempty" yaml:"production,omitempty"`
	// Canary is the version under canary analysis; absent when no canary runs.
	Canary *Canary `json:"canary,omitempty" yaml:"canary,omitempty"`
	// Data says where the reference and current datasets for drift checks are.
	Data *DataSpec `json:"data,omitempty" yaml:"data,omitempty"`
	// Drift says how data drift is measured and when it counts.
	Drift DriftSpec `json:"drift,omitempty" yaml:"drift,omitempty"`
	// Metrics says where model performance is read from.
	Metrics *MetricsSpec `json:"metrics,omitempty" yaml:"metrics,omitempty"`
	// Retrain says when a retrain is proposed and how the training job runs. Without it the
	// model is never retrained by modelops.
	Retrain *RetrainSpec `json:"retrain,omitempty" yaml:"retrain,omitempty"`
	// Promotion is the gate a trained candidate must pass before it is proposed as a canary.
	Promotion PromotionSpec `json:"promotion,omitempty" yaml:"promotion,omitempty"`
	// CanaryAnalysis says how a canary is stepped, judged and rolled back.
	CanaryAnalysis CanaryAnalysisSpec `json:"canaryAnalysis,omitempty" yaml:"canaryAnalysis,omitempty"`
	// Registry makes the MLflow Model Registry's aliases follow this policy (registry.go).
	Registry *RegistrySpec `json:"registry,omitempty" yaml:"registry,omitempty"`
}

// ModelVersion is one deployable version of a model.
type ModelVersion struct {
	// Version is the model registry's version identifier, e.g. "12".
	Version string `json:"version" yaml:"version" jsonschema:"minLength=1"`
	// URI locates the model artifact, e.g. models:/sepsis-risk/12.
	URI string `json:"uri,omitempty" yaml:"uri,omitempty"`
}

// Canary is a version receiving part of the traffic while it is judged against production.
type Canary struct {
	// Version is the model registry's version identifier of the canary.
	Version string `json:"version" yaml:"version" jsonschema:"minLength=1"`
	// URI locates the canary's model artifact.
	URI string `json:"uri,omitempty" yaml:"uri,omitempty"`
	// Weight is the percentage of traffic (0..100) the canary receives. 0 means rolled back
	// or not started. Defaults to the first canary analysis step.
	Weight *int `json:"weight,omitempty" yaml:"weight,omitempty" jsonschema:"minimum=0,maximum=100"`
}

// DataSpec locates the datasets a drift check compares and says how columns are treated.
type DataSpec struct {
	// Source is a timestamped log the reference and current data are windows of (then
	// reference and current set last, ago and minRows, not path or url). Without it,
	// reference and current are two files.
	Source *LogSource `json:"source,omitempty" yaml:"source,omitempty"`
	// Reference is the dataset the model was trained or validated on: a file, or with
	// source a window of the log such as {last: 180d} (rolling) or {last: 30d, ago: 365d}
	// (the same season a year earlier).
	Reference DataSource `json:"reference" yaml:"reference"`
	// Current is the recent production data compared with the reference: a file, or with
	// source a window of the log such as {last: 7d}.
	Current DataSource `json:"current" yaml:"current"`
	// Categorical lists columns treated as categorical whatever their values look like.
	Categorical []string `json:"categorical,omitempty" yaml:"categorical,omitempty"`
	// Numeric lists columns treated as numeric whatever their values look like.
	Numeric []string `json:"numeric,omitempty" yaml:"numeric,omitempty"`
	// Exclude lists columns that are never tested (identifiers, timestamps).
	Exclude []string `json:"exclude,omitempty" yaml:"exclude,omitempty"`
	// Groups are feature families (omics, sensor, clinical, pathways) reported separately,
	// each with its own share of drifted columns.
	Groups map[string]FeatureGroup `json:"groups,omitempty" yaml:"groups,omitempty"`
	// InvalidValues says what a value that is neither missing (an empty cell or NaN) nor a
	// number does in a numeric column (numeric in the reference, or listed in numeric):
	// error (the default) fails the drift check naming the file, line and column; ignore
	// drops it like a missing value and counts it in the report (invalidCurrent).
	InvalidValues string `json:"invalidValues,omitempty" yaml:"invalidValues,omitempty" jsonschema:"enum=error,enum=ignore"`
	// Limits bound what reading each data file may cost. A file over a limit fails this
	// model's drift check with an error naming the file and the limit.
	Limits *DataLimits `json:"limits,omitempty" yaml:"limits,omitempty"`
}

// DataLimits bound the reading of one data file; an unset field takes its default, sized
// for a 24 GiB machine (20,000 omics columns, or millions of rows).
type DataLimits struct {
	// MaxRows is the most data rows. Default 100000000.
	MaxRows *int64 `json:"maxRows,omitempty" yaml:"maxRows,omitempty" jsonschema:"minimum=1"`
	// MaxColumns is the most columns. Default 100000.
	MaxColumns *int64 `json:"maxColumns,omitempty" yaml:"maxColumns,omitempty" jsonschema:"minimum=1"`
	// MaxBytes is the most bytes of CSV text once decompressed, and the largest Parquet
	// file, as a quantity (512Mi, 16Gi). Default 16Gi.
	MaxBytes string `json:"maxBytes,omitempty" yaml:"maxBytes,omitempty"`
	// MaxCellBytes is the longest cell or string value, as a quantity. Default 1Mi.
	MaxCellBytes string `json:"maxCellBytes,omitempty" yaml:"maxCellBytes,omitempty"`
	// MaxMemory bounds a table's cells, counted as 8 bytes each (rows × columns × 8), as a
	// quantity. Default 6Gi. Under a memory budget it bounds each batch's table.
	MaxMemory string `json:"maxMemory,omitempty" yaml:"maxMemory,omitempty"`
	// Memory is the memory budget of a drift check, as a quantity (4Gi): when the reference
	// and current tables would not fit in it, their columns are read and compared in
	// batches sized to it (Parquet a batch of column chunks at a time, CSV in one pass over
	// the file per batch), so peak memory grows with rows × batch, not rows × columns; the
	// report is the same. Unset (the default): the tables are read whole.
	Memory string `json:"memory,omitempty" yaml:"memory,omitempty"`
}

// DataSource is a CSV (optionally gzip) or Parquet file, given by exactly one of path or
// url; or, for spec.data.reference and spec.data.current when spec.data.source is set, a
// window of that log: the rows whose timestamp t satisfies T-ago-last <= t < T-ago, T
// being the time of the check.
type DataSource struct {
	// Path is relative to the data root (the policy repository unless configured); it may
	// not leave it. Or an object in object storage: s3://bucket/key, gs://bucket/key,
	// azblob://container/key, with the bucket's parameters (region, endpoint, ...) as a
	// query but never credentials, which come from the cloud's own chain (environment,
	// files, workload identity). A Parquet object is read by ranges (footer, then only the
	// columns needed), a CSV object streamed.
	Path string `json:"path,omitempty" yaml:"path,omitempty"`
	// URL is an http or https address.
	URL string `json:"url,omitempty" yaml:"url,omitempty" jsonschema:"pattern=^https?://"`
	// Last is the length of the window (with spec.data.source only; required there).
	Last Duration `json:"last,omitempty" yaml:"last,omitempty"`
	// Ago is how long before the time of the check the window ends (with
	// spec.data.source only). Default 0d: the window ends now.
	Ago Duration `json:"ago,omitempty" yaml:"ago,omitempty"`
	// MinRows is the fewest rows the window must hold (with spec.data.source only); with
	// fewer the check's verdict is "insufficient data", neither drift nor failure.
	// Default 30.
	MinRows int64 `json:"minRows,omitempty" yaml:"minRows,omitempty" jsonschema:"minimum=1"`
}

// LogSource is a timestamped log: one CSV (optionally gzip) or Parquet file, or a
// directory of them, partitioned Hive-style by day (date=YYYY-MM-DD/ directories, whose
// days outside both windows are not read). Exactly one of path or url; a url names one
// file.
type LogSource struct {
	// Path is relative to the data root, as a DataSource's; a file or a directory.
	Path string `json:"path,omitempty" yaml:"path,omitempty"`
	// URL is an http or https address of one file.
	URL string `json:"url,omitempty" yaml:"url,omitempty" jsonschema:"pattern=^https?://"`
	// Timestamp is the column holding each row's time: RFC 3339 text (a value without a
	// zone is UTC; a date alone is its midnight UTC) or a Parquet TIMESTAMP or DATE. A row
	// whose timestamp is missing or unparseable is in no window, and counted. The column is
	// not a feature: it is never tested.
	Timestamp string `json:"timestamp" yaml:"timestamp" jsonschema:"minLength=1"`
}

// FeatureGroup selects columns by a regular expression or by an explicit list.
type FeatureGroup struct {
	// Pattern is a regular expression (Go RE2 syntax) matched against column names.
	Pattern string `json:"pattern,omitempty" yaml:"pattern,omitempty"`
	// Features lists column names.
	Features []string `json:"features,omitempty" yaml:"features,omitempty"`
}

// StatTest names a column drift test, as Evidently names it.
type StatTest string

// The drift tests of drift-definitions.md. StatTestAuto picks one per column by Evidently's rule.
const (
	StatTestAuto          StatTest = "auto"
	StatTestKS            StatTest = "ks"
	StatTestWasserstein   StatTest = "wasserstein"
	StatTestPSI           StatTest = "psi"
	StatTestKLDiv         StatTest = "kl_div"
	StatTestJensenShannon StatTest = "jensenshannon"
	StatTestChiSquare     StatTest = "chisquare"
	StatTestZ             StatTest = "z"
)

// NumericTests are the tests allowed for numeric columns.
var NumericTests = []StatTest{StatTestAuto, StatTestKS, StatTestWasserstein, StatTestPSI, StatTestKLDiv, StatTestJensenShannon}

// CategoricalTests are the tests allowed for categorical columns.
var CategoricalTests = []StatTest{StatTestAuto, StatTestChiSquare, StatTestZ, StatTestJensenShannon, StatTestPSI, StatTestKLDiv}

// DriftSpec says how often drift is checked, with which tests, and when a dataset drifts.
type DriftSpec struct {
	// Interval between drift checks. Default 6h.
	Interval Duration `json:"interval,omitempty" yaml:"interval,omitempty"`
	// NumericTest is the test for numeric columns. Default auto.
	NumericTest StatTest `json:"numericTest,omitempty" yaml:"numericTest,omitempty" jsonschema:"enum=auto,enum=ks,enum=wasserstein,enum=psi,enum=kl_div,enum=jensenshannon"`
	// CategoricalTest is the test for categorical columns. Default auto.
	CategoricalTest StatTest `json:"categoricalTest,omitempty" yaml:"categoricalTest,omitempty" jsonschema:"enum=auto,enum=chisquare,enum=z,enum=jensenshannon,enum=psi,enum=kl_div"`
	// Threshold overrides the chosen test's default threshold; null keeps the default.
	Threshold *float64 `json:"threshold,omitempty" yaml:"threshold,omitempty" jsonschema:"minimum=0"`
	// DatasetShare: the dataset drifts when at least this share (0..1) of columns drift. Default 0.5.
	DatasetShare *float64 `json:"datasetShare,omitempty" yaml:"datasetShare,omitempty" jsonschema:"minimum=0,maximum=1"`
	// Quality reports per-column data quality findings (missing values, out-of-range
	// values, new categories, constant or added/removed columns); present means enabled.
	Quality *QualitySpec `json:"quality,omitempty" yaml:"quality,omitempty"`
	// Batch tests each feature for a batch effect across the values of a batch column and
	// names the batches the drift comes from; present means enabled.
	Batch *BatchSpec `json:"batch,omitempty" yaml:"batch,omitempty"`
	// Correlation tests the Spearman correlations between the features of pairs of groups
	// for a change from reference to current; present means enabled.
	Correlation *CorrelationSpec `json:"correlation,omitempty" yaml:"correlation,omitempty"`
	// Adaptive makes the interval follow the reports (drift-definitions.md §12): the first
	// interval is Interval; after a drifted report the next is max(min, previous/2), after a
	// report without drift min(max, previous·2); insufficient data keeps it. The sequence
	// runs over the model's recorded reports, so changing Interval later does not restart
	// it; changed bounds apply at once. Absent: every interval is Interval.
	Adaptive *AdaptiveSchedule `json:"adaptive,omitempty" yaml:"adaptive,omitempty"`
}

// AdaptiveSchedule bounds the interval of an adaptive drift schedule; min <= drift.interval
// <= max.
type AdaptiveSchedule struct {
	// Min is the shortest interval, reached by halving after drifted reports. Default 1h, or
	// drift.interval when that is shorter.
	Min Duration `json:"min,omitempty" yaml:"min,omitempty"`
	// Max is the longest interval, reached by doubling after reports without drift. Default
	// 24h, or drift.interval when that is longer.
	Max Duration `json:"max,omitempty" yaml:"max,omitempty"`
}

// MetricsSpec says where model performance comes from: a prediction log or Prometheus.
type MetricsSpec struct {
	// Predictions is a prediction log (CSV or Parquet) with columns score, label,
	// model_version, latency_ms, timestamp and category.
	Predictions *DataSource `json:"predictions,omitempty" yaml:"predictions,omitempty"`
	// Prometheus reads the metrics with PromQL queries.
	Prometheus *PrometheusSpec `json:"prometheus,omitempty" yaml:"prometheus,omitempty"`
}

// PrometheusSpec reads model metrics from a Prometheus server.
type PrometheusSpec struct {
	// URL of the Prometheus server (http or https).
	URL string `json:"url" yaml:"url" jsonschema:"pattern=^https?://"`
	// Queries maps a metric name (auc, precision, recall, latencyP95, samples, coverage) to
	// a PromQL query returning one value per model version.
	Queries map[string]string `json:"queries" yaml:"queries"`
}

// RetrainSpec says when a retrain is proposed and how training runs.
type RetrainSpec struct {
	// Generation is the training generation. A merged change raising it launches training
	// of that generation, exactly once.
	Generation int64 `json:"generation" yaml:"generation" jsonschema:"minimum=0"`
	// Schedule is a cron expression (5 fields, or a descriptor such as @weekly) for periodic
	// retrains. Default "0 2 * * 1" (Mondays 02:00). An empty string disables it.
	Schedule *string `json:"schedule,omitempty" yaml:"schedule,omitempty"`
	// OnDrift proposes a retrain when enough recent drift reports drifted.
	OnDrift *DriftTrigger `json:"onDrift,omitempty" yaml:"onDrift,omitempty"`
	// OnPerformanceDrop proposes a retrain when a production metric falls.
	OnPerformanceDrop *PerformanceTrigger `json:"onPerformanceDrop,omitempty" yaml:"onPerformanceDrop,omitempty"`
	// Job is the training job: a container run locally or as a Kubernetes Job. Exactly one
	// of job and pipeline is set.
	Job *JobSpec `json:"job,omitempty" yaml:"job,omitempty"`
	// Pipeline is the training job as a Kubeflow Pipelines (v2) run, on the endpoint of the
	// repository configuration's spec.kubeflow.host. Exactly one of job and pipeline is set.
	Pipeline *PipelineSpec `json:"pipeline,omitempty" yaml:"pipeline,omitempty"`
}

// PipelineParameterPrefix starts the run parameters modelops sets on a pipeline run
// (modelops_model, modelops_generation, modelops_commit); a policy cannot set them.
const PipelineParameterPrefix = "modelops_"

// PipelineSpec is a Kubeflow Pipelines run: of an uploaded pipeline's version (by the
// pipeline's ID or name, the version's ID or latest), or of a compiled pipeline committed
// in the repository and submitted with the run. Exactly one of pipelineID, pipelineName
// and spec is set. What a name or latest resolves to is resolved once, at launch, and the
// run records it, so the training record says exactly what ran.
type PipelineSpec struct {
	// PipelineID is the ID of the uploaded pipeline.
	PipelineID string `json:"pipelineID,omitempty" yaml:"pipelineID,omitempty"`
	// PipelineName is the display name of the uploaded pipeline (in the configured
	// namespace on a multi-user installation).
	PipelineName string `json:"pipelineName,omitempty" yaml:"pipelineName,omitempty"`
	// VersionID is the ID of the pipeline version to run, or latest for the version most
	// recently uploaded when the run is launched. Required with pipelineID or pipelineName.
	VersionID string `json:"versionID,omitempty" yaml:"versionID,omitempty"`
	// Spec is the path, in the policy repository, of a compiled pipeline (the IR YAML `kfp
	// compile` writes), read at the commit that raised the generation and submitted inline.
	Spec string `json:"spec,omitempty" yaml:"spec,omitempty"`
	// CachingEnabled overrides every task's cache setting of an inline spec, as the KFP
	// SDK's enable_caching does; unset keeps what the spec says. Only with spec: an
	// uploaded version's caching is compiled into it.
	CachingEnabled *bool `json:"cachingEnabled,omitempty" yaml:"cachingEnabled,omitempty"`
	// ExperimentID is the experiment the run belongs to. Default: the installation's default
	// experiment.
	ExperimentID string `json:"experimentID,omitempty" yaml:"experimentID,omitempty"`
	// Experiment is the experiment's display name, created when absent (as the KFP SDK
	// does). At most one of experimentID and experiment is set.
	Experiment string `json:"experiment,omitempty" yaml:"experiment,omitempty"`
	// ServiceAccount is the Kubernetes ServiceAccount the pipeline's pods run as. Default:
	// the installation's pipeline runner account.
	ServiceAccount string `json:"serviceAccount,omitempty" yaml:"serviceAccount,omitempty"`
	// PipelineRoot is where the run writes its artifacts (an object store URI). Default: the
	// pipeline's own.
	PipelineRoot string `json:"pipelineRoot,omitempty" yaml:"pipelineRoot,omitempty"`
	// Parameters are the run's parameters. modelops adds modelops_model,
	// modelops_generation and modelops_commit; a policy cannot set modelops_* itself.
	Parameters map[string]any `json:"parameters,omitempty" yaml:"parameters,omitempty"`
	// Timeout is how long the run may take before modelops terminates it. Default 12h.
	Timeout Duration `json:"timeout,omitempty" yaml:"timeout,omitempty"`
}

// DriftTrigger fires when at least Share of the last Of drift reports drifted.
type DriftTrigger struct {
	// Disabled turns this trigger off.
	Disabled bool `json:"disabled,omitempty" yaml:"disabled,omitempty"`
	// Share of the last Of reports that must have drifted (0..1). Default 0.5.
	Share *float64 `json:"share,omitempty" yaml:"share,omitempty" jsonschema:"minimum=0,maximum=1"`
	// Of is how many recent reports are looked at. Default 10.
	Of int `json:"of,omitempty" yaml:"of,omitempty" jsonschema:"minimum=1"`
}

// PerformanceTrigger fires when Metric falls by at least Drop below its value at promotion.
type PerformanceTrigger struct {
	// Disabled turns this trigger off.
	Disabled bool `json:"disabled,omitempty" yaml:"disabled,omitempty"`
	// Metric is auc, precision or recall. Default auc.
	Metric string `json:"metric,omitempty" yaml:"metric,omitempty" jsonschema:"enum=auc,enum=precision,enum=recall"`
	// Drop is the absolute fall (0..1) that triggers a retrain. Default 0.05.
	Drop *float64 `json:"drop,omitempty" yaml:"drop,omitempty" jsonschema:"minimum=0,maximum=1"`
}

// JobSpec is a training job: a container run locally or as a Kubernetes Job.
type JobSpec struct {
	// Image is the container image.
	Image string `json:"image,omitempty" yaml:"image,omitempty"`
	// Command is the entrypoint.
	Command []string `json:"command" yaml:"command" jsonschema:"minItems=1"`
	// Args follow the command.
	Args []string `json:"args,omitempty" yaml:"args,omitempty"`
	// Env adds environment variables; MODELOPS_* are set by modelops and cannot be overridden.
	Env []EnvVar `json:"env,omitempty" yaml:"env,omitempty"`
	// GPUs is how many GPUs the job requests. Default 1; 0 for CPU-only training.
	GPUs *int `json:"gpus,omitempty" yaml:"gpus,omitempty" jsonschema:"minimum=0"`
	// GPUResource is the extended resource name for GPUs. Default nvidia.com/gpu.
	GPUResource string `json:"gpuResource,omitempty" yaml:"gpuResource,omitempty"`
	// NodeSelector constrains the nodes the job may run on.
	NodeSelector map[string]string `json:"nodeSelector,omitempty" yaml:"nodeSelector,omitempty"`
	// Tolerations are added to the job's pod, beside the default one for GPU taints.
	Tolerations []Toleration `json:"tolerations,omitempty" yaml:"tolerations,omitempty"`
	// Resources are CPU and memory requests and limits as Kubernetes quantities.
	Resources *Resources `json:"resources,omitempty" yaml:"resources,omitempty"`
	// ServiceAccountName runs the job's pod as this Kubernetes ServiceAccount. It must be
	// listed in the repository configuration's spec.kubernetes.serviceAccounts, and never be
	// the reconciler's own.
	ServiceAccountName string `json:"serviceAccountName,omitempty" yaml:"serviceAccountName,omitempty"`
	// AutomountServiceAccountToken mounts the ServiceAccount's API token into the pod.
	// Default false: training has no business with the Kubernetes API unless it says so.
	AutomountServiceAccountToken bool `json:"automountServiceAccountToken,omitempty" yaml:"automountServiceAccountToken,omitempty"`
	// SecurityContext sets the user and groups the pod runs as. The pod always runs as
	// non-root, without privilege escalation or capabilities, under the RuntimeDefault
	// seccomp profile (Pod Security "restricted").
	SecurityContext *JobSecurityContext `json:"securityContext,omitempty" yaml:"securityContext,omitempty"`
	// BackoffLimit is how many times a pod whose training code failed is retried. Default 0:
	// a failure of the code fails the run at once.
	BackoffLimit *int32 `json:"backoffLimit,omitempty" yaml:"backoffLimit,omitempty" jsonschema:"minimum=0"`
	// MaxDisruptions is how many times a pod that Kubernetes disrupted (a preempted or
	// drained node, an eviction) is replaced before the run fails. Default 3.
	MaxDisruptions *int32 `json:"maxDisruptions,omitempty" yaml:"maxDisruptions,omitempty" jsonschema:"minimum=0,maximum=20"`
	// Timeout is the job's deadline. Default 12h.
	Timeout Duration `json:"timeout,omitempty" yaml:"timeout,omitempty"`
}

// JobSecurityContext is the user and groups a training pod runs as, for images whose USER
// is not numeric (Pod Security "restricted" needs a non-root user the kubelet can verify) or
// data volumes that need a group.
type JobSecurityContext struct {
	// RunAsUser is the pod's user ID; 0 (root) is refused.
	RunAsUser *int64 `json:"runAsUser,omitempty" yaml:"runAsUser,omitempty" jsonschema:"minimum=1"`
	// RunAsGroup is the pod's primary group ID.
	RunAsGroup *int64 `json:"runAsGroup,omitempty" yaml:"runAsGroup,omitempty" jsonschema:"minimum=0"`
	// FSGroup owns the pod's volumes.
	FSGroup *int64 `json:"fsGroup,omitempty" yaml:"fsGroup,omitempty" jsonschema:"minimum=0"`
}

// EnvVar is one environment variable.
type EnvVar struct {
	Name  string `json:"name" yaml:"name" jsonschema:"minLength=1"`
	Value string `json:"value" yaml:"value"`
}

// Toleration lets the job's pod run on nodes with a matching taint.
type Toleration struct {
	Key      string `json:"key,omitempty" yaml:"key,omitempty"`
	Operator string `json:"operator,omitempty" yaml:"operator,omitempty" jsonschema:"enum=Exists,enum=Equal"`
	Value    string `json:"value,omitempty" yaml:"value,omitempty"`
	Effect   string `json:"effect,omitempty" yaml:"effect,omitempty" jsonschema:"enum=NoSchedule,enum=PreferNoSchedule,enum=NoExecute"`
}

// Resources are Kubernetes resource requests and limits (cpu, memory, ...).
type Resources struct {
	Requests map[string]string `json:"requests,omitempty" yaml:"requests,omitempty"`
	Limits   map[string]string `json:"limits,omitempty" yaml:"limits,omitempty"`
}

// Metrics holds optional thresholds for the three classification metrics.
type Metrics struct {
	// AUC is the area under the ROC curve (0..1).
	AUC *float64 `json:"auc,omitempty" yaml:"auc,omitempty" jsonschema:"minimum=0,maximum=1"`
	// Precision at the decision threshold (0..1).
	Precision *float64 `json:"precision,omitempty" yaml:"precision,omitempty" jsonschema:"minimum=0,maximum=1"`
	// Recall at the decision threshold (0..1).
	Recall *float64 `json:"recall,omitempty" yaml:"recall,omitempty" jsonschema:"minimum=0,maximum=1"`
}

// PromotionSpec is the gate a trained candidate must pass to be proposed as a canary.
type PromotionSpec struct {
	// MinImprovement over production, per metric. Default auc 0.03.
	MinImprovement Metrics `json:"minImprovement,omitempty" yaml:"minImprovement,omitempty"`
	// Minimums per metric. Default auc 0.80, precision 0.75, recall 0.70.
	Minimums Metrics `json:"minimums,omitempty" yaml:"minimums,omitempty"`
	// MinSamples is the least number of validation samples. Default 10000.
	MinSamples *int64 `json:"minSamples,omitempty" yaml:"minSamples,omitempty" jsonschema:"minimum=0"`
	// MaxLatencyMs is the highest p95 latency in milliseconds. Default 200.
	MaxLatencyMs *float64 `json:"maxLatencyMs,omitempty" yaml:"maxLatencyMs,omitempty" jsonschema:"minimum=0"`
	// MinCategoryCoverage is the least share (0..1) of expected categories with labelled
	// predictions. Default 0.95.
	MinCategoryCoverage *float64 `json:"minCategoryCoverage,omitempty" yaml:"minCategoryCoverage,omitempty" jsonschema:"minimum=0,maximum=1"`
	// Categories are the expected categories (cohorts, sites) for the coverage criterion.
	Categories []string `json:"categories,omitempty" yaml:"categories,omitempty"`
}

// CanaryAnalysisSpec says how a canary is stepped, judged and rolled back.
type CanaryAnalysisSpec struct {
	// Steps are traffic weights, strictly increasing and ending at 100. Default [10, 25, 50, 100].
	Steps []int `json:"steps,omitempty" yaml:"steps,omitempty"`
	// Interval each step is held before the next. Default 12h.
	Interval Duration `json:"interval,omitempty" yaml:"interval,omitempty"`
	// Duration is the total time, all checks passing, before full promotion is proposed. Default 48h.
	Duration Duration `json:"duration,omitempty" yaml:"duration,omitempty"`
	// MinSamples is the least number of labelled predictions per version before a check is
	// judged (labels arrive late in clinical settings). Default 500.
	MinSamples *int64 `json:"minSamples,omitempty" yaml:"minSamples,omitempty" jsonschema:"minimum=0"`
	// Confidence of the DeLong interval on the AUC difference (0..1). Default 0.95.
	Confidence *float64 `json:"confidence,omitempty" yaml:"confidence,omitempty" jsonschema:"exclusiveMinimum=0,exclusiveMaximum=1"`
	// Rollback says when a canary is rolled back.
	Rollback RollbackSpec `json:"rollback,omitempty" yaml:"rollback,omitempty"`
}

// RollbackSpec rolls a canary back after FailedChecks checks in which Metric dropped by more
// than MaxDrop, or p95 latency went above MaxLatencyMs.
type RollbackSpec struct {
	// Metric compared between canary and production: auc, precision or recall. Default auc.
	Metric string `json:"metric,omitempty" yaml:"metric,omitempty" jsonschema:"enum=auc,enum=precision,enum=recall"`
	// MaxDrop is the largest tolerated fall of Metric below production (0..1). Default 0.02.
	MaxDrop *float64 `json:"maxDrop,omitempty" yaml:"maxDrop,omitempty" jsonschema:"minimum=0,maximum=1"`
	// MaxLatencyMs is the highest tolerated canary p95 latency. Default: promotion.maxLatencyMs.
	MaxLatencyMs *float64 `json:"maxLatencyMs,omitempty" yaml:"maxLatencyMs,omitempty" jsonschema:"minimum=0"`
	// FailedChecks is how many failed checks roll the canary back. Default 2.
	FailedChecks int `json:"failedChecks,omitempty" yaml:"failedChecks,omitempty" jsonschema:"minimum=1"`
}

// Duration is a Go/Kubernetes-style duration such as 6h, 90m or 1h30m, or days: 90d,
// 1d12h (a day is 24 hours; ParseDuration).
type Duration struct {
	time.Duration
}

// String formats the duration as Go does ("6h0m0s").
func (d Duration) String() string { return d.Duration.String() }

// IsZero reports whether the duration is unset, for omitempty.
func (d Duration) IsZero() bool { return d.Duration == 0 }

// UnmarshalYAML reads a duration string. A malformed one is reported as a *yaml.TypeError so
// that decoding continues and every error in the file is reported.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" && n.Tag != "" {
		if n.Kind == yaml.ScalarNode && n.Tag == "!!int" && n.Value == "0" {
			d.Duration = 0
			return nil
		}
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: expected %s, got %s", n.Line, durationHint, describe(n))}}
	}
	v, err := ParseDuration(n.Value)
	if err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: expected %s, got %q", n.Line, durationHint, n.Value)}}
	}
	if v < 0 {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: duration must not be negative, got %q", n.Line, n.Value)}}
	}
	d.Duration = v
	return nil
}

// MarshalYAML writes the duration as a string.
func (d Duration) MarshalYAML() (any, error) { return d.Duration.String(), nil }

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("expected a duration string: %w", err)
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.Duration.String()) }

// JSONSchema describes a duration for the generated schema.
func (Duration) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		Type:        "string",
		Pattern:     `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h|d))+$`,
		Description: "A duration such as 6h, 90m or 1h30m (Go/Kubernetes style), or days: 90d, 1d12h (a day is 24 hours).",
	}
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		return fmt.Sprintf("%q", n.Value)
	}
}
