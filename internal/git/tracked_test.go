package git

import (
	"testing"

	"github.com/medimind/modelops/internal/testutil/gitserver"
)

func TestTrackedSyncFollowsTheRemoteTip(t *testing.T) {
	ctx := testCtx(t)
	srv, url := seeded(t, gitserver.Options{})
	tr := Tracked{Repo: mustOpen(t, url, Options{}), Branch: "main"}
	h := newHuman(t, url)
	next := h.commit("edit", map[string]string{"models/x.yaml": "x\n"})
	h.push("main")
	tip, err := tr.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tip != next || tip != serverRef(t, srv, "refs/heads/main") {
		t.Fatalf("Sync = %s, want the pushed %s", tip, next)
	}
	files, err := tr.Tree(ctx, tip)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := files.Open("models/x.yaml"); err != nil {
		t.Fatal(err)
	}
}
