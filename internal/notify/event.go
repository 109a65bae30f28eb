package notify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Kind names what happened.
type Kind string

// Event kinds.
const (
	// KindRollback: a canary failed its checks and was removed.
	KindRollback Kind = "rollback"
	// KindDriftProposal: drift triggered a retrain proposal.
	KindDriftProposal Kind = "drift-proposal"
	// KindPromotionProposed: a candidate passed the gate and its promotion was proposed.
	KindPromotionProposed Kind = "promotion-proposed"
	// KindPromotionMerged: a person merged a promotion proposal.
	KindPromotionMerged Kind = "promotion-merged"
	// KindTrainingFailed: a training run ended in failure.
	KindTrainingFailed Kind = "training-failed"
	// KindStatusRestored: the status branch was lost and restored from the reconciler's backup.
	KindStatusRestored Kind = "status-restored"
	// KindRegistryDrift: an alias of the model registry was moved outside git (set back, or
	// only reported with spec.registry.enforce false).
	KindRegistryDrift Kind = "registry-drift"
)

// Field is one labelled figure of an event ("AUC drop", "0.031"). Fields keep their order.
type Field struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Event is one notification.
type Event struct {
	Kind  Kind   `json:"kind"`
	Model string `json:"model"`
	// Title is one line; Text is the body, plain text.
	Title string `json:"title"`
	Text  string `json:"text,omitempty"`
	// URL links to the proposal, commit or report a person should look at.
	URL    string    `json:"url,omitempty"`
	At     time.Time `json:"at"`
	Fields []Field   `json:"fields,omitempty"`
}

// WebhookPayload encodes e for a generic JSON webhook: the Event as JSON.
func WebhookPayload(e Event) ([]byte, error) {
	b, err := marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encode %s event for %s: %w", e.Kind, e.Model, err)
	}
	return b, nil
}

// marshal encodes v as JSON without escaping <, > and & as \u003c and so on: receivers are
// not HTML pages, and Slack's own escapes stay readable.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
