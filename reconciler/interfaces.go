package reconciler

import (
	"context"
	"errors"
	"io/fs"
	"time"

	"github.com/medimind/modelops/policies"
)

// ErrRunNotFound is returned by Runner.Get for a (model, generation) never started.
var ErrRunNotFound = errors.New("training run not found")

// Repo is the git repository holding the desired state.
type Repo interface {
	// Sync fetches the remote, if there is one, and returns the commit at the tip of the
	// tracked branch. It is idempotent.
	Sync(ctx context.Context) (commit string, err error)
	// Tree returns a read-only view of the repository tree at commit, without a checkout.
	Tree(ctx context.Context, commit string) (fs.FS, error)
	// Introduced returns the commit that made the file at path satisfy holds: the oldest of
	// the unbroken run of commits up to tip that changed path and at which holds is true (for
	// a merged proposal, its merge commit). It returns tip when holds is false there.
	Introduced(ctx context.Context, tip, path string, holds func(content []byte) bool) (string, error)
	// CommitTime returns when commit was made (its committer time).
	CommitTime(ctx context.Context, commit string) (time.Time, error)
}

// ProposalKind names what a proposal proposes; there is at most one open per (model, kind).
type ProposalKind string

// Proposal kinds.
const (
	ProposalRetrain ProposalKind = "retrain"
	ProposalPromote ProposalKind = "promote"
	// ProposalCanary carries a canary step or rollback when the repository configuration
	// asks for pull requests instead of commits.
	ProposalCanary ProposalKind = "canary"
)

// PromotionTarget says what a promotion proposal promotes to: a canary, or production. Both
// kinds of promotion share the ProposalPromote slot (at most one promotion is open per model);
// the forges keep the target with the proposal (the pull request's marker, the local record),
// so that which promotion an open one is never has to be read back out of its key.
type PromotionTarget string

// Promotion targets.
const (
	TargetCanary     PromotionTarget = "canary"
	TargetProduction PromotionTarget = "production"
)

// ProposalState says whether a proposal is open or was declined by a person.
type ProposalState string

// Proposal states. Merged proposals and those modelops closed itself are not listed.
const (
	ProposalOpen     ProposalState = "open"
	ProposalDeclined ProposalState = "declined"
)

// Proposal is a proposal (a pull request, or a local branch and its record).
type Proposal struct {
	Model string        `json:"model"`
	Kind  ProposalKind  `json:"kind"`
	State ProposalState `json:"state"`
	// Key identifies what is proposed (for a retrain, the generation it raises to).
	Key string `json:"key"`
	// Target is what a promotion proposal promotes to; empty for other kinds.
	Target PromotionTarget `json:"target,omitempty"`
	// Digest identifies the evidence the body was written from; a new digest updates it.
	Digest string `json:"digest"`
	Title  string `json:"title"`
	Branch string `json:"branch"`
	// URL (pull request) or ID (local) a person uses to find it.
	URL string `json:"url,omitempty"`
}

// Where says where a person finds the proposal: its URL, or its branch.
func (p Proposal) Where() string {
	if p.URL != "" {
		return p.URL
	}
	return p.Branch
}

// ProposalRequest is what the reconciler wants proposed.
type ProposalRequest struct {
	Model  string
	Kind   ProposalKind
	Key    string
	Target PromotionTarget
	Digest string
	Title  string
	Body   string
	// Base is the tracked branch commit the edit applies to, File the policy file and Edits
	// the minimal-diff edits of the model's document.
	Base  string
	File  string
	Edits []policies.Edit
	// Trailers go on the proposal's commit (git.Trailers: Modelops-Action, -Model, -Reason,
	// -Evidence).
	Trailers map[string]string
}

// Proposals opens, updates and closes proposals.
type Proposals interface {
	// List returns every open proposal, and the latest proposal of each (model, kind) that a
	// person closed without merging (declined), so it is not proposed again.
	List(ctx context.Context) ([]Proposal, error)
	// Ensure opens the proposal of (req.Model, req.Kind), or updates the open one in place
	// (branch, title, body) when its key or digest differ. It is idempotent: it never opens a
	// second proposal for the same (model, kind).
	Ensure(ctx context.Context, req ProposalRequest) (Proposal, error)
	// Close closes the open proposal of (model, kind) with a comment giving reason. Closing
	// when none is open is a no-op.
	Close(ctx context.Context, model string, kind ProposalKind, reason string) error
}

