package githubfake

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v62/github"
)

// appClient is a go-github client authenticated as the app's installation
// through ghinstallation, as the forge does with a GitHub App.
func appClient(t *testing.T, s *Server, appID, installationID int64, key []byte) *github.Client {
	t.Helper()
	itr, err := ghinstallation.New(s.HTTPClient().Transport, appID, installationID, key)
	if err != nil {
		t.Fatal(err)
	}
	itr.BaseURL = strings.TrimSuffix(s.URL(), "/")
	gh := github.NewClient(&http.Client{Transport: itr})
	gh.BaseURL = s.Client("").BaseURL
	return gh
}

func TestAppInstallationTokens(t *testing.T) {
	var mu sync.Mutex
	offset := time.Duration(0)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return time.Now().Add(offset)
	}
	s := seeded(t, WithApp(42, 4242), WithClock(clock))
	sha := gitOut(t, s, "rev-parse", "main")
	gh := appClient(t, s, 42, 4242, s.AppPrivateKey())
	run, resp, err := gh.Checks.CreateCheckRun(ctx, "medimind", "policies", github.CreateCheckRunOptions{Name: "n", HeadSHA: sha})
	if err != nil || resp.StatusCode != http.StatusCreated || run.GetApp().GetSlug() != "modelops" {
		t.Fatalf("check run as the installation: %v status %d", err, status(resp))
	}
	reqs := s.Requests()
	if len(reqs) != 2 || reqs[0].Operation != "apps/create-installation-access-token" || reqs[0].Status != http.StatusCreated || reqs[0].Counted ||
		reqs[1].Operation != "checks/create" || !reqs[1].Counted {
		t.Fatalf("requests %+v", reqs)
	}
	minted := resp.Request.Header.Get("Authorization")
	if !strings.HasPrefix(minted, "token ghs_") && !strings.HasPrefix(minted, "Bearer ghs_") {
		t.Fatalf("request carried %q, want the minted installation token", minted)
	}

	// An hour later the minted token is refused.
	mu.Lock()
	offset = installationTokenTTL
	mu.Unlock()
	_, resp, err = s.Client(minted[strings.Index(minted, " ")+1:]).Repositories.Get(ctx, "medimind", "policies")
	if status(resp) != http.StatusUnauthorized || errorResponseOf(t, err).Message != "Bad credentials" {
		t.Fatalf("expired installation token: status %d %v", status(resp), err)
	}
}

func TestAppJWTIsChecked(t *testing.T) {
	s := seeded(t, WithApp(42, 4242))
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	otherPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(other)})
	for _, tc := range []struct {
		name                string
		appID, installation int64
		key                 []byte
		want                int
	}{
		{"a JWT signed by another key", 42, 4242, otherPEM, http.StatusUnauthorized},
		{"a JWT of another app", 7, 4242, s.AppPrivateKey(), http.StatusUnauthorized},
		{"another installation", 42, 1, s.AppPrivateKey(), http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gh := appClient(t, s, tc.appID, tc.installation, tc.key)
			_, _, err := gh.Repositories.Get(ctx, "medimind", "policies")
			var he *ghinstallation.HTTPError
			if !errors.As(err, &he) || he.Response == nil || he.Response.StatusCode != tc.want {
				t.Fatalf("error %T %v, want ghinstallation's HTTPError with status %d", err, err, tc.want)
			}
		})
	}
}
