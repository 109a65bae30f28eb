package gitserver

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fluxcd/pkg/gittestserver"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// Options configures a Server.
type Options struct {
	// Username and Password switch on HTTP basic authentication when
	// Username is not empty; every request must then carry them.
	Username, Password string
}

// Server is a git HTTP server on 127.0.0.1 serving bare repositories from a
// temporary directory. It is stopped by the test's cleanup.
type Server struct {
	srv  *gittestserver.GitServer
	opts Options
}

// New starts a Server for the duration of the test t.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	srv := gittestserver.NewGitServer(t.TempDir())
	if opts.Username != "" {
		srv.Auth(opts.Username, opts.Password)
	}
	if err := srv.StartHTTP(); err != nil {
		t.Fatalf("start git server: %v", err)
	}
	t.Cleanup(srv.StopHTTP)
	return &Server{srv: srv, opts: opts}
}

// URL returns the HTTP URL of the repository name, without credentials.
func (s *Server) URL(name string) string {
	return s.srv.HTTPAddress() + "/" + name
}

// URLWithCredentials returns the HTTP URL of the repository name with the
// server's username and password in it, for the git command-line client.
func (s *Server) URLWithCredentials(name string) string {
	return s.srv.HTTPAddressWithCredentials() + "/" + name
}

// Dir returns the directory of the bare repository name on the server side.
func (s *Server) Dir(name string) string {
	return filepath.Join(s.srv.Root(), name)
}

// Seed creates the bare repository name (for example "policies.git") with one
// commit holding the files of fixtureDir on branch, makes branch the
// repository's default (HEAD) and switches on the server-side reflog. It
// returns the repository's URL without credentials.
func (s *Server) Seed(t testing.TB, name, branch, fixtureDir string) string {
	t.Helper()
	// gittestserver cuts the fixture prefix off each walked path, so the
	// directory must be given without a trailing separator.
	fixture := filepath.Clean(fixtureDir)
	if err := s.srv.InitRepo(fixture, branch, name); err != nil {
		t.Fatalf("seed %s from %s: %v", name, fixtureDir, err)
	}
	repo, err := gogit.PlainOpen(s.Dir(name))
	if err != nil {
		t.Fatalf("open seeded %s: %v", name, err)
	}
	// InitRepo always creates master and pushes every branch; leave only the
	// requested one so the repository looks like a freshly created project.
	head := plumbing.NewSymbolicReference(plumbing.HEAD, plumbing.NewBranchReferenceName(branch))
	if err := repo.Storer.SetReference(head); err != nil {
		t.Fatalf("set HEAD of %s: %v", name, err)
	}
	if branch != "master" {
		if err := repo.Storer.RemoveReference(plumbing.Master); err != nil {
			t.Fatalf("remove master of %s: %v", name, err)
		}
	}
	cfg, err := repo.Config()
	if err != nil {
		t.Fatalf("read config of %s: %v", name, err)
	}
	// receive-pack writes a reflog entry (old new) for every ref update only
	// when asked to in a bare repository; RefUpdates reads it back.
	cfg.Raw.Section("core").SetOption("logallrefupdates", "always")
	if err := repo.SetConfig(cfg); err != nil {
		t.Fatalf("write config of %s: %v", name, err)
	}
	return s.URL(name)
}

// RefUpdate is one entry of the server's reflog: the ref moved from Old to
// New (40-hex hashes; Old is all zeros when the ref was created).
type RefUpdate struct {
	Old, New string
	Message  string
}

// RefUpdates returns the server-side reflog of ref (for example
// "refs/heads/main") in repository name, oldest first. Only updates made
// after Seed are recorded.
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
// from the machine's (no global or system config, fixed identity, no
// prompts, identity "Test Person <person@example.com>") and returns its
// combined output.
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
