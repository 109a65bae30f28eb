package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/medimind/modelops/internal/manager"
	"github.com/medimind/modelops/internal/server"
)

// TestAPIOverTheEmbeddedStack drives the HTTP API against a real repository: status, a
// manual retrain that opens the proposal, a registered candidate judged by the gate, and the
// bearer token guarding the mutating endpoints.
func TestAPIOverTheEmbeddedStack(t *testing.T) {
	repo := runRepo(t, 6)
	ctx := context.Background()
	s, err := openStack(ctx, &repoOptions{repo: repo, branch: "main", stateDir: filepath.Join(t.TempDir(), "state"),
		authorName: "modelops[bot]", authorEmail: "bot@example.com"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.reconciler.Cycle(ctx); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MODELOPS_API_TOKEN", "api-secret-123")
	h, err := runOptions{}.handler(s, server.NewMetrics(), idleManager(t), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	call := func(method, path, token, body string) (int, map[string]any, []any) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var obj map[string]any
		var arr []any
		if json.Unmarshal(b, &obj) != nil {
			_ = json.Unmarshal(b, &arr)
		}
		return resp.StatusCode, obj, arr
	}

	code, obj, _ := call("GET", "/api/v1/status", "", "")
	models, _ := obj["models"].([]any)
	if code != 200 || len(models) != 1 || models[0].(map[string]any)["model"] != "sepsis-risk" {
		t.Fatalf("status: %d %v", code, obj)
	}

	if code, _, _ := call("POST", "/api/v1/models/sepsis-risk/retrain", "wrong", `{"reason":"new cohort"}`); code != 401 {
		t.Fatalf("retrain with a wrong token: %d, want 401", code)
	}
	if code, _, _ := call("POST", "/api/v1/models/nope/retrain", "api-secret-123", `{"reason":"x"}`); code != 404 {
		t.Fatalf("retrain of an unknown model: %d, want 404", code)
	}
	code, obj, _ = call("POST", "/api/v1/models/sepsis-risk/retrain", "api-secret-123", `{"reason":"new cohort","by":"ana"}`)
	prop, _ := obj["proposal"].(map[string]any)
	if code != 200 && code != 201 || prop == nil || prop["key"] != "generation-7" {
		t.Fatalf("retrain: %d %v, want the generation-7 proposal", code, obj)
	}
	// Asking again updates the same proposal; it never opens a second one.
	code, obj, _ = call("POST", "/api/v1/models/sepsis-risk/retrain", "api-secret-123", `{"reason":"still"}`)
	if p2, _ := obj["proposal"].(map[string]any); code >= 300 || p2 == nil || p2["branch"] != prop["branch"] {
		t.Fatalf("second retrain: %d %v", code, obj)
	}
	list, err := s.forge.List(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("proposals after two requests: %+v %v, want one", list, err)
	}

	// A candidate without production figures cannot show its improvement: judged, not proposed.
	code, obj, _ = call("POST", "/api/v1/models/sepsis-risk/candidates", "api-secret-123",
		`{"version":"13","uri":"models:/sepsis-risk/13","metrics":{"auc":0.91,"precision":0.8,"recall":0.75,"samples":12000,"latencyMs":40,"coverage":1}}`)
	verdict, _ := obj["verdict"].(map[string]any)
	if code >= 300 || verdict == nil || verdict["passed"] != false || obj["proposal"] != nil {
		t.Fatalf("candidate: %d %v, want a verdict that did not pass and no proposal", code, obj)
	}
	// The same version with other figures is a conflict.
	if code, _, _ := call("POST", "/api/v1/models/sepsis-risk/candidates", "api-secret-123",
		`{"version":"13","uri":"models:/sepsis-risk/13","metrics":{"auc":0.95,"samples":12000}}`); code != 409 {
		t.Fatalf("candidate with other figures: %d, want 409", code)
	}
}

// idleManager is a run loop that is never run, for tests of the HTTP handler alone.
func idleManager(t *testing.T) *manager.Manager {
	t.Helper()
	mgr, err := manager.New(manager.Options{Cycle: func(context.Context) error { return nil }, Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return mgr
}
