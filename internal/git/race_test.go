package git

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medimind/modelops/internal/testutil/gitserver"
)

// TestNoCommitIsLostWhenPeopleAndBotRace has people push to the tracked
// branch with the git command-line client (pull --rebase and push again
// when rejected) while the bot runs UpdateBranch edits. At the end every
// person's pushed commit and every bot commit is in the tip's history, the
// bot's file holds every edit in order, and the server's reflog shows that
// the branch only ever moved forward.
func TestNoCommitIsLostWhenPeopleAndBotRace(t *testing.T) {
	const (
		people      = 3
		commitsEach = 3
		botEdits    = 6
		maxBotEdits = 20
		// botPause spaces the bot's edits as a reconcile loop would; a bot
		// pushing back to back starves people whose pull-rebase-push
		// round trip through the git binary is slower.
		botPause     = 100 * time.Millisecond
		pushAttempts = 50
	)
	ctx := testCtx(t)
	srv, url := seeded(t, gitserver.Options{})
	seed := serverRef(t, srv, "refs/heads/main")
	r := mustOpen(t, url, Options{MaxAttempts: 20, Backoff: 5 * time.Millisecond})

	var (
		mu          sync.Mutex // guards humanPushed and rejections
		humanPushed []string
		rejections  int
		wg          sync.WaitGroup
	)
	for p := range people {
		dir := filepath.Join(t.TempDir(), "work")
		gitserver.MustGit(t, filepath.Dir(dir), "clone", "-q", "-b", "main", url, "work")
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range commitsEach {
				name := fmt.Sprintf("people/p%d/c%d.txt", p, c)
				if err := writeFile(filepath.Join(dir, filepath.FromSlash(name)), name+"\n"); err != nil {
					t.Error(err)
					return
				}
				for _, args := range [][]string{{"add", "-A"}, {"commit", "-q", "-m", "person " + name}} {
					if _, err := gitserver.Git(dir, args...); err != nil {
						t.Error(err)
						return
					}
				}
				pushed := false
				for range pushAttempts {
					if _, err := gitserver.Git(dir, "push", "-q", "origin", "main"); err == nil {
						pushed = true
						break
					}
					mu.Lock()
					rejections++
					mu.Unlock()
					if _, err := gitserver.Git(dir, "pull", "-q", "--rebase", "origin", "main"); err != nil {
						t.Error(err)
						return
					}
				}
				if !pushed {
					t.Errorf("person %d could not push %s in %d attempts", p, name, pushAttempts)
					return
				}
				out, err := gitserver.Git(dir, "rev-parse", "HEAD")
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				humanPushed = append(humanPushed, strings.TrimSpace(out))
				mu.Unlock()
			}
		}()
	}

	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	peopleDone := func() bool {
		select {
		case <-done:
			return true
		default:
			return false
		}
	}
	// Another part of the reconciler reads through the same Repo
	// meanwhile; its fetches must not drop a bot commit before its push.
	readerDone := make(chan struct{})
	var reads int
	go func() {
		defer close(readerDone)
		for !peopleDone() {
			if err := r.Fetch(ctx); err != nil {
				t.Error(err)
				return
			}
			tip, err := r.Head(ctx, "main")
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := r.ReadFile(ctx, tip, "models/sepsis-risk.yaml"); err != nil {
				t.Error(err)
				return
			}
			reads++
		}
	}()

	// The bot keeps editing while people push (at least botEdits times),
	// so its fetch-commit-push windows overlap their pushes.
	var botCommits []string
	botAttempts := 0
	for i := 0; i < maxBotEdits && (i < botEdits || !peopleDone()); i++ {
		var tips []string
		h, err := r.UpdateBranch(ctx, "main", appendLine(fmt.Sprintf("edit %d", i), &tips))
		if err != nil {
			t.Errorf("bot edit %d: %v", i, err)
			continue
		}
		botAttempts += len(tips)
		botCommits = append(botCommits, h)
		time.Sleep(botPause)
	}
	<-done
	<-readerDone
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("people were rejected %d times; the bot needed %d attempts for %d edits; %d concurrent reads", rejections, botAttempts, len(botCommits), reads)

	if err := r.Fetch(ctx); err != nil {
		t.Fatal(err)
	}
	tip, _ := r.Head(ctx, "main")
	if got := serverRef(t, srv, "refs/heads/main"); got != tip {
		t.Fatalf("mirror tip %s differs from server %s", tip, got)
	}

	// Zero lost commits: walk the tip's whole history.
	history, err := r.Log(ctx, "", tip, "")
	if err != nil {
		t.Fatal(err)
	}
	inHistory := map[string]bool{}
	for _, c := range history {
		inHistory[c.Hash] = true
	}
	if len(humanPushed) != people*commitsEach || len(botCommits) < botEdits {
		t.Fatalf("pushed %d person commits and %d bot commits, want %d and at least %d", len(humanPushed), len(botCommits), people*commitsEach, botEdits)
	}
	for _, h := range append(append([]string{}, humanPushed...), botCommits...) {
		if !inHistory[h] {
			t.Errorf("commit %s is not in the tip's history", h)
		}
	}
	tree, _ := r.Tree(ctx, tip)
	for p := range people {
		for c := range commitsEach {
			name := fmt.Sprintf("people/p%d/c%d.txt", p, c)
			if _, err := fs.ReadFile(tree, name); err != nil {
				t.Errorf("tip lacks %s: %v", name, err)
			}
		}
	}
	// Each bot edit was re-applied on the content it found, so none of
	// them overwrote another.
	log, _ := r.ReadFile(ctx, tip, "bot/log.txt")
	var want strings.Builder
	for i := range botCommits {
		fmt.Fprintf(&want, "edit %d\n", i)
	}
	if string(log) != want.String() {
		t.Errorf("bot/log.txt = %q, want %q", log, want.String())
	}

	// Never a forced update: each reflog entry continues the previous one
	// and its new value descends from its old one.
	ups, err := srv.RefUpdates(repoName, "refs/heads/main")
	if err != nil {
		t.Fatal(err)
	}
	if want := 1 + len(humanPushed) + len(botCommits); len(ups) != want {
		t.Errorf("server recorded %d updates of main, want %d (seed + every push)", len(ups), want)
	}
	prev := seed
	for i, u := range ups[1:] {
		if u.Old != prev {
			t.Errorf("reflog entry %d starts at %s, previous ended at %s", i+1, u.Old, prev)
		}
		if !isAncestor(t, srv, u.Old, u.New) {
			t.Errorf("reflog entry %d is a forced update %s -> %s", i+1, u.Old, u.New)
		}
		prev = u.New
	}
	if prev != tip {
		t.Errorf("reflog ends at %s, tip is %s", prev, tip)
	}
}