// ErrLimited is matched (errors.Is) by adapter errors that mean "a limit holds: try again
// later" — a forge's pull-request limits, an API rate limit. The action waits for its retry
// without marking the model failed.
var ErrLimited = errors.New("limit reached")

// ErrNoProposal is returned by ProposalCommenter.CommentOnMerge when no proposal's merge made
// the commit (a person committed the change directly).
var ErrNoProposal = errors.New("no proposal for commit")

// ProposalCommenter comments on the proposal a change came from; a rollback comments on the
// proposal that introduced the canary it removes.
type ProposalCommenter interface {
	// CommentOnMerge adds text as a comment on the proposal whose merge produced commit, or
	// returns ErrNoProposal. Commenting the same text twice adds it once.
	CommentOnMerge(ctx context.Context, commit, text string) error
}

// JobRequest asks for the training job of (Model, Generation).
type JobRequest struct {
	Model      string
	Generation int64
	// Commit is the tracked-branch commit that raised the generation.
	Commit string
	// PolicyFile is the policy's path in the repository, for labels and annotations.
	PolicyFile string
	Job        policies.JobSpec
	// Pipeline, when set, is a Kubeflow Pipelines run to launch instead of Job, on the
	// endpoint of Kubeflow (the repository configuration's spec.kubeflow).
	Pipeline *policies.PipelineSpec
	// PipelineIR is the compiled pipeline Pipeline.Spec names, as committed at Commit.
	PipelineIR []byte
	// RegisteredModel is the model registry's name for the model (spec.registry.name) when
	// the policy has a registry, where a pipeline registers its candidate.
	RegisteredModel string
	Kubeflow        *policies.KubeflowConfig
	// ServiceAccounts are the accounts the repository configuration lets training run as
	// (.modelops.yaml spec.kubernetes.serviceAccounts); a runner with accounts refuses others.
	ServiceAccounts []string
}

// Runner runs training jobs.
type Runner interface {
	// Start launches the job of (model, generation) unless it already exists, and returns
	// its run. It is idempotent per (model, generation), across restarts.
	Start(ctx context.Context, req JobRequest) (TrainingRun, error)
	// Get returns the run of (model, generation), or ErrRunNotFound.
	Get(ctx context.Context, model string, generation int64) (TrainingRun, error)
	// Cancel stops the run of (model, generation). Cancelling a finished or unknown run is a
	// no-op.
	Cancel(ctx context.Context, model string, generation int64) error
}

// RepositoryConfigured is implemented by a Runner that needs the repository configuration
// (a Kubeflow endpoint) to answer Get and Cancel; each cycle hands it the tip's before
// observing runs.
type RepositoryConfigured interface {
	UseRepositoryConfig(cfg *policies.RepositoryConfig)
}

// Traffic is how a model's requests are split: production takes what the canary does not.
// Versions are what people read; URIs are what a serving layer loads (KServe's storageUri).
type Traffic struct {
	Production    string `json:"production"`
	ProductionURI string `json:"productionURI,omitempty"`
	// Canary is empty, with Weight 0, when no canary runs.
	Canary    string `json:"canary,omitempty"`
	CanaryURI string `json:"canaryURI,omitempty"`
	// Weight is the canary's share of traffic in percent (0..100).
	Weight int `json:"weight"`
}

// Router applies traffic weights to the serving layer (a file a local server reads, or
// KServe's canaryTrafficPercent). Get and Set are what applying traffic needs: compare the
// split served with the tip's production and canary, and set it when they differ.
type Router interface {
	// Get returns the traffic split the router serves for model; ErrNotRouted when it has
	// none yet.
	Get(ctx context.Context, model string) (Traffic, error)
	// Set makes the router serve t for model. It is idempotent.
	Set(ctx context.Context, model string, t Traffic) error
}

