package ui

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/medimind/modelops/internal/audit"
	"github.com/medimind/modelops/reconciler"
)

// Source is where the UI reads everything it shows: the same reconciler and status branch
// the API serves from.
type Source interface {
	// Snapshot is the reconciler's view of the tip, as GET /api/v1/status reads it.
	Snapshot(ctx context.Context) (*reconciler.Snapshot, error)
	// StatusFile reads a file (a full drift report) at the tip of the status branch.
	StatusFile(ctx context.Context, path string) ([]byte, error)
	// Audit is the audit timeline of model on the tracked branch.
	Audit(ctx context.Context, model string) (*audit.Timeline, error)
}

// AuthMode says how a person is let in.
type AuthMode string

// Authentication modes.
const (
	// AuthToken asks for the API token on a login form.
	AuthToken AuthMode = "token"
	// AuthProxy trusts X-Forwarded-User / X-Forwarded-Email from an authenticating proxy
	// (oauth2-proxy): the UI must then be reachable only through that proxy.
	AuthProxy AuthMode = "proxy"
)

// Options configure the UI.
type Options struct {
	Source Source
	Auth   AuthMode
	// Token is the API token the login form compares with (AuthToken).
	Token string
	// SessionTTL is how long a login lasts (default 12 hours).
	SessionTTL time.Duration
	// RepoURL is the policy repository's web address (https://github.com/owner/name) when
	// known: the audit timeline links its commits and pull requests there, else shows SHAs.
	RepoURL string
	Log     *slog.Logger
}

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// sessionCookie holds a random session id; the token never leaves the login request.
const sessionCookie = "modelops_ui_session"

// maxSessions bounds the sessions kept; the oldest are dropped first. Only a person who knows
// the token creates one, so this guards memory, not access.
const maxSessions = 1000

// csp allows nothing but this origin: no inline script or style, no frames, forms posting
// only here.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// UI is the web UI's http.Handler, to be mounted at /ui/.
type UI struct {
	o       Options
	mux     *http.ServeMux
	pages   *pages
	reports *reportCache

	tokenHash [sha256.Size]byte
	mu        sync.Mutex
	sessions  map[string]session

	events *broker
}

type session struct {
	user    string
	expires time.Time
}

var _ http.Handler = (*UI)(nil)

