package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/medimind/modelops/internal/datafs"
	"github.com/medimind/modelops/internal/driftcheck"
	forgelocal "github.com/medimind/modelops/internal/forge/local"
	"github.com/medimind/modelops/internal/git"
	"github.com/medimind/modelops/internal/metrics"
	"github.com/medimind/modelops/internal/profilecache"
	routerfile "github.com/medimind/modelops/internal/router/file"
	runnerlocal "github.com/medimind/modelops/internal/runner/local"
	"github.com/medimind/modelops/internal/status"
	"github.com/medimind/modelops/internal/watch"
	"github.com/medimind/modelops/policies"
	"github.com/medimind/modelops/reconciler"
)

// repoOptions are the flags every command that works on a policy repository shares.
type repoOptions struct {
	repo        string
	branch      string
	stateDir    string
	dataRoot    string
	tokenFile   string
	sshKey      string
	knownHosts  string
	authorName  string
	authorEmail string
	trafficDir  string
	jobUser     string // --job-user: run local jobs as this user
	github      githubOptions
	kube        kubeOptions
	// now, when set, is the clock of every part of the stack (the demo simulates days).
	now func() time.Time
}

// bindFlags binds every repository flag, for the commands that run reconcile cycles. Commands
// that do less bind only the groups that apply to them, so that their help lists no flag they
// ignore.
func (o *repoOptions) bindFlags(fs *pflag.FlagSet) {
	o.bindRepoFlags(fs)
	o.bindReconcilerFlags(fs)
	o.bindAuthorFlags(fs)
}

// bindRepoFlags binds where the repository is and how to reach it.
func (o *repoOptions) bindRepoFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.repo, "repo", "", "policy repository: a local path, or an http(s)/ssh URL (required)")
	fs.StringVar(&o.branch, "branch", "main", "the tracked branch holding the desired state")
	fs.StringVar(&o.stateDir, "state-dir", "", "where local training runs, the repository mirror and the prepared drift references (profiles/) live (default: the user cache directory)")
	fs.StringVar(&o.tokenFile, "git-token-file", "", "file holding the token for https remotes (or MODELOPS_GIT_TOKEN, or a file named by MODELOPS_GIT_TOKEN_FILE)")
	fs.StringVar(&o.sshKey, "ssh-key", "", "private key file for ssh remotes")
	fs.StringVar(&o.knownHosts, "known-hosts", "", "known_hosts file for ssh remotes (default ~/.ssh/known_hosts)")
}

// bindReconcilerFlags binds what the reconciler's adapters read: the data, the forge, the
// training runner and the traffic router.
func (o *repoOptions) bindReconcilerFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.dataRoot, "data-root", "", "directory to read policy data paths (datasets, prediction logs) from, for large untracked files, following links only inside it; local training jobs run in it (default: data from the repository tree at the commit reconciled, jobs in the checkout of a local non-bare --repo, else in their run directory under --state-dir)")
	o.github.bindFlags(fs)
	o.kube.bindFlags(fs)
	fs.StringVar(&o.trafficDir, "traffic-dir", "", "where the file traffic router writes <model>.json for the serving process (default: <state-dir>/traffic)")
	fs.StringVar(&o.jobUser, "job-user", "", "run local training jobs as this user (name or uid[:gid]; needs root): a job then cannot read the reconciler's credentials")
}

// bindAuthorFlags binds the signature of the commits modelops writes.
func (o *repoOptions) bindAuthorFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.authorName, "author-name", "modelops[bot]", "name on the reconciler's commits")
	fs.StringVar(&o.authorEmail, "author-email", "modelops@users.noreply.github.com", "email on the reconciler's commits")
}

