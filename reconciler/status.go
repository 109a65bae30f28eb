package reconciler

import (
	"sort"
	"time"

	"github.com/medimind/modelops/policies"
)

// Status is everything the reconciler has observed that is not desired state: drift history,
// training runs, manual requests and conditions. It is persisted as JSON on the status branch
// (one file per model) so that a restart loses nothing and repeats nothing.
type Status struct {
	Models map[string]*ModelStatus `json:"models"`
	// Restored names the status commit the store restored a lost status branch from when
	// this status was loaded; empty otherwise.
	Restored string `json:"-"`
}

// NewStatus returns an empty status.
func NewStatus() *Status { return &Status{Models: map[string]*ModelStatus{}} }

// Model returns the status of model, creating an empty one on first use.
func (s *Status) Model(name string) *ModelStatus {
	if s.Models == nil {
		s.Models = map[string]*ModelStatus{}
	}
	m, ok := s.Models[name]
	if !ok {
		m = &ModelStatus{Model: name}
		s.Models[name] = m
	}
	return m
}

// maxDriftHistory bounds the drift summaries kept per model; retrain triggers look at most at
// onDrift.of of them, which validation caps well below this.
const maxDriftHistory = 100

// ModelStatus is the observed state of one model.
type ModelStatus struct {
	Model string `json:"model"`
	// FirstSeen is when the reconciler first saw the model. Schedules start no earlier, and
	// the generation found then is adopted as already trained.
	FirstSeen time.Time `json:"firstSeen"`
	// LaunchedGeneration is the highest training generation launched (or adopted).
	LaunchedGeneration int64 `json:"launchedGeneration"`
	// LastLaunch is when LaunchedGeneration was launched (zero when adopted).
	LastLaunch time.Time `json:"lastLaunch,omitzero"`
	// ScheduleSince is when the commit that introduced the policy's retrain schedule (or the
	// policy itself) was made: the schedule counts from it, so a new policy or a new schedule
	// is not due at once. ScheduleOf is the schedule it was found for.
	ScheduleSince time.Time `json:"scheduleSince,omitzero"`
	ScheduleOf    string    `json:"scheduleOf,omitempty"`
	// Drift holds drift check summaries, oldest first.
	Drift []DriftRecord `json:"drift,omitempty"`
	// Runs holds training runs, by generation ascending.
	Runs []TrainingRun `json:"runs,omitempty"`
	// Manual holds manual retrain requests not yet served by a launch.
	Manual []ManualRequest `json:"manual,omitempty"`
	// Performance is the latest observed performance of the production version.
	Performance *PerformanceRecord `json:"performance,omitempty"`
	// Baseline is the first observed performance of the production version; a drop from it
	// triggers a retrain.
	Baseline *PerformanceRecord `json:"baseline,omitempty"`
	// Candidates are models trained elsewhere and registered through the API, judged once.
	Candidates []Candidate `json:"candidates,omitempty"`
	// Canary is the canary serving at the tip, with its checks; LastCanary the one before.
	Canary     *CanaryStatus `json:"canary,omitempty"`
	LastCanary *CanaryStatus `json:"lastCanary,omitempty"`
	// Conditions summarise the model's reconcile state.
	Conditions []Condition `json:"conditions,omitempty"`
	// Undecided is set when the status was lost and the tip's generation was raised in
	// history without a run the runner knows: whether it was trained cannot be known, so it
	// is neither launched nor adopted until a person decides (modelops retrain or adopt).
	Undecided *UndecidedGeneration `json:"undecided,omitempty"`
	// RetrainHold is the last retrain the policy held back (spec.drift.quality.blocksRetrain,
	// spec.drift.batch.holdRetrain), with its evidence.
	RetrainHold *RetrainHold `json:"retrainHold,omitempty"`
	// RegistryAliases maps each registry alias modelops manages (spec.registry) to the
	// version it last set, so an alias a person moved is recognised across restarts.
	RegistryAliases map[string]string `json:"registryAliases,omitempty"`
	// RegistryCalls are the changes modelops made in the model registry (aliases set and
	// deleted, versions cleaned up), oldest first, the last maxRegistryCalls of them.
	RegistryCalls []RegistryCall `json:"registryCalls,omitempty"`
}

