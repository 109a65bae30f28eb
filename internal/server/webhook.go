package server

import (
	"errors"
	"mime"
	"net/http"
	"strings"
	"sync"

	"github.com/google/go-github/v62/github"
)

// webhookResponse is the body of every answer to a verified delivery.
type webhookResponse struct {
	// Status is "accepted" (a reconcile was requested), "ignored" or "duplicate".
	Status string `json:"status"`
	Event  string `json:"event"`
	Reason string `json:"reason,omitempty"`
}

// WithCheckRerun calls rerun with the model of a modelops check run a person asked GitHub to
// re-run (check_run "rerequested", the "Re-run" button), before requesting a reconcile, so
// that the model's drift check runs now. rerun must not block.
func WithCheckRerun(rerun func(model string)) Option {
	return func(s *Server) { s.rerun = rerun }
}

// checkModel returns the model a modelops check run is about: its names read
// "modelops/<check>: <model>".
func checkModel(name string) (string, bool) {
	check, model, ok := strings.Cut(name, ": ")
	if !ok || !strings.HasPrefix(check, "modelops/") || model == "" {
		return "", false
	}
	return model, true
}

// githubWebhook verifies a delivery, drops a redelivery, and requests a reconcile for the
// events that can change what the reconciler sees: a closed pull request (merged or not), a
// push, the ping GitHub sends when the hook is created, and a person re-running one of
// modelops' check runs (passed to WithCheckRerun's hook). The reconciler is level
// triggered, so the payload is only a hint; nothing in it is trusted beyond the event type
// and, for a re-run, the check's name.
func (s *Server) githubWebhook(w http.ResponseWriter, r *http.Request) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/json" && mt != "application/x-www-form-urlencoded") {
		writeError(w, errorf(http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "content type %q: want application/json or application/x-www-form-urlencoded", r.Header.Get("Content-Type")))
		return
	}
	// Only the SHA-256 signature is accepted: go-github's ValidatePayload would fall back to
	// the SHA-1 X-Hub-Signature.
	sig := r.Header.Get(github.SHA256SignatureHeader)
	if !strings.HasPrefix(sig, "sha256=") {
		s.unauthorizedDelivery(w, r, "missing "+github.SHA256SignatureHeader)
		return
	}
	body := http.MaxBytesReader(w, r.Body, maxWebhookBytes)
	payload, err := github.ValidatePayloadFromBody(mt, body, sig, s.webhookSecret)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, errorf(http.StatusRequestEntityTooLarge, CodeTooLarge, "the delivery is larger than %d bytes", mbe.Limit))
			return
		}
		s.unauthorizedDelivery(w, r, "signature does not verify")
		return
	}

	event := github.WebHookType(r)
	delivery := github.DeliveryID(r)
	if event == "" {
		writeError(w, errorf(http.StatusBadRequest, CodeBadRequest, "header X-GitHub-Event is missing"))
		return
	}
	// Remembered only once verified, so forged deliveries cannot crowd out real IDs.
	if delivery != "" && !s.deliveries.add(delivery) {
		writeJSON(w, http.StatusOK, webhookResponse{Status: "duplicate", Event: event, Reason: "delivery already received"})
		return
	}

	accept := false
	reason := ""
	switch event {
	case "ping", "push":
		accept = true
	case "pull_request":
		ev, err := github.ParseWebHook(event, payload)
		if err != nil {
			writeError(w, errorf(http.StatusBadRequest, CodeBadRequest, "pull_request payload: %s", err))
			return
		}
		if pr, ok := ev.(*github.PullRequestEvent); ok && pr.GetAction() == "closed" {
			accept = true
		} else {
			reason = "pull_request action is not closed"
		}
	case "check_run":
		ev, err := github.ParseWebHook(event, payload)
		if err != nil {
			writeError(w, errorf(http.StatusBadRequest, CodeBadRequest, "check_run payload: %s", err))
			return
		}
		cr, _ := ev.(*github.CheckRunEvent)
		model, ok := checkModel(cr.GetCheckRun().GetName())
		switch {
		case cr.GetAction() != "rerequested":
			reason = "check_run action is not rerequested"
		case !ok:
			reason = "not a modelops check run"
		default:
			accept = true
			if s.rerun != nil {
				s.rerun(model)
			}
		}
	default:
		reason = "event not handled"
	}
	if !accept {
		writeJSON(w, http.StatusAccepted, webhookResponse{Status: "ignored", Event: event, Reason: reason})
		return
	}
	s.reconcile()
	s.log.Info("github delivery accepted; reconcile requested", "event", event, "delivery", delivery)
	writeJSON(w, http.StatusAccepted, webhookResponse{Status: "accepted", Event: event})
}

func (s *Server) unauthorizedDelivery(w http.ResponseWriter, r *http.Request, why string) {
	s.log.Warn("github delivery refused", "reason", why, "delivery", github.DeliveryID(r), "remote", r.RemoteAddr)
	writeError(w, errorf(http.StatusUnauthorized, CodeUnauthorized, "the delivery's signature is missing or does not verify"))
}

// recentIDs remembers the last n IDs added: a ring for the order, a set for the lookup.
type recentIDs struct {
	mu   sync.Mutex // guards ring, next and set
	ring []string
	next int
	set  map[string]struct{}
}

func newRecentIDs(n int) *recentIDs {
	return &recentIDs{ring: make([]string, n), set: make(map[string]struct{}, n)}
}

// add records id and reports whether it was new. When full, the oldest ID is forgotten.
func (r *recentIDs) add(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, seen := r.set[id]; seen {
		return false
	}
	if old := r.ring[r.next]; old != "" {
		delete(r.set, old)
	}
	r.ring[r.next] = id
	r.set[id] = struct{}{}
	r.next = (r.next + 1) % len(r.ring)
	return true
}
