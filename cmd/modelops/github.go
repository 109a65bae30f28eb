//go:build !lite

package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"

	forgegithub "github.com/medimind/modelops/internal/forge/github"
	"github.com/medimind/modelops/internal/git"
	"github.com/medimind/modelops/internal/status"
)

// githubOptions choose GitHub for proposals and checks instead of the embedded forge.
// Credentials never come from flags (they would show in the process list): a GitHub App's
// MODELOPS_GITHUB_APP_ID, MODELOPS_GITHUB_INSTALLATION_ID and MODELOPS_GITHUB_PRIVATE_KEY_FILE,
// or a token in MODELOPS_GITHUB_TOKEN_FILE (or MODELOPS_GITHUB_TOKEN, GITHUB_TOKEN).
type githubOptions struct {
	repo   string // owner/name
	apiURL string
	// env reads the credentials (os.Getenv; tests give their own).
	env func(string) string
}

func (g *githubOptions) bindFlags(fs *pflag.FlagSet) {
	fs.StringVar(&g.repo, "github", "", "owner/name: open proposals as GitHub pull requests and report checks there (credentials from MODELOPS_GITHUB_* variables)")
	fs.StringVar(&g.apiURL, "github-api-url", "", "GitHub Enterprise API URL, e.g. https://ghe.example/api/v3/ (default github.com)")
}

// githubAuth is the GitHub credentials (a struct without GitHub in a lite build).
type githubAuth = forgegithub.Auth

// githubStack is the GitHub side of a stack: its client's transport (rate limits for
// /metrics), the forge and the reporter.
type githubStack struct {
	auth      *forgegithub.Auth
	transport *forgegithub.Transport
	forge     *forgegithub.Forge
	reporter  *forgegithub.Reporter
}

// openAuth reads the GitHub credentials; git pushes over https use the same token.
func (g *githubOptions) openAuth() (*forgegithub.Auth, error) {
	owner, name, ok := strings.Cut(g.repo, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return nil, invalidInput(fmt.Errorf("--github %q: expected owner/name", g.repo))
	}
	env := g.env
	if env == nil {
		env = os.Getenv
	}
	cfg, err := forgegithub.AuthConfigFromEnv(env)
	if err != nil {
		return nil, invalidInput(err)
	}
	return forgegithub.NewAuth(cfg, nil)
}

func (g *githubOptions) open(auth *forgegithub.Auth, repo *git.Repo, tracked string, bot git.Signature, o *repoOptions) (*githubStack, error) {
	owner, name, _ := strings.Cut(g.repo, "/")
	client, tr, err := forgegithub.NewClient(auth, forgegithub.ClientOptions{BaseURL: g.apiURL})
	if err != nil {
		return nil, err
	}
	fopts := forgegithub.Options{Owner: owner, Repo: name, Tracked: tracked, StatusBranch: status.Branch, Bot: bot, Now: o.now}
	ropts := forgegithub.ReporterOptions{Owner: owner, Repo: name, Statuses: !auth.IsApp(), Now: o.now, AppID: auth.AppID(), StatusBranch: status.Branch}
	return &githubStack{
		auth: auth, transport: tr,
		forge:    forgegithub.New(client, repo, fopts),
		reporter: forgegithub.NewReporter(client, ropts),
	}, nil
}