// maxRegistryCalls bounds the registry calls kept per model.
const maxRegistryCalls = 100

// RegistryCall is one change modelops made in the model registry, by the action that made
// it: set-alias, delete-alias, cleanup-version, or rollback (the version's tags).
type RegistryCall struct {
	At     time.Time  `json:"at"`
	Action ActionKind `json:"action"`
	// RegisteredModel, Alias and Version say what changed: the alias set to Version, the
	// alias deleted (Version is where it pointed), or the version cleaned up.
	RegisteredModel string `json:"registeredModel"`
	Alias           string `json:"alias,omitempty"`
	Version         string `json:"version,omitempty"`
	// From is where a set alias pointed before; empty when it was not set.
	From string `json:"from,omitempty"`
	// Cleanup is delete or tag for cleanup-version.
	Cleanup string `json:"cleanup,omitempty"`
	// Tags are the version tags set (a rollback's modelops.rolled-back).
	Tags map[string]string `json:"tags,omitempty"`
	// Commit is the tracked-branch commit the call follows; Reason says why.
	Commit string `json:"commit"`
	Reason string `json:"reason"`
}

// AddRegistryCall records a registry call, dropping the oldest beyond maxRegistryCalls.
func (m *ModelStatus) AddRegistryCall(c RegistryCall) {
	m.RegistryCalls = append(m.RegistryCalls, c)
	if over := len(m.RegistryCalls) - maxRegistryCalls; over > 0 {
		m.RegistryCalls = append(m.RegistryCalls[:0:0], m.RegistryCalls[over:]...)
	}
}

// UndecidedGeneration is a generation modelops cannot tell was trained.
type UndecidedGeneration struct {
	Generation int64 `json:"generation"`
	// Commit raised the policy to Generation.
	Commit string    `json:"commit"`
	Since  time.Time `json:"since"`
}

// DriftRecord summarises one drift check; the full report is a file on the status branch.
type DriftRecord struct {
	At      time.Time `json:"at"`
	Commit  string    `json:"commit"`
	Drifted bool      `json:"drifted"`
	Share   float64   `json:"share"`
	// Drifted columns out of tested columns, for proposal bodies.
	DriftedColumns int    `json:"driftedColumns"`
	Columns        int    `json:"columns"`
	Report         string `json:"report,omitempty"`
	// QualityFindings counts the report's data quality findings; with
	// spec.drift.quality.blocksRetrain they hold a retrain.
	QualityFindings int `json:"qualityFindings,omitempty"`
	// SuspectBatches are the batches of BatchColumn the batch check names as the source
	// of the drift.
	SuspectBatches []string `json:"suspectBatches,omitempty"`
	BatchColumn    string   `json:"batchColumn,omitempty"`
	// InsufficientData: a window of the log held fewer rows than its minRows; the report
	// is neither drifted nor not (the retrain trigger skips it).
	InsufficientData bool `json:"insufficientData,omitempty"`
	// Interval is the adaptive schedule's interval when the report was made, before the
	// report moved it (set with spec.drift.adaptive): the oldest record kept tells
	// ScheduleDrift where the sequence stood.
	Interval policies.Duration `json:"interval,omitzero"`
}

// RunPhase is the phase of a training run.
type RunPhase string

// Training run phases.
const (
	RunPending   RunPhase = "Pending"
	RunRunning   RunPhase = "Running"
	RunSucceeded RunPhase = "Succeeded"
	RunFailed    RunPhase = "Failed"
	RunCancelled RunPhase = "Cancelled"
	// RunUnknown is a run that ended without leaving evidence of its outcome (its Job or pod
	// was removed before the result was read). It is not a failure: a person decides, by
	// raising the generation or registering the candidate.
	RunUnknown RunPhase = "Unknown"
)

// Finished reports whether the phase is terminal.
func (p RunPhase) Finished() bool {
	return p == RunSucceeded || p == RunFailed || p == RunCancelled || p == RunUnknown
}