// stack is the reconciler and the adapters it was built from.
type stack struct {
	repo       *git.Repo
	forge      *forgelocal.Forge
	runner     *runnerlocal.Runner
	router     *routerfile.Router
	proposals  reconciler.Proposals // the forge the reconciler uses
	github     *githubStack         // nil on the embedded forge
	kube       *kubeStack           // nil without --namespace
	trafficDir string
	status     *status.Store
	reconciler *reconciler.Reconciler
	bot        git.Signature
	localPath  string // the repository's path when it is local
	// wake asks the run loop for a cycle now (a ref changed, a Job changed, a webhook came).
	wake chan struct{}
}

// openStack builds the reconciler on the embedded defaults: local proposals, local process
// runner, status branch in the same repository. extra options go to the reconciler last.
// Each port has its constructor: newForge, newRunner, newRouter.
func openStack(ctx context.Context, o *repoOptions, log *slog.Logger, extra ...reconciler.Option) (*stack, error) {
	if o.repo == "" {
		return nil, invalidInput(fmt.Errorf("--repo is required"))
	}
	stateDir, err := o.state()
	if err != nil {
		return nil, err
	}
	auth, ghAuth, err := o.gitAuth()
	if err != nil {
		return nil, err
	}
	repo, err := git.Open(ctx, o.repo, git.Options{Auth: auth, Dir: filepath.Join(stateDir, "mirror"), Now: o.now})
	if err != nil {
		return nil, err
	}
	bot := git.Signature{Name: o.authorName, Email: o.authorEmail}
	s := &stack{repo: repo, bot: bot, wake: make(chan struct{}, 1)}
	if isLocalPath(o.repo) {
		s.localPath = o.repo
	}
	s.status = status.New(repo, status.Branch, bot)
	s.status.PersistTo(filepath.Join(stateDir, "cache", "status"), cacheMiss(log, "status"))
	proposals, reporter, err := s.newForge(o, ghAuth)
	if err != nil {
		return nil, err
	}
	runner, err := s.newRunner(o, stateDir, log)
	if err != nil {
		return nil, err
	}
	runner = newPipelineRunner(runner)
	router, err := s.newRouter(o, stateDir)
	if err != nil {
		return nil, err
	}
	opts, err := o.reconcilerOptions(log)
	if err != nil {
		return nil, err
	}
	parsed := &policies.Cache{}
	parsed.PersistTo(filepath.Join(stateDir, "cache", "policies"), cacheMiss(log, "policies"))
	opts = append(opts, reconciler.WithPolicyCache(parsed))
	opts = append(opts, extra...)
	tracked := git.Tracked{Repo: repo, Branch: o.branch, Author: bot}
	prom, err := newPrometheusSource()
	if err != nil {
		return nil, err
	}
	registry, err := openRegistry(ctx, repo, o.branch, log)
	if err != nil {
		return nil, err
	}
	profiles, err := profilecache.Open(filepath.Join(stateDir, "profiles"), 0, log)
	if err != nil {
		return nil, err
	}
	s.reconciler, err = reconciler.New(reconciler.Deps{
		Repo:      tracked,
		Proposals: proposals,
		Reporter:  reporter,
		Runner:    runner,
		Drift:     driftcheck.New(nil).WithProfiles(profiles),
		Metrics:   productionMetrics{prom: prom},
		Status:    s.status,
		Canary:    metrics.ProductionLog{},
		Committer: tracked,
		Router:    router,
		Registry:  registry,
	}, opts...)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// cacheMiss logs, at debug level, why a cache file of the state directory was not used or
// not written: the data is then read from git and parsed again, which is slower, not wrong.
func cacheMiss(log *slog.Logger, cache string) func(error) {
	return func(err error) {
		log.Debug("state cache not used", "cache", cache, "error", err)
	}
}

// gitAuth reads the git credentials, and GitHub's with --github: a remote without
// credentials of its own is pushed to with the App's (or the token's).
func (o *repoOptions) gitAuth() (git.Auth, *githubAuth, error) {
	auth, err := o.auth()
	if err != nil || o.github.repo == "" {
		return auth, nil, err
	}
	ghAuth, err := o.github.openAuth()
	if err != nil {
		return auth, nil, err
	}
	if auth.Password == "" && auth.SSHKeyPath == "" {
		auth.HTTP = ghAuth.GitAuth()
	}
	return auth, ghAuth, nil
}

// newForge opens the forge the reconciler proposes on: GitHub when ghAuth is set, else the
// embedded one (branches in the repository itself), which the CLI's proposal commands also
// read. reporter is nil on the embedded forge.
func (s *stack) newForge(o *repoOptions, ghAuth *githubAuth) (reconciler.Proposals, reconciler.Reporter, error) {
	s.forge = forgelocal.New(s.repo, o.branch, status.Branch, s.bot)
	if o.now != nil {
		s.forge.WithClock(o.now)
	}
	s.proposals = s.forge
	if ghAuth == nil {
		return s.proposals, nil, nil
	}
	var err error
	if s.github, err = o.github.open(ghAuth, s.repo, o.branch, s.bot, o); err != nil {
		return nil, nil, err
	}
	s.proposals = s.github.forge
	return s.proposals, s.github.reporter, nil
}

// newRunner opens the training runner: Kubernetes Jobs with --namespace, else local
// processes under <state-dir>/runs. The local runner is opened either way: the CLI reads
// local runs' logs through it.
func (s *stack) newRunner(o *repoOptions, stateDir string, log *slog.Logger) (reconciler.Runner, error) {
	ropts := []runnerlocal.Option{runnerlocal.WithLogger(log)}
	if o.now != nil {
		ropts = append(ropts, runnerlocal.WithClock(o.now))
	}
	workDir, err := s.jobWorkDir(o)
	if err != nil {
		return nil, err
	}
	if workDir != "" {
		ropts = append(ropts, runnerlocal.WithWorkDir(workDir))
	}
	if o.jobUser != "" {
		opt, err := jobUser(o.jobUser)
		if err != nil {
			return nil, invalidInput(err)
		}
		ropts = append(ropts, opt)
	}
	if s.runner, err = runnerlocal.New(filepath.Join(stateDir, "runs"), ropts...); err != nil {
		return nil, err
	}
	if err := o.kube.validate(); err != nil {
		return nil, err
	}
	if !o.kube.enabled() {
		return s.runner, nil
	}
	if s.kube, err = o.kube.open(o.now, s.nudge); err != nil {
		return nil, err
	}
	return s.kube.runner, nil
}

// jobWorkDir is where local jobs run, as an absolute path: --data-root, else the checkout of
// a local non-bare repository, else "" (each job in its run directory).
func (s *stack) jobWorkDir(o *repoOptions) (string, error) {
	workDir := o.dataRoot
	if workDir == "" && s.localPath != "" {
		// A checkout is where a job such as `python -m sepsis.train` finds its code; a bare
		// repository has none, and its jobs run in their own run directory.
		if gitDir, err := watch.GitDir(s.localPath); err == nil && filepath.Clean(gitDir) != filepath.Clean(s.localPath) {
			workDir = s.localPath
		}
	}
	if workDir == "" {
		return "", nil
	}
	return filepath.Abs(workDir)
}

// newRouter opens the traffic router: KServe with --router kserve, else the file router
// under --traffic-dir (which the CLI's status reads either way).
func (s *stack) newRouter(o *repoOptions, stateDir string) (reconciler.Router, error) {
	s.trafficDir = o.trafficDir
	if s.trafficDir == "" {
		s.trafficDir = filepath.Join(stateDir, "traffic")
	}
	s.router = routerfile.New(s.trafficDir)
	if o.kube.router == "kserve" {
		return s.kube.kserve(o.kube.namespace)
	}
	return s.router, nil
}

// reconcilerOptions are the reconciler's options from the flags: logger, clock, data root.
func (o *repoOptions) reconcilerOptions(log *slog.Logger) ([]reconciler.Option, error) {
	opts := []reconciler.Option{reconciler.WithLogger(log)}
	if o.now != nil {
		opts = append(opts, reconciler.WithClock(o.now))
	}
	if o.dataRoot != "" {
		// The root stays open for the life of the process.
		data, _, err := openDataRoot(o.dataRoot)
		if err != nil {
			return nil, err
		}
		opts = append(opts, reconciler.WithDataRoot(data))
	}
	return opts, nil
}

// openDataRoot opens --data-root DIR as an os.Root, so that no symbolic link, ".." or absolute
// path reads a file outside it; closeRoot closes it.
func openDataRoot(dir string) (data *datafs.FS, closeRoot func(), err error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, nil, invalidInput(fmt.Errorf("--data-root: %w", err))
	}
	return datafs.New(root.FS(), "--data-root "+dir, ""), func() { root.Close() }, nil
}