// ErrNotRouted is returned by Router.Get for a model the router does not serve yet.
var ErrNotRouted = errors.New("model not routed")

// DriftResult is the outcome of one drift check.
type DriftResult struct {
	Drifted        bool
	Share          float64
	DriftedColumns int
	Columns        int
	// InsufficientData is the verdict "insufficient data": a window of the policy's log
	// held fewer rows than its minRows (drift-definitions.md §8). The columns were not
	// compared; the check is neither drifted nor failed, and the retrain-on-drift trigger
	// counts it as neither.
	InsufficientData bool
	// Report is the full report as JSON (the `modelops drift -o json` contract).
	Report []byte
	// Markdown renders the report for people (check runs, proposal bodies), bounded well
	// under GitHub's limits; empty when the checker renders none.
	Markdown string
	// QualityFindings counts the report's data quality findings (spec.drift.quality).
	QualityFindings int
	// SuspectBatches are the batches the batch check (spec.drift.batch) names as the
	// source of the drift, in BatchColumn.
	SuspectBatches []string
	BatchColumn    string
}

// DriftChecker runs the drift check a policy describes.
type DriftChecker interface {
	// Check compares the policy's current data with its reference. Relative data paths are
	// read from data. at is the time of the check (the cycle's clock): the windows of a
	// timestamped log (spec.data.source) end there. Errors naming bad data are returned
	// wrapped in a *DataError.
	Check(ctx context.Context, p *policies.Policy, data fs.FS, at time.Time) (DriftResult, error)
}

// Metrics reads how the production version performs.
type Metrics interface {
	// Production returns the latest reading of the policy's retrain metric for the
	// production version, or nil when the policy has no metrics source or no labelled data.
	// A zero At is stamped by the reconciler when the figure changes, so unchanged data
	// gives an unchanged record.
	Production(ctx context.Context, p *policies.Policy, data fs.FS) (*PerformanceRecord, error)
}

// CanaryMetrics compares a canary with production on the same window of predictions.
type CanaryMetrics interface {
	// CompareCanary evaluates the canary and production versions of p over the predictions
	// made in [since, until), with the AUC difference's DeLong interval at
	// canaryAnalysis.confidence. It returns nil when p has no source of predictions.
	CompareCanary(ctx context.Context, p *policies.Policy, data fs.FS, since, until time.Time) (*CanaryObservation, error)
}

// Committer commits the reconciler's own edits (canary steps, rollbacks) to the tracked
// branch.
type Committer interface {
	// CommitEdit reads file at the tip of the tracked branch, applies edit to its content and
	// pushes the result without force. When a person pushed meanwhile it starts again from
	// the new tip (bounded), calling edit again, so edit must judge the content it is given:
	// it returns an error wrapping policies.ErrConflict when a person changed what it
	// expects, which stops CommitEdit with that error. It returns the commit pushed, or the
	// tip unchanged when edit changes nothing.
	CommitEdit(ctx context.Context, file string, edit func(content []byte) ([]byte, error), message string, trailers map[string]string) (string, error)
}

// StatusStore persists Status (the status branch).
type StatusStore interface {
	// Load reads the stored status; an empty store gives an empty Status.
	Load(ctx context.Context) (*Status, error)
	// Save stores the status and the extra files (full reports, by path) in one change with
	// message. Saving what is already stored changes nothing.
	Save(ctx context.Context, s *Status, files map[string][]byte, message string) error
	// ReadFile reads a file saved with the status (a report, by path); an error wrapping
	// fs.ErrNotExist when there is none.
	ReadFile(ctx context.Context, path string) ([]byte, error)
}

// CheckStatus is the lifecycle of a reported check (GitHub's check-run status).
type CheckStatus string

// Check statuses.
const (
	CheckQueued     CheckStatus = "queued"
	CheckInProgress CheckStatus = "in_progress"
	CheckCompleted  CheckStatus = "completed"
)

// CheckConclusion is a completed check's outcome.
type CheckConclusion string

// Check conclusions.
const (
	CheckSuccess CheckConclusion = "success"
	CheckNeutral CheckConclusion = "neutral"
	CheckFailure CheckConclusion = "failure"
)

