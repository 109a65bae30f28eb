package mlflow

// The messages of MLflow's REST API that modelops reads, with the proto's field names.
// Fields MLflow adds in later releases are ignored when decoding.

// Version statuses (ModelVersionStatus).
const (
	StatusPending = "PENDING_REGISTRATION"
	StatusFailed  = "FAILED_REGISTRATION"
	StatusReady   = "READY"
)

// Tag is a key-value pair: a registered model's or a version's tag, a run's tag or param.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Alias points a name at a version of a registered model.
type Alias struct {
	Alias   string `json:"alias"`
	Version string `json:"version"`
}

// RegisteredModel is a model of the registry with its aliases.
type RegisteredModel struct {
	Name                 string  `json:"name"`
	CreationTimestamp    int64   `json:"creation_timestamp,omitempty"`
	LastUpdatedTimestamp int64   `json:"last_updated_timestamp,omitempty"`
	Description          string  `json:"description,omitempty"`
	Tags                 []Tag   `json:"tags,omitempty"`
	Aliases              []Alias `json:"aliases,omitempty"`
}

// AliasVersions maps each alias of m to its version.
func (m RegisteredModel) AliasVersions() map[string]string {
	out := make(map[string]string, len(m.Aliases))
	for _, a := range m.Aliases {
		out[a.Alias] = a.Version
	}
	return out
}

// ModelVersion is one version of a registered model.
type ModelVersion struct {
	Name                 string   `json:"name"`
	Version              string   `json:"version"`
	CreationTimestamp    int64    `json:"creation_timestamp,omitempty"`
	LastUpdatedTimestamp int64    `json:"last_updated_timestamp,omitempty"`
	UserID               string   `json:"user_id,omitempty"`
	CurrentStage         string   `json:"current_stage,omitempty"`
	Description          string   `json:"description,omitempty"`
	Source               string   `json:"source,omitempty"`
	RunID                string   `json:"run_id,omitempty"`
	Status               string   `json:"status,omitempty"`
	StatusMessage        string   `json:"status_message,omitempty"`
	Tags                 []Tag    `json:"tags,omitempty"`
	RunLink              string   `json:"run_link,omitempty"`
	Aliases              []string `json:"aliases,omitempty"`
}

// Tag returns the value of the version's tag key and whether it is set.
func (v ModelVersion) Tag(key string) (string, bool) { return lookup(v.Tags, key) }

// Run is an MLflow tracking run.
type Run struct {
	Info   RunInfo   `json:"info"`
	Data   RunData   `json:"data"`
	Inputs RunInputs `json:"inputs"`
}

// RunInfo is a run's metadata.
type RunInfo struct {
	RunID          string `json:"run_id"`
	RunName        string `json:"run_name,omitempty"`
	ExperimentID   string `json:"experiment_id,omitempty"`
	UserID         string `json:"user_id,omitempty"`
	Status         string `json:"status,omitempty"`
	StartTime      int64  `json:"start_time,omitempty"`
	EndTime        int64  `json:"end_time,omitempty"`
	ArtifactURI    string `json:"artifact_uri,omitempty"`
	LifecycleStage string `json:"lifecycle_stage,omitempty"`
}

// RunData holds a run's latest metrics, its params and tags.
type RunData struct {
	Metrics []Metric `json:"metrics,omitempty"`
	Params  []Tag    `json:"params,omitempty"`
	Tags    []Tag    `json:"tags,omitempty"`
}

// Metric is the latest value of one of a run's metrics.
type Metric struct {
	Key       string  `json:"key"`
	Value     float64 `json:"value"`
	Timestamp int64   `json:"timestamp,omitempty"`
	Step      int64   `json:"step,omitempty"`
}

// RunInputs holds the datasets a run read.
type RunInputs struct {
	DatasetInputs []DatasetInput `json:"dataset_inputs,omitempty"`
}

// DatasetInput is a dataset a run read, with the input's tags (mlflow.data.context).
type DatasetInput struct {
	Tags    []Tag   `json:"tags,omitempty"`
	Dataset Dataset `json:"dataset"`
}

// Dataset identifies data by name and digest.
type Dataset struct {
	Name       string `json:"name"`
	Digest     string `json:"digest"`
	SourceType string `json:"source_type,omitempty"`
	Source     string `json:"source,omitempty"`
	Schema     string `json:"schema,omitempty"`
	Profile    string `json:"profile,omitempty"`
}

// MetricValues maps each metric key to its latest value.
func (d RunData) MetricValues() map[string]float64 {
	out := make(map[string]float64, len(d.Metrics))
	for _, m := range d.Metrics {
		out[m.Key] = m.Value
	}
	return out
}

// Param returns the value of the run's param key and whether it is set.
func (d RunData) Param(key string) (string, bool) { return lookup(d.Params, key) }

// Tag returns the value of the run's tag key and whether it is set.
func (d RunData) Tag(key string) (string, bool) { return lookup(d.Tags, key) }

func lookup(tags []Tag, key string) (string, bool) {
	for _, t := range tags {
		if t.Key == key {
			return t.Value, true
		}
	}
	return "", false
}
