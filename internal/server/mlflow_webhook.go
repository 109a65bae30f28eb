package server

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The headers MLflow (3.3 and later) sends with a webhook delivery, following the Standard
// Webhooks conventions: the signature is "v1," and the base64 HMAC-SHA256, keyed with the
// webhook's secret, of "<delivery id>.<timestamp>.<body>"; the timestamp is in Unix seconds.
const (
	MLflowSignatureHeader  = "X-MLflow-Signature"
	MLflowTimestampHeader  = "X-MLflow-Timestamp"
	MLflowDeliveryIDHeader = "X-MLflow-Delivery-Id"
	mlflowSignatureVersion = "v1"
)

// maxMLflowDeliveryAge bounds how far a delivery's timestamp may be from the server's clock:
// an older delivery replayed by someone who captured it is refused.
const maxMLflowDeliveryAge = 5 * time.Minute

// maxMLflowWebhookBytes bounds a delivery's body; MLflow's payloads are a few hundred bytes.
const maxMLflowWebhookBytes = 1 << 20

// mlflowEvents are the registry events that can change what the reconciler sees: a version
// registered (a training job's candidate), an alias moved or removed outside git.
var mlflowEvents = map[string]bool{
	"model_version.created":       true,
	"model_version_alias.created": true,
	"model_version_alias.deleted": true,
}

// WithMLflowWebhook serves POST /webhooks/mlflow for the webhooks of an MLflow tracking
// server: deliveries signed with secret (X-MLflow-Signature), fresh (X-MLflow-Timestamp
// within five minutes), not seen before (X-MLflow-Delivery-Id), of a version registered or
// an alias set or deleted, call reconcile. reconcile must not block.
func WithMLflowWebhook(secret []byte, reconcile func()) Option {
	return func(s *Server) {
		s.mlflowSecret = append([]byte(nil), secret...)
		s.mlflowReconcile = reconcile
		s.mlflowSet = true
	}
}

// mlflowWebhook verifies an MLflow delivery, drops a redelivery and requests a reconcile for
// the events that matter. As for GitHub's, the payload is only a hint: the reconciler reads
// the registry itself.
func (s *Server) mlflowWebhook(w http.ResponseWriter, r *http.Request) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		writeError(w, errorf(http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "content type %q: want application/json", r.Header.Get("Content-Type")))
		return
	}
	delivery, stamp, sig := r.Header.Get(MLflowDeliveryIDHeader), r.Header.Get(MLflowTimestampHeader), r.Header.Get(MLflowSignatureHeader)
	if delivery == "" || stamp == "" || sig == "" {
		s.refuseMLflow(w, r, "missing "+MLflowDeliveryIDHeader+", "+MLflowTimestampHeader+" or "+MLflowSignatureHeader)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxMLflowWebhookBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, errorf(http.StatusRequestEntityTooLarge, CodeTooLarge, "the delivery is larger than %d bytes", mbe.Limit))
			return
		}
		writeError(w, errorf(http.StatusBadRequest, CodeBadRequest, "read the delivery: %s", err))
		return
	}
	if !validMLflowSignature(s.mlflowSecret, delivery, stamp, body, sig) {
		s.refuseMLflow(w, r, "signature does not verify")
		return
	}
	// Checked once the signature holds, so the timestamp is MLflow's.
	secs, err := strconv.ParseInt(stamp, 10, 64)
	if err != nil {
		s.refuseMLflow(w, r, "timestamp is not Unix seconds")
		return
	}
	if age := s.now().Sub(time.Unix(secs, 0)); age > maxMLflowDeliveryAge || age < -maxMLflowDeliveryAge {
		s.refuseMLflow(w, r, "timestamp is "+age.Round(time.Second).String()+" from now")
		return
	}
	var payload struct {
		Entity string `json:"entity"`
		Action string `json:"action"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&payload); err != nil || payload.Entity == "" || payload.Action == "" {
		writeError(w, errorf(http.StatusBadRequest, CodeBadRequest, "the delivery must be an object with entity and action"))
		return
	}
	event := payload.Entity + "." + payload.Action
	if !s.deliveries.add("mlflow/" + delivery) {
		writeJSON(w, http.StatusOK, webhookResponse{Status: "duplicate", Event: event, Reason: "delivery already received"})
		return
	}
	if !mlflowEvents[event] {
		writeJSON(w, http.StatusAccepted, webhookResponse{Status: "ignored", Event: event, Reason: "event not handled"})
		return
	}
	s.mlflowReconcile()
	s.log.Info("mlflow delivery accepted; reconcile requested", "event", event, "delivery", delivery)
	writeJSON(w, http.StatusAccepted, webhookResponse{Status: "accepted", Event: event})
}

// validMLflowSignature checks sig, one or more space-separated "v1,<base64>" signatures (a
// rotated secret sends two), against the HMAC of the delivery.
func validMLflowSignature(secret []byte, delivery, stamp string, body []byte, sig string) bool {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(delivery + "." + stamp + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, s := range strings.Fields(sig) {
		version, b64, ok := strings.Cut(s, ",")
		if !ok || version != mlflowSignatureVersion {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err == nil && hmac.Equal(got, want) {
			return true
		}
	}
	return false
}

func (s *Server) refuseMLflow(w http.ResponseWriter, r *http.Request, why string) {
	s.log.Warn("mlflow delivery refused", "reason", why, "delivery", r.Header.Get(MLflowDeliveryIDHeader), "remote", r.RemoteAddr)
	writeError(w, errorf(http.StatusUnauthorized, CodeUnauthorized, "the delivery's signature is missing, does not verify or is stale"))
}
