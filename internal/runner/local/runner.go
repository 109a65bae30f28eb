package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/medimind/modelops/internal/faultpoint"
	"github.com/medimind/modelops/internal/registry/mlflow"
	"github.com/medimind/modelops/internal/runresult"
	"github.com/medimind/modelops/reconciler"
)

var _ reconciler.Runner = (*Runner)(nil)

// Files of a run directory.
const (
	recordFile    = "run.json"  // the launch record, written once when the run is claimed
	pidFile       = "pid"       // written by the wrapper shell itself, first thing
	exitFile      = "exit"      // the command's exit status, written atomically when it ends
	cancelFile    = "cancelled" // written by Cancel
	logFile       = "log"       // the command's stdout and stderr
	outputDir     = "output"    // MODELOPS_OUTPUT
	resultFile    = "result.json"
	maxResultSize = 1 << 20
	logTailLines  = 20

	// deadlineExceeded stands in the exit file of a job killed for running past its timeout.
	deadlineExceeded = "deadline-exceeded"
)

// wrapper runs the job command and records its pid and exit status in the run directory
// ($1), so a reconciler that restarts can tell a running job from a finished or dead one.
// The job is judged by its main process: once that has ended, whatever it left running in
// the background is killed with the process group (the wrapper leads it, so kill 0 ends the
// wrapper too, after it recorded the status). On SIGTERM (Cancel) the main process gets the
// signal to stop cleanly; when it has, the trap kills what is left, TERM ignored or not.
const wrapper = `dir="$1"; shift
printf '%s' "$$" > "$dir/pid.tmp" && mv "$dir/pid.tmp" "$dir/pid"
trap 'kill -KILL 0' TERM
"$@"
code=$?
printf '%s' "$code" > "$dir/exit.tmp" && mv "$dir/exit.tmp" "$dir/exit"
kill -KILL 0
exit $code`

// Runner starts jobs as process groups detached from the reconciler: a reconciler that is
// killed leaves its jobs running, and finds them again when it restarts.
type Runner struct {
	dir     string
	workDir string
	env     []string
	now     func() time.Time
	// user, when set, is the uid and gid jobs run as (WithUser).
	user *syscall.Credential
	log  *slog.Logger
	// imageWarned is set once the log said that job images are ignored.
	imageWarned sync.Once

	mu sync.Mutex // serialises Start and Cancel, which claim and mark run directories
}

// Option configures a Runner.
type Option func(*Runner)

// WithWorkDir runs job commands in dir (default: the run's own directory).
func WithWorkDir(dir string) Option { return func(r *Runner) { r.workDir = dir } }

// WithLogger logs, once, that the runner ignores the policies' container images.
func WithLogger(log *slog.Logger) Option { return func(r *Runner) { r.log = log } }

// WithEnv adds environment variables (KEY=value) to every job, after the reconciler's own.
func WithEnv(env ...string) Option { return func(r *Runner) { r.env = append(r.env, env...) } }

// WithUser runs jobs as uid and gid, without supplementary groups, so a job cannot read
// what only the reconciler's user can (its credential files, /proc/<pid>/environ and
// memory). The reconciler must be allowed to switch users (root, or CAP_SETUID and
// CAP_SETGID), and the runs directory must be reachable by that user: each run's directory
// is handed to it.
func WithUser(uid, gid uint32) Option {
	return func(r *Runner) { r.user = &syscall.Credential{Uid: uid, Gid: gid, Groups: []uint32{}} }
}

// WithClock sets the clock (tests).
func WithClock(now func() time.Time) Option { return func(r *Runner) { r.now = now } }

// New returns a runner keeping its runs under dir.
func New(dir string, opts ...Option) (*Runner, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create runs directory: %w", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	r := &Runner{dir: abs, now: time.Now}
	for _, o := range opts {
		o(r)
	}
	return r, nil
}

