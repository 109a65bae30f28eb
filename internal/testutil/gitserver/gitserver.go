package gitserver

import (
	"bufio"
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Options configures a Server.
type Options struct {
	// Username and Password switch on HTTP basic authentication when
	// Username is not empty; every request must then carry them.
	Username, Password string
	// Middleware wraps the git HTTP handler, the last one outermost, for
	// example to interfere with a push between its ref advertisement and
	// its receive-pack request. It runs after authentication.
	Middleware []func(http.Handler) http.Handler
}

// Server is a git HTTP server on 127.0.0.1 serving the bare repositories in
// a temporary directory. It is stopped by the test's cleanup.
type Server struct {
	root string
	http *httptest.Server
	opts Options
	log  *syncBuffer
}

// New starts a Server for the duration of the test t. The server's stderr
// (http-backend's messages) is logged through t when the test fails.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	gitPath, err := exec.LookPath("git")
	if err != nil {
		t.Fatalf("find git binary: %v", err)
	}
	s := &Server{root: t.TempDir(), opts: opts, log: &syncBuffer{}}
	var h http.Handler = &cgi.Handler{
		Path: gitPath,
		Args: []string{"http-backend"},
		Root: "/",
		Env: []string{
			"GIT_PROJECT_ROOT=" + s.root,
			"GIT_HTTP_EXPORT_ALL=1",
			"GIT_CONFIG_NOSYSTEM=1",
			"GIT_CONFIG_GLOBAL=" + os.DevNull,
			"HOME=" + s.root,
			// Pushes are refused to anonymous users unless enabled.
			"GIT_CONFIG_COUNT=1",
			"GIT_CONFIG_KEY_0=http.receivepack",
			"GIT_CONFIG_VALUE_0=true",
		},
		Stderr: s.log,
	}
	for _, m := range opts.Middleware {
		h = m(h)
	}
	if opts.Username != "" {
		h = s.basicAuth(h)
	}
	s.http = httptest.NewServer(h)
	t.Cleanup(func() {
		s.http.Close()
		if t.Failed() && s.log.Len() > 0 {
			t.Logf("git server stderr:\n%s", s.log.String())
		}
	})
	return s
}

func (s *Server) basicAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(user), []byte(s.opts.Username)) != 1 ||
			subtle.ConstantTimeCompare([]byte(pass), []byte(s.opts.Password)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Close stops the server before the test ends, as an outage would: connections are
// refused from then on.
func (s *Server) Close() { s.http.Close() }

// URL returns the HTTP URL of the repository name, without credentials.
func (s *Server) URL(name string) string {
	return s.http.URL + "/" + name
}

// URLWithCredentials returns the HTTP URL of the repository name with the
// server's username and password in it, for the git command-line client.
func (s *Server) URLWithCredentials(name string) string {
	u, err := url.Parse(s.URL(name))
	if err != nil || s.opts.Username == "" {
		return s.URL(name)
	}
	u.User = url.UserPassword(s.opts.Username, s.opts.Password)
	return u.String()
}

// Dir returns the directory of the bare repository name on the server side.
func (s *Server) Dir(name string) string {
	return filepath.Join(s.root, filepath.FromSlash(name))
}

// Seed creates the bare repository name (for example "policies.git") with
// branch as its default branch holding one commit with the files of
// fixtureDir, and switches on the server-side reflog. It returns the
// repository's URL without credentials.
func (s *Server) Seed(t testing.TB, name, branch, fixtureDir string) string {
	t.Helper()
	bare := s.Dir(name)
	MustGit(t, s.root, "init", "-q", "--bare", "-b", branch, bare)
	// receive-pack writes a reflog entry (old new) for every ref update in
	// a bare repository only when asked to; RefUpdates reads it back.
	MustGit(t, bare, "config", "core.logAllRefUpdates", "always")

	work := filepath.Join(t.TempDir(), "seed")
	if err := os.CopyFS(work, os.DirFS(fixtureDir)); err != nil {
		t.Fatalf("copy fixture %s: %v", fixtureDir, err)
	}
	MustGit(t, work, "init", "-q", "-b", branch)
	MustGit(t, work, "add", "-A")
	MustGit(t, work, "commit", "-q", "-m", "Seed from "+filepath.Base(fixtureDir))
	MustGit(t, work, "push", "-q", bare, branch)
	return s.URL(name)
}

// RefUpdate is one entry of the server's reflog: the ref moved from Old to
// New (40-hex hashes; Old is all zeros when the ref was created).
type RefUpdate struct {
	Old, New string
	Message  string
}

// RefUpdates returns the server-side reflog of ref (for example
// "refs/heads/main") in repository name, oldest first, including the
// update made by Seed.
func (s *Server) RefUpdates(name, ref string) ([]RefUpdate, error) {
	path := filepath.Join(s.Dir(name), "logs", filepath.FromSlash(ref))
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read reflog: %w", err)
	}
	var out []RefUpdate
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		// "<old> <new> <name> <<email>> <unix time> <tz>\t<message>"
		head, msg, _ := strings.Cut(sc.Text(), "\t")
		fields := strings.Fields(head)
		if len(fields) < 2 || len(fields[0]) != 40 || len(fields[1]) != 40 {
			return nil, fmt.Errorf("parse reflog %s line %d: expected \"<old> <new> ...\", got %q", path, line, sc.Text())
		}
		out = append(out, RefUpdate{Old: fields[0], New: fields[1], Message: msg})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read reflog %s: %w", path, err)
	}
	return out, nil
}

// Git runs the git command-line client in dir with a configuration isolated
// from the machine's (no global or system config, no prompts, identity
// "Test Person <person@example.com>") and returns its combined output.
func Git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL="+os.DevNull,
		"GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=Test Person",
		"GIT_AUTHOR_EMAIL=person@example.com",
		"GIT_COMMITTER_NAME=Test Person",
		"GIT_COMMITTER_EMAIL=person@example.com",
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return string(out), nil
}

// MustGit is Git that fails the test on error.
func MustGit(t testing.TB, dir string, args ...string) string {
	t.Helper()
	out, err := Git(dir, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// syncBuffer collects the CGI processes' stderr, written concurrently.
type syncBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

var _ io.Writer = (*syncBuffer)(nil)

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
