package reconciler

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os/exec"
	"testing"

	"github.com/medimind/modelops/internal/git"
	"github.com/medimind/modelops/internal/testutil/benchcpu"
)

// linearHistory builds, with git fast-import, a repository of n mainline commits over five
// model policies: each commit moves one model's production version one up, so the history
// names n+4 versions in all.
func linearHistory(tb testing.TB, n int) string {
	tb.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		tb.Skip("git is not installed")
	}
	dir := tb.TempDir()
	if out, err := exec.Command("git", "init", "-q", "-b", "main", dir).CombinedOutput(); err != nil {
		tb.Fatalf("git init: %v\n%s", err, out)
	}
	var buf bytes.Buffer
	version := [5]int{1, 1, 1, 1, 1}
	file := func(i int) {
		p := fmt.Sprintf("apiVersion: modelops.medimind.io/v1alpha1\nkind: ModelPolicy\nmetadata:\n  name: model-%d\nspec:\n  production: {version: \"%d\", uri: \"models:/model-%d/%d\"}\n  registry: {cleanup: {}}\n",
			i, version[i], i, version[i])
		fmt.Fprintf(&buf, "M 100644 inline models/model-%d.yaml\ndata %d\n%s\n", i, len(p), p)
	}
	for k := range n {
		msg := fmt.Sprintf("change %d", k)
		fmt.Fprintf(&buf, "commit refs/heads/main\nmark :%d\ncommitter A <a@example.com> %d +0000\ndata %d\n%s\n", k+1, 1767225600+k*60, len(msg), msg)
		if k == 0 {
			for i := range version {
				file(i)
			}
		} else {
			version[k%5]++
			file(k % 5)
		}
		buf.WriteString("\n")
	}
	cmd := exec.Command("git", "fast-import", "--quiet")
	cmd.Dir = dir
	cmd.Stdin = &buf
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("git fast-import: %v\n%s", err, out)
	}
	return dir
}

// BenchmarkHistoryNamed10kCommits reads what 10,000 mainline commits named, as the first
// cleanup of a reconciler does (every commit's changed policy parsed; the repository opened
// fresh each time, so pack caches start cold), and then as a later cycle does after one more
// commit (only that commit walked).
func BenchmarkHistoryNamed10kCommits(b *testing.B) {
	dir := linearHistory(b, 10000)
	ctx := context.Background()
	open := func() (*Reconciler, string) {
		repo, err := git.Open(ctx, dir, git.Options{})
		if err != nil {
			b.Fatal(err)
		}
		tr := git.Tracked{Repo: repo, Branch: "main"}
		tip, err := tr.Sync(ctx)
		if err != nil {
			b.Fatal(err)
		}
		return &Reconciler{repo: tr, log: slog.New(slog.DiscardHandler), metricsErr: map[string]string{}}, tip
	}
	b.Run("first", func(b *testing.B) {
		defer benchcpu.Report(b, "s")()
		for b.Loop() {
			r, tip := open()
			if got := r.historyNamed(ctx, &Snapshot{Commit: tip}, "model-1"); len(got) != 2001 {
				b.Fatalf("model-1 named %d versions, want 2001", len(got))
			}
		}
	})
	b.Run("one-more-commit", func(b *testing.B) {
		r, tip := open()
		c, err := r.repo.(git.Tracked).Repo.ReadCommit(ctx, tip)
		if err != nil {
			b.Fatal(err)
		}
		parent := c.Parents[0]
		r.historyNamed(ctx, &Snapshot{Commit: parent}, "model-1")
		below := r.named.byModel
		defer benchcpu.Report(b, "ms")()
		for b.Loop() {
			r.named = &namedVersions{tip: parent, byModel: below}
			if got := r.historyNamed(ctx, &Snapshot{Commit: tip}, "model-1"); len(got) != 2001 {
				b.Fatalf("model-1 named %d versions, want 2001", len(got))
			}
		}
	})
}
