package githubfake

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// TokenKind says what a token authenticates as.
type TokenKind int

const (
	// TokenInstallation is a GitHub App installation token (ghs_…): a bot
	// user that may write check runs.
	TokenInstallation TokenKind = iota
	// TokenPersonal is a personal access token, classic (ghp_…) or
	// fine-grained (github_pat_…): check-run writes are refused with 403,
	// each kind with GitHub's own message.
	TokenPersonal
)

// fineGrainedPrefix starts a fine-grained personal access token.
const fineGrainedPrefix = "github_pat_"

// Token is a credential the fake accepts in "Authorization: Bearer <t>" or
// "Authorization: token <t>".
type Token struct {
	Value string
	Kind  TokenKind
	// Login is the user the token acts as; an installation's login ends in
	// "[bot]" on GitHub.
	Login string
	// ExpiresAt, when not zero, is when the token stops working (401 Bad
	// credentials), like an installation token after an hour.
	ExpiresAt time.Time
	// AppID is the GitHub App an installation token belongs to: its check
	// runs are that App's (default DefaultAppID).
	AppID int64
}

// AddToken registers (or replaces) a token.
func (s *Server) AddToken(t Token) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.Kind == TokenInstallation && t.AppID == 0 {
		t.AppID = DefaultAppID
	}
	s.tokens[t.Value] = &t
}

// rateWindow is the primary rate limit of one token.
type rateWindow struct {
	limit, used int
	reset       time.Time
}

func (s *Server) authenticate(r *http.Request) (*Token, *response) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return s.anonymous, nil
	}
	scheme, value, _ := strings.Cut(h, " ")
	tok := s.tokens[strings.TrimSpace(value)]
	if (!strings.EqualFold(scheme, "bearer") && !strings.EqualFold(scheme, "token")) || tok == nil ||
		(!tok.ExpiresAt.IsZero() && !s.cfg.now().Before(tok.ExpiresAt)) {
		return nil, &response{status: http.StatusUnauthorized, body: errorBody("Bad credentials", "https://docs.github.com/rest", http.StatusUnauthorized)}
	}
	return tok, nil
}

// window returns the token's current rate-limit window, starting a new one
// when the last has reset.
func (s *Server) window(tok *Token) *rateWindow {
	w := s.rates[tok.Value]
	now := s.cfg.now()
	if w == nil || !now.Before(w.reset) {
		limit := s.cfg.rateLimit
		if tok == s.anonymous {
			limit = anonymousRateLimit
		}
		w = &rateWindow{limit: limit, reset: now.Add(time.Hour).Truncate(time.Second)}
		s.rates[tok.Value] = w
	}
	return w
}

func (s *Server) rateExhausted(tok *Token) bool {
	w := s.window(tok)
	return w.used >= w.limit
}

// anonymousRateLimit is GitHub's hourly limit without a token.
const anonymousRateLimit = 60

// rateHeaders counts the request when it counts and sets GitHub's
// X-RateLimit-* headers; a request with bad credentials gets the anonymous
// limit without being counted.
func (s *Server) rateHeaders(h http.Header, tok *Token, counted bool) {
	limit, used, reset := anonymousRateLimit, 0, s.cfg.now().Add(time.Hour)
	if tok != nil {
		w := s.window(tok)
		if counted && w.used < w.limit {
			w.used++
		}
		limit, used, reset = w.limit, w.used, w.reset
	}
	h.Set("X-RateLimit-Limit", strconv.Itoa(limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(limit-used))
	h.Set("X-RateLimit-Used", strconv.Itoa(used))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
}

func (s *Server) rateLimitExceeded(rq *request) *response {
	who := "user ID 1"
	if rq.token != nil && rq.token.Kind == TokenInstallation {
		who = "installation ID 1"
	}
	return &response{status: http.StatusForbidden, body: errorBody(
		"API rate limit exceeded for "+who+". If you reach out to GitHub Support for help, please include the request ID FAKE.",
		"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api", http.StatusForbidden)}
}

// rateLimit serves GET /rate_limit, which does not count against the limit.
func rateLimit(s *Server, rq *request) *response {
	w := *s.window(rq.token)
	core := map[string]any{"limit": w.limit, "remaining": w.limit - w.used, "reset": w.reset.Unix(), "used": w.used, "resource": "core"}
	other := func(limit int) map[string]any {
		return map[string]any{"limit": limit, "remaining": limit, "reset": w.reset.Unix(), "used": 0}
	}
	return &response{status: http.StatusOK, body: map[string]any{
		"resources": map[string]any{
			"core": core, "search": other(30), "graphql": other(5000),
			"integration_manifest": other(5000), "code_search": other(10),
		},
		"rate": core,
	}}
}
