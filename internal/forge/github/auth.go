package github

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/medimind/modelops/internal/secret"

	"github.com/bradleyfalzon/ghinstallation/v2"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gh "github.com/google/go-github/v62/github"

	"github.com/medimind/modelops/internal/git"
)

// Secret is a token or a private key; it never prints its value (see internal/secret).
type Secret = secret.Secret

// redacted stands where a credential would be printed.
const redacted = "[redacted]"

// Environment variables AuthConfigFromEnv reads. Secrets come from these or from files,
// never from flags, which show in process listings and shell history.
const (
	EnvAppID          = "MODELOPS_GITHUB_APP_ID"
	EnvInstallationID = "MODELOPS_GITHUB_INSTALLATION_ID"
	EnvPrivateKeyFile = "MODELOPS_GITHUB_PRIVATE_KEY_FILE"
	EnvPrivateKey     = "MODELOPS_GITHUB_PRIVATE_KEY"
	EnvTokenFile      = "MODELOPS_GITHUB_TOKEN_FILE"
	EnvToken          = "MODELOPS_GITHUB_TOKEN"
	// EnvGitHubToken is read when EnvToken is unset, as in GitHub Actions.
	EnvGitHubToken = "GITHUB_TOKEN"
)

// AuthConfig says how to authenticate: as a GitHub App installation (AppID, InstallationID
// and a private key) or with a personal access token.
type AuthConfig struct {
	AppID, InstallationID int64
	// PrivateKeyFile is the App's PEM private key file, or PrivateKey the PEM itself.
	PrivateKeyFile string
	PrivateKey     Secret
	// TokenFile holds a personal access token, or Token is the token itself.
	TokenFile string
	Token     Secret
}

// AuthConfigFromEnv reads the configuration from the environment (getenv is os.Getenv in
// production).
func AuthConfigFromEnv(getenv func(string) string) (AuthConfig, error) {
	c := AuthConfig{
		PrivateKeyFile: getenv(EnvPrivateKeyFile), PrivateKey: Secret(getenv(EnvPrivateKey)),
		TokenFile: getenv(EnvTokenFile), Token: Secret(getenv(EnvToken)),
	}
	if c.Token == "" {
		c.Token = Secret(getenv(EnvGitHubToken))
	}
	for _, v := range []struct {
		name string
		to   *int64
	}{{EnvAppID, &c.AppID}, {EnvInstallationID, &c.InstallationID}} {
		s := getenv(v.name)
		if s == "" {
			continue
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			return AuthConfig{}, fmt.Errorf("read %s: expected a positive integer, got %q", v.name, s)
		}
		*v.to = n
	}
	return c, nil
}

// IsApp reports whether c authenticates as a GitHub App.
func (c AuthConfig) IsApp() bool { return c.AppID != 0 }

// Auth authenticates requests to GitHub's API and git over HTTPS. As an App it asks
// ghinstallation for the installation token, which is refreshed before its one-hour expiry;
// an answer 401 (the token was revoked or expired early) makes it fetch a new token and
// send the request once more.
type Auth struct {
	token Secret // a personal access token; "" for an App

	apps                  *ghinstallation.AppsTransport
	appID, installationID int64

	mu   sync.Mutex // guards inst
	inst *ghinstallation.Transport
}

// ErrNoCredentials is returned by NewAuth when the configuration names no credential.
var ErrNoCredentials = errors.New("no GitHub credentials: set a GitHub App (" + EnvAppID + ", " + EnvInstallationID + ", " +
	EnvPrivateKeyFile + ") or a token (" + EnvTokenFile + " or " + EnvToken + ")")

// NewAuth reads the credentials cfg names. base is the transport that fetches installation
// tokens (http.DefaultTransport when nil). Installation tokens come from github.com's API
// until NewClient points the Auth at GitHub Enterprise's.
func NewAuth(cfg AuthConfig, base http.RoundTripper) (*Auth, error) {
	if base == nil {
		base = http.DefaultTransport
	}
	if !cfg.IsApp() {
		tok := cfg.Token
		if cfg.TokenFile != "" {
			b, err := os.ReadFile(cfg.TokenFile)
			if err != nil {
				return nil, fmt.Errorf("read token file: %w", err)
			}
			tok = Secret(strings.TrimSpace(string(b)))
			if tok == "" {
				return nil, fmt.Errorf("read token file %s: it is empty", cfg.TokenFile)
			}
		}
		if tok == "" {
			return nil, ErrNoCredentials
		}
		return &Auth{token: tok}, nil
	}
	if cfg.InstallationID == 0 {
		return nil, fmt.Errorf("GitHub App %d: %s is required", cfg.AppID, EnvInstallationID)
	}
	key := []byte(cfg.PrivateKey)
	if cfg.PrivateKeyFile != "" {
		b, err := os.ReadFile(cfg.PrivateKeyFile)
		if err != nil {
			return nil, fmt.Errorf("read GitHub App private key: %w", err)
		}
		key = b
	}
	if len(key) == 0 {
		return nil, fmt.Errorf("GitHub App %d: a private key is required (%s or %s)", cfg.AppID, EnvPrivateKeyFile, EnvPrivateKey)
	}
	apps, err := ghinstallation.NewAppsTransport(base, cfg.AppID, key)
	if err != nil {
		// ghinstallation's message names the parse failure, never the key.
		return nil, fmt.Errorf("read GitHub App %d private key: %w", cfg.AppID, err)
	}
	a := &Auth{apps: apps, appID: cfg.AppID, installationID: cfg.InstallationID}
	a.inst = ghinstallation.NewFromAppsTransport(apps, cfg.InstallationID)
	return a, nil
}

