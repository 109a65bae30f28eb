package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/medimind/modelops/internal/watch"
)

type runOptions struct {
	repoOptions
	interval time.Duration
	grace    time.Duration
	listen   string
	stdout   io.Writer
	// ready, when set, receives the HTTP server's address once it listens (tests).
	ready chan<- string
	// quiet discards the log (benchmarks).
	quiet bool
}

func newRunCmd() *cobra.Command {
	opts := runOptions{}
	cmd := &cobra.Command{
		Use:   "run --repo PATH|URL",
		Short: "Run the reconciler until stopped",
		Long: `run keeps reconciling: a full cycle every --interval, and at once when the refs of a local
repository change (fsnotify on its git directory: a commit, a merge, a new branch). Every cycle
is a full resync: the reconciler reads the state itself, so a missed event costs only latency.

It serves /healthz (alive) and /readyz (a cycle has completed) on --listen.

SIGINT or SIGTERM finishes the action in progress, records the status, and exits 0.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.stdout = cmd.OutOrStdout()
			return runRun(cmd.Context(), opts)
		},
	}
	opts.bindFlags(cmd.Flags())
	cmd.Flags().DurationVar(&opts.interval, "interval", 30*time.Second, "time between full cycles (each fetches the remote)")
	cmd.Flags().DurationVar(&opts.grace, "shutdown-grace", 2*time.Minute, "longest wait for the action in progress on shutdown")
	cmd.Flags().StringVar(&opts.listen, "listen", "127.0.0.1:8080", "address of the health endpoints; empty disables them")
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
	// Actions run on a context that SIGTERM does not cancel, so the one in progress
	// finishes; Drain stops the cycle after it. The grace period bounds the wait.
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	s, err := openStack(work, &opts.repoOptions, log)
	if err != nil {
		return err
	}

	var ready atomic.Bool
	if opts.listen != "" {
		srv, addr, err := serveHealth(opts.listen, &ready)
		if err != nil {
			return err
		}
		defer srv.Close()
		log.Info("serving health endpoints", "addr", addr)
		if opts.ready != nil {
			opts.ready <- addr
		}
	}

	trigger := make(chan struct{}, 1)
	if s.localPath != "" {
		gitDir, err := watch.GitDir(s.localPath)
		if err != nil {
			return err
		}
		go func() {
			if err := watch.Refs(ctx, gitDir, trigger); err != nil {
				log.Error("watching the repository failed; polling only", "error", err)
			}
		}()
	}

	go func() {
		<-ctx.Done()
		log.Info("stopping after the action in progress")
		s.reconciler.Drain()
		select {
		case <-time.After(opts.grace):
			cancelWork()
		case <-work.Done():
		}
	}()

	ticker := time.NewTicker(opts.interval)
	defer ticker.Stop()
	for {
		start := time.Now()
		res, err := s.reconciler.Cycle(work)
		switch {
		case err != nil:
			log.Error("cycle failed", "error", err)
		default:
			ready.Store(true)
			log.Info("cycle done", "commit", short(res.Commit), "models", res.Models, "actions", len(res.Actions),
				"failed", res.Failed(), "invalid", len(res.Invalid), "duration", time.Since(start).Round(time.Millisecond))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		case <-trigger:
		}
	}
}

// serveHealth serves /healthz and /readyz on addr.
func serveHealth(addr string, ready *atomic.Bool) (*http.Server, string, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready.Load() {
			http.Error(w, "no cycle has completed yet", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return srv, ln.Addr().String(), nil
}
