package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/medimind/modelops/internal/audit"
	"github.com/medimind/modelops/internal/demo"
	"github.com/medimind/modelops/internal/status"
	"github.com/medimind/modelops/reconciler"
)

type demoOptions struct {
	dir    string
	stdout io.Writer
	// trainCommand runs the demo trainer (default: this binary's `demo train`).
	trainCommand []string
	log          *slog.Logger
	// ui, when set, serves the web UI over the demo's repository on this address after the
	// story, until interrupted.
	ui string
}

func newDemoCmd() *cobra.Command {
	opts := demoOptions{}
	cmd := &cobra.Command{
		Use:   "demo [--dir DIR]",
		Short: "The retrain story on the embedded defaults, in a temporary directory",
		Long: `demo builds a policy repository from the embedded examples (a real git repository, branch
main), writes synthetic reference and current data with drift planted in the sepsis omics
panel and the wearable sensors, and runs reconcile cycles on a simulated clock: drift checks,
the retrain proposal, its merge by a reviewer, the training job it launches (the demo
trainer, a logistic regression run by the local runner), and the result on the status branch.
Everything stays on this machine; the directory is kept so that you can look around.

Exit status: 0 the story ran as told, 1 a step did not happen, 2 invalid flags.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.stdout = cmd.OutOrStdout()
			return runDemo(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.ui, "ui", "", "after the story, serve the web UI over the demo's repository on this address (e.g. 127.0.0.1:8080) until Ctrl-C")
	cmd.Flags().StringVar(&opts.dir, "dir", "", "directory for the repository and the runner state (new or empty; default: a new temporary directory)")
	cmd.AddCommand(newDemoTrainCmd(), newDemoUICmd())
	return cmd
}

// newDemoUICmd serves the web UI over a demo that already ran (make demo keeps its
// directory), so that the story can be seen without being told again.
func newDemoUICmd() *cobra.Command {
	var dir, listen string
	cmd := &cobra.Command{
		Use:   "ui --dir DIR [--listen ADDR]",
		Short: "Serve the web UI over a demo's kept directory (make demo-ui DEMO_DIR=DIR)",
		Long: `ui serves the web UI over the repository of a demo that already ran, its clock stopped where
the story ended: nothing is reconciled. The login token is MODELOPS_API_TOKEN, or a new one
printed at start. It needs the full build (make demo-ui DEMO_DIR=DIR), not the lite one of
make demo.

Exit status: 0 stopped by Ctrl-C, 1 no demo in DIR or the address is taken, 2 invalid flags.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return invalidInput(errors.New("--dir: name the directory of a demo that ran (make demo prints it)"))
			}
			return runDemoUI(cmd.Context(), dir, listen, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "the demo's directory (holding policy-repo and state)")
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8080", "address of the web UI")
	return cmd
}

// runDemoUI opens the stack of a kept demo with the clock at the story's end and serves its
// web UI until ctx ends.
func runDemoUI(ctx context.Context, dir, addr string, stdout io.Writer) error {
	if err := demoUIBuilt(); err != nil {
		return err
	}
	repoDir, stateDir := filepath.Join(dir, "policy-repo"), filepath.Join(dir, "state")
	for _, d := range []string{repoDir, stateDir} {
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			return fmt.Errorf("%s holds no demo (no %s): run make demo first, it prints the directory", dir, filepath.Base(d))
		}
	}
	// The story's clock is simulated; the UI's stands where the story ended, set once the
	// status is read.
	var end atomic.Int64
	s, err := openStack(ctx, &repoOptions{repo: repoDir, branch: "main", stateDir: stateDir, dataRoot: repoDir,
		now:        func() time.Time { return time.Unix(0, end.Load()).UTC() },
		authorName: "modelops[bot]", authorEmail: "modelops@users.noreply.github.com"}, newLogger(slog.LevelWarn))
	if err != nil {
		return err
	}
	st, err := s.status.Load(ctx)
	if err != nil {
		return fmt.Errorf("read the demo's status: %w", err)
	}
	end.Store(storyEnd(st).UnixNano())
	return serveDemoUI(ctx, s, addr, stdout)
}

