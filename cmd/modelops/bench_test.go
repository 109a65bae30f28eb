package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/medimind/modelops/internal/testutil/benchcpu"
	"github.com/medimind/modelops/internal/testutil/gitserver"
)

// benchModels is the size of the benchmark repository (MODELOPS_BENCH_MODELS overrides it).
var benchModels = 10000

const benchPolicy = `apiVersion: modelops.medimind.io/v1alpha1
kind: ModelPolicy
metadata:
  name: %s
  labels: {team: team-%02d}
spec:
  production: {version: "12", uri: "models:/%s/12"}
  drift:
    interval: 6h
  retrain:
    generation: 6
    onDrift: {share: 0.5, of: 10}
    job:
      image: registry.example/train:1.4
      command: [python, train.py]
      gpus: 1
  promotion:
    minimums: {auc: 0.85}
`

// benchRepo writes the benchmark repository of benchModels policies and returns its path.
func benchRepo(b *testing.B, dir string) string {
	b.Helper()
	if v, err := strconv.Atoi(os.Getenv("MODELOPS_BENCH_MODELS")); err == nil && v > 0 {
		benchModels = v
	}
	repo := filepath.Join(dir, "repo")
	for i := range benchModels {
		name := fmt.Sprintf("model-%05d", i)
		p := filepath.Join(repo, "models", fmt.Sprintf("team-%02d", i%50), name+".yaml")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, fmt.Appendf(nil, benchPolicy, name, i%50, name), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	gitserver.MustGit(b, repo, "init", "-q", "-b", "main")
	gitserver.MustGit(b, repo, "add", "-A")
	gitserver.MustGit(b, repo, "commit", "-q", "-m", "10,000 policies")
	return repo
}

// benchStack opens the reconciler on repo with its state in stateDir.
func benchStack(b *testing.B, repo, stateDir string) *stack {
	b.Helper()
	s, err := openStack(context.Background(), &repoOptions{repo: repo, branch: "main", stateDir: stateDir,
		authorName: "modelops", authorEmail: "modelops@example.com"}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// noopCycle runs a cycle of s and fails unless it had nothing to do.
func noopCycle(b *testing.B, s *stack) {
	b.Helper()
	res, err := s.reconciler.Cycle(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	if len(res.Actions) != 0 || res.Models != benchModels {
		b.Fatalf("a no-op cycle took %d actions over %d models", len(res.Actions), res.Models)
	}
}

// BenchmarkNoopCycle10k measures a reconcile cycle that has nothing to do over a local
// repository of 10,000 policies (the steady state of a large installation), in a process
// that has run cycles before (modelops run): its caches are warm. The cycle reads the tip,
// the policies, the status branch and the proposals, plans nothing and commits nothing.
func BenchmarkNoopCycle10k(b *testing.B) {
	dir := b.TempDir()
	repo := benchRepo(b, dir)
	s := benchStack(b, repo, filepath.Join(dir, "state"))
	// The first cycle records every model as seen; later ones have nothing to do.
	if _, err := s.reconciler.Cycle(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	defer benchcpu.Report(b, "s")()
	for b.Loop() {
		noopCycle(b, s)
	}
}

// BenchmarkColdNoopCycle10k measures the same no-op cycle as a one-shot modelops reconcile
// pays it (a CI job, a cron run): each iteration opens the stack anew on the same state
// directory, so nothing is kept in memory between cycles; only what the state directory
// holds. The process's own start (about 10 ms) is not included.
func BenchmarkColdNoopCycle10k(b *testing.B) {
	dir := b.TempDir()
	repo := benchRepo(b, dir)
	stateDir := filepath.Join(dir, "state")
	if _, err := benchStack(b, repo, stateDir).reconciler.Cycle(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	defer benchcpu.Report(b, "s")()
	for b.Loop() {
		noopCycle(b, benchStack(b, repo, stateDir))
	}
}
