package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// signMLflow computes X-MLflow-Signature as MLflow's webhook delivery does, independently
// of the server: v1, then the base64 HMAC-SHA256 of "<delivery id>.<timestamp>.<body>".
func signMLflow(secret, delivery, stamp, body string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(delivery + "." + stamp + "." + body))
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

const mlflowCreated = `{"entity": "model_version", "action": "created", "timestamp": "2026-12-08T00:00:00+00:00", ` +
	`"data": {"name": "sepsis-risk", "version": "15", "source": "runs:/r15/model", "run_id": "r15", "tags": {"modelops.generation": "2"}, "description": null}}`

type mlflowFixture struct {
	c        *client
	triggers atomic.Int64
	now      time.Time
}

func newMLflowWebhook(t *testing.T) *mlflowFixture {
	t.Helper()
	f := &mlflowFixture{now: time.Date(2026, 12, 8, 0, 0, 30, 0, time.UTC)}
	s, err := New(WithMLflowWebhook([]byte(testSecret), func() { f.triggers.Add(1) }), WithClock(func() time.Time { return f.now }),
		WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	f.c = newClient(t, s)
	return f
}

func (f *mlflowFixture) deliver(delivery string, at time.Time, body, signature string) response {
	stamp := strconv.FormatInt(at.Unix(), 10)
	if signature == "" {
		signature = signMLflow(testSecret, delivery, stamp, body)
	}
	return f.c.do("POST", "/webhooks/mlflow", body, "Content-Type", "application/json",
		MLflowDeliveryIDHeader, delivery, MLflowTimestampHeader, stamp, MLflowSignatureHeader, signature)
}

// TestMLflowWebhookNudgesACycleOnRegistryEvents: a signed, fresh model_version.created (or an
// alias set or deleted) requests a reconcile once; a redelivery is answered duplicate; other
// events are ignored.
func TestMLflowWebhookNudgesACycleOnRegistryEvents(t *testing.T) {
	f := newMLflowWebhook(t)
	for _, tc := range []struct {
		delivery, body, status, event string
		triggers                      int64
	}{
		{"d1", mlflowCreated, "accepted", "model_version.created", 1},
		{"d1", mlflowCreated, "duplicate", "model_version.created", 1},
		{"d2", `{"entity": "model_version_alias", "action": "created", "data": {"name": "sepsis-risk", "alias": "champion", "version": "13"}}`, "accepted", "model_version_alias.created", 2},
		{"d3", `{"entity": "model_version_alias", "action": "deleted", "data": {"name": "sepsis-risk", "alias": "challenger"}}`, "accepted", "model_version_alias.deleted", 3},
		{"d4", `{"entity": "prompt", "action": "created", "data": {}}`, "ignored", "prompt.created", 3},
	} {
		r := f.deliver(tc.delivery, f.now.Add(-20*time.Second), tc.body, "")
		d := deliveryOf(t, r)
		want := http.StatusAccepted
		if tc.status == "duplicate" {
			want = http.StatusOK
		}
		if r.status != want || d.Status != tc.status || d.Event != tc.event || f.triggers.Load() != tc.triggers {
			t.Errorf("delivery %s: %d %+v, %d reconciles; want %d %s %s, %d", tc.delivery, r.status, d, f.triggers.Load(), want, tc.status, tc.event, tc.triggers)
		}
	}
	// A rotated secret sends two signatures; one that verifies is enough.
	stamp := strconv.FormatInt(f.now.Unix(), 10)
	both := signMLflow("old secret", "d5", stamp, mlflowCreated) + " " + signMLflow(testSecret, "d5", stamp, mlflowCreated)
	if r := f.deliver("d5", f.now, mlflowCreated, both); deliveryOf(t, r).Status != "accepted" {
		t.Errorf("two signatures, the second valid: %d %s", r.status, r.body)
	}
}

// TestMLflowWebhookRefusesForgedOrStaleDeliveries: a missing, wrong or malformed signature,
// one over another delivery ID or timestamp, and a delivery older (or newer) than five
// minutes are refused with 401 and request nothing; a refused delivery's ID is not
// remembered.
func TestMLflowWebhookRefusesForgedOrStaleDeliveries(t *testing.T) {
	f := newMLflowWebhook(t)
	fresh := strconv.FormatInt(f.now.Unix(), 10)
	for _, tc := range []struct {
		name, signature string
		at              time.Time
	}{
		{"wrong secret", signMLflow("guess", "d1", fresh, mlflowCreated), f.now},
		{"signed for another delivery ID", signMLflow(testSecret, "d0", fresh, mlflowCreated), f.now},
		{"signed at another time", signMLflow(testSecret, "d1", strconv.FormatInt(f.now.Unix()-1, 10), mlflowCreated), f.now},
		{"signed over another body", signMLflow(testSecret, "d1", fresh, mlflowCreated+" "), f.now},
		{"another version", "v2," + signMLflow(testSecret, "d1", fresh, mlflowCreated)[3:], f.now},
		{"not base64", "v1,???", f.now},
		{"six minutes old", "", f.now.Add(-6 * time.Minute)},
		{"six minutes ahead", "", f.now.Add(6 * time.Minute)},
	} {
		r := f.deliver("d1", tc.at, mlflowCreated, tc.signature)
		if r.status != http.StatusUnauthorized || errorOf(t, r).Code != CodeUnauthorized {
			t.Errorf("%s: got %d %s, want 401", tc.name, r.status, r.body)
		}
	}
	r := f.c.do("POST", "/webhooks/mlflow", mlflowCreated, "Content-Type", "application/json", MLflowDeliveryIDHeader, "d1", MLflowTimestampHeader, fresh)
	if r.status != http.StatusUnauthorized {
		t.Errorf("no signature: got %d, want 401", r.status)
	}
	if f.triggers.Load() != 0 {
		t.Fatalf("refused deliveries requested %d reconciles", f.triggers.Load())
	}
	if r := f.deliver("d1", f.now, mlflowCreated, ""); deliveryOf(t, r).Status != "accepted" {
		t.Errorf("the signed delivery after refused ones with its ID: %d %s", r.status, r.body)
	}
	if r := f.deliver("d9", f.now, `{"entity": "model_version"}`, ""); r.status != http.StatusBadRequest {
		t.Errorf("a signed delivery without an action: %d, want 400", r.status)
	}
	if r := f.c.do("POST", "/webhooks/mlflow", mlflowCreated, "Content-Type", "text/plain"); r.status != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain: %d, want 415", r.status)
	}
}

func TestMLflowWebhookNeedsASecret(t *testing.T) {
	if _, err := New(WithMLflowWebhook(nil, func() {})); err == nil {
		t.Error("an MLflow webhook without a secret was served")
	}
}
