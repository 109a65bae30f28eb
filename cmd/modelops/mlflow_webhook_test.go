//go:build !lite

package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/medimind/modelops/internal/testutil/mlflowfake"
)

// TestRunMLflowWebhookSetsAMovedAliasBack: `modelops run` with an hour's interval; a person
// moves champion in MLflow's UI and MLflow delivers model_version_alias.created, signed as
// MLflow signs it, to /webhooks/mlflow: the cycle it nudges sets champion back to 12 long
// before the interval.
func TestRunMLflowWebhookSetsAMovedAliasBack(t *testing.T) {
	w := newMLflowWorld(t, fmt.Sprintf(registryPolicy, ""))
	for range 14 {
		w.fake.CreateVersion("sepsis-risk", mlflowfake.VersionSpec{Source: "models:/m"})
	}
	w.reconcile()
	const secret = "mlflow-webhook-secret-for-the-run-test"
	t.Setenv(mlflowWebhookSecretEnv, secret)
	t.Setenv("MODELOPS_API_TOKEN", "")
	t.Setenv("MODELOPS_WEBHOOK_SECRET", "")

	ctx, cancel := context.WithCancel(t.Context())
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	opts := runOptions{repoOptions: repoOptions{repo: w.url, branch: "main", stateDir: w.state, authorName: "modelops", authorEmail: "modelops@example.com"},
		interval: time.Hour, grace: time.Minute, listen: "127.0.0.1:0", stdout: io.Discard, ready: ready, quiet: true}
	opts.dataRoot = w.data
	go func() { errc <- runRun(ctx, opts) }()
	defer func() {
		cancel()
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}()
	base := "http://" + <-ready
	waitReady(t, base)

	w.fake.MoveAlias("sepsis-risk", "champion", "13")
	body := []byte(`{"entity": "model_version_alias", "action": "created", "timestamp": "2026-12-08T00:00:00+00:00", "data": {"name": "sepsis-risk", "alias": "champion", "version": "13"}}`)
	stamp := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("delivery-1." + stamp + "."))
	mac.Write(body)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/webhooks/mlflow", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-MLflow-Delivery-Id", "delivery-1")
	req.Header.Set("X-MLflow-Timestamp", stamp)
	req.Header.Set("X-MLflow-Signature", "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("model_version_alias.created: status %d, want 202", resp.StatusCode)
	}
	for deadline := time.Now().Add(30 * time.Second); w.fake.Aliases("sepsis-risk")["champion"] != "12"; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("champion is still %s 30 s after the delivery; want it set back to 12", w.fake.Aliases("sepsis-risk")["champion"])
		}
	}
}
