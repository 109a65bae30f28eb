package audit

import "time"

// Kind names what an event means.
type Kind string

// Event kinds, in the order an event lists them.
const (
	// KindAdded: the model's policy appeared.
	KindAdded Kind = "added"
	// KindRemoved: the model's policy disappeared.
	KindRemoved Kind = "removed"
	// KindInvalid: the policy became invalid (or stayed invalid with another problem).
	KindInvalid Kind = "invalid"
	// KindFixed: an invalid policy became valid again; the changes are against the last
	// valid version.
	KindFixed Kind = "fixed"
	// KindMoved: the policy now lives in another file (renamed, moved, or moved between
	// files).
	KindMoved Kind = "moved"
	// KindPromotion: spec.production.version changed.
	KindPromotion Kind = "promotion"
	// KindRollback: the canary was removed or set to weight 0 by a commit carrying
	// Modelops-Action: rollback.
	KindRollback Kind = "rollback"
	// KindRetrain: spec.retrain.generation was raised.
	KindRetrain Kind = "retrain"
	// KindCanary: a canary started or its version changed.
	KindCanary Kind = "canary"
	// KindCanaryStep: the canary's weight changed.
	KindCanaryStep Kind = "canary-step"
	// KindCanaryRemoved: the canary was removed or set to weight 0 without a rollback
	// trailer (and not by a promotion).
	KindCanaryRemoved Kind = "canary-removed"
	// KindChange: any other change of meaning.
	KindChange Kind = "change"
)

// Timeline is the audit of one branch. Its JSON form is the stable output of
// `modelops audit -o json`.
type Timeline struct {
	// Branch is the audited branch and Head the commit at its tip.
	Branch string `json:"branch"`
	Head   string `json:"head"`
	// Model is the model asked for, or empty for every model.
	Model string `json:"model,omitempty"`
	// Since is the cut-off asked for, if any.
	Since *time.Time `json:"since,omitempty"`
	// Events are oldest first; events of one commit are ordered by model name.
	Events []Event `json:"events"`
}

// Event is what one mainline commit did to one model.
type Event struct {
	Model string `json:"model"`
	// Kinds name the event in words, most important first; never empty.
	Kinds []Kind `json:"kinds"`
	// Commit is the mainline commit (for a merge, the merge commit); Time its commit time.
	Commit  string    `json:"commit"`
	Time    time.Time `json:"time"`
	Subject string    `json:"subject"`
	// File holds the policy after the commit ("" when removed); PreviousFile is set when the
	// policy moved or was removed.
	File         string `json:"file,omitempty"`
	PreviousFile string `json:"previousFile,omitempty"`
	// Changes are the fields that differ from the parent (for a fix, from the last valid
	// version); empty for an added, removed or invalid policy.
	Changes []Change `json:"changes"`
	// Error is the first problem of an invalid policy, as file:line:col: field: message.
	Error     string `json:"error,omitempty"`
	Author    Person `json:"author"`
	Committer Person `json:"committer"`
	// PullRequest is the number in "Merge pull request #N" or a squash merge's "(#N)".
	PullRequest int `json:"pullRequest,omitempty"`
	// Merge is set when Commit is a merge.
	Merge *Merge `json:"merge,omitempty"`
	// Trailers are the Modelops-* trailers of the commit and of the commits it merged that
	// concern this model (they name it with Modelops-Model, or name no model).
	Trailers []Trailer `json:"trailers"`
}

// Person is an author or committer and when they acted.
type Person struct {
	Name  string    `json:"name"`
	Email string    `json:"email"`
	Time  time.Time `json:"time"`
}

// Merge is who merged a branch and what the branch held.
type Merge struct {
	// MergedBy is the merge commit's committer.
	MergedBy Person `json:"mergedBy"`
	// Proposal is the local forge's proposal the merge closed ("Merge proposal model/kind").
	Proposal *Proposal `json:"proposal,omitempty"`
	// Commits are the merged branch's commits, oldest first.
	Commits []CommitRef `json:"commits"`
	// Truncated is true when the branch held more commits than were listed.
	Truncated bool `json:"truncated,omitempty"`
}

// Proposal links a merge to its proposal record on the status branch.
type Proposal struct {
	// ID is model/kind.
	ID string `json:"id"`
	// Record is where the record lives: <status branch>:proposals/<model>/<kind>.json.
	Record string `json:"record"`
	// RecordCommit is the status-branch commit of the record version that names this
	// merge; empty (with Title, State, Branch and Evidence) when no version does.
	RecordCommit string `json:"recordCommit,omitempty"`
	Title        string `json:"title,omitempty"`
	State        string `json:"state,omitempty"`
	Branch       string `json:"branch,omitempty"`
	// Evidence is the first line of the body's Evidence section.
	Evidence string `json:"evidence,omitempty"`
}

// CommitRef is one commit of a merged branch.
type CommitRef struct {
	Hash     string    `json:"hash"`
	Subject  string    `json:"subject"`
	Author   Person    `json:"author"`
	Trailers []Trailer `json:"trailers,omitempty"`
}

// Trailer is one Modelops-* trailer and the commit that carries it.
type Trailer struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	Commit string `json:"commit"`
}
