package kfp

import "time"

// The v2beta1 messages modelops reads and writes, with the proto's snake_case JSON names
// as the API server sends them (backend/api/v2beta1/run.proto, pipeline.proto,
// experiment.proto). Fields modelops does not use
// are left out; the decoder ignores them.

// Runtime states of a run or a task (v2beta1 RuntimeState).
const (
	StatePending   = "PENDING"
	StateRunning   = "RUNNING"
	StateSucceeded = "SUCCEEDED"
	StateSkipped   = "SKIPPED"
	StateFailed    = "FAILED"
	StateCanceling = "CANCELING"
	StateCanceled  = "CANCELED"
	StatePaused    = "PAUSED"
)

// Run is a v2beta1 Run.
type Run struct {
	ExperimentID             string                    `json:"experiment_id,omitempty"`
	RunID                    string                    `json:"run_id,omitempty"`
	DisplayName              string                    `json:"display_name,omitempty"`
	StorageState             string                    `json:"storage_state,omitempty"`
	Description              string                    `json:"description,omitempty"`
	PipelineVersionReference *PipelineVersionReference `json:"pipeline_version_reference,omitempty"`
	// PipelineSpec is an inline compiled pipeline, the alternative to a version reference.
	PipelineSpec   map[string]any  `json:"pipeline_spec,omitempty"`
	RuntimeConfig  *RuntimeConfig  `json:"runtime_config,omitempty"`
	ServiceAccount string          `json:"service_account,omitempty"`
	CreatedAt      *time.Time      `json:"created_at,omitempty"`
	FinishedAt     *time.Time      `json:"finished_at,omitempty"`
	State          string          `json:"state,omitempty"`
	Error          *Status         `json:"error,omitempty"`
	RunDetails     *RunDetails     `json:"run_details,omitempty"`
	StateHistory   []RuntimeStatus `json:"state_history,omitempty"`
}

// PipelineVersionReference names an uploaded pipeline version.
type PipelineVersionReference struct {
	PipelineID        string `json:"pipeline_id,omitempty"`
	PipelineVersionID string `json:"pipeline_version_id,omitempty"`
}

// RuntimeConfig holds a run's parameters (any JSON value each) and pipeline root.
type RuntimeConfig struct {
	Parameters   map[string]any `json:"parameters,omitempty"`
	PipelineRoot string         `json:"pipeline_root,omitempty"`
}

// Status is a google.rpc.Status: a run's or a task's error.
type Status struct {
	Code    int    `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

// RuntimeStatus is one entry of a state history.
type RuntimeStatus struct {
	UpdateTime *time.Time `json:"update_time,omitempty"`
	State      string     `json:"state,omitempty"`
	Error      *Status    `json:"error,omitempty"`
}

// RunDetails are the run's tasks. A task's outputs are ML Metadata artifact IDs only: the
// API exposes no output parameter values.
type RunDetails struct {
	TaskDetails []TaskDetail `json:"task_details,omitempty"`
}

// TaskDetail is one task (a component execution, or a DAG) of a run.
type TaskDetail struct {
	RunID        string          `json:"run_id,omitempty"`
	TaskID       string          `json:"task_id,omitempty"`
	DisplayName  string          `json:"display_name,omitempty"`
	CreateTime   *time.Time      `json:"create_time,omitempty"`
	StartTime    *time.Time      `json:"start_time,omitempty"`
	EndTime      *time.Time      `json:"end_time,omitempty"`
	State        string          `json:"state,omitempty"`
	Error        *Status         `json:"error,omitempty"`
	ParentTaskID string          `json:"parent_task_id,omitempty"`
	StateHistory []RuntimeStatus `json:"state_history,omitempty"`
	PodName      string          `json:"pod_name,omitempty"`
}

// ListRunsResponse is a page of runs.
type ListRunsResponse struct {
	Runs          []Run  `json:"runs,omitempty"`
	TotalSize     int    `json:"total_size,omitempty"`
	NextPageToken string `json:"next_page_token,omitempty"`
}

// Pipeline is an uploaded pipeline.
type Pipeline struct {
	PipelineID  string     `json:"pipeline_id,omitempty"`
	DisplayName string     `json:"display_name,omitempty"`
	Namespace   string     `json:"namespace,omitempty"`
	CreatedAt   *time.Time `json:"created_at,omitempty"`
}

// PipelineVersion is one uploaded version of a pipeline.
type PipelineVersion struct {
	PipelineID        string     `json:"pipeline_id,omitempty"`
	PipelineVersionID string     `json:"pipeline_version_id,omitempty"`
	DisplayName       string     `json:"display_name,omitempty"`
	CreatedAt         *time.Time `json:"created_at,omitempty"`
}

// ListPipelineVersionsResponse is a page of pipeline versions.
type ListPipelineVersionsResponse struct {
	PipelineVersions []PipelineVersion `json:"pipeline_versions,omitempty"`
	TotalSize        int               `json:"total_size,omitempty"`
	NextPageToken    string            `json:"next_page_token,omitempty"`
}

// Experiment groups runs.
type Experiment struct {
	ExperimentID string     `json:"experiment_id,omitempty"`
	DisplayName  string     `json:"display_name,omitempty"`
	Description  string     `json:"description,omitempty"`
	Namespace    string     `json:"namespace,omitempty"`
	CreatedAt    *time.Time `json:"created_at,omitempty"`
	StorageState string     `json:"storage_state,omitempty"`
}

// ListExperimentsResponse is a page of experiments.
type ListExperimentsResponse struct {
	Experiments   []Experiment `json:"experiments,omitempty"`
	TotalSize     int          `json:"total_size,omitempty"`
	NextPageToken string       `json:"next_page_token,omitempty"`
}

// RuntimeError is grpc-gateway's error body.
type RuntimeError struct {
	Error   string `json:"error"`
	Code    int    `json:"code"`
	Message string `json:"message"`
	Details []any  `json:"details,omitempty"`
}

// Filter is the JSON form of filter.proto's Filter, passed URL-encoded in ?filter=.
type Filter struct {
	Predicates []Predicate `json:"predicates"`
}

// Predicate compares a field of a resource with a value.
type Predicate struct {
	Key         string `json:"key"`
	Operation   string `json:"operation"`
	StringValue string `json:"string_value"`
}

// Filter operations modelops uses.
const (
	OpEquals      = "EQUALS"
	OpIsSubstring = "IS_SUBSTRING"
)
