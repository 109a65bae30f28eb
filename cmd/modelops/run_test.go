package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/medimind/modelops/internal/testutil/gitserver"
)

const runPolicy = `apiVersion: modelops.medimind.io/v1alpha1
kind: ModelPolicy
metadata:
  name: sepsis-risk
spec:
  production: {version: "12"}
  retrain:
    generation: %d
    schedule: ""
    job:
      command: [sh, -c, "true"]
      gpus: 0
`

// runRepo makes a local policy repository with one model at generation gen.
func runRepo(t testing.TB, gen int) string {
	t.Helper()
	repo := filepath.Join(t.TempDir(), "repo")
	if err := os.MkdirAll(filepath.Join(repo, "models"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, "models", "sepsis-risk.yaml"), fmt.Appendf(nil, runPolicy, gen), 0o644); err != nil {
		t.Fatal(err)
	}
	gitserver.MustGit(t, repo, "init", "-q", "-b", "main")
	gitserver.MustGit(t, repo, "add", "-A")
	gitserver.MustGit(t, repo, "commit", "-q", "-m", "Add sepsis-risk")
	return repo
}

// raise commits generation gen, as a person merging a retrain would.
func raise(t testing.TB, repo string, gen int) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(repo, "models", "sepsis-risk.yaml"), fmt.Appendf(nil, runPolicy, gen), 0o644); err != nil {
		t.Fatal(err)
	}
	gitserver.MustGit(t, repo, "commit", "-q", "-am", fmt.Sprintf("Raise to generation %d", gen))
}

func waitFile(t testing.TB, path string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(path); err == nil {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("%s did not appear within %s", path, limit)
}

// waitReady waits for /readyz to answer 200: the first cycle has completed.
func waitReady(t testing.TB, base string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return
		}
	}
	t.Fatal("/readyz never answered 200")
}

// TestRunReactsToACommitAndStopsCleanlyOnSIGTERM runs `modelops run` as a real process:
// it must become ready, launch training as soon as a person commits a raised generation
// (fsnotify, not the hour-long poll), and exit 0 on SIGTERM.
func TestRunReactsToACommitAndStopsCleanlyOnSIGTERM(t *testing.T) {
	repo := runRepo(t, 6)
	state := filepath.Join(t.TempDir(), "state")
	p := startRunProcess(t, exec.Command(os.Args[0], "run", "--repo", repo, "--state-dir", state, "--interval", "1h", "--listen", "127.0.0.1:0"))
	base := p.base
	waitReady(t, base)
	// The first cycle is in the metrics.
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// A status commit may wake a second cycle meanwhile: counts are at least one.
	if !regexp.MustCompile(`(?m)^modelops_reconcile_duration_seconds_count [1-9]`).Match(body) ||
		!strings.Contains(string(body), `modelops_canary_weight{model="sepsis-risk"} 0`) ||
		!strings.Contains(string(body), `modelops_actions_total{kind="apply-traffic",outcome="succeeded"} 1`) {
		t.Errorf("/metrics after the first cycle lacks the cycle, the canary weight or the routing action:\n%s", body)
	}

	raise(t, repo, 7)
	waitFile(t, filepath.Join(state, "runs", "sepsis-risk", "gen-7", "exit"), 10*time.Second)

	if err := p.stop(20 * time.Second); err != nil {
		t.Fatalf("modelops run exited with %v after SIGTERM, want 0\n%s", err, p.log())
	}
	if !strings.Contains(p.log(), "stopping after the action in progress") {
		t.Errorf("no shutdown line in the log:\n%s", p.log())
	}
	// Durations are logged in seconds, not as Go's nanosecond integers.
	if !regexp.MustCompile(`"msg":"cycle done",.*"seconds":[0-9.]+[,}]`).MatchString(p.log()) {
		t.Errorf("no cycle line with its duration in seconds in the log:\n%s", p.log())
	}
	// The launch was recorded before the process stopped.
	status := gitserver.MustGit(t, repo, "show", "modelops/status:models/sepsis-risk.json")
	if !strings.Contains(status, `"launchedGeneration": 7`) {
		t.Fatalf("status after shutdown:\n%s", status)
	}
}

// BenchmarkRunCommitToLaunch measures `modelops run` on a local repository: from a
// person's commit raising spec.retrain.generation (git CLI) to the training process of that
// generation running (its pid file written by the job's wrapper). The poll interval is an
// hour, so only the ref watch can explain a fast launch.
func BenchmarkRunCommitToLaunch(b *testing.B) {
	repo := runRepo(b, 1)
	state := filepath.Join(b.TempDir(), "state")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	opts := runOptions{repoOptions: repoOptions{repo: repo, branch: "main", stateDir: state,
		authorName: "modelops", authorEmail: "modelops@example.com"},
		interval: time.Hour, grace: time.Minute, listen: "127.0.0.1:0", stdout: io.Discard, ready: ready, quiet: true}
	go func() { errc <- runRun(ctx, opts) }()
	waitReady(b, "http://"+<-ready)
	gen := 1
	for b.Loop() {
		b.StopTimer()
		gen++
		raise(b, repo, gen)
		b.StartTimer()
		waitFile(b, filepath.Join(state, "runs", "sepsis-risk", fmt.Sprintf("gen-%d", gen), "pid"), 10*time.Second)
	}
	cancel()
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
}

// runProcess is a `modelops run` process a test started, its stderr (the JSON log) collected.
type runProcess struct {
	cmd  *exec.Cmd
	base string // http://<addr> of its server

	mu   sync.Mutex // guards logs
	logs strings.Builder
	done chan struct{} // closed when stderr ends
}

// startRunProcess starts cmd, a `modelops run` with --listen, as the CLI (not the test
// binary's tests), and waits until it serves HTTP. It is killed when the test ends.
func startRunProcess(t testing.TB, cmd *exec.Cmd) *runProcess {
	t.Helper()
	p := &runProcess{cmd: cmd, done: make(chan struct{})}
	cmd.Env = append(cmd.Env, beCLI+"=1")
	if len(cmd.Env) == 1 {
		cmd.Env = append(os.Environ(), cmd.Env...)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-p.done; _ = cmd.Wait() })
	addr := make(chan string, 1)
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.logs.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) == nil && line["msg"] == "serving HTTP" {
				if a, ok := line["addr"].(string); ok {
					addr <- a
				}
			}
		}
	}()
	select {
	case a := <-addr:
		p.base = "http://" + a
	case <-time.After(30 * time.Second):
		t.Fatalf("modelops run never served HTTP:\n%s", p.log())
	}
	return p
}

// log returns what the process logged so far.
func (p *runProcess) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

// stop sends SIGTERM and waits up to limit for the process to exit, returning its exit error.
func (p *runProcess) stop(limit time.Duration) error {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { <-p.done; exited <- p.cmd.Wait() }()
	select {
	case err := <-exited:
		return err
	case <-time.After(limit):
		return fmt.Errorf("did not stop within %s of SIGTERM", limit)
	}
}
