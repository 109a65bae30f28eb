package reconciler

import "time"

// Condition types, as Flux names them.
const (
	// ConditionReady is True when the model's last cycle completed without error.
	ConditionReady = "Ready"
	// ConditionReconciling is True while actions for the model are in flight.
	ConditionReconciling = "Reconciling"
	// ConditionStalled is True when the model cannot be reconciled until its policy changes.
	ConditionStalled = "Stalled"
)

// Condition reasons.
const (
	ReconciledReason       = "Reconciled"
	ProgressingReason      = "Progressing"
	InvalidPolicyReason    = "InvalidPolicy"
	SuspendedReason        = "Suspended"
	GitOperationFailed     = "GitOperationFailed"
	DriftCheckFailedReason = "DriftCheckFailed"
	ProposalFailedReason   = "ProposalFailed"
	TrainingFailedReason   = "TrainingFailed"
	RunnerFailedReason     = "RunnerFailed"
	RouterFailedReason     = "RouterFailed"
	// GenerationUndecidedReason: the status was lost and modelops cannot tell whether the
	// tip's generation was trained; a person decides.
	GenerationUndecidedReason = "GenerationUndecided"
)

// ConditionStatus is True, False or Unknown.
type ConditionStatus string

// Condition statuses.
const (
	ConditionTrue    ConditionStatus = "True"
	ConditionFalse   ConditionStatus = "False"
	ConditionUnknown ConditionStatus = "Unknown"
)

// Condition is one observation of a model's reconcile state.
type Condition struct {
	Type    string          `json:"type"`
	Status  ConditionStatus `json:"status"`
	Reason  string          `json:"reason"`
	Message string          `json:"message,omitempty"`
	// LastTransition is when Status last changed.
	LastTransition time.Time `json:"lastTransitionTime"`
}

// setCondition sets a condition, keeping LastTransition when the status does not change.
func setCondition(conds []Condition, c Condition) []Condition {
	for i := range conds {
		if conds[i].Type != c.Type {
			continue
		}
		if conds[i].Status == c.Status {
			c.LastTransition = conds[i].LastTransition
		}
		conds[i] = c
		return conds
	}
	return append(conds, c)
}

// findCondition returns the condition of type t.
func findCondition(conds []Condition, t string) (Condition, bool) {
	for _, c := range conds {
		if c.Type == t {
			return c, true
		}
	}
	return Condition{}, false
}
