//go:build lite

// A lite build (go build -tags lite, what make demo runs) leaves out the Kubernetes client,
// the GitHub client and Prometheus, which are most of what a first build compiles. It has
// every command but run, on the embedded defaults: local proposals, local training, the
// file router. These stand-ins keep openStack one function for both builds.

package main

import (
	"context"
	"io"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/medimind/modelops/internal/git"
	"github.com/medimind/modelops/reconciler"
)

func newPrometheusSource() (reconciler.Metrics, error) { return nil, nil }

// githubOptions binds no flag: the repo stays empty and GitHub is never opened.
type githubOptions struct{ repo string }

func (g *githubOptions) bindFlags(*pflag.FlagSet) {}

type githubAuth struct{}

func (*githubAuth) GitAuth() transport.AuthMethod { return nil }

func (g *githubOptions) openAuth() (*githubAuth, error) { return nil, errLite("--github") }

type githubStack struct {
	forge    reconciler.Proposals
	reporter reconciler.Reporter
}

func (g *githubOptions) open(*githubAuth, *git.Repo, string, git.Signature, *repoOptions) (*githubStack, error) {
	return nil, errLite("--github")
}

// kubeOptions binds no flag: training runs locally and traffic goes to the file router.
type kubeOptions struct{ namespace, router string }

func (k *kubeOptions) bindFlags(*pflag.FlagSet) {}
func (k *kubeOptions) enabled() bool            { return false }
func (k *kubeOptions) validate() error          { return nil }

type kubeStack struct{ runner reconciler.Runner }

func (k *kubeOptions) open(func() time.Time, func()) (*kubeStack, error) {
	return nil, errLite("--namespace")
}

func (ks *kubeStack) kserve(string) (reconciler.Router, error) {
	return nil, errLite("--router kserve")
}

// newRunCmd keeps the command listed, so that the build says what is missing.
func newRunCmd() *cobra.Command {
	return &cobra.Command{
		Use:                "run",
		Short:              "Run the reconciler until stopped (not in this lite build)",
		DisableFlagParsing: true,
		RunE:               func(*cobra.Command, []string) error { return errLite("modelops run") },
	}
}

// serveDemoUI needs the HTTP server, which the lite build leaves out.
func serveDemoUI(context.Context, *stack, string, io.Writer) error { return errLite("--ui") }

// demoUIBuilt says that this build cannot serve the demo's web UI.
func demoUIBuilt() error { return errLite("demo ui") }
