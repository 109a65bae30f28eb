package github

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/medimind/modelops/internal/git"
	"github.com/medimind/modelops/internal/testutil/gitserver"
)

const secretValue = "ghp_s3cr3tT0k3nValue"

func TestSecretsNeverPrint(t *testing.T) {
	cfg := AuthConfig{Token: secretValue, PrivateKey: "-----BEGIN RSA PRIVATE KEY-----" + secretValue}
	auth, err := NewAuth(AuthConfig{Token: secretValue}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	logger.Info("auth", "token", cfg.Token, "config", cfg, "auth", auth)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("auth", "token", cfg.Token, "auth", auth)
	printed := logs.String() + fmt.Sprintf("%v %s %q %x %d %#v %+v %v %+v %#v", cfg.Token, cfg.Token, cfg.Token, cfg.Token, cfg.Token, cfg.Token, cfg, &cfg, auth, auth)
	if strings.Contains(printed, "s3cr3t") || strings.Contains(printed, "73337233") {
		t.Errorf("a secret was printed:\n%s", printed)
	}
	if !strings.Contains(printed, redacted) {
		t.Errorf("nothing says a secret was left out:\n%s", printed)
	}
	if s := auth.GitAuth().String(); strings.Contains(s, "s3cr3t") {
		t.Errorf("git auth prints %s", s)
	}
}

func TestAuthConfigFromEnv(t *testing.T) {
	env := map[string]string{EnvAppID: "12", EnvInstallationID: "34", EnvPrivateKeyFile: "/run/secrets/key.pem", EnvGitHubToken: "from-actions"}
	c, err := AuthConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.AppID != 12 || c.InstallationID != 34 || c.PrivateKeyFile != "/run/secrets/key.pem" || c.Token != "from-actions" || !c.IsApp() {
		t.Errorf("config = %+v", c)
	}
	env[EnvToken] = "own"
	if c, _ := AuthConfigFromEnv(func(k string) string { return env[k] }); c.Token != "own" {
		t.Error("MODELOPS_GITHUB_TOKEN does not win over GITHUB_TOKEN")
	}
	env[EnvAppID] = "twelve"
	if _, err := AuthConfigFromEnv(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), EnvAppID+`: expected a positive integer, got "twelve"`) {
		t.Errorf("err = %v", err)
	}
}