// Annotation points a check at a line of a file in the repository.
type Annotation struct {
	Path      string `json:"path"`
	StartLine int    `json:"startLine"`
	EndLine   int    `json:"endLine"`
	// Level is notice, warning or failure.
	Level   string `json:"level"`
	Message string `json:"message"`
}

// CheckReport is one observation published on a commit: a drift check on the tracked
// branch's tip, or a training job's progress on the commit that launched it.
type CheckReport struct {
	// Name identifies the check on the commit ("modelops/drift: sepsis-risk").
	Name   string
	Commit string
	Status CheckStatus
	// Conclusion is set when Status is CheckCompleted.
	Conclusion CheckConclusion
	Title      string
	Summary    string
	Text       string
	// DetailsURL links to the full report (on the status branch).
	DetailsURL  string
	Annotations []Annotation
}

// Reporter publishes checks on commits (GitHub check runs, or commit statuses without a
// GitHub App). The embedded default has none: the status branch is the record.
type Reporter interface {
	// Report creates the check (Name, Commit) or updates it in place. It is idempotent:
	// reporting the same content twice leaves one check.
	Report(ctx context.Context, r CheckReport) error
}

// Registry is a model registry (MLflow's) whose aliases follow the tip for the policies with
// spec.registry. Its adapter is internal/registry/mlflow's Client.
type Registry interface {
	// ObserveRegistry reads the registered model's aliases and the registry state of the
	// versions the tip of p references; applied (what modelops last set, from the status
	// branch) is passed through into the observation.
	ObserveRegistry(ctx context.Context, p *policies.Policy, applied map[string]string) (RegistryObservation, error)
	// ApplyRegistryAction carries out a registry action (set-alias, delete-alias,
	// cleanup-version; report and wait actions change nothing), with the version tags of
	// its plan. It is idempotent.
	ApplyRegistryAction(ctx context.Context, a Action) error
	// SetVersionTags sets tags on a version of the registered model.
	SetVersionTags(ctx context.Context, registeredModel, version string, tags map[string]string) error
	// ReadCandidate reads a version a training job registered: its registration state and,
	// once READY, the latest metrics of the run that produced it.
	ReadCandidate(ctx context.Context, registeredModel, version string) (RegistryCandidate, error)
	// FindRegistered returns the newest version of registeredModel that a training job of
	// model's generation registered, found by the tags the job gives it (modelops.model,
	// modelops.generation); "" when there is none.
	FindRegistered(ctx context.Context, registeredModel, model string, generation int64) (string, error)
	// VersionLineage reads where a version came from: its run's metrics, hyperparameters,
	// training code commit and dataset digests. A version the registry does not have comes
	// back with Found false and no error.
	VersionLineage(ctx context.Context, registeredModel, version string) (VersionLineage, error)
}

// VersionLineage is what the model registry knows of a version's making.
type VersionLineage struct {
	Version string `json:"version"`
	// Found is false when the registry has no such version.
	Found bool `json:"found"`
	// RunID is the run that logged the version ("" when it names none); RunURL links to the
	// run in MLflow's UI.
	RunID  string `json:"runID,omitempty"`
	RunURL string `json:"runURL,omitempty"`
	// Metrics are the run's latest metrics, Params its hyperparameters.
	Metrics map[string]float64 `json:"metrics,omitempty"`
	Params  map[string]string  `json:"params,omitempty"`
	// CodeCommit is the training code's commit as MLflow recorded it on the run
	// (mlflow.source.git.commit); "" when it did not.
	CodeCommit string `json:"codeCommit,omitempty"`
	// Datasets are the data the run read, with their digests.
	Datasets []DatasetDigest `json:"datasets,omitempty"`
}

// DatasetDigest identifies data a run read: its name, digest and context (training,
// validation, ...).
type DatasetDigest struct {
	Name    string `json:"name"`
	Digest  string `json:"digest"`
	Context string `json:"context,omitempty"`
}

// RegistryCandidate is a registered version as a candidate: its state, and the metrics of
// its run by key (auc, precision, recall, coverage, samples, latencyMs).
type RegistryCandidate struct {
	State   RegistryVersion
	Metrics map[string]float64
}
