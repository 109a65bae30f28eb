package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"
)

// openAPI is the description of every endpoint, served at /api/v1/openapi.yaml.
//
//go:embed openapi.yaml
var openAPI []byte

// OpenAPI returns the OpenAPI 3 description of the server's endpoints.
func OpenAPI() []byte { return append([]byte(nil), openAPI...) }

// DefaultMaxBodyBytes bounds API request bodies.
const DefaultMaxBodyBytes = 1 << 20

// maxWebhookBytes is GitHub's own cap on a webhook payload (25 MB); GitHub sends nothing
// larger.
const maxWebhookBytes = 25 << 20

// defaultDeliveryMemory is how many webhook delivery IDs are remembered to drop
// redeliveries: GitHub redelivers within hours, far fewer than this many deliveries apart.
const defaultDeliveryMemory = 4096

// Option configures a Server.
type Option func(*Server)

// WithReadiness sets what /readyz asks: nil means ready, an error's message is the reason
// answered with 503 (e.g. "no cycle has completed yet", "lease not held"). Without it
// /readyz answers ready.
func WithReadiness(ready func(context.Context) error) Option {
	return func(s *Server) { s.ready = ready }
}

// WithMetrics serves m at /metrics.
func WithMetrics(m *Metrics) Option { return func(s *Server) { s.metrics = m } }

// WithAPI serves the API over b. Mutating endpoints require "Authorization: Bearer token";
// token must not be empty.
func WithAPI(b Backend, token string) Option {
	return func(s *Server) {
		s.backend = b
		s.tokenSet = token != ""
		// Comparing fixed-size digests keeps the comparison constant-time in the token's
		// length too (subtle.ConstantTimeCompare returns early on a length mismatch).
		s.tokenHash = sha256.Sum256([]byte(token))
	}
}

// WithGitHubWebhook serves POST /webhooks/github, verifying deliveries with secret and
// calling reconcile for each accepted event. reconcile must not block (the run loop's
// manager.Nudge does not).
func WithGitHubWebhook(secret []byte, reconcile func()) Option {
	return func(s *Server) {
		s.webhookSecret = append([]byte(nil), secret...)
		s.reconcile = reconcile
		s.webhookSet = true
	}
}

// WithClock sets the clock MLflow deliveries' timestamps are checked against (tests).
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithDeliveryMemory sets how many webhook delivery IDs are remembered (default 4096).
func WithDeliveryMemory(n int) Option { return func(s *Server) { s.deliveryMemory = n } }

// WithMaxBodyBytes bounds API request bodies (default 1 MiB); larger ones get 413.
func WithMaxBodyBytes(n int64) Option { return func(s *Server) { s.maxBody = n } }

// WithUI serves the web UI h under /ui/ and redirects / there.
func WithUI(h http.Handler) Option { return func(s *Server) { s.ui = h } }

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// Server is the HTTP handler of the reconciler.
type Server struct {
	mux     *http.ServeMux
	log     *slog.Logger
	ready   func(context.Context) error
	metrics *Metrics
	maxBody int64

	backend   Backend
	tokenSet  bool
	tokenHash [sha256.Size]byte

	webhookSet     bool
	webhookSecret  []byte
	reconcile      func()
	rerun          func(model string) // set by WithCheckRerun
	deliveryMemory int
	deliveries     *recentIDs // of both webhooks, MLflow's IDs prefixed

	mlflowSet       bool
	mlflowSecret    []byte
	mlflowReconcile func()
	now             func() time.Time // the clock MLflow's delivery timestamps are checked on

	ui http.Handler // set by WithUI
}

var _ http.Handler = (*Server)(nil)

