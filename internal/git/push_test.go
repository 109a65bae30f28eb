package git

import (
	"errors"
	"testing"

	"github.com/medimind/modelops/internal/testutil/gitserver"
)

func TestForcePushOfTrackedBranchIsRefusedWithoutTouchingRemote(t *testing.T) {
	ctx := testCtx(t)
	srv, url := seeded(t, gitserver.Options{})
	r := mustOpen(t, url, Options{})
	before := serverRef(t, srv, "refs/heads/main")

	// A person pushes; the bot's local commit is then on a stale parent,
	// so only a force push could land it, and it must not.
	h := newHuman(t, url)
	human := h.commit("person edit", map[string]string{"models/sepsis-risk.yaml": "human\n"})
	h.push("main")
	if _, err := r.Commit(ctx, "main", Change{Files: map[string][]byte{"bot.txt": []byte("bot")}, Message: "bot", Author: bot}); err != nil {
		t.Fatal(err)
	}
	for _, branch := range []string{"main", "release", "modelopsx/y"} {
		if err := r.Push(ctx, branch, true); !errors.Is(err, ErrForceNotAllowed) {
			t.Fatalf("Push(%s, force) error = %v, want ErrForceNotAllowed", branch, err)
		}
	}
	if err := r.Push(ctx, "main", false); !errors.Is(err, ErrNonFastForward) {
		t.Fatalf("Push(main) over a newer remote error = %v, want ErrNonFastForward", err)
	}
	if got := serverRef(t, srv, "refs/heads/main"); got != human {
		t.Fatalf("server main = %s, want the person's %s", got, human)
	}
	ups, err := srv.RefUpdates(repoName, "refs/heads/main")
	if err != nil {
		t.Fatal(err)
	}
	// The first entry is the seed's creation of main.
	if len(ups) != 2 || ups[1].Old != before || ups[1].New != human {
		t.Fatalf("server saw updates %+v, want only the seed and the person's push", ups)
	}
	if err := r.ResetBranch(ctx, "main", before); !errors.Is(err, ErrForceNotAllowed) {
		t.Fatalf("ResetBranch(main) error = %v, want ErrForceNotAllowed", err)
	}
}

func TestProposalBranchIsRebuiltAndForcePushed(t *testing.T) {
	ctx := testCtx(t)
	srv, url := seeded(t, gitserver.Options{})
	r := mustOpen(t, url, Options{})
	const branch = "modelops/sepsis-risk/retrain"
	tip, _ := r.Head(ctx, "main")

	propose := func(gen string) string {
		t.Helper()
		if err := r.ResetBranch(ctx, branch, tip); err != nil {
			t.Fatal(err)
		}
		h, err := r.Commit(ctx, branch, Change{Files: map[string][]byte{"models/sepsis-risk.yaml": []byte("generation: " + gen + "\n")}, Message: "Retrain sepsis-risk", Author: bot})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Push(ctx, branch, true); err != nil {
			t.Fatal(err)
		}
		return h
	}
	first := propose("7")
	if got := serverRef(t, srv, "refs/heads/"+branch); got != first {
		t.Fatalf("server %s = %s, want %s", branch, got, first)
	}
	second := propose("8") // rebuilt from main: not a descendant of first
	if got := serverRef(t, srv, "refs/heads/"+branch); got != second {
		t.Fatalf("server %s = %s after force push, want %s", branch, got, second)
	}
	if isAncestor(t, srv, first, second) {
		t.Fatal("rebuilt proposal descends from the first one; the force push was not exercised")
	}
	if got := serverRef(t, srv, "refs/heads/main"); got != tip {
		t.Fatalf("tracked branch moved to %s", got)
	}
	if err := r.Fetch(ctx); err != nil {
		t.Fatal(err)
	}
	branches, _ := r.Branches(ctx)
	if len(branches) != 2 {
		t.Fatalf("Branches = %v, want main and %s", branches, branch)
	}

	if err := r.DeleteBranch(ctx, "main"); !errors.Is(err, ErrForceNotAllowed) {
		t.Fatalf("DeleteBranch(main) error = %v, want ErrForceNotAllowed", err)
	}
	for range 2 { // the second deletion is a no-op
		if err := r.DeleteBranch(ctx, branch); err != nil {
			t.Fatal(err)
		}
	}
	if got := serverRef(t, srv, "refs/heads/"+branch); got != "" {
		t.Fatalf("server still has %s at %s", branch, got)
	}
	if _, err := r.Head(ctx, branch); !errors.Is(err, ErrBranchNotFound) {
		t.Fatalf("Head(%s) after delete: %v, want ErrBranchNotFound", branch, err)
	}
	if got := serverRef(t, srv, "refs/heads/main"); got != tip {
		t.Fatalf("tracked branch moved to %s", got)
	}
}

func TestForcePushReplacesOnlyTheHeadItWasGiven(t *testing.T) {
	ctx := testCtx(t)
	srv, url := seeded(t, gitserver.Options{})
	r := mustOpen(t, url, Options{})
	const branch = "modelops/sepsis-risk/retrain"
	tip, _ := r.Head(ctx, "main")
	build := func(gen string) string {
		t.Helper()
		if err := r.ResetBranch(ctx, branch, tip); err != nil {
			t.Fatal(err)
		}
		h, err := r.Commit(ctx, branch, Change{Files: map[string][]byte{"models/sepsis-risk.yaml": []byte("generation: " + gen + "\n")}, Message: "Retrain", Author: bot})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	// A new branch: the lease is "no branch".
	first := build("7")
	if err := r.ForcePush(ctx, branch, ""); err != nil {
		t.Fatal(err)
	}
	// A person pushes on top; a rebuild leased on the bot's own head must not land.
	h := newHuman(t, url)
	gitserver.MustGit(t, h.dir, "fetch", "-q", "origin", branch)
	gitserver.MustGit(t, h.dir, "checkout", "-q", "-b", branch, "FETCH_HEAD")
	person := h.commit("person's note", map[string]string{"NOTES.md": "mine\n"})
	h.push(branch)
	build("8")
	if err := r.ForcePush(ctx, branch, first); !errors.Is(err, ErrNonFastForward) {
		t.Fatalf("ForcePush over a person's push = %v, want ErrNonFastForward", err)
	}
	if got := serverRef(t, srv, "refs/heads/"+branch); got != person {
		t.Fatalf("server branch = %s, want the person's %s", got, person)
	}
	// Leased on the head it replaces, it lands.
	rebuilt := build("9")
	if err := r.ForcePush(ctx, branch, person); err != nil {
		t.Fatal(err)
	}
	if got := serverRef(t, srv, "refs/heads/"+branch); got != rebuilt {
		t.Fatalf("server branch = %s, want %s", got, rebuilt)
	}
	if err := r.ForcePush(ctx, "main", tip); !errors.Is(err, ErrForceNotAllowed) {
		t.Fatalf("ForcePush(main) = %v, want ErrForceNotAllowed", err)
	}
}