func TestNewAuthReadsSecretsFromFiles(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte(secretValue+"\n"), 0o600)
	a, err := NewAuth(AuthConfig{TokenFile: tokenFile, Token: "ignored"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok, _ := a.Token(context.Background()); string(tok) != secretValue || a.IsApp() {
		t.Errorf("token from file: app=%v, token ok=%v", a.IsApp(), string(tok) == secretValue)
	}
	for _, tc := range []struct {
		name string
		cfg  AuthConfig
		want string
	}{
		{"nothing", AuthConfig{}, "no GitHub credentials"},
		{"missing token file", AuthConfig{TokenFile: filepath.Join(dir, "none")}, "read token file: open "},
		{"app without installation", AuthConfig{AppID: 1}, "MODELOPS_GITHUB_INSTALLATION_ID is required"},
		{"app without key", AuthConfig{AppID: 1, InstallationID: 2}, "a private key is required"},
		{"app with a bad key", AuthConfig{AppID: 1, InstallationID: 2, PrivateKey: "not a key " + secretValue}, "read GitHub App 1 private key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewAuth(tc.cfg, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), secretValue) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// privateKey writes a fresh RSA key as PEM into a file and returns its path.
func privateKey(t *testing.T) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "app.pem")
	b := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// appServer plays GitHub for an App installation: it hands out tokens tok-1, tok-2, ... and
// answers the API 401 for the tokens in revoked.
type appServer struct {
	srv *httptest.Server

	mu      sync.Mutex // guards the fields below
	issued  int
	revoked map[string]bool
	seen    []string // the Authorization of each API request
}

func newAppServer(t *testing.T, prefix string) *appServer {
	a := &appServer{revoked: map[string]bool{}}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		defer a.mu.Unlock()
		if r.URL.Path == prefix+"/app/installations/34/access_tokens" && r.Method == "POST" {
			if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ey") {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			a.issued++
			w.WriteHeader(http.StatusCreated)
			json.NewEncoder(w).Encode(map[string]any{"token": fmt.Sprintf("tok-%d", a.issued), "expires_at": time.Now().Add(time.Hour)})
			return
		}
		auth := r.Header.Get("Authorization")
		a.seen = append(a.seen, auth)
		if a.revoked[strings.TrimPrefix(auth, "Bearer ")] {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"message":"Bad credentials"}`))
			return
		}
		w.Write([]byte(`{}`))
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *appServer) revoke(tok string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.revoked[tok] = true
}

func TestAnAppRefreshesARefusedInstallationTokenAndRetriesOnce(t *testing.T) {
	srv := newAppServer(t, "/api/v3")
	auth, err := NewAuth(AuthConfig{AppID: 12, InstallationID: 34, PrivateKeyFile: privateKey(t)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	client, _, err := NewClient(auth, ClientOptions{BaseURL: srv.srv.URL, Transport: TransportOptions{Clock: newFakeClock()}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(client.BaseURL.String(), "/api/v3/") {
		t.Errorf("enterprise base URL = %s", client.BaseURL)
	}
	ctx := context.Background()
	if _, _, err := client.Repositories.Get(ctx, "o", "r"); err != nil {
		t.Fatal(err)
	}
	// The installation token is revoked before its expiry: the next request gets 401,
	// a new token is fetched and the request sent again.
	srv.revoke("tok-1")
	if _, _, err := client.Repositories.Get(ctx, "o", "r"); err != nil {
		t.Fatalf("after a revoked token: %v", err)
	}
	srv.mu.Lock()
	seen, issued := append([]string(nil), srv.seen...), srv.issued
	srv.mu.Unlock()
	if want := "[Bearer tok-1 Bearer tok-1 Bearer tok-2]"; fmt.Sprint(seen) != want || issued != 2 {
		t.Errorf("requests carried %v with %d tokens issued, want %s with 2", seen, issued, want)
	}
	// A token refused again is not retried a second time: the 401 is the answer.
	srv.revoke("tok-2")
	srv.revoke("tok-3")
	_, _, err = client.Repositories.Get(ctx, "o", "r")
	if status(err) != http.StatusUnauthorized {
		t.Errorf("err = %v, want the 401", err)
	}
	if srv.issued != 3 {
		t.Errorf("%d tokens issued, want 3", srv.issued)
	}

	// Git over HTTPS asks for the current token on each request.
	ga := auth.GitAuth()
	r1, _ := http.NewRequest("GET", "https://example/x.git/info/refs", nil)
	ga.SetAuth(r1)
	user, pass, ok := r1.BasicAuth()
	if !ok || user != git.TokenUsername || pass != "tok-3" {
		t.Errorf("git auth = %q:%q", user, pass)
	}
	auth.invalidate(ctx, "tok-3")
	r2, _ := http.NewRequest("GET", "https://example/x.git/info/refs", nil)
	ga.SetAuth(r2)
	if _, pass, _ := r2.BasicAuth(); pass != "tok-4" {
		t.Errorf("git auth after a refresh = %q, want tok-4", pass)
	}
}

func TestAPersonalTokenIsSentAsIsAndNotRefreshed(t *testing.T) {
	srv := newAppServer(t, "")
	srv.revoke(secretValue)
	auth, _ := NewAuth(AuthConfig{Token: secretValue}, nil)
	client, _, err := NewClient(auth, ClientOptions{BaseURL: srv.srv.URL + "/", Transport: TransportOptions{Clock: newFakeClock()}})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = client.Repositories.Get(context.Background(), "o", "r")
	if status(err) != http.StatusUnauthorized || len(srv.seen) != 1 || srv.seen[0] != "Bearer "+secretValue {
		t.Errorf("err = %v after %v", err, len(srv.seen))
	}
}

func TestGitAuthPushesOverHTTPSAsXAccessToken(t *testing.T) {
	gs := gitserver.New(t, gitserver.Options{Username: git.TokenUsername, Password: secretValue})
	url := gs.Seed(t, "r.git", "main", "testdata/repo")
	auth, _ := NewAuth(AuthConfig{Token: secretValue}, nil)
	if _, err := gogit.Clone(memory.NewStorage(), nil, &gogit.CloneOptions{URL: url, Auth: auth.GitAuth()}); err != nil {
		t.Fatalf("clone with the token: %v", err)
	}
	wrong, _ := NewAuth(AuthConfig{Token: "wrong"}, nil)
	_, err := gogit.Clone(memory.NewStorage(), nil, &gogit.CloneOptions{URL: url, Auth: wrong.GitAuth()})
	if err == nil {
		t.Fatal("clone with a wrong token succeeded")
	}
	if !errors.Is(err, transport.ErrAuthenticationRequired) && !errors.Is(err, transport.ErrAuthorizationFailed) {
		t.Errorf("err = %v, want an authentication failure", err)
	}
	if strings.Contains(err.Error(), secretValue) {
		t.Errorf("the error shows the token: %v", err)
	}
}