// setBaseURL points installation-token requests at the API at u.
func (a *Auth) setBaseURL(u string) {
	if !a.IsApp() {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.apps.BaseURL = strings.TrimSuffix(u, "/")
	a.inst = ghinstallation.NewFromAppsTransport(a.apps, a.installationID)
}

// String describes a without its secrets.
func (a *Auth) String() string {
	if a.IsApp() {
		return fmt.Sprintf("GitHub App installation %d", a.installationID)
	}
	return "GitHub token " + redacted
}

// GoString implements fmt.GoStringer (%#v) without the secrets.
func (a *Auth) GoString() string { return a.String() }

// LogValue implements slog.LogValuer without the secrets.
func (a *Auth) LogValue() slog.Value { return slog.StringValue(a.String()) }

// AppID is the GitHub App a authenticates as; 0 with a personal access token.
func (a *Auth) AppID() int64 { return a.appID }

// IsApp reports whether a authenticates as a GitHub App installation. Check runs need one;
// with a personal access token checks are published as commit statuses.
func (a *Auth) IsApp() bool { return a.apps != nil }

// Token returns a valid token: the personal access token, or the installation token,
// fetched or refreshed when it is missing or about to expire.
func (a *Auth) Token(ctx context.Context) (Secret, error) {
	if !a.IsApp() {
		return a.token, nil
	}
	a.mu.Lock()
	inst := a.inst
	a.mu.Unlock()
	tok, err := inst.Token(ctx)
	if err != nil {
		return "", fmt.Errorf("get installation token: %w", err)
	}
	return Secret(tok), nil
}

// invalidate drops the installation token stale, so that the next Token fetches a new one.
// A token already replaced by another goroutine is left alone.
func (a *Auth) invalidate(ctx context.Context, stale Secret) {
	if !a.IsApp() {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if cur, err := a.inst.Token(ctx); err == nil && Secret(cur) != stale {
		return
	}
	// ghinstallation keeps its token until a minute before expiry and cannot be told to
	// drop it; a new installation transport starts without one.
	a.inst = ghinstallation.NewFromAppsTransport(a.apps, a.installationID)
}

// RoundTripper returns a transport that authenticates each request to the API and sends it
// through next. A request answered 401 by an App installation is sent once more with a new
// token.
func (a *Auth) RoundTripper(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &authTransport{auth: a, next: next}
}

type authTransport struct {
	auth *Auth
	next http.RoundTripper
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	tok, err := t.auth.Token(ctx)
	if err != nil {
		return nil, err
	}
	send := again(req)
	if send == nil {
		send = req.Clone(ctx)
	}
	send.Header.Set("Authorization", "Bearer "+string(tok))
	resp, err := t.next.RoundTrip(send)
	if err != nil || resp.StatusCode != http.StatusUnauthorized || !t.auth.IsApp() {
		return resp, err
	}
	retry := again(req)
	if retry == nil {
		return resp, nil
	}
	discard(resp)
	t.auth.invalidate(ctx, tok)
	if tok, err = t.auth.Token(ctx); err != nil {
		return nil, err
	}
	retry.Header.Set("Authorization", "Bearer "+string(tok))
	return t.next.RoundTrip(retry)
}

// GitAuth returns the go-git auth method for git over HTTPS: basic auth as user
// x-access-token with the current token, asked for afresh on every request, so a long
// fetch or push never carries an installation token past its expiry.
func (a *Auth) GitAuth() githttp.AuthMethod { return &gitAuth{a: a} }

type gitAuth struct{ a *Auth }

// Name implements transport.AuthMethod.
func (*gitAuth) Name() string { return "github-token" }

// String implements transport.AuthMethod without the token.
func (*gitAuth) String() string { return "github-token - " + git.TokenUsername + ":" + redacted }

// SetAuth implements githttp.AuthMethod. Without a token the request goes out
// unauthenticated and the remote's refusal surfaces as git.ErrAuth.
func (g *gitAuth) SetAuth(r *http.Request) {
	tok, err := g.a.Token(r.Context())
	if err != nil {
		return
	}
	r.SetBasicAuth(git.TokenUsername, string(tok))
}

// ClientOptions configures NewClient.
type ClientOptions struct {
	// BaseURL and UploadURL are GitHub Enterprise's API URLs (go-github's
	// WithEnterpriseURLs); empty for github.com.
	BaseURL, UploadURL string
	// Base is the network transport (http.DefaultTransport when nil).
	Base http.RoundTripper
	// Transport configures the layers between the client and the network.
	Transport TransportOptions
}

// NewClient returns a go-github client that sends every request through a Transport over
// auth's authentication, and that Transport, for RateLimit and Stats.
func NewClient(auth *Auth, opts ClientOptions) (*gh.Client, *Transport, error) {
	tr := NewTransport(auth.RoundTripper(opts.Base), opts.Transport)
	client := gh.NewClient(&http.Client{Transport: tr})
	if opts.BaseURL != "" {
		upload := opts.UploadURL
		if upload == "" {
			upload = opts.BaseURL
		}
		var err error
		if client, err = client.WithEnterpriseURLs(opts.BaseURL, upload); err != nil {
			return nil, nil, fmt.Errorf("set GitHub Enterprise URLs: %w", err)
		}
	}
	auth.setBaseURL(client.BaseURL.String())
	return client, tr, nil
}
