package githubfake

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/routers"
	"github.com/google/go-github/v62/github"

	"github.com/medimind/modelops/internal/testutil/gitserver"
)

// Default tokens registered by New. Both are valid until the test ends.
const (
	// InstallationToken acts as the GitHub App installation "modelops[bot]"
	// and may write check runs.
	InstallationToken = "ghs_githubfakeInstallationToken0001"
	// PersonalToken acts as the user "medimind-dev"; check-run writes are
	// refused with 403 like GitHub does for personal access tokens.
	PersonalToken = "ghp_githubfakePersonalToken000000001"
	// FineGrainedToken acts as "medimind-dev" too, as a fine-grained
	// personal access token, which GitHub refuses check-run writes with
	// another message.
	FineGrainedToken = "github_pat_githubfakeFineGrainedToken01"
)

// DefaultAppID is the id of the GitHub App behind InstallationToken (and
// behind minted tokens unless WithApp names another).
const DefaultAppID = 1

// EnterprisePrefix is the path prefix of GitHub Enterprise Server's REST API;
// the fake serves every endpoint with and without it.
const EnterprisePrefix = "/api/v3"

// Option configures a Server.
type Option func(*config)

type config struct {
	owner, repo    string
	tls            bool
	gitServer      *gitserver.Server
	gitName        string
	rateLimit      int
	now            func() time.Time
	webhookURL     string
	webhookSecret  string
	allowInvalid   bool
	appID          int64
	installationID int64
	responseTamper func(op string, status int, body []byte) (int, []byte)
}

// WithRepository names the repository the fake serves (default
// "medimind/policies").
func WithRepository(owner, repo string) Option {
	return func(c *config) { c.owner, c.repo = owner, repo }
}

// WithTLS serves HTTPS with httptest's certificate; use HTTPClient or
// Client, which trust it.
func WithTLS() Option { return func(c *config) { c.tls = true } }

// WithGitServer backs the fake with the bare repository name on an existing
// git server instead of a new one; the test seeds it.
func WithGitServer(gs *gitserver.Server, name string) Option {
	return func(c *config) { c.gitServer, c.gitName = gs, name }
}

// WithRateLimit sets the primary rate limit per token and hour (default
// 5000, GitHub's limit for a personal token and a small installation).
func WithRateLimit(limit int) Option { return func(c *config) { c.rateLimit = limit } }

// WithClock sets the clock for timestamps, token expiry and the rate-limit
// window (default time.Now).
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithWebhook makes the fake deliver, like a repository webhook,
// pull_request events (opened, edited, closed, reopened, labeled) when pull
// requests change through the API, and push events when the API moves a
// branch (a merge, a ref update). On the fake's own git server (without
// WithGitServer) a git push delivers push events and "synchronize" for the
// open pull requests whose head it moved. Deliveries are asynchronous as on
// GitHub, in order; WaitWebhooks waits for them.
func WithWebhook(url, secret string) Option {
	return func(c *config) { c.webhookURL, c.webhookSecret = url, secret }
}

// AllowInvalidRequests answers a request that violates GitHub's description
// with GitHub's 422 without failing the test, for tests of how a client
// handles GitHub's validation errors (for example 51 annotations).
func AllowInvalidRequests() Option { return func(c *config) { c.allowInvalid = true } }

// Call is one request the fake answered.
type Call struct {
	Method string
	// Path is the request path without the GHES prefix and query.
	Path string
	// Operation is the operationId in GitHub's description, such as
	// "pulls/create"; empty for an unexpected request.
	Operation string
	Status    int
	// Counted reports whether the request counted against the primary rate
	// limit of its token (or of anonymous access): not a 304, not GET
	// /rate_limit, not a 401.
	Counted bool
}

// Server is an in-process fake of GitHub's REST API for one repository,
// backed by a real git repository. It is stopped by the test's cleanup.
type Server struct {
	tb   testing.TB
	cfg  config
	v    *validator
	http *httptest.Server
	git  *gitserver.Server

	wg sync.WaitGroup // pending webhook deliveries

	mu         sync.Mutex // guards the fields below and serialises git writes
	started    time.Time
	tokens     map[string]*Token
	anonymous  *Token // requests without Authorization
	app        *app   // set by WithApp
	rates      map[string]*rateWindow
	faults     []*Fault
	pulls      []*pull
	comments   []*comment
	labels     map[string]*label
	checkRuns  []*checkRun
	statuses   []*commitStatus
	calls      []Call
	deliveries []Delivery
	// lastDelivery is closed when the latest automatic delivery is done;
	// each delivery waits for the one before, so they arrive in order.
	lastDelivery chan struct{}
	nextID       int64
	defaultRef   string
}

