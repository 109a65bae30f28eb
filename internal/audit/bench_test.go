package audit

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"testing"

	"github.com/medimind/modelops/internal/testutil/benchcpu"
)

// fastImport builds a repository of n mainline commits touching five model policies with
// git fast-import: each commit changes one policy (a canary step, a retrain generation, a
// drift threshold or a promotion), and every 100th mainline commit merges a one-commit
// branch, as a pull request would.
func fastImport(tb testing.TB, n int) string {
	tb.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		tb.Skip("git is not installed")
	}
	dir := tb.TempDir()
	if out, err := exec.Command("git", "init", "-q", "-b", "main", dir).CombinedOutput(); err != nil {
		tb.Fatalf("git init: %v\n%s", err, out)
	}
	const models = 5
	type state struct{ production, canary, generation, threshold int }
	st := make([]state, models)
	for i := range st {
		st[i] = state{production: 1, generation: 1, threshold: 10}
	}
	policy := func(i int) string {
		s := st[i]
		canary := ""
		if s.canary > 0 {
			canary = fmt.Sprintf("  canary: {version: \"%d\", weight: %d}\n", s.production+1, s.canary)
		}
		return fmt.Sprintf(`apiVersion: modelops.medimind.io/v1alpha1
kind: ModelPolicy
metadata:
  name: model-%d
spec:
  production: {version: "%d", uri: "models:/model-%d/%d"}
%s  drift:
    threshold: 0.%03d
  retrain:
    generation: %d
    job: {image: registry.example/train:1, command: [python, train.py]}
`, i, s.production, i, s.production, canary, s.threshold, s.generation)
	}
	var buf bytes.Buffer
	mark := 0
	file := func(i int) {
		p := policy(i)
		fmt.Fprintf(&buf, "M 100644 inline models/model-%d.yaml\ndata %d\n%s\n", i, len(p), p)
	}
	commit := func(ref, msg string, t int, from string, merge string, edit func()) {
		mark++
		fmt.Fprintf(&buf, "commit %s\nmark :%d\nauthor A <a@example.com> %d +0000\ncommitter A <a@example.com> %d +0000\ndata %d\n%s\n",
			ref, mark, 1767225600+t*60, 1767225600+t*60, len(msg), msg)
		if from != "" {
			fmt.Fprintf(&buf, "from %s\n", from)
		}
		if merge != "" {
			fmt.Fprintf(&buf, "merge %s\n", merge)
		}
		edit()
		buf.WriteString("\n")
	}
	commit("refs/heads/main", "add policies", 0, "", "", func() {
		for i := range models {
			file(i)
		}
	})
	step := func(k int) {
		i := k % models
		s := &st[i]
		switch (k / models) % 4 {
		case 0:
			s.canary = 10
		case 1:
			s.canary = 50
		case 2:
			s.production, s.canary = s.production+1, 0
		case 3:
			s.generation++
			s.threshold = 10 + k%90
		}
		file(i)
	}
	for k := 1; k < n; k++ {
		if k%100 == 0 {
			// A branch off the mainline's tip, merged with a merge commit.
			main := fmt.Sprintf(":%d", mark)
			commit("refs/heads/feature", fmt.Sprintf("change %d", k), k, main, "", func() { step(k) })
			feature := fmt.Sprintf(":%d", mark)
			// fast-import takes a merge's tree from its first parent: write the merged file.
			commit("refs/heads/main", fmt.Sprintf("Merge pull request #%d from feature", k), k, main, feature, func() { file(k % models) })
			continue
		}
		commit("refs/heads/main", fmt.Sprintf("change %d", k), k, "", "", func() { step(k) })
	}
	cmd := exec.Command("git", "fast-import", "--quiet")
	cmd.Dir = dir
	cmd.Stdin = &buf
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("git fast-import: %v\n%s", err, out)
	}
	return dir
}

func TestFastImportRepositoryAudits(t *testing.T) {
	dir := fastImport(t, 300)
	tl, err := Build(context.Background(), openStory(t, dir), Options{})
	if err != nil {
		t.Fatal(err)
	}
	// 5 additions, then one event per commit: 299 changes (3 of them through merges).
	if len(tl.Events) != 5+299 {
		t.Fatalf("%d events, want %d", len(tl.Events), 5+299)
	}
	merges := 0
	for _, e := range tl.Events {
		if e.Merge != nil {
			merges++
			if e.PullRequest == 0 || len(e.Merge.Commits) != 1 {
				t.Errorf("merge event %+v", e)
			}
		}
	}
	if merges != 2 {
		t.Errorf("%d merge events, want 2", merges)
	}
}

// BenchmarkAudit10kCommits audits every model over 10,000 mainline commits that each change
// a policy, as `modelops audit --repo DIR` does: each run opens a History of the repository
// (cold pack files and caches) and builds the whole timeline. The floor is under 2 s per
// audit on two cores. cpu-s/op is the process's CPU time per audit, every goroutine and the
// garbage collector included: on a machine shared with other work it moves far less than
// the time per audit does.
func BenchmarkAudit10kCommits(b *testing.B) {
	dir := fastImport(b, 10000)
	repo := openStory(b, dir)
	ctx := context.Background()
	var events int
	defer benchcpu.Report(b, "s")()
	for b.Loop() {
		h, err := repo.OpenHistory(ctx)
		if err != nil {
			b.Fatal(err)
		}
		tl, err := Build(ctx, h, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := h.Close(); err != nil {
			b.Fatal(err)
		}
		events = len(tl.Events)
	}
	b.ReportMetric(float64(events), "events")
}
