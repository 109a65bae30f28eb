package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/medimind/modelops/internal/testutil/gitserver"
	"github.com/medimind/modelops/reconciler"
)

// TestCachedAndUncachedCyclesPlanTheSameActions: a process that starts from the parse and
// status caches of the state directory observes and plans exactly what one that reads and
// parses everything does, after a cycle recorded a status and a person changed a policy.
func TestCachedAndUncachedCyclesPlanTheSameActions(t *testing.T) {
	repo := filepath.Join(t.TempDir(), "repo")
	if err := os.CopyFS(repo, os.DirFS("../../examples/policy-repo")); err != nil {
		t.Fatal(err)
	}
	// One invalid policy, so that the errors are compared too.
	if err := os.WriteFile(filepath.Join(repo, "models", "broken.yaml"), []byte("apiVersion: modelops.medimind.io/v1alpha1\nkind: ModelPolicy\nmetadata: {name: broken}\nspec:\n  canary: {version: \"2\", weight: 150}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitserver.MustGit(t, repo, "init", "-q", "-b", "main")
	gitserver.MustGit(t, repo, "add", "-A")
	gitserver.MustGit(t, repo, "commit", "-q", "-m", "policies")
	state := filepath.Join(t.TempDir(), "state")
	now := time.Now().UTC()
	ctx := context.Background()

	// open is a new process: a new stack on the state directory, its debug log kept.
	open := func() (*stack, *bytes.Buffer) {
		t.Helper()
		var log bytes.Buffer
		s, err := openStack(ctx, &repoOptions{repo: repo, branch: "main", stateDir: state, authorName: "modelops", authorEmail: "modelops@example.com",
			now: func() time.Time { return now }}, slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug})))
		if err != nil {
			t.Fatal(err)
		}
		return s, &log
	}
	s, _ := open()
	if _, err := s.reconciler.Cycle(ctx); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"policies", "status"} {
		if _, err := os.Stat(filepath.Join(state, "cache", f)); err != nil {
			t.Fatalf("the cycle left no %s cache: %v", f, err)
		}
	}
	// A person raises a generation: that blob must be parsed again.
	p := filepath.Join(repo, "models", "readmission-30d.yaml")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, bytes.Replace(data, []byte("generation: 14"), []byte("generation: 15"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	gitserver.MustGit(t, repo, "commit", "-q", "-am", "Raise readmission-30d to generation 15")
	now = now.Add(7 * time.Hour) // drift checks are due again

	plan := func() (*reconciler.Snapshot, []reconciler.Action, string) {
		t.Helper()
		s, log := open()
		snap, actions, err := s.reconciler.Plan(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return snap, actions, log.String()
	}
	cachedSnap, cached, cachedLog := plan()
	if strings.Contains(cachedLog, "state cache not used") {
		t.Fatalf("the caches were not used:\n%s", cachedLog)
	}
	if err := os.RemoveAll(filepath.Join(state, "cache")); err != nil {
		t.Fatal(err)
	}
	uncachedSnap, uncached, uncachedLog := plan()
	if strings.Count(uncachedLog, "state cache not used") != 2 {
		t.Fatalf("without cache files, both caches should miss:\n%s", uncachedLog)
	}

	if len(uncached) == 0 || !reflect.DeepEqual(cached, uncached) {
		t.Fatalf("cached plan:\n%+v\nuncached plan:\n%+v", cached, uncached)
	}
	var launch bool
	for _, a := range cached {
		launch = launch || (a.Kind == reconciler.ActionLaunchTraining && a.Model == "readmission-30d" && a.Generation == 15)
	}
	if !launch {
		t.Fatalf("the raised generation is not launched: %+v", cached)
	}
	if !reflect.DeepEqual(cachedSnap.Status, uncachedSnap.Status) {
		t.Fatal("the cached and uncached status differ")
	}
	if g, w := cachedSnap.Policies.Err(), uncachedSnap.Policies.Err(); g == nil || g.Error() != w.Error() {
		t.Fatalf("errors: %v, want %v", g, w)
	}
	for i, w := range uncachedSnap.Policies.Policies {
		if g := cachedSnap.Policies.Policies[i]; g.File != w.File || !reflect.DeepEqual(g.ModelPolicy, w.ModelPolicy) {
			t.Fatalf("policy %s differs", w.Metadata.Name)
		}
	}
}
