package githubfake

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v4"
)

// app is the GitHub App the fake knows, set by WithApp.
type app struct {
	id, installationID int64
	key                *rsa.PrivateKey
}

// installationTokenTTL is how long GitHub's installation tokens live.
const installationTokenTTL = time.Hour

// maxJWTLifetime is the longest exp - iat GitHub accepts for an app JWT.
const maxJWTLifetime = 10 * time.Minute

// WithApp makes the fake know a GitHub App with appID installed on the
// repository as installationID: POST
// /app/installations/{installationID}/access_tokens, authenticated with a
// JWT signed by AppPrivateKey (as ghinstallation does), mints an
// installation token that expires after an hour of the fake's clock.
func WithApp(appID, installationID int64) Option {
	return func(c *config) { c.appID, c.installationID = appID, installationID }
}

// AppPrivateKey returns the PEM (PKCS #1) private key of the app set by
// WithApp, for ghinstallation.New; nil without WithApp.
func (s *Server) AppPrivateKey() []byte {
	if s.app == nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(s.app.key)})
}

func newApp(tb interface{ Fatalf(string, ...any) }, appID, installationID int64) *app {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatalf("githubfake: generate app key: %v", err)
	}
	return &app{id: appID, installationID: installationID, key: key}
}

// authenticateApp checks the app JWT of r the way GitHub does: RS256 signed
// by the app's key, issuer the app ID, issued not in the future, expiring
// in the future but at most ten minutes after it was issued. Times are
// those of the fake's clock. The caller holds s.mu.
func (s *Server) authenticateApp(r *http.Request) (*Token, *response) {
	unauthorized := func(msg string) *response {
		return &response{status: http.StatusUnauthorized, body: errorBody(msg, "https://docs.github.com/rest", http.StatusUnauthorized)}
	}
	scheme, raw, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if s.app == nil || !strings.EqualFold(scheme, "bearer") {
		return nil, unauthorized("A JSON web token could not be decoded")
	}
	claims := &jwt.RegisteredClaims{}
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithoutClaimsValidation())
	if _, err := parser.ParseWithClaims(strings.TrimSpace(raw), claims, func(*jwt.Token) (any, error) {
		return &s.app.key.PublicKey, nil
	}); err != nil {
		return nil, unauthorized("A JSON web token could not be decoded")
	}
	now := s.cfg.now()
	switch {
	case claims.Issuer != strconv.FormatInt(s.app.id, 10):
		return nil, unauthorized("'Issuer' claim ('iss') must be an Integer")
	case claims.IssuedAt == nil || claims.IssuedAt.After(now.Add(time.Minute)):
		return nil, unauthorized("'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued")
	case claims.ExpiresAt == nil || !claims.ExpiresAt.After(now):
		return nil, unauthorized("'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires")
	case claims.ExpiresAt.Sub(claims.IssuedAt.Time) > maxJWTLifetime:
		return nil, unauthorized("'Expiration time' claim ('exp') is too far in the future")
	}
	return &Token{Value: "jwt:" + claims.Issuer, Kind: TokenInstallation, Login: "modelops[bot]"}, nil
}

// createInstallationToken mints an installation token.
func createInstallationToken(s *Server, rq *request) *response {
	if rq.params["installation_id"] != strconv.FormatInt(s.app.installationID, 10) {
		return notFound(rq)
	}
	var b [20]byte
	if _, err := rand.Read(b[:]); err != nil {
		s.tb.Errorf("githubfake: mint installation token: %v", err)
		return errorResponse(rq, http.StatusInternalServerError, "Server Error")
	}
	tok := Token{Value: "ghs_" + hex.EncodeToString(b[:]), Kind: TokenInstallation, Login: "modelops[bot]",
		ExpiresAt: s.now().Add(installationTokenTTL), AppID: s.app.id}
	s.tokens[tok.Value] = &tok
	return &response{status: http.StatusCreated, body: map[string]any{
		"token": tok.Value, "expires_at": stamp(tok.ExpiresAt), "repository_selection": "selected",
		"permissions": map[string]any{"checks": "write", "contents": "write", "pull_requests": "write", "statuses": "write", "issues": "write", "metadata": "read"},
	}}
}
