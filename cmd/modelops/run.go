//go:build !lite

package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/medimind/modelops/internal/git"
	"github.com/medimind/modelops/internal/manager"
	"github.com/medimind/modelops/internal/server"
	"github.com/medimind/modelops/internal/ui"
	"github.com/medimind/modelops/internal/watch"
)

type runOptions struct {
	repoOptions
	interval time.Duration
	grace    time.Duration
	listen   string
	// probeListen, when set, serves only /healthz, /readyz and /metrics on a second address,
	// for the kubelet and Prometheus: clients of --listen cannot take its connections.
	probeListen string
	// apiTokenFile and webhookSecretFile name files holding the API's bearer token and the
	// GitHub webhook secret (or MODELOPS_API_TOKEN, MODELOPS_WEBHOOK_SECRET).
	apiTokenFile      string
	webhookSecretFile string
	// leaderElect campaigns for the Lease leaseName in --namespace; only the holder acts.
	leaderElect bool
	leaseName   string
	// unreadyAfter is how many fetches in a row may fail before /readyz answers 503.
	unreadyAfter int
	stdout       io.Writer
	// ready, when set, receives the HTTP server's address once it listens (tests).
	ready chan<- string
	// quiet discards the log (benchmarks).
	quiet bool
	// ui serves the web UI under /ui/ (uiAuth: token or proxy); web is the UI once built.
	ui     bool
	uiAuth string
	web    *ui.UI
}

func newRunCmd() *cobra.Command {
	opts := runOptions{}
	cmd := &cobra.Command{
		Use:   "run --repo PATH|URL",
		Short: "Run the reconciler until stopped",
		Long: `run keeps reconciling: a full cycle every --interval, and at once when the refs of a local
repository change (fsnotify on its git directory: a commit, a merge, a new branch). Every cycle
is a full resync: the reconciler reads the state itself, so a missed event costs only latency.

It serves on --listen: /healthz (alive), /readyz (a cycle has completed, and the remote
answered one of the last --unready-after-fetch-failures fetches), /metrics
(Prometheus), the API under /api/v1 (with a bearer token; the OpenAPI description is at
/api/v1/openapi.yaml), with --ui the read-only web UI under /ui/ (a login with the API token, or
--ui-auth=proxy behind an authenticating proxy) and POST /webhooks/github (with a webhook
secret), which triggers a cycle at once. Notifications go to MODELOPS_NOTIFY_WEBHOOK_URL (JSON),
MODELOPS_SLACK_WEBHOOK_URL (Slack incoming webhook) and email (MODELOPS_SMTP_URL,
MODELOPS_SMTP_PASSWORD, MODELOPS_SMTP_FROM, MODELOPS_SMTP_TO) when set; secrets come from files
or the environment, never flags, and never stay in the process's /proc/<pid>/environ.

SIGINT or SIGTERM finishes the action in progress, records the status, and exits 0.` + trainerContract,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.stdout = cmd.OutOrStdout()
			return runRun(cmd.Context(), opts)
		},
	}
	opts.bindFlags(cmd.Flags())
	cmd.Flags().DurationVar(&opts.interval, "interval", 30*time.Second, "time between full cycles (each fetches the remote)")
	cmd.Flags().DurationVar(&opts.grace, "shutdown-grace", 2*time.Minute, "longest wait for the action in progress on shutdown")
	cmd.Flags().StringVar(&opts.listen, "listen", "127.0.0.1:8080", "address of the HTTP server (health, /metrics, API, webhooks); empty disables it")
	cmd.Flags().StringVar(&opts.probeListen, "probe-listen", "", "a second address serving only /healthz, /readyz and /metrics (for the kubelet's probes and Prometheus): connections to --listen, each client's capped, cannot starve it")
	cmd.Flags().BoolVar(&opts.leaderElect, "leader-elect", false, "act only while holding a coordination.k8s.io Lease in --namespace (several replicas, one acts)")
	cmd.Flags().StringVar(&opts.leaseName, "lease-name", "modelops", "name of the leader-election Lease")
	cmd.Flags().IntVar(&opts.unreadyAfter, "unready-after-fetch-failures", 3, "answer /readyz 503 once this many fetches of the remote in a row have failed (0: never)")
	cmd.Flags().StringVar(&opts.apiTokenFile, "api-token-file", "", "file holding the API's bearer token (or MODELOPS_API_TOKEN); without one the API is not served")
	cmd.Flags().BoolVar(&opts.ui, "ui", false, "serve the read-only web UI under /ui/ (it shows clinical model information: off by default)")
	cmd.Flags().StringVar(&opts.uiAuth, "ui-auth", "token", "how the UI lets people in: token (a login with the API token) or proxy (trust X-Forwarded-User/X-Forwarded-Email from an authenticating proxy)")
	cmd.Flags().StringVar(&opts.webhookSecretFile, "webhook-secret-file", "", "file holding the GitHub webhook secret (or MODELOPS_WEBHOOK_SECRET); without one /webhooks/github is not served")
	return cmd
}