// record is what run.json holds.
type record struct {
	Model      string    `json:"model"`
	Generation int64     `json:"generation"`
	Commit     string    `json:"commit"`
	PolicyFile string    `json:"policyFile,omitempty"`
	Command    []string  `json:"command"`
	Claimed    time.Time `json:"claimed"`
	// ClaimedWall is the machine's clock at the claim. The job's exit and cancel files carry
	// the machine's time; under another clock (the demo's simulated days) a run ends at
	// Claimed plus what elapsed on the machine, not at the machine's date.
	ClaimedWall time.Time `json:"claimedWall,omitzero"`
	Timeout     string    `json:"timeout,omitempty"`
}

// onClock places a time of the machine's clock (a file's modification) on the runner's clock.
func (rec record) onClock(wall time.Time) time.Time {
	if rec.ClaimedWall.IsZero() || wall.IsZero() {
		return wall
	}
	return rec.Claimed.Add(wall.Sub(rec.ClaimedWall))
}

// RunDir is the directory of the run of (model, generation).
func (r *Runner) RunDir(model string, generation int64) string {
	return filepath.Join(r.dir, model, fmt.Sprintf("gen-%d", generation))
}

// Start launches the job unless its run directory already exists, in which case it returns
// the existing run: a (model, generation) is started at most once, across restarts.
func (r *Runner) Start(ctx context.Context, req reconciler.JobRequest) (reconciler.TrainingRun, error) {
	if len(req.Job.Command) == 0 {
		return reconciler.TrainingRun{}, errors.New("job has no command")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	dir := r.RunDir(req.Model, req.Generation)
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return reconciler.TrainingRun{}, fmt.Errorf("create model runs directory: %w", err)
	}
	// Mkdir is the claim: it succeeds for exactly one caller.
	switch err := os.Mkdir(dir, 0o755); {
	case errors.Is(err, fs.ErrExist):
		rec, rerr := readRecord(dir)
		if rerr == nil && neverStarted(dir) {
			// Claimed by a reconciler that died before the process started.
			faultpoint.Hit("runner-before-start")
			return r.launch(dir, rec, req)
		}
		return r.Get(ctx, req.Model, req.Generation)
	case err != nil:
		return reconciler.TrainingRun{}, fmt.Errorf("claim run directory: %w", err)
	}
	rec := record{
		Model: req.Model, Generation: req.Generation, Commit: req.Commit, PolicyFile: req.PolicyFile,
		Command: req.Job.Command, Claimed: r.now(), ClaimedWall: time.Now().Round(0),
	}
	if req.Job.Timeout.Duration > 0 {
		rec.Timeout = req.Job.Timeout.Duration.String()
	}
	if err := writeJSONAtomic(filepath.Join(dir, recordFile), rec); err != nil {
		return reconciler.TrainingRun{}, err
	}
	faultpoint.Hit("runner-before-start")
	return r.launch(dir, rec, req)
}