// New starts a fake for the duration of the test. Unless WithGitServer is
// given it starts a git server whose repository is created by Seed.
func New(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	cfg := config{owner: "medimind", repo: "policies", rateLimit: 5000, now: time.Now}
	for _, o := range opts {
		o(&cfg)
	}
	v, err := loadValidator()
	if err != nil {
		tb.Fatalf("githubfake: %v", err)
	}
	s := &Server{
		tb:         tb,
		cfg:        cfg,
		v:          v,
		git:        cfg.gitServer,
		started:    cfg.now(),
		tokens:     map[string]*Token{},
		rates:      map[string]*rateWindow{},
		labels:     map[string]*label{},
		nextID:     1000,
		anonymous:  &Token{Login: "anonymous"},
		defaultRef: "main",
	}
	if cfg.appID != 0 {
		s.app = newApp(tb, cfg.appID, cfg.installationID)
	}
	if s.git == nil {
		s.git = gitserver.New(tb, gitserver.Options{Middleware: []func(http.Handler) http.Handler{s.observePushes}})
		s.cfg.gitName = cfg.repo + ".git"
	}
	s.AddToken(Token{Value: InstallationToken, Kind: TokenInstallation, Login: "modelops[bot]"})
	s.AddToken(Token{Value: PersonalToken, Kind: TokenPersonal, Login: "medimind-dev"})
	s.AddToken(Token{Value: FineGrainedToken, Kind: TokenPersonal, Login: "medimind-dev"})
	if cfg.tls {
		s.http = httptest.NewTLSServer(s)
	} else {
		s.http = httptest.NewServer(s)
	}
	tb.Cleanup(func() {
		s.http.Close()
		s.wg.Wait()
	})
	return s
}

// Seed creates the repository on the fake's git server with branch as its
// default branch holding the files of fixtureDir in one commit.
func (s *Server) Seed(tb testing.TB, branch, fixtureDir string) {
	tb.Helper()
	s.git.Seed(tb, s.cfg.gitName, branch, fixtureDir)
	s.mu.Lock()
	s.defaultRef = branch
	s.mu.Unlock()
}

// SetDefaultBranch sets the branch GET /repos/{owner}/{repo} reports as
// default_branch, for a repository seeded outside Seed.
func (s *Server) SetDefaultBranch(branch string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.defaultRef = branch
}

// Owner returns the owner of the served repository.
func (s *Server) Owner() string { return s.cfg.owner }

// Repo returns the name of the served repository.
func (s *Server) Repo() string { return s.cfg.repo }

// URL returns the API base URL, ending in "/", as go-github's BaseURL wants.
func (s *Server) URL() string { return s.http.URL + "/" }

// EnterpriseURL returns the base URL with the GHES prefix, "…/api/v3/".
func (s *Server) EnterpriseURL() string { return s.http.URL + EnterprisePrefix + "/" }

// GitURL returns the clone URL of the backing repository.
func (s *Server) GitURL() string { return s.git.URL(s.cfg.gitName) }

// GitDir returns the directory of the backing bare repository.
func (s *Server) GitDir() string { return s.git.Dir(s.cfg.gitName) }

// GitServer returns the git server backing the fake.
func (s *Server) GitServer() *gitserver.Server { return s.git }

// HTTPClient returns an HTTP client that trusts the fake's certificate.
func (s *Server) HTTPClient() *http.Client { return s.http.Client() }

// Client returns a go-github client for the fake authenticated with token
// (no Authorization header when token is empty).
func (s *Server) Client(token string) *github.Client {
	c := github.NewClient(s.HTTPClient())
	if token != "" {
		c = c.WithAuthToken(token)
	}
	u, err := url.Parse(s.URL())
	if err != nil {
		s.tb.Fatalf("githubfake: parse own URL: %v", err)
	}
	c.BaseURL = u
	c.UploadURL = u
	return c
}

// Calls returns the requests that counted against the primary rate limit,
// in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if c.Counted {
			out = append(out, c)
		}
	}
	return out
}

// Requests returns every request the fake answered, in order.
func (s *Server) Requests() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// request is one API request as the handlers see it.
type request struct {
	r      *http.Request
	op     string
	body   []byte
	params map[string]string // path parameters, unescaped
	query  url.Values
	token  *Token
	prefix string // "" or EnterprisePrefix, as the client sent it
}

// response is a handler's answer, encoded by ServeHTTP.
type response struct {
	status int
	header http.Header
	body   any // nil for no body
}

func (rs *response) setHeader(k, v string) {
	if rs.header == nil {
		rs.header = http.Header{}
	}
	rs.header.Set(k, v)
}