// New builds the server's handler from opts.
func New(opts ...Option) (*Server, error) {
	s := &Server{
		mux:            http.NewServeMux(),
		log:            slog.New(slog.DiscardHandler),
		maxBody:        DefaultMaxBodyBytes,
		deliveryMemory: defaultDeliveryMemory,
		now:            time.Now,
	}
	for _, o := range opts {
		o(s)
	}
	if s.backend != nil && !s.tokenSet {
		return nil, errors.New("api: the token is empty; mutating endpoints would be open to anyone")
	}
	if s.webhookSet {
		if len(s.webhookSecret) == 0 {
			return nil, errors.New("github webhook: the secret is empty; deliveries could not be verified")
		}
		if s.reconcile == nil {
			return nil, errors.New("github webhook: no reconcile callback")
		}
	}
	if s.mlflowSet {
		if len(s.mlflowSecret) == 0 {
			return nil, errors.New("mlflow webhook: the secret is empty; deliveries could not be verified")
		}
		if s.mlflowReconcile == nil {
			return nil, errors.New("mlflow webhook: no reconcile callback")
		}
	}
	if s.webhookSet || s.mlflowSet {
		if s.deliveryMemory < 1 {
			return nil, fmt.Errorf("webhooks: delivery memory %d: want at least 1", s.deliveryMemory)
		}
		s.deliveries = newRecentIDs(s.deliveryMemory)
	}
	if s.maxBody < 1 {
		return nil, fmt.Errorf("max body bytes %d: want at least 1", s.maxBody)
	}

	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	if s.metrics != nil {
		s.mux.Handle("GET /metrics", s.metrics.Handler())
	}
	s.mux.HandleFunc("GET /api/v1/openapi.yaml", s.openAPI)
	if s.backend != nil {
		s.mux.HandleFunc("GET /api/v1/status", s.status)
		s.mux.HandleFunc("POST /api/v1/models/{model}/drift", s.authorized(s.drift))
		s.mux.HandleFunc("POST /api/v1/models/{model}/retrain", s.authorized(s.retrain))
		s.mux.HandleFunc("POST /api/v1/models/{model}/candidates", s.authorized(s.candidates))
	} else {
		// Say that the API is off rather than that the endpoint does not exist.
		s.mux.HandleFunc("/api/v1/", apiDisabled)
	}
	if s.webhookSet {
		s.mux.HandleFunc("POST /webhooks/github", s.githubWebhook)
	}
	if s.mlflowSet {
		s.mux.HandleFunc("POST /webhooks/mlflow", s.mlflowWebhook)
	}
	if s.ui != nil {
		s.mux.Handle("/ui/", s.ui)
		s.mux.Handle("GET /{$}", http.RedirectHandler("/ui/", http.StatusSeeOther))
	}
	return s, nil
}

// ServeHTTP routes r. Requests the mux does not route get a JSON 404 or 405.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// A path with "..", "." or "//" is not one of ours: answer it here rather than let the
	// mux redirect to its cleaned form (a 307 that would carry an error body).
	if p := r.URL.Path; p != "" && r.Method != http.MethodConnect && !isClean(p) {
		closeUnread(w)
		writeError(w, errorf(http.StatusNotFound, CodeNotFound, "no endpoint %s %s: the path is not in canonical form", r.Method, p))
		return
	}
	// Handler finds the route without running it; ServeHTTP below sets the path values.
	h, pattern := s.mux.Handler(r)
	if pattern == "" {
		// The mux answers 404 and 405 (with Allow) in plain text; keep its status and
		// headers, answer in the API's error shape.
		rec := &statusRecorder{header: http.Header{}}
		h.ServeHTTP(rec, r)
		for k, v := range rec.header {
			if k != "Content-Type" && k != "X-Content-Type-Options" {
				w.Header()[k] = v
			}
		}
		status, code := http.StatusNotFound, CodeNotFound
		msg := fmt.Sprintf("no endpoint %s %s", r.Method, r.URL.Path)
		if rec.status == http.StatusMethodNotAllowed {
			status, code = rec.status, CodeMethodNotAllowed
			msg = fmt.Sprintf("%s is not allowed on %s", r.Method, r.URL.Path)
		}
		closeUnread(w)
		writeError(w, errorf(status, code, "%s", msg))
		return
	}
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && r.ContentLength != 0 {
		// No GET reads a body; the server would wait for an announced one before answering.
		closeUnread(w)
	}
	s.mux.ServeHTTP(w, r)
}

// isClean reports whether p is what path.Clean makes of it (a trailing slash allowed).
func isClean(p string) bool {
	c := path.Clean(p)
	return c == p || (strings.HasSuffix(p, "/") && c+"/" == p)
}

