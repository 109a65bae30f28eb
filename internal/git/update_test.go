package git

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medimind/modelops/internal/testutil/gitserver"
)

// interferer is a person who pushes straight into the server's repository
// directory (not over HTTP) at one of two moments of someone else's push:
//   - beforeAdvert: before the server advertises its refs to the pusher,
//     i.e. after the pusher fetched and committed. The pusher sees the new
//     tip in the advertisement; only a non-forced push refuses to
//     overwrite it.
//   - pending: between the advertisement and the receive-pack request.
//     The ref moves under the update, which only the server can detect.
type interferer struct {
	t            *testing.T
	mu           sync.Mutex // guards dir's clone and pushed
	dir          string
	pushed       []string
	beforeAdvert atomic.Int32
	pending      atomic.Int32
}

func (in *interferer) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch {
		case req.Method == http.MethodGet && req.URL.Query().Get("service") == "git-receive-pack" && in.beforeAdvert.Add(-1) >= 0:
			in.push()
		case req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/git-receive-pack") && in.pending.Add(-1) >= 0:
			in.push()
		}
		next.ServeHTTP(w, req)
	})
}

func (in *interferer) push() {
	in.mu.Lock()
	defer in.mu.Unlock()
	n := len(in.pushed)
	if _, err := gitserver.Git(in.dir, "pull", "-q", "--rebase", "origin", "main"); err != nil {
		in.t.Error(err)
		return
	}
	p := filepath.Join(in.dir, fmt.Sprintf("person-%d.txt", n))
	if err := writeFile(p, "person\n"); err != nil {
		in.t.Error(err)
		return
	}
	for _, args := range [][]string{{"add", "-A"}, {"commit", "-q", "-m", "person " + fmt.Sprint(n)}, {"push", "-q", "origin", "HEAD:main"}} {
		if _, err := gitserver.Git(in.dir, args...); err != nil {
			in.t.Error(err)
			return
		}
	}
	out, _ := gitserver.Git(in.dir, "rev-parse", "HEAD")
	in.pushed = append(in.pushed, strings.TrimSpace(out))
}

// withInterferer starts a seeded server whose pushes the returned
// interferer can race.
func withInterferer(t *testing.T) (*gitserver.Server, string, *interferer) {
	in := &interferer{t: t}
	srv := gitserver.New(t, gitserver.Options{Middleware: []func(http.Handler) http.Handler{in.middleware}})
	url := srv.Seed(t, repoName, "main", "testdata/policies")
	parent := t.TempDir()
	gitserver.MustGit(t, parent, "clone", "-q", "-b", "main", srv.Dir(repoName), "person")
	in.dir = filepath.Join(parent, "person")
	return srv, url, in
}

// appendLine is the bot's edit: it re-reads bot/log.txt at the tip it is
// given and appends line, recording every tip it was called with.
func appendLine(line string, tips *[]string) EditFunc {
	return func(tip string, files fs.FS) (Change, error) {
		*tips = append(*tips, tip)
		old, err := fs.ReadFile(files, "bot/log.txt")
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return Change{}, err
		}
		return Change{
			Files:    map[string][]byte{"bot/log.txt": append(old, line+"\n"...)},
			Message:  "bot: " + line,
			Trailers: []Trailer{{TrailerAction, "step"}},
			Author:   bot,
		}, nil
	}
}

func TestPushRejectedWhenBranchMovesDuringPush(t *testing.T) {
	for _, stage := range []string{"before advertisement", "during update"} {
		t.Run(stage, func(t *testing.T) {
			ctx := testCtx(t)
			srv, url, in := withInterferer(t)
			r := mustOpen(t, url, Options{})
			if _, err := r.Commit(ctx, "main", Change{Files: map[string][]byte{"bot.txt": []byte("b")}, Message: "bot", Author: bot}); err != nil {
				t.Fatal(err)
			}
			if stage == "during update" {
				in.pending.Store(1)
			} else {
				in.beforeAdvert.Store(1)
			}
			err := r.Push(ctx, "main", false)
			if !errors.Is(err, ErrNonFastForward) {
				t.Fatalf("Push error = %v, want ErrNonFastForward", err)
			}
			t.Logf("rejection: %v", err)
			if len(in.pushed) != 1 {
				t.Fatalf("person pushed %d times, want 1", len(in.pushed))
			}
			if got := serverRef(t, srv, "refs/heads/main"); got != in.pushed[0] {
				t.Fatalf("server main = %s, want the person's %s", got, in.pushed[0])
			}
		})
	}
}