func (r *Runner) launch(dir string, rec record, req reconciler.JobRequest) (reconciler.TrainingRun, error) {
	out := filepath.Join(dir, outputDir)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return reconciler.TrainingRun{}, fmt.Errorf("create output directory: %w", err)
	}
	if r.user != nil {
		// The wrapper records its pid and exit status in dir, the job writes to out.
		for _, d := range []string{dir, out} {
			if err := os.Lchown(d, int(r.user.Uid), int(r.user.Gid)); err != nil {
				return reconciler.TrainingRun{}, fmt.Errorf("hand the run directory to the job user: %w", err)
			}
		}
	}
	logf, err := os.OpenFile(filepath.Join(dir, logFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return reconciler.TrainingRun{}, fmt.Errorf("open job log: %w", err)
	}
	defer logf.Close()

	if req.Job.Image != "" && r.log != nil {
		r.imageWarned.Do(func() {
			r.log.Warn("the local runner ignores spec.retrain.job.image (and gpus, resources, nodeSelector): "+
				"the job's command runs as a process on this machine", "model", req.Model, "image", req.Job.Image)
		})
	}
	args := append([]string{"-c", wrapper, "modelops-job", dir}, req.Job.Command...)
	args = append(args, req.Job.Args...)
	// The job must outlive the reconciler, so it is not bound to ctx.
	cmd := exec.Command("/bin/sh", args...)
	cmd.Dir = dir
	if r.workDir != "" {
		cmd.Dir = r.workDir
	}
	cmd.Env = append(jobEnviron(), r.env...)
	for _, e := range req.Job.Env {
		cmd.Env = append(cmd.Env, e.Name+"="+e.Value)
	}
	// MODELOPS_* come last so a job's env cannot override them.
	cmd.Env = append(cmd.Env,
		"MODELOPS_MODEL="+req.Model,
		"MODELOPS_GENERATION="+strconv.FormatInt(req.Generation, 10),
		"MODELOPS_COMMIT="+req.Commit,
		"MODELOPS_OUTPUT="+out,
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: r.user}
	if err := cmd.Start(); err != nil {
		return reconciler.TrainingRun{}, fmt.Errorf("start job %s: %w", strings.Join(req.Job.Command, " "), err)
	}
	// Reap the child when it ends, or it lingers as a zombie that still answers kill(pid, 0).
	go func() { _ = cmd.Wait() }()
	return reconciler.TrainingRun{
		Generation: rec.Generation, Commit: rec.Commit, ID: dir, Phase: reconciler.RunRunning, Started: rec.Claimed,
	}, nil
}

// Get reads the run of (model, generation) from its directory.
func (r *Runner) Get(_ context.Context, model string, generation int64) (reconciler.TrainingRun, error) {
	dir := r.RunDir(model, generation)
	rec, err := readRecord(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return reconciler.TrainingRun{}, reconciler.ErrRunNotFound
	}
	if err != nil {
		return reconciler.TrainingRun{}, err
	}
	run := reconciler.TrainingRun{Generation: rec.Generation, Commit: rec.Commit, ID: dir, Started: rec.Claimed}

	if b, err := os.ReadFile(filepath.Join(dir, exitFile)); err == nil {
		run.Finished = rec.onClock(modTime(filepath.Join(dir, exitFile)))
		code, perr := strconv.Atoi(strings.TrimSpace(string(b)))
		switch {
		case exists(filepath.Join(dir, cancelFile)):
			run.Phase, run.Message = reconciler.RunCancelled, "cancelled"
		case strings.TrimSpace(string(b)) == deadlineExceeded:
			run.Phase, run.Message = reconciler.RunFailed, "DeadlineExceeded: the job ran longer than its timeout "+rec.Timeout
		case perr != nil:
			run.Phase, run.Message = reconciler.RunFailed, "unreadable exit status"
		case code != 0:
			run.Phase = reconciler.RunFailed
			run.Message = fmt.Sprintf("exit status %d; last lines of the log:\n%s", code, tail(filepath.Join(dir, logFile), logTailLines))
		default:
			res, rerr := ReadResult(filepath.Join(dir, outputDir, resultFile))
			if rerr != nil {
				run.Phase, run.Message = reconciler.RunFailed, rerr.Error()
				run.NoResult = errors.Is(rerr, errNoResult)
			} else {
				run.Phase, run.Result = reconciler.RunSucceeded, res
			}
		}
		return run, nil
	}

	pid, ok := readPID(dir)
	switch {
	case exists(filepath.Join(dir, cancelFile)):
		run.Phase, run.Message, run.Finished = reconciler.RunCancelled, "cancelled", rec.onClock(modTime(filepath.Join(dir, cancelFile)))
	case !ok && wrapperRunning(dir):
		run.Phase = reconciler.RunRunning // started; its pid file is being written
	case !ok:
		// Claimed, never started: Start launches it when asked again.
		run.Phase = reconciler.RunPending
	case alive(pid, dir):
		run.Phase = reconciler.RunRunning
		if d, err := time.ParseDuration(rec.Timeout); err == nil && d > 0 && r.now().Sub(rec.Claimed) > d {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			run.Phase, run.Message, run.Finished = reconciler.RunFailed, "DeadlineExceeded: the job ran longer than its timeout "+rec.Timeout, r.now()
			_ = os.WriteFile(filepath.Join(dir, exitFile), []byte(deadlineExceeded), 0o644)
		}
	default:
		run.Phase = reconciler.RunFailed
		run.Message = "the job process died without an exit status; last lines of the log:\n" + tail(filepath.Join(dir, logFile), logTailLines)
		run.Finished = r.now()
	}
	return run, nil
}