// decode unmarshals the request body into dst; the validator has already
// checked it against the operation's schema.
func (rq *request) decode(dst any) error {
	if err := json.Unmarshal(rq.body, dst); err != nil {
		return fmt.Errorf("decode %s request body: %w", rq.op, err)
	}
	return nil
}

// ServeHTTP routes, authenticates, rate-limits, injects faults, validates
// and answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	prefix := ""
	if p := r.URL.Path; strings.HasPrefix(p, EnterprisePrefix+"/") {
		prefix = EnterprisePrefix
		r2 := r.Clone(r.Context())
		r2.URL.Path = strings.TrimPrefix(p, EnterprisePrefix)
		if r.URL.RawPath != "" {
			r2.URL.RawPath = strings.TrimPrefix(r.URL.RawPath, EnterprisePrefix)
		}
		r = r2
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.tb.Errorf("githubfake: %s %s: read request body: %v", r.Method, r.URL.Path, err)
		http.Error(w, "read request body", http.StatusBadRequest)
		return
	}
	route, rawParams, err := s.v.Route(r) // the path already stripped of the GHES prefix
	if err != nil {
		s.tb.Errorf("githubfake: unexpected request %s %s: %v", r.Method, r.URL.RequestURI(), err)
		s.record(Call{Method: r.Method, Path: r.URL.Path, Status: http.StatusNotFound})
		header := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
		s.mu.Lock()
		tok, _ := s.authenticate(r)
		s.rateHeaders(header, tok, false)
		s.mu.Unlock()
		out, _ := encodeJSON(errorBody("Not Found", "https://docs.github.com/rest", http.StatusNotFound))
		writeJSON(w, http.StatusNotFound, header, out)
		return
	}
	op := route.Operation.OperationID
	rq := &request{r: r, op: op, body: body, params: map[string]string{}, query: r.URL.Query(), prefix: prefix}
	for k, v := range rawParams {
		if u, err := url.PathUnescape(v); err == nil {
			v = u
		}
		rq.params[k] = v
	}

	resp, counted := s.answer(rq, route, rawParams)

	var out []byte
	if resp.body != nil {
		if out, err = encodeJSON(resp.body); err != nil {
			s.tb.Errorf("githubfake: %s %s (%s): %v", r.Method, r.URL.Path, op, err)
			resp = errorResponse(rq, http.StatusInternalServerError, "Server Error")
			out, _ = encodeJSON(resp.body)
		}
	}
	header := resp.header
	if header == nil {
		header = http.Header{}
	}
	if r.Method == http.MethodGet && resp.status == http.StatusOK {
		etag := etagOf(rq.token, out)
		header.Set("ETag", etag)
		if etagMatches(r.Header.Get("If-None-Match"), etag) {
			resp.status, out, counted = http.StatusNotModified, nil, false
		}
	}
	if s.cfg.responseTamper != nil {
		resp.status, out = s.cfg.responseTamper(op, resp.status, out)
	}
	s.mu.Lock()
	if rq.op == "apps/create-installation-access-token" {
		s.rateHeaders(header, nil, false)
	} else {
		s.rateHeaders(header, rq.token, counted)
	}
	s.mu.Unlock()
	header.Set("X-GitHub-Request-Id", fmt.Sprintf("FAKE:%d", s.newID()))
	header.Set("X-GitHub-Api-Version-Selected", "2022-11-28")
	if out != nil {
		header.Set("Content-Type", "application/json; charset=utf-8")
	}
	if err := s.v.validateResponse(r, body, route, rawParams, resp.status, header, out); err != nil {
		s.tb.Errorf("githubfake: response to %s %s (%s, status %d) violates GitHub's description: %v", r.Method, r.URL.Path, op, resp.status, err)
	}
	s.record(Call{Method: r.Method, Path: r.URL.Path, Operation: op, Status: resp.status, Counted: counted})
	writeJSON(w, resp.status, header, out)
}

