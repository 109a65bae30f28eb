//go:build !lite

package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/medimind/modelops/internal/testutil/gitserver"
)

// TestRunWebhookRerunOfACheckRunsTheModelsDriftCheck: a person pressing Re-run on a
// modelops check makes `modelops run` check that model's drift at once, recorded on the
// status branch as an on-request check, though the drift interval (1h) is not yet over.
func TestRunWebhookRerunOfACheckRunsTheModelsDriftCheck(t *testing.T) {
	repo := e2eFixture(t)
	gitserver.MustGit(t, repo, "init", "-q", "-b", "main")
	gitserver.MustGit(t, repo, "add", "-A")
	gitserver.MustGit(t, repo, "commit", "-q", "-m", "Add sepsis-risk")
	const secret = "webhook-secret-for-the-rerun-test"
	t.Setenv("MODELOPS_WEBHOOK_SECRET", secret)
	t.Setenv("MODELOPS_API_TOKEN", "")

	ctx, cancel := context.WithCancel(t.Context())
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	opts := runOptions{repoOptions: repoOptions{repo: repo, branch: "main", stateDir: filepath.Join(t.TempDir(), "state"),
		authorName: "modelops", authorEmail: "modelops@example.com"},
		interval: time.Hour, grace: time.Minute, listen: "127.0.0.1:0", stdout: io.Discard, ready: ready, quiet: true}
	go func() { errc <- runRun(ctx, opts) }()
	defer func() {
		cancel()
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}()
	base := "http://" + <-ready
	waitReady(t, base)
	// The reconciler writes the status branch's ref in place while the git CLI may read it:
	// a read that meets it half-written fails, and is made again.
	onRequest := func() bool {
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			log, err := gitserver.Git(repo, "log", "--format=%s", "modelops/status")
			if err == nil {
				return strings.Contains(log, "drift check of sepsis-risk on request")
			}
			if time.Now().After(deadline) {
				t.Fatalf("read the status branch: %v", err)
			}
		}
	}
	if onRequest() {
		t.Fatal("an on-request drift check before anyone asked")
	}

	body := []byte(`{"action": "rerequested", "check_run": {"id": 1, "name": "modelops/drift: sepsis-risk"}}`)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/webhooks/github", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "check_run")
	req.Header.Set("X-GitHub-Delivery", "rerun-1")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("check_run rerequested: status %d, want 202", resp.StatusCode)
	}
	for deadline := time.Now().Add(20 * time.Second); !onRequest(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no on-request drift check on the status branch:\n%s", gitserver.MustGit(t, repo, "log", "--format=%s", "modelops/status"))
		}
	}
}