// Cancel stops a running job's process group. A finished or unknown run is left alone.
func (r *Runner) Cancel(_ context.Context, model string, generation int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	dir := r.RunDir(model, generation)
	if !exists(filepath.Join(dir, recordFile)) || exists(filepath.Join(dir, exitFile)) {
		return nil
	}
	if err := os.WriteFile(filepath.Join(dir, cancelFile), nil, 0o644); err != nil {
		return fmt.Errorf("mark run cancelled: %w", err)
	}
	if pid, ok := readPID(dir); ok && alive(pid, dir) {
		if err := syscall.Kill(-pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("stop job process group %d: %w", pid, err)
		}
	}
	return nil
}

// errNoResult is a job that exited 0 without a result: it may have registered its candidate
// in the model registry instead (TrainingRun.NoResult).
var errNoResult = errors.New("the job exited 0 but wrote no result.json to $MODELOPS_OUTPUT")

// ReadResult reads and validates a job's result.json (SPEC.md "Jobs").
func ReadResult(path string) (*reconciler.RunResult, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, errNoResult
		}
		return nil, fmt.Errorf("read result: %w", err)
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(f, maxResultSize+1)); err != nil {
		return nil, fmt.Errorf("read result: %w", err)
	}
	if buf.Len() > maxResultSize {
		return nil, fmt.Errorf("result.json is larger than %d bytes", maxResultSize)
	}
	return ParseResult(buf.Bytes())
}

// ParseResult decodes a training result strictly and checks its figures (runresult.Parse,
// the one parser of both runners).
func ParseResult(b []byte) (*reconciler.RunResult, error) { return runresult.Parse(b) }

// jobEnviron is the reconciler's environment without its own MODELOPS_* variables, GITHUB_TOKEN
// and MLflow credentials: a job must not see the reconciler's credentials (MODELOPS_GIT_TOKEN,
// MODELOPS_GITHUB_*, GITHUB_TOKEN, which the GitHub forge also accepts, and the MLflow token
// or password that may move the registry's aliases) or settings, and gets the MODELOPS_*
// variables of its run instead. Nor does it inherit the cloud credentials the reconciler
// reads data in object storage with. A job registering its model in MLflow, or reading a
// bucket, gets its own credentials through the policy's job environment.
func jobEnviron() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "MODELOPS_") && name != "GITHUB_TOKEN" && !slices.Contains(reconcilerMLflowSecrets, name) &&
			!slices.Contains(reconcilerCloudSecrets, name) {
			env = append(env, kv)
		}
	}
	return env
}

// reconcilerCloudSecrets are the object-storage credentials of the reconciler (each cloud's
// standard environment variables) a job must not inherit.
var reconcilerCloudSecrets = []string{
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	"AZURE_STORAGE_KEY", "AZURE_STORAGE_SAS_TOKEN", "AZURE_STORAGE_CONNECTION_STRING", "AZURE_CLIENT_SECRET",
	"GOOGLE_APPLICATION_CREDENTIALS",
}

// reconcilerMLflowSecrets are the MLflow credentials of the reconciler a job must not inherit.
var reconcilerMLflowSecrets = []string{mlflow.EnvTrackingToken, mlflow.EnvTrackingPassword, mlflow.EnvDatabricksToken}