func runRun(ctx context.Context, opts runOptions) error {
	if opts.interval <= 0 {
		return invalidInput(errors.New("--interval must be positive"))
	}
	log := newLogger(slog.LevelInfo)
	if opts.quiet {
		log = slog.New(slog.DiscardHandler)
	}
	// The stack and the informers live until runRun returns, not until SIGTERM: the
	// manager drains the cycle in progress first.
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	s, err := openStack(work, &opts.repoOptions, log)
	if err != nil {
		return err
	}
	metrics := server.NewMetrics()
	notifier, err := notifierFromEnv(log)
	if err != nil {
		return err
	}
	if notifier != nil {
		defer func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			_ = notifier.Close(ctx)
		}()
	}
	observer := &cycleObserver{metrics: metrics, notifier: notifier, stack: s}
	mopts := manager.Options{
		Cycle: func(ctx context.Context) error {
			start := time.Now()
			res, err := s.reconciler.Cycle(ctx)
			observer.observe(ctx, start, res, err)
			opts.web.CycleDone()
			if err == nil {
				log.Info("cycle done", "commit", short(res.Commit), "models", res.Models, "actions", len(res.Actions),
					"failed", res.Failed(), "invalid", len(res.Invalid), "seconds", time.Since(start).Round(time.Millisecond).Seconds())
			}
			return err
		},
		Interval:     opts.interval,
		Grace:        opts.grace,
		Drain:        s.reconciler.Drain,
		Wake:         s.wake,
		Unreachable:  func(err error) bool { return errors.Is(err, git.ErrUnreachable) },
		UnreadyAfter: opts.unreadyAfter,
		CheckNow: func(ctx context.Context, model string) error {
			_, err := s.reconciler.CheckDrift(ctx, model)
			return err
		},
		Log: log,
	}
	if opts.leaderElect {
		if s.kube == nil {
			return invalidInput(errors.New("--leader-elect needs --namespace: the Lease lives there"))
		}
		if mopts.Elector, err = s.kube.elector(opts.kube.namespace, opts.leaseName); err != nil {
			return err
		}
	}
	mgr, err := manager.New(mopts)
	if err != nil {
		return err
	}
	if s.kube != nil {
		// Job changes wake the loop; the informer stops with the process.
		s.kube.runner.Watch(work)
		s.kube.runner.WaitForCacheSync(work)
	}
	if opts.ui {
		if opts.web, err = newUI(s, opts, log); err != nil {
			return err
		}
	}
	if opts.listen != "" {
		handler, err := opts.handler(s, metrics, mgr, log)
		if err != nil {
			return err
		}
		srv, addr, err := serve(opts.listen, handler)
		if err != nil {
			return err
		}
		defer srv.Close()
		log.Info("serving HTTP", "addr", addr)
		if opts.ready != nil {
			opts.ready <- addr
		}
	}
	if opts.probeListen != "" {
		probes, err := server.New(server.WithLogger(log), server.WithMetrics(metrics), server.WithReadiness(mgr.Ready))
		if err != nil {
			return err
		}
		srv, addr, err := serve(opts.probeListen, probes)
		if err != nil {
			return err
		}
		defer srv.Close()
		log.Info("serving probes", "addr", addr)
	}
	if s.localPath != "" {
		gitDir, err := watch.GitDir(s.localPath)
		if err != nil {
			return err
		}
		go func() {
			if err := watch.Refs(ctx, gitDir, s.wake); err != nil {
				log.Error("watching the repository failed; polling only", "error", err)
			}
		}()
	}
	mgr.Run(ctx)
	return nil
}

// handler builds the HTTP server: health, /metrics, the API when a token is configured,
// and the GitHub webhook when a secret is.
func (opts runOptions) handler(s *stack, metrics *server.Metrics, mgr *manager.Manager, log *slog.Logger) (http.Handler, error) {
	sopts := []server.Option{
		server.WithLogger(log),
		server.WithMetrics(metrics),
		server.WithReadiness(mgr.Ready),
	}
	token, err := secretFrom(opts.apiTokenFile, "MODELOPS_API_TOKEN")
	if err != nil {
		return nil, err
	}
	if token != "" {
		sopts = append(sopts, server.WithAPI(apiBackend{s: s, proposals: s.proposals}, token))
	} else {
		log.Info("the API is off: no token in MODELOPS_API_TOKEN, MODELOPS_API_TOKEN_FILE or --api-token-file; its endpoints answer 404 api_disabled")
	}
	secret, err := secretFrom(opts.webhookSecretFile, "MODELOPS_WEBHOOK_SECRET")
	if err != nil {
		return nil, err
	}
	if secret != "" {
		// A person pressing Re-run on a modelops check gets that model's drift check now.
		sopts = append(sopts, server.WithGitHubWebhook([]byte(secret), mgr.Nudge), server.WithCheckRerun(mgr.RequestCheck))
	}
	// MLflow's webhooks (model_version.created, alias changes) nudge a cycle: a registered
	// candidate is judged, an alias moved by hand is set back, without waiting for the
	// interval.
	mlflowSecret, err := secretFrom("", mlflowWebhookSecretEnv)
	if err != nil {
		return nil, err
	}
	if mlflowSecret != "" {
		sopts = append(sopts, server.WithMLflowWebhook([]byte(mlflowSecret), mgr.Nudge))
	}
	if opts.web != nil {
		sopts = append(sopts, server.WithUI(opts.web))
	}
	return server.New(sopts...)
}

// serve serves h on addr, with the server package's limits on connections and timeouts.
func serve(addr string, h http.Handler) (*http.Server, string, error) {
	ln, err := server.Listen(addr)
	if err != nil {
		return nil, "", err
	}
	srv := server.NewHTTPServer(h)
	go func() { _ = srv.Serve(ln) }()
	return srv, ln.Addr().String(), nil
}