// nudge asks the run loop for a cycle now, without waiting: one pending request is enough.
func (s *stack) nudge() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// state returns the state directory, by default one per repository in the user cache.
func (o *repoOptions) state() (string, error) {
	if o.stateDir != "" {
		return o.stateDir, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find a state directory (set --state-dir): %w", err)
	}
	loc := o.repo
	if isLocalPath(loc) {
		if abs, err := filepath.Abs(loc); err == nil {
			loc = abs
		}
	}
	sum := sha256.Sum256([]byte(loc))
	return filepath.Join(base, "modelops", hex.EncodeToString(sum[:8])), nil
}

// auth reads credentials from files or the environment, never from flag values, so they do
// not show in the process list.
func (o *repoOptions) auth() (git.Auth, error) {
	a := git.Auth{SSHKeyPath: o.sshKey, KnownHostsPath: o.knownHosts}
	tok, err := secretFrom(o.tokenFile, "MODELOPS_GIT_TOKEN")
	if err != nil {
		return a, err
	}
	a.Password = tok
	return a, nil
}

func isLocalPath(loc string) bool {
	return !strings.Contains(loc, "://") && !strings.HasPrefix(loc, "git@")
}

// logLevel is the level --log-level or -q chose; nil leaves it to each command.
var logLevel *slog.Level