// apiDisabled answers every API endpoint when the server has no API token.
func apiDisabled(w http.ResponseWriter, r *http.Request) {
	closeUnread(w)
	writeError(w, errorf(http.StatusNotFound, CodeAPIDisabled,
		"the API is off: this reconciler was started without an API token (MODELOPS_API_TOKEN, MODELOPS_API_TOKEN_FILE or --api-token-file)"))
}

// statusRecorder keeps what the mux's own 404/405 handler writes.
type statusRecorder struct {
	header http.Header
	status int
}

func (r *statusRecorder) Header() http.Header  { return r.header }
func (r *statusRecorder) WriteHeader(code int) { r.status = code }
func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return len(b), nil
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.ready != nil {
		if err := s.ready(r.Context()); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": err.Error()})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) openAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = w.Write(openAPI)
}

// authorized wraps h with the bearer-token check.
func (s *Server) authorized(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		scheme, token, found := strings.Cut(r.Header.Get("Authorization"), " ")
		if !found || !strings.EqualFold(scheme, "Bearer") {
			unauthorized(w, `Bearer realm="modelops"`, "a bearer token is required")
			return
		}
		got := sha256.Sum256([]byte(strings.TrimSpace(token)))
		if subtle.ConstantTimeCompare(got[:], s.tokenHash[:]) != 1 {
			unauthorized(w, `Bearer realm="modelops", error="invalid_token"`, "the bearer token is not valid")
			return
		}
		h(w, r)
	}
}

// unauthorized answers 401 and closes the connection without reading the body.
func unauthorized(w http.ResponseWriter, challenge, message string) {
	closeUnread(w)
	w.Header().Set("WWW-Authenticate", challenge)
	writeError(w, errorf(http.StatusUnauthorized, CodeUnauthorized, "%s", message))
}

// closeUnread makes the server close the connection after the answer without reading the
// request's body, for requests refused before it is read: a client that announced a body
// and sends none cannot hold the connection open. (The server would read up to 256 KiB of
// an unread body to reuse the connection; a read deadline in the past fails that at once.)
func closeUnread(w http.ResponseWriter) {
	_ = http.NewResponseController(w).SetReadDeadline(time.Unix(1, 0))
	w.Header().Set("Connection", "close")
}

// writeJSON writes v as the response body with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(apiError{Error: errorBody{Code: CodeInternal, Message: "encode response"}})
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, e *statusError) {
	writeJSON(w, e.status, apiError{Error: errorBody{Code: e.code, Message: e.message, Details: e.details}})
}

// backendError sorts an error from the Backend into a response; an unexpected one is
// logged and answered 500 without its text, which may carry internals.
func (s *Server) backendError(w http.ResponseWriter, r *http.Request, model string, err error) {
	var pe *PolicyError
	switch {
	case errors.As(err, &pe):
		e := errorf(http.StatusConflict, CodeInvalidPolicy, "the policy of %s is invalid; the model is left alone until it is fixed", model)
		e.details = pe.Errors
		writeError(w, e)
	case errors.Is(err, ErrInvalidPolicy):
		writeError(w, errorf(http.StatusConflict, CodeInvalidPolicy, "%s", err))
	case errors.Is(err, ErrUnknownModel):
		writeError(w, errorf(http.StatusNotFound, CodeUnknownModel, "no policy defines model %q", model))
	case errors.Is(err, ErrConflict):
		writeError(w, errorf(http.StatusConflict, CodeConflict, "%s", err))
	case errors.Is(err, ErrInvalidInput):
		writeError(w, errorf(http.StatusUnprocessableEntity, CodeInvalidInput, "%s", err))
	case errors.Is(err, ErrUnavailable):
		w.Header().Set("Retry-After", "30")
		writeError(w, errorf(http.StatusServiceUnavailable, CodeUnavailable, "%s", err))
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The client went away; nobody reads the answer.
		return
	default:
		s.log.Error("api request failed", "method", r.Method, "path", r.URL.Path, "model", model, "error", err)
		writeError(w, errorf(http.StatusInternalServerError, CodeInternal, "the request failed; the server log has the details"))
	}
}