// New builds the UI.
func New(o Options) (*UI, error) {
	if o.Source == nil {
		return nil, errors.New("ui: no source")
	}
	switch o.Auth {
	case "", AuthToken:
		o.Auth = AuthToken
		if o.Token == "" {
			return nil, errors.New("ui: the login needs the API token (MODELOPS_API_TOKEN, --api-token-file), or --ui-auth=proxy behind an authenticating proxy")
		}
	case AuthProxy:
	default:
		return nil, fmt.Errorf("ui: auth %q: want token or proxy", o.Auth)
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 12 * time.Hour
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	p, err := parsePages()
	if err != nil {
		return nil, err
	}
	u := &UI{o: o, mux: http.NewServeMux(), pages: p, reports: newReportCache(),
		tokenHash: sha256.Sum256([]byte(o.Token)), sessions: map[string]session{}, events: newBroker()}
	static, _ := fs.Sub(staticFiles, "static")
	u.mux.Handle("GET /ui/static/", http.StripPrefix("/ui/static/", http.FileServerFS(static)))
	u.mux.HandleFunc("GET /ui/login", u.loginForm)
	u.mux.HandleFunc("POST /ui/login", u.login)
	u.mux.HandleFunc("POST /ui/logout", u.authenticated(u.logout))
	u.mux.HandleFunc("GET /ui/{$}", u.authenticated(u.overview))
	u.mux.HandleFunc("GET /ui/models/{model}", u.authenticated(u.model))
	u.mux.HandleFunc("GET /ui/models/{model}/reports/{id}", u.authenticated(u.report))
	u.mux.HandleFunc("GET /ui/events", u.authenticated(u.serveEvents))
	return u, nil
}

// ServeHTTP serves r with the UI's security headers.
func (u *UI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	if !strings.HasPrefix(r.URL.Path, "/ui/static/") {
		// Clinical model information stays out of shared caches and the back-forward cache.
		h.Set("Cache-Control", "no-store")
	}
	u.mux.ServeHTTP(w, r)
}

// CycleDone tells open pages that a cycle ended, so they refresh their content. It never
// blocks; on a nil UI (--ui off) it does nothing.
func (u *UI) CycleDone() {
	if u != nil {
		u.events.publish()
	}
}

// authenticated lets h serve r only for a logged-in person, whose name h receives.
func (u *UI) authenticated(h func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		user, ok := u.who(r)
		if !ok {
			if u.o.Auth == AuthProxy {
				u.renderError(w, http.StatusUnauthorized, "No X-Forwarded-User or X-Forwarded-Email header: the UI is configured to sit behind an authenticating proxy.")
				return
			}
			if r.URL.Path == "/ui/events" {
				http.Error(w, "log in first", http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
			return
		}
		h(w, r, user)
	}
}

// who returns the person behind r.
func (u *UI) who(r *http.Request) (string, bool) {
	if u.o.Auth == AuthProxy {
		if v := r.Header.Get("X-Forwarded-Email"); v != "" {
			return v, true
		}
		v := r.Header.Get("X-Forwarded-User")
		return v, v != ""
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return "", false
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	s, ok := u.sessions[c.Value]
	if !ok || time.Now().After(s.expires) {
		delete(u.sessions, c.Value)
		return "", false
	}
	return s.user, true
}

func (u *UI) loginForm(w http.ResponseWriter, r *http.Request) {
	if u.o.Auth == AuthProxy {
		http.Redirect(w, r, "/ui/", http.StatusSeeOther)
		return
	}
	u.render(w, http.StatusOK, "login", loginPage{})
}

type loginPage struct{ Error string }

// login compares the posted token with the API token in constant time and starts a session.
func (u *UI) login(w http.ResponseWriter, r *http.Request) {
	if u.o.Auth == AuthProxy {
		http.Redirect(w, r, "/ui/", http.StatusSeeOther)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	given := sha256.Sum256([]byte(r.PostFormValue("token")))
	if subtle.ConstantTimeCompare(given[:], u.tokenHash[:]) != 1 {
		u.o.Log.Warn("ui: login refused: wrong token", "remote", r.RemoteAddr)
		u.render(w, http.StatusUnauthorized, "login", loginPage{Error: "That token is not the API token."})
		return
	}
	var b [32]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	u.mu.Lock()
	now := time.Now()
	for k, s := range u.sessions {
		if now.After(s.expires) || len(u.sessions) >= maxSessions {
			delete(u.sessions, k)
		}
	}
	u.sessions[id] = session{user: "token holder", expires: now.Add(u.o.SessionTTL)}
	u.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/ui/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: int(u.o.SessionTTL.Seconds())})
	http.Redirect(w, r, "/ui/", http.StatusSeeOther)
}

func (u *UI) logout(w http.ResponseWriter, r *http.Request, _ string) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		u.mu.Lock()
		delete(u.sessions, c.Value)
		u.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/ui/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
}

// serveEvents streams one "cycle" event per ended cycle until the client goes away.
func (u *UI) serveEvents(w http.ResponseWriter, r *http.Request, _ string) {
	rc := http.NewResponseController(w)
	// The server's write timeout bounds ordinary answers; this stream lasts as long as the page.
	_ = rc.SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	ch, cancel := u.events.subscribe()
	defer cancel()
	fmt.Fprint(w, ": connected\n\n")
	if rc.Flush() != nil {
		return
	}
	keepAlive := time.NewTicker(30 * time.Second)
	defer keepAlive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-ch:
			fmt.Fprint(w, "event: cycle\ndata: ended\n\n")
		case <-keepAlive.C:
			fmt.Fprint(w, ": keep-alive\n\n")
		}
		if rc.Flush() != nil {
			return
		}
	}
}

// broker fans cycle ends out to the open event streams.
type broker struct {
	mu   sync.Mutex
	subs map[chan struct{}]struct{}
}

func newBroker() *broker { return &broker{subs: map[chan struct{}]struct{}{}} }

func (b *broker) subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	b.mu.Lock()
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		delete(b.subs, ch)
		b.mu.Unlock()
	}
}

// publish wakes every subscriber; one pending wake-up per subscriber is enough.
func (b *broker) publish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}
