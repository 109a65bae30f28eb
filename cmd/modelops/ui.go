//go:build !lite

package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"

	"github.com/medimind/modelops/internal/audit"
	"github.com/medimind/modelops/internal/server"
	"github.com/medimind/modelops/internal/ui"
	"github.com/medimind/modelops/reconciler"
)

// uiSource serves the web UI from the reconcile stack: the same snapshot as the API's
// status, and the status branch through the status store.
type uiSource struct {
	s      *stack
	branch string
}

var _ ui.Source = uiSource{}

func (u uiSource) Snapshot(ctx context.Context) (*reconciler.Snapshot, error) {
	return u.s.reconciler.Snapshot(ctx)
}

func (u uiSource) StatusFile(ctx context.Context, path string) ([]byte, error) {
	return u.s.status.ReadFile(ctx, path)
}

// Audit builds the model's timeline on a History, which keeps the pack files open for the
// walk (see runAudit).
func (u uiSource) Audit(ctx context.Context, model string) (*audit.Timeline, error) {
	hist, err := u.s.repo.OpenHistory(ctx)
	if err != nil {
		return nil, err
	}
	defer hist.Close()
	return audit.Build(ctx, hist, audit.Options{Branch: u.branch, Model: model})
}

// newUI builds the web UI of `modelops run --ui`; the login compares with the API token.
func newUI(s *stack, opts runOptions, log *slog.Logger) (*ui.UI, error) {
	token, err := secretFrom(opts.apiTokenFile, "MODELOPS_API_TOKEN")
	if err != nil {
		return nil, err
	}
	u, err := ui.New(ui.Options{Source: uiSource{s: s, branch: opts.branch}, Auth: ui.AuthMode(opts.uiAuth), Token: token, Log: log,
		RepoURL: repoWebURL(opts.repo, opts.github)})
	if err != nil {
		return nil, invalidInput(err)
	}
	return u, nil
}

// repoWebURL is the policy repository's web address, for the UI's links to commits and pull
// requests: the --github repository (on GitHub Enterprise, the host of --github-api-url), else
// an https --repo on github.com. "" when neither says (a local path, another forge).
func repoWebURL(repo string, gh githubOptions) string {
	if gh.repo != "" {
		host := "https://github.com"
		if gh.apiURL != "" {
			u, err := url.Parse(gh.apiURL)
			if err != nil || u.Host == "" {
				return ""
			}
			host = u.Scheme + "://" + u.Host
		}
		return host + "/" + gh.repo
	}
	u, err := url.Parse(repo)
	if err != nil || u.Scheme != "https" || u.Host != "github.com" {
		return ""
	}
	p := strings.Trim(strings.TrimSuffix(u.Path, ".git"), "/")
	if strings.Count(p, "/") != 1 {
		return ""
	}
	return "https://github.com/" + p
}

// demoUIBuilt says that this build serves the demo's web UI.
func demoUIBuilt() error { return nil }

// serveDemoUI serves the web UI over the demo's stack, its clock stopped where the story
// ended, until ctx ends. The login token is MODELOPS_API_TOKEN, or a new one printed here.
func serveDemoUI(ctx context.Context, s *stack, addr string, stdout io.Writer) error {
	token := os.Getenv("MODELOPS_API_TOKEN")
	if token == "" {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		token = hex.EncodeToString(b)
	}
	web, err := ui.New(ui.Options{Source: uiSource{s: s, branch: "main"}, Token: token})
	if err != nil {
		return err
	}
	h, err := server.New(server.WithUI(web))
	if err != nil {
		return err
	}
	srv, bound, err := serve(addr, h)
	if err != nil {
		return err
	}
	defer srv.Close()
	fmt.Fprintf(stdout, "\nThe web UI over the demo's repository: http://%s/ui/\nLog in with the demo's token %s. Ctrl-C stops it.\n", bound, token)
	<-ctx.Done()
	return nil
}