// storyEnd is the last moment the status records: a drift check, a canary's end, a run's end.
func storyEnd(st *reconciler.Status) time.Time {
	var last time.Time
	later := func(t time.Time) {
		if t.After(last) {
			last = t
		}
	}
	for _, ms := range st.Models {
		if d, ok := ms.LastDrift(); ok {
			later(d.At)
		}
		if c := ms.LastCanary; c != nil {
			later(c.Ended)
		}
		for _, r := range ms.Runs {
			later(r.Finished)
		}
	}
	if last.IsZero() {
		return time.Now()
	}
	return last
}

// newDemoTrainCmd is the training job of the demo's policies: the local runner starts it in
// the repository's working directory with MODELOPS_MODEL, MODELOPS_GENERATION and
// MODELOPS_OUTPUT set.
func newDemoTrainCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "train",
		Short:  "The demo's training job (run by the local runner)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemoTrain(cmd.Context(), cmd.OutOrStdout())
		},
	}
}

func runDemo(ctx context.Context, opts demoOptions) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find this binary for the training command: %w", err)
	}
	if len(opts.trainCommand) == 0 {
		opts.trainCommand = []string{exe, "demo", "train"}
	}
	log := opts.log
	if log == nil {
		log = newLogger(slog.LevelWarn)
	}
	var last *stack // the stack of the story's last step, for the UI
	out, err := demo.Run(ctx, demo.Options{
		Dir:          opts.dir,
		TrainCommand: opts.trainCommand,
		Binary:       exe,
		Out:          opts.stdout,
		Open: func(ctx context.Context, repoDir, stateDir string, now func() time.Time) (*demo.Stack, error) {
			s, err := openStack(ctx, &repoOptions{
				repo: repoDir, branch: "main", stateDir: stateDir, now: now,
				// The serving process's prediction logs are untracked files of the checkout.
				dataRoot:   repoDir,
				authorName: "modelops[bot]", authorEmail: "modelops@users.noreply.github.com",
			}, log)
			if err != nil {
				return nil, err
			}
			last = s
			return &demo.Stack{
				Loop: s.reconciler, Forge: s.forge, Runner: s.runner, Status: s.status,
				StatusFile: func(ctx context.Context, path string) ([]byte, error) {
					tip, err := s.repo.Head(ctx, status.Branch)
					if err != nil {
						return nil, err
					}
					return s.repo.ReadFile(ctx, tip, path)
				},
				TrafficDir: s.trafficDir,
				Audit: func(ctx context.Context, w io.Writer, model string) error {
					tl, err := audit.Build(ctx, s.repo, audit.Options{Branch: "main", Model: model})
					if err != nil {
						return err
					}
					return tl.WriteTable(w)
				},
			}, nil
		},
	})
	if err != nil && out != nil && out.Dir != "" {
		fmt.Fprintf(os.Stderr, "modelops: the demo stopped; what it did is in %s\n", out.Dir)
	}
	if err != nil {
		return err
	}
	if opts.ui == "" {
		// The lite build of make demo has no web UI: say how to see this story in one.
		fmt.Fprintf(opts.stdout, "  web UI          make demo-ui DEMO_DIR=%s\n", out.Dir)
		fmt.Fprintf(opts.stdout, "                  (modelops demo ui --dir %s in a full build: the story in the browser, http://127.0.0.1:8080/ui/)\n", out.Dir)
		return nil
	}
	return serveDemoUI(ctx, last, opts.ui, opts.stdout)
}

func runDemoTrain(ctx context.Context, stdout io.Writer) error {
	gen, err := strconv.ParseInt(os.Getenv("MODELOPS_GENERATION"), 10, 64)
	if err != nil {
		return invalidInput(fmt.Errorf("MODELOPS_GENERATION: expected an integer, got %q", os.Getenv("MODELOPS_GENERATION")))
	}
	// The policies set SEED for their training jobs; the split follows it when it is a number.
	seed := demo.DefaultSeed
	if v := os.Getenv("SEED"); v != "" {
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			return invalidInput(fmt.Errorf("SEED: expected a non-negative integer, got %q", v))
		}
	}
	dir, err := os.Getwd()
	if err != nil {
		return err
	}
	res, err := demo.Train(ctx, demo.TrainOptions{
		Dir: dir, Model: os.Getenv("MODELOPS_MODEL"), Generation: gen, Output: os.Getenv("MODELOPS_OUTPUT"), Seed: seed,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "trained %s %s: auc %.4f on %d held-out rows (seed %d); %s\n",
		os.Getenv("MODELOPS_MODEL"), res.Version, *res.Metrics.AUC, res.Metrics.Samples, seed, res.URI)
	return nil
}