// newLogger logs to stderr, JSON, or text when stderr is a terminal, at level unless
// --log-level, -q or MODELOPS_LOG_LEVEL (debug, info, warn, error) says otherwise.
func newLogger(level slog.Level) *slog.Logger {
	if logLevel != nil {
		level = *logLevel
	} else if v := os.Getenv("MODELOPS_LOG_LEVEL"); v != "" {
		var l slog.Level
		if err := l.UnmarshalText([]byte(v)); err == nil {
			level = l
		}
	}
	opts := &slog.HandlerOptions{Level: level}
	if isTerminal(os.Stderr) {
		return slog.New(slog.NewTextHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, opts))
}

// terminalWidth returns the width of w when it is a terminal.
func terminalWidth(w io.Writer) (int, bool) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return 0, false
	}
	if width, _, err := term.GetSize(int(f.Fd())); err == nil && width > 0 {
		return width, true
	}
	return 80, true
}

// isTerminal reports whether w is a terminal (human output, progress, colours).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// productionMetrics reads each policy's production performance from its own source: the
// prediction log, or Prometheus when spec.metrics.prometheus is set.
type productionMetrics struct {
	log  metrics.ProductionLog
	prom reconciler.Metrics // nil in a build without Prometheus (-tags lite)
}

func (m productionMetrics) Production(ctx context.Context, p *policies.Policy, data fs.FS) (*reconciler.PerformanceRecord, error) {
	if mt := p.Spec.Metrics; mt != nil && mt.Prometheus != nil {
		if m.prom == nil {
			return nil, errLite("spec.metrics.prometheus")
		}
		return m.prom.Production(ctx, p, data)
	}
	return m.log.Production(ctx, p, data)
}
