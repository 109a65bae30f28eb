package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/medimind/modelops/internal/testutil/gitserver"
)

// TestRemoteOutageMakesTheReconcilerUnready runs `modelops run` against a git server on
// loopback and stops the server: after the configured number of failed fetches /readyz
// answers 503, the API answers 503 with its JSON error, and the log says the remote is
// unreachable.
func TestRemoteOutageMakesTheReconcilerUnready(t *testing.T) {
	fixture := t.TempDir()
	if err := os.MkdirAll(filepath.Join(fixture, "models"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(fixture, "models", "sepsis-risk.yaml"), fmt.Appendf(nil, runPolicy, 6), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := gitserver.New(t, gitserver.Options{})
	url := srv.Seed(t, "policies.git", "main", fixture)
	state := filepath.Join(t.TempDir(), "state")
	cmd := exec.Command(os.Args[0], "run", "--repo", url, "--state-dir", state, "--interval", "100ms",
		"--unready-after-fetch-failures", "2", "--listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "MODELOPS_API_TOKEN=tok-outage-test")
	p := startRunProcess(t, cmd)
	waitReady(t, p.base)

	srv.Close()
	var reason string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still ready 30s into the outage:\n%s", p.log())
		}
		status, body := get(t, p.base+"/readyz")
		if status == http.StatusServiceUnavailable {
			var probe struct{ Reason string }
			_ = json.Unmarshal(body, &probe)
			reason = probe.Reason
			break
		}
	}
	if !strings.Contains(reason, "the remote is unreachable") {
		t.Errorf("/readyz reason %q, want one saying the remote is unreachable", reason)
	}

	status, body := get(t, p.base+"/api/v1/status")
	var e struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(body, &e); err != nil || status != http.StatusServiceUnavailable || e.Error.Code != "unavailable" || !strings.Contains(e.Error.Message, "remote unreachable") {
		t.Errorf("GET /api/v1/status in the outage: %d %s; want 503 unavailable saying the remote is unreachable", status, body)
	}
	log := p.log()
	if !strings.Contains(log, "the remote is unreachable") || strings.Contains(log, "branch not found") {
		t.Errorf("the log should say the remote is unreachable, and not that a branch is missing:\n%s", log)
	}
}

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}