// TrainingRun is one training job for (model, generation).
type TrainingRun struct {
	Generation int64     `json:"generation"`
	Commit     string    `json:"commit"`
	ID         string    `json:"id"`
	Phase      RunPhase  `json:"phase"`
	Started    time.Time `json:"started,omitzero"`
	Finished   time.Time `json:"finished,omitzero"`
	Message    string    `json:"message,omitempty"`
	// Source says what the run executes, as resolved at launch (a pipeline version's IDs,
	// an inline spec's file and digest), when the runner knows more than the policy says.
	Source string     `json:"source,omitempty"`
	Result *RunResult `json:"result,omitempty"`
	// Promotion is the promotion gate's verdict on the run's candidate, recorded once when
	// the run is judged, so that it is never judged (or proposed) twice.
	Promotion *PromotionVerdict `json:"promotion,omitempty"`
	// FailureReported is set once a cycle has reported the run's failure (summary,
	// notification), so that it is reported once.
	FailureReported bool `json:"failureReported,omitempty"`
	// NoResult is set by the runner on a run that failed only because its job, which ended
	// well, reported no result: with spec.registry the reconciler then looks for the version
	// the job registered, by its tags, once.
	NoResult bool `json:"noResult,omitempty"`
}

// RunResult is what a training job reports (SPEC.md "Jobs"): the candidate inline, or a
// version it registered in the model registry (Registry), whose version, uri and metrics
// the reconciler then reads from the registry.
type RunResult struct {
	Version string          `json:"version"`
	URI     string          `json:"uri"`
	Metrics TrainingMetrics `json:"metrics"`
	// Registry is set when the job registered the candidate instead: {"registry": {"name":
	// "sepsis-risk", "version": "14"}}.
	Registry *RegistryRef `json:"registry,omitempty"`
}

// RegistryRef names a version of a registered model.
type RegistryRef struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Pending reports whether the result names a registry version not read yet: there is no
// candidate to judge until it is.
func (r *RunResult) Pending() bool { return r.Registry != nil && r.Version == "" }

// TrainingMetrics are a candidate's validation figures.
type TrainingMetrics struct {
	AUC       *float64 `json:"auc"`
	Precision *float64 `json:"precision"`
	Recall    *float64 `json:"recall"`
	Samples   int64    `json:"samples"`
	LatencyMs *float64 `json:"latencyMs"`
	Coverage  *float64 `json:"coverage"`
}

// ManualRequest is a person asking for a retrain (modelops retrain MODEL --reason), or, with
// Adopt, taking an undecided generation as trained (modelops adopt MODEL --reason).
type ManualRequest struct {
	At     time.Time `json:"at"`
	Reason string    `json:"reason"`
	By     string    `json:"by,omitempty"`
	// Adopt takes generation Generation as trained; it asks for no retrain.
	Adopt      bool  `json:"adopt,omitempty"`
	Generation int64 `json:"generation,omitempty"`
}

// PerformanceRecord is a production metric reading.
type PerformanceRecord struct {
	At      time.Time `json:"at"`
	Version string    `json:"version"`
	Metric  string    `json:"metric"`
	Value   float64   `json:"value"`
	Samples int64     `json:"samples"`
}

// Run returns the run of generation gen.
func (m *ModelStatus) Run(gen int64) (*TrainingRun, bool) {
	for i := range m.Runs {
		if m.Runs[i].Generation == gen {
			return &m.Runs[i], true
		}
	}
	return nil, false
}

// SetRun inserts or replaces the run of r.Generation, keeping Runs sorted.
func (m *ModelStatus) SetRun(r TrainingRun) {
	if old, ok := m.Run(r.Generation); ok {
		*old = r
		return
	}
	m.Runs = append(m.Runs, r)
	sort.Slice(m.Runs, func(i, j int) bool { return m.Runs[i].Generation < m.Runs[j].Generation })
}

// AddDrift appends a drift record, dropping the oldest beyond maxDriftHistory.
func (m *ModelStatus) AddDrift(r DriftRecord) {
	m.Drift = append(m.Drift, r)
	if over := len(m.Drift) - maxDriftHistory; over > 0 {
		m.Drift = append(m.Drift[:0:0], m.Drift[over:]...)
	}
}

// LastDrift returns the newest drift record.
func (m *ModelStatus) LastDrift() (DriftRecord, bool) {
	if len(m.Drift) == 0 {
		return DriftRecord{}, false
	}
	return m.Drift[len(m.Drift)-1], true
}
