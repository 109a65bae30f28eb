package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/medimind/modelops/policies"
	"github.com/medimind/modelops/reconciler"
)

func job(script string) reconciler.JobRequest {
	return reconciler.JobRequest{
		Model: "sepsis-risk", Generation: 7, Commit: "abc123",
		Job: policies.JobSpec{Command: []string{"/bin/sh", "-c", script}, Env: []policies.EnvVar{{Name: "EXTRA", Value: "yes"}}},
	}
}

// waitFinished polls Get until the run ends; the job is a real process.
func waitFinished(t *testing.T, r *Runner, model string, gen int64) reconciler.TrainingRun {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		run, err := r.Get(context.Background(), model, gen)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		if run.Phase.Finished() {
			return run
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("run did not finish in 20s")
	return reconciler.TrainingRun{}
}

func TestStartRunsTheJobWithItsEnvironmentAndReadsTheResult(t *testing.T) {
	r, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	script := `printf '%s %s %s %s' "$MODELOPS_MODEL" "$MODELOPS_GENERATION" "$MODELOPS_COMMIT" "$EXTRA" > "$MODELOPS_OUTPUT/env.txt"
echo training...
printf '{"version":"13","uri":"models:/sepsis-risk/13","metrics":{"auc":0.91,"precision":0.8,"recall":0.75,"samples":12000,"latencyMs":40,"coverage":1}}' > "$MODELOPS_OUTPUT/result.json"`
	run, err := r.Start(context.Background(), job(script))
	if err != nil {
		t.Fatal(err)
	}
	if run.Phase != reconciler.RunRunning || run.Commit != "abc123" {
		t.Fatalf("Start = %+v, want Running on abc123", run)
	}
	run = waitFinished(t, r, "sepsis-risk", 7)
	if run.Phase != reconciler.RunSucceeded {
		t.Fatalf("phase %s (%s), want Succeeded", run.Phase, run.Message)
	}
	if run.Result.Version != "13" || *run.Result.Metrics.AUC != 0.91 || run.Result.Metrics.Samples != 12000 {
		t.Fatalf("result = %+v", run.Result)
	}
	env, err := os.ReadFile(filepath.Join(r.RunDir("sepsis-risk", 7), "output", "env.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if string(env) != "sepsis-risk 7 abc123 yes" {
		t.Fatalf("job saw env %q", env)
	}
	logb, _ := os.ReadFile(filepath.Join(r.RunDir("sepsis-risk", 7), "log"))
	if !strings.Contains(string(logb), "training...") {
		t.Fatalf("log %q lacks the job's output", logb)
	}
}

func TestJobDoesNotSeeTheReconcilersSecrets(t *testing.T) {
	t.Setenv("MODELOPS_GIT_TOKEN", "ghs_secret-token-value")
	t.Setenv("GITHUB_TOKEN", "ghp_other-secret-value")
	t.Setenv("MLFLOW_TRACKING_TOKEN", "mlflow-secret-value")
	t.Setenv("MLFLOW_TRACKING_PASSWORD", "mlflow-password-value")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "aws-secret-value")
	t.Setenv("AZURE_STORAGE_KEY", "azure-secret-value")
	r, _ := New(t.TempDir())
	if _, err := r.Start(context.Background(), job(`env > "$MODELOPS_OUTPUT/env.txt"`)); err != nil {
		t.Fatal(err)
	}
	waitFinished(t, r, "sepsis-risk", 7)
	env, err := os.ReadFile(filepath.Join(r.RunDir("sepsis-risk", 7), "output", "env.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(env), "ghs_secret-token-value") || strings.Contains(string(env), "MODELOPS_GIT_TOKEN") ||
		strings.Contains(string(env), "ghp_other-secret-value") || strings.Contains(string(env), "mlflow-secret-value") ||
		strings.Contains(string(env), "mlflow-password-value") || strings.Contains(string(env), "aws-secret-value") ||
		strings.Contains(string(env), "azure-secret-value") {
		t.Fatalf("the job saw the reconciler's token:\n%s", env)
	}
	if !strings.Contains(string(env), "MODELOPS_MODEL=sepsis-risk") {
		t.Fatalf("the job lacks its own MODELOPS_MODEL:\n%s", env)
	}
}

func TestStartIsIdempotentAcrossRunnerInstances(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(t.TempDir(), "starts")
	script := `echo x >> ` + marker + `; sleep 0.3; echo '{"version":"13","uri":"models:/sepsis-risk/13","metrics":{}}' > "$MODELOPS_OUTPUT/result.json"`
	for i := 0; i < 3; i++ {
		r, err := New(dir) // a new instance, as after a restart
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Start(context.Background(), job(script)); err != nil {
			t.Fatal(err)
		}
	}
	r, _ := New(dir)
	waitFinished(t, r, "sepsis-risk", 7)
	b, err := os.ReadFile(marker)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "x"); n != 1 {
		t.Fatalf("the job ran %d times, want 1", n)
	}
}

func TestFailedJobReportsExitStatusAndLogTail(t *testing.T) {
	r, _ := New(t.TempDir())
	if _, err := r.Start(context.Background(), job(`echo "loading cohort"; echo "CUDA out of memory" >&2; exit 3`)); err != nil {
		t.Fatal(err)
	}
	run := waitFinished(t, r, "sepsis-risk", 7)
	if run.Phase != reconciler.RunFailed || !strings.Contains(run.Message, "exit status 3") || !strings.Contains(run.Message, "CUDA out of memory") {
		t.Fatalf("run = %s %q, want Failed with exit status 3 and the log tail", run.Phase, run.Message)
	}
}

func TestJobThatWritesNoOrBadResultFails(t *testing.T) {
	tests := []struct{ name, script, want string }{
		{"no result", `true`, "wrote no result.json"},
		{"malformed JSON", `echo '{"version":' > "$MODELOPS_OUTPUT/result.json"`, "parse result.json"},
		{"unknown field", `echo '{"version":"1","metrics":{},"extra":1}' > "$MODELOPS_OUTPUT/result.json"`, `unknown field "extra"`},
		{"auc out of range", `echo '{"version":"1","metrics":{"auc":1.5}}' > "$MODELOPS_OUTPUT/result.json"`, "metrics.auc must be between 0 and 1, got 1.5"},
		{"no version", `echo '{"metrics":{}}' > "$MODELOPS_OUTPUT/result.json"`, "version is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := New(t.TempDir())
			if _, err := r.Start(context.Background(), job(tt.script)); err != nil {
				t.Fatal(err)
			}
			run := waitFinished(t, r, "sepsis-risk", 7)
			if run.Phase != reconciler.RunFailed || !strings.Contains(run.Message, tt.want) {
				t.Fatalf("run = %s %q, want Failed mentioning %q", run.Phase, run.Message, tt.want)
			}
			// Only a job without a result may have registered its candidate instead.
			if run.NoResult != (tt.name == "no result") {
				t.Errorf("NoResult = %v", run.NoResult)
			}
		})
	}
}

func TestCancelStopsTheProcessGroup(t *testing.T) {
	r, _ := New(t.TempDir())
	if _, err := r.Start(context.Background(), job(`sleep 30`)); err != nil {
		t.Fatal(err)
	}
	// Wait until the wrapper has recorded its pid.
	dir := r.RunDir("sepsis-risk", 7)
	for i := 0; i < 200; i++ {
		if _, ok := readPID(dir); ok {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	pid, ok := readPID(dir)
	if !ok {
		t.Fatal("the wrapper never wrote its pid")
	}
	if err := r.Cancel(context.Background(), "sepsis-risk", 7); err != nil {
		t.Fatal(err)
	}
	run := waitFinished(t, r, "sepsis-risk", 7)
	if run.Phase != reconciler.RunCancelled {
		t.Fatalf("phase %s, want Cancelled", run.Phase)
	}
	time.Sleep(100 * time.Millisecond)
	if alive(pid, dir) {
		t.Fatalf("process %d still alive after Cancel", pid)
	}
}

func TestDeadProcessWithoutExitStatusIsFailed(t *testing.T) {
	r, _ := New(t.TempDir())
	if _, err := r.Start(context.Background(), job(`sleep 30`)); err != nil {
		t.Fatal(err)
	}
	dir := r.RunDir("sepsis-risk", 7)
	var pid int
	for i := 0; i < 200; i++ {
		if p, ok := readPID(dir); ok {
			pid = p
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if pid == 0 {
		t.Fatal("no pid")
	}
	// SIGKILL the whole group, as an OOM killer or a reboot would: no exit file is written.
	if err := killGroup(pid); err != nil {
		t.Fatal(err)
	}
	run := waitFinished(t, r, "sepsis-risk", 7)
	if run.Phase != reconciler.RunFailed || !strings.Contains(run.Message, "died without an exit status") {
		t.Fatalf("run = %s %q", run.Phase, run.Message)
	}
}

func killGroup(pid int) error { return syscall.Kill(-pid, syscall.SIGKILL) }

func TestGetUnknownRunIsNotFound(t *testing.T) {
	r, _ := New(t.TempDir())
	if _, err := r.Get(context.Background(), "nope", 1); !errors.Is(err, reconciler.ErrRunNotFound) {
		t.Fatalf("Get = %v, want ErrRunNotFound", err)
	}
}

func TestTimeoutKillsTheJob(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	r, _ := New(t.TempDir(), WithClock(clock))
	req := job(`sleep 30`)
	req.Job.Timeout = policies.Duration{Duration: time.Minute}
	if _, err := r.Start(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	dir := r.RunDir("sepsis-risk", 7)
	for i := 0; i < 200; i++ {
		if _, ok := readPID(dir); ok {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	now = now.Add(2 * time.Minute)
	run, err := r.Get(context.Background(), "sepsis-risk", 7)
	if err != nil {
		t.Fatal(err)
	}
	if run.Phase != reconciler.RunFailed || !strings.Contains(run.Message, "DeadlineExceeded") {
		t.Fatalf("run = %s %q, want Failed DeadlineExceeded", run.Phase, run.Message)
	}
}

// gone waits until pid has ended (no process, or a zombie waiting for init to reap it).
func gone(pid int) bool {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if syscall.Kill(pid, 0) != nil {
			return true
		}
		if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
			if i := bytes.LastIndexByte(stat, ')'); i >= 0 && len(stat) > i+2 && stat[i+2] == 'Z' {
				return true
			}
		}
	}
	return false
}

// backgroundPID reads the pid a job wrote of the child it left in the background.
func backgroundPID(t *testing.T, r *Runner) int {
	t.Helper()
	path := filepath.Join(r.RunDir("sepsis-risk", 7), "output", "bg.pid")
	waitFor(t, path)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	return pid
}

func waitFor(t *testing.T, path string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if exists(path) {
			return
		}
	}
	t.Fatalf("%s never appeared", path)
}

// A child the job leaves in the background (ignoring SIGTERM, too) is killed once the
// job's main process has ended: it cannot keep the GPU or write into the output after the
// run was judged.
func TestBackgroundChildDiesWithTheJob(t *testing.T) {
	r, _ := New(t.TempDir())
	script := `(trap '' TERM; exec sleep 300) & echo $! > "$MODELOPS_OUTPUT/bg.tmp" && mv "$MODELOPS_OUTPUT/bg.tmp" "$MODELOPS_OUTPUT/bg.pid"
echo '{"version":"13","uri":"models:/sepsis-risk/13","metrics":{}}' > "$MODELOPS_OUTPUT/result.json"`
	if _, err := r.Start(context.Background(), job(script)); err != nil {
		t.Fatal(err)
	}
	pid := backgroundPID(t, r)
	if run := waitFinished(t, r, "sepsis-risk", 7); run.Phase != reconciler.RunSucceeded {
		t.Fatalf("run = %s %q, want Succeeded", run.Phase, run.Message)
	}
	if !gone(pid) {
		t.Fatalf("the background child %d outlived the job", pid)
	}
}

func TestCancelKillsTheBackgroundChildren(t *testing.T) {
	r, _ := New(t.TempDir())
	script := `(trap '' TERM; exec sleep 300) & echo $! > "$MODELOPS_OUTPUT/bg.tmp" && mv "$MODELOPS_OUTPUT/bg.tmp" "$MODELOPS_OUTPUT/bg.pid"; sleep 30`
	if _, err := r.Start(context.Background(), job(script)); err != nil {
		t.Fatal(err)
	}
	pid := backgroundPID(t, r)
	if err := r.Cancel(context.Background(), "sepsis-risk", 7); err != nil {
		t.Fatal(err)
	}
	if run := waitFinished(t, r, "sepsis-risk", 7); run.Phase != reconciler.RunCancelled {
		t.Fatalf("run = %s %q, want Cancelled", run.Phase, run.Message)
	}
	if !gone(pid) {
		t.Fatalf("the background child %d outlived the cancelled job", pid)
	}
}

// A job run as another user cannot read the reconciler's environment (nor its files), and
// still writes its result and is judged.
func TestJobRunsAsTheJobUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("switching users needs root")
	}
	const nobody = 65534
	// t.TempDir and its parent are 0700: the job user could not reach its run directory.
	base := t.TempDir()
	for _, d := range []string{filepath.Dir(base), base} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	r, _ := New(filepath.Join(base, "runs"), WithUser(nobody, nobody))
	script := fmt.Sprintf(`id -u > "$MODELOPS_OUTPUT/uid"
if cat /proc/%d/environ > /dev/null 2>&1; then echo readable; else echo refused; fi > "$MODELOPS_OUTPUT/environ"
echo '{"version":"13","uri":"models:/sepsis-risk/13","metrics":{}}' > "$MODELOPS_OUTPUT/result.json"`, os.Getpid())
	if _, err := r.Start(context.Background(), job(script)); err != nil {
		t.Fatal(err)
	}
	if run := waitFinished(t, r, "sepsis-risk", 7); run.Phase != reconciler.RunSucceeded {
		t.Fatalf("run = %s %q, want Succeeded", run.Phase, run.Message)
	}
	out := filepath.Join(r.RunDir("sepsis-risk", 7), "output")
	uid, _ := os.ReadFile(filepath.Join(out, "uid"))
	environ, _ := os.ReadFile(filepath.Join(out, "environ"))
	if strings.TrimSpace(string(uid)) != "65534" || strings.TrimSpace(string(environ)) != "refused" {
		t.Fatalf("job ran as uid %q and found the reconciler's environ %q; want 65534, refused", uid, environ)
	}
}

// TestImageIsIgnoredWithAWarningOnce: a policy written for Kubernetes names an image; the
// local runner runs the command on this machine and says so once, not per job.
func TestImageIsIgnoredWithAWarningOnce(t *testing.T) {
	var logs strings.Builder
	r, err := New(t.TempDir(), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	for gen := int64(7); gen <= 8; gen++ {
		req := job(`printf '{"version":"13","uri":"models:/m/13","metrics":{"auc":0.9,"samples":1}}' > "$MODELOPS_OUTPUT/result.json"`)
		req.Generation, req.Job.Image = gen, "registry.example/train:1.4"
		if _, err := r.Start(context.Background(), req); err != nil {
			t.Fatal(err)
		}
		if run := waitFinished(t, r, "sepsis-risk", gen); run.Phase != reconciler.RunSucceeded {
			t.Fatalf("generation %d: %s %s", gen, run.Phase, run.Message)
		}
	}
	if n := strings.Count(logs.String(), "ignores spec.retrain.job.image"); n != 1 || !strings.Contains(logs.String(), "registry.example/train:1.4") {
		t.Errorf("%d warnings about the image, want 1 naming it:\n%s", n, logs.String())
	}
}

// TestRunEndsOnTheRunnersClock: under a clock months behind the machine's (the demo's
// simulated days) a run that takes a moment ends a moment after it started, not at the
// machine's date (the demo once showed a run of 6712h).
func TestRunEndsOnTheRunnersClock(t *testing.T) {
	simulated := time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC)
	r, err := New(t.TempDir(), WithClock(func() time.Time { return simulated }))
	if err != nil {
		t.Fatal(err)
	}
	script := `printf '{"version":"13","uri":"models:/sepsis-risk/13","metrics":{"auc":0.91,"precision":0.8,"recall":0.75,"samples":12000,"latencyMs":40,"coverage":1}}' > "$MODELOPS_OUTPUT/result.json"`
	if _, err := r.Start(context.Background(), job(script)); err != nil {
		t.Fatal(err)
	}
	run := waitFinished(t, r, "sepsis-risk", 7)
	if took := run.Finished.Sub(run.Started); !run.Started.Equal(simulated) || took < 0 || took > time.Hour {
		t.Fatalf("the run started %s and finished %s (%s): want it to end on the simulated clock, moments after its start", run.Started, run.Finished, took)
	}
}