// answer produces the response to a routed request and whether it counts
// against the rate limit.
func (s *Server) answer(rq *request, route *routers.Route, rawParams map[string]string) (*response, bool) {
	r := rq.r
	verr := s.v.ValidateRequest(r, documentedBody(rq), route, rawParams)
	if verr != nil && !s.cfg.allowInvalid {
		s.tb.Errorf("githubfake: request %s %s (%s) violates GitHub's description: %v", r.Method, r.URL.Path, rq.op, verr)
	}

	s.mu.Lock()
	if rq.op == "apps/create-installation-access-token" {
		// An app JWT: GitHub counts it against the app, not against the
		// installation's tokens, so it is not counted here.
		tok, authErr := s.authenticateApp(r)
		rq.token = tok
		if authErr == nil {
			if f := s.takeFault(r.Method, r.URL.Path); f != nil {
				authErr = f.response(rq)
			}
		}
		s.mu.Unlock()
		if authErr != nil {
			return authErr, false
		}
		if verr != nil {
			return invalidRequest(rq, verr), false
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		return createInstallationToken(s, rq), false
	}
	tok, authErr := s.authenticate(r)
	rq.token = tok
	if authErr != nil {
		s.mu.Unlock()
		return authErr, false
	}
	counted := rq.op != "rate-limit/get"
	if counted && s.rateExhausted(tok) {
		s.mu.Unlock()
		return s.rateLimitExceeded(rq), true
	}
	if tok == s.anonymous && rq.op != "rate-limit/get" {
		// The repository is private: without credentials GitHub answers
		// 404, not 401, so as not to reveal that it exists.
		s.mu.Unlock()
		return notFound(rq), counted
	}
	fault := s.takeFault(r.Method, r.URL.Path)
	if fault != nil && !fault.AfterServing {
		s.mu.Unlock()
		// A 401 means GitHub did not know the caller: nothing to count.
		return fault.response(rq), counted && fault.Status != http.StatusUnauthorized
	}
	s.mu.Unlock()

	if verr != nil {
		if len(rq.body) > 0 && !json.Valid(rq.body) {
			return problemsParsingJSON(rq), counted
		}
		return invalidRequest(rq, verr), counted
	}
	if o, ok := rq.params["owner"]; ok && (!strings.EqualFold(o, s.cfg.owner) || !strings.EqualFold(rq.params["repo"], s.cfg.repo)) {
		return notFound(rq), counted
	}
	h := handlers[rq.op]
	if h == nil {
		s.tb.Errorf("githubfake: no handler for %s (%s %s)", rq.op, r.Method, r.URL.Path)
		return notFound(rq), counted
	}
	// Handlers run one at a time with s.mu held: the state and the git
	// repository change together, as one transaction per request.
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := h(s, rq)
	if fault != nil {
		return fault.response(rq), counted
	}
	return rs, counted
}

func (s *Server) record(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
}

func (s *Server) newID() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newIDLocked()
}

func (s *Server) newIDLocked() int64 {
	s.nextID++
	return s.nextID
}

func (s *Server) now() time.Time { return s.cfg.now().UTC().Truncate(time.Second) }

func writeJSON(w http.ResponseWriter, status int, header http.Header, body []byte) {
	for k, vs := range header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	if body != nil {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	}
	w.WriteHeader(status)
	if body != nil {
		_, _ = w.Write(body)
	}
}

// encodeJSON encodes a response body; a raw body is sent as it is.
func encodeJSON(v any) ([]byte, error) {
	if b, ok := v.(json.RawMessage); ok {
		return b, nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode response: %w", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// etagOf returns a weak validator derived from the representation, so it
// changes exactly when the body does, and from the token, as GitHub's do
// (its answers vary by Authorization): a new token, such as the hourly
// installation token, finds no cached ETag valid and pays once per URL.
func etagOf(tok *Token, body []byte) string {
	h := sha256.New()
	if tok != nil {
		h.Write([]byte(tok.Value))
	}
	h.Write([]byte{0})
	h.Write(body)
	return `W/"` + hex.EncodeToString(h.Sum(nil)[:16]) + `"`
}

// etagMatches applies If-None-Match's weak comparison.
func etagMatches(ifNoneMatch, etag string) bool {
	if ifNoneMatch == "" {
		return false
	}
	want := strings.TrimPrefix(etag, "W/")
	for _, c := range strings.Split(ifNoneMatch, ",") {
		c = strings.TrimSpace(c)
		if c == "*" || strings.TrimPrefix(c, "W/") == want {
			return true
		}
	}
	return false
}

// errNoCommit reports a ref or SHA that names no commit in the repository.
var errNoCommit = errors.New("no commit")

// documentedBody returns the request body in the form the description's
// schema states, for the two bodies GitHub accepts beyond its schema:
//   - adding labels, where the description says in prose "You can also pass
//     an array of labels directly" (go-github v62 does), so a bare array is
//     validated as {"labels": [...]};
//   - minting an installation token with the body "null", which
//     ghinstallation sends without token options and GitHub treats as no
//     body (the body is optional).
func documentedBody(rq *request) []byte {
	trimmed := bytes.TrimSpace(rq.body)
	switch {
	case rq.op == "issues/add-labels" && bytes.HasPrefix(trimmed, []byte("[")):
		return append(append([]byte(`{"labels":`), rq.body...), '}')
	case rq.op == "apps/create-installation-access-token" && string(trimmed) == "null":
		return nil
	}
	return rq.body
}