func TestUpdateBranchReappliesEditOnNewTip(t *testing.T) {
	ctx := testCtx(t)
	srv, url, in := withInterferer(t)
	r := mustOpen(t, url, Options{Backoff: time.Millisecond})
	seed, _ := r.Head(ctx, "main")

	// The first push loses the race before the advertisement, the second
	// one during the update.
	in.beforeAdvert.Store(1)
	in.pending.Store(1)
	var tips []string
	h, err := r.UpdateBranch(ctx, "main", appendLine("step 1", &tips))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{seed, in.pushed[0], in.pushed[1]}; fmt.Sprint(tips) != fmt.Sprint(want) {
		t.Fatalf("edit saw tips %v, want %v", tips, want)
	}
	info, _ := r.ReadCommit(ctx, h)
	if len(info.Parents) != 1 || info.Parents[0] != in.pushed[1] {
		t.Fatalf("bot commit parents = %v, want [%s]", info.Parents, in.pushed[1])
	}
	if got := serverRef(t, srv, "refs/heads/main"); got != h {
		t.Fatalf("server main = %s, want %s", got, h)
	}
	for _, p := range []string{"person-0.txt", "person-1.txt", "bot/log.txt"} {
		if _, err := r.ReadFile(ctx, h, p); err != nil {
			t.Errorf("tip lacks %s: %v", p, err)
		}
	}

	// An edit that changes nothing ends the loop with ErrNoChange, without
	// retrying or pushing.
	calls := 0
	_, err = r.UpdateBranch(ctx, "main", func(tip string, files fs.FS) (Change, error) {
		calls++
		old, _ := fs.ReadFile(files, "bot/log.txt")
		return Change{Files: map[string][]byte{"bot/log.txt": old}, Message: "same", Author: bot}, nil
	})
	if !errors.Is(err, ErrNoChange) || calls != 1 {
		t.Fatalf("no-op UpdateBranch: err = %v after %d calls, want ErrNoChange after 1", err, calls)
	}
	stop := errors.New("human changed the same field")
	if _, err := r.UpdateBranch(ctx, "main", func(string, fs.FS) (Change, error) { return Change{}, stop }); !errors.Is(err, stop) {
		t.Fatalf("UpdateBranch error = %v, want the edit's error", err)
	}
}

func TestUpdateBranchGivesUpAfterMaxAttempts(t *testing.T) {
	ctx := testCtx(t)
	srv, url, in := withInterferer(t)
	r := mustOpen(t, url, Options{MaxAttempts: 3, Backoff: time.Millisecond})
	in.beforeAdvert.Store(1000)
	var tips []string
	_, err := r.UpdateBranch(ctx, "main", appendLine("never", &tips))
	if !errors.Is(err, ErrNonFastForward) || !strings.Contains(err.Error(), "gave up after 3 attempts") {
		t.Fatalf("UpdateBranch error = %v, want ErrNonFastForward after 3 attempts", err)
	}
	if len(tips) != 3 {
		t.Fatalf("edit called %d times, want 3", len(tips))
	}
	if got := serverRef(t, srv, "refs/heads/main"); got != in.pushed[len(in.pushed)-1] {
		t.Fatalf("server main = %s, want the person's last commit", got)
	}
}

func TestUpdateBranchStopsWhenContextEndsDuringBackoff(t *testing.T) {
	_, url, in := withInterferer(t)
	r := mustOpen(t, url, Options{MaxAttempts: 5, Backoff: time.Hour})
	in.pending.Store(1000)
	ctx, cancel := context.WithTimeout(testCtx(t), 3*time.Second)
	defer cancel()
	var tips []string
	_, err := r.UpdateBranch(ctx, "main", appendLine("x", &tips))
	if !errors.Is(err, context.DeadlineExceeded) || len(tips) != 1 {
		t.Fatalf("UpdateBranch error = %v after %d attempts, want DeadlineExceeded after 1", err, len(tips))
	}
}
