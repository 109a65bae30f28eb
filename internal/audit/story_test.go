package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	forgelocal "github.com/medimind/modelops/internal/forge/local"
	"github.com/medimind/modelops/internal/git"
)

// gitCLI drives the git binary in a working tree, playing people: every commit has a fixed
// author, committer and date, so the repository's hashes are the same on every run.
type gitCLI struct {
	t   *testing.T
	dir string
}

func newGitCLI(t *testing.T) *gitCLI {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	g := &gitCLI{t: t, dir: t.TempDir()}
	g.run(nil, "init", "-q", "-b", "main")
	return g
}

type who struct{ name, email string }

var (
	alice = who{"Alice Adams", "alice@medimind.example"}
	bob   = who{"Bob Brown", "bob@medimind.example"}
	carol = who{"Carol Chen", "carol@medimind.example"}
	dave  = who{"Dave Diaz", "dave@medimind.example"}
	erin  = who{"Erin Evans", "erin@medimind.example"}
	frank = who{"Frank Fox", "frank@medimind.example"}
	botty = who{"modelops[bot]", "modelops@users.noreply.github.com"}
)

// act is who does a git operation and when: author, committer (defaults to the author).
type act struct {
	author, committer who
	at                time.Time
}

func (g *gitCLI) run(a *act, args ...string) string {
	g.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = g.dir
	env := append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1", "LC_ALL=C")
	if a != nil {
		c := a.committer
		if c.name == "" {
			c = a.author
		}
		date := a.at.Format(time.RFC3339)
		env = append(env,
			"GIT_AUTHOR_NAME="+a.author.name, "GIT_AUTHOR_EMAIL="+a.author.email, "GIT_AUTHOR_DATE="+date,
			"GIT_COMMITTER_NAME="+c.name, "GIT_COMMITTER_EMAIL="+c.email, "GIT_COMMITTER_DATE="+date)
	} else {
		env = append(env, "GIT_AUTHOR_NAME=setup", "GIT_AUTHOR_EMAIL=setup@example", "GIT_COMMITTER_NAME=setup", "GIT_COMMITTER_EMAIL=setup@example")
	}
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		g.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return strings.TrimSpace(out.String())
}

func (g *gitCLI) write(path, content string) {
	g.t.Helper()
	p := filepath.Join(g.dir, path)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		g.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		g.t.Fatal(err)
	}
}

// commit stages everything and commits it; message paragraphs are given separately.
func (g *gitCLI) commit(a act, message ...string) string {
	g.t.Helper()
	g.run(nil, "add", "-A")
	args := []string{"commit", "-q", "--no-gpg-sign"}
	for _, m := range message {
		args = append(args, "-m", m)
	}
	g.run(&a, args...)
	return g.run(nil, "rev-parse", "HEAD")
}

// sepsis is the sepsis-risk policy with the given fields.
type sepsis struct {
	production string
	canary     string // "" for none, else "version weight"
	threshold  string
	share      string
	generation int
	comment    string
}

func (s sepsis) yaml() string {
	var b strings.Builder
	if s.comment != "" {
		fmt.Fprintf(&b, "# %s\n", s.comment)
	}
	fmt.Fprintf(&b, `apiVersion: modelops.medimind.io/v1alpha1
kind: ModelPolicy
metadata:
  name: sepsis-risk
spec:
  production: {version: "%s", uri: "models:/sepsis-risk/%s"}
`, s.production, s.production)
	if s.canary != "" {
		v, w, _ := strings.Cut(s.canary, " ")
		fmt.Fprintf(&b, "  canary:\n    version: \"%s\"\n    uri: models:/sepsis-risk/%s\n    weight: %s\n", v, v, w)
	}
	fmt.Fprintf(&b, "  drift:\n    interval: 6h\n    threshold: %s\n", s.threshold)
	if s.share != "" {
		fmt.Fprintf(&b, "    datasetShare: %s\n", s.share)
	}
	fmt.Fprintf(&b, `  retrain:
    generation: %d
    job:
      image: registry.example/medimind/train:1.4
      command: [python, train.py]
`, s.generation)
	return b.String()
}

func readmission(comment, labels string) string {
	return fmt.Sprintf(`# %s
apiVersion: modelops.medimind.io/v1alpha1
kind: ModelPolicy
metadata:
  name: readmission-30d
  labels: {%s}
spec:
  production: {version: "21"}
`, comment, labels)
}

func day(d, hour int) time.Time { return time.Date(2026, 1, d, hour, 0, 0, 0, time.UTC) }

// story is the fixture repository: what people and the bot did to two models.
type story struct {
	dir                                  string
	merge, rollback, rename, proposalMrg string
}

func buildStory(t *testing.T) story {
	g := newGitCLI(t)
	s := sepsis{production: "12", threshold: "0.1", generation: 6}
	// 1. Alice adds both policies.
	g.write("models/sepsis-risk.yaml", s.yaml())
	g.write("models/readmission.yaml", readmission("30-day readmission", "team: population-health"))
	g.write("README.md", "policies\n")
	g.commit(act{author: alice, at: day(5, 9)}, "Add sepsis-risk and readmission policies")

	// 2. Bob raises the drift threshold; Alice commits it (applied from his patch).
	s.threshold = "0.15"
	g.write("models/sepsis-risk.yaml", s.yaml())
	g.commit(act{author: bob, committer: alice, at: day(6, 10)}, "sepsis-risk: drift threshold 0.15", "Too many alarms on the ward data.")

	// 3. Carol starts a canary on a branch in two steps; Bob changes readmission on main
	// meanwhile; Dave merges the pull request.
	g.run(nil, "checkout", "-q", "-b", "canary-13")
	s.canary = "13 10"
	g.write("models/sepsis-risk.yaml", s.yaml())
	g.commit(act{author: carol, at: day(7, 11)}, "sepsis-risk: canary 13 at 10%")
	s.canary = "13 25"
	g.write("models/sepsis-risk.yaml", s.yaml())
	g.commit(act{author: carol, at: day(8, 11)}, "sepsis-risk: canary 13 at 25%")
	g.run(nil, "checkout", "-q", "main")
	g.write("models/readmission.yaml", readmission("30-day readmission", "team: population-health, tier: gold"))
	g.commit(act{author: bob, at: day(8, 15)}, "readmission-30d: tier gold")
	g.run(&act{author: dave, at: day(9, 12)}, "merge", "-q", "--no-ff", "--no-gpg-sign", "canary-13",
		"-m", "Merge pull request #42 from medimind/canary-13", "-m", "Canary sepsis-risk 13")
	merge := g.run(nil, "rev-parse", "HEAD")

	// 4. The bot rolls the canary back, with trailers.
	s.canary = ""
	g.write("models/sepsis-risk.yaml", s.yaml())
	rollback := g.commit(act{author: botty, at: day(10, 3)}, "Roll back sepsis-risk canary 13",
		"Modelops-Action: rollback\nModelops-Model: sepsis-risk\nModelops-Reason: AUC fell 0.04 below production in 2 checks\nModelops-Evidence: modelops/status:reports/sepsis-risk/canary-20260110T030000Z.json")

	// 5. Erin moves readmission into a team directory under its model name.
	if err := os.MkdirAll(filepath.Join(g.dir, "models/team"), 0o755); err != nil {
		t.Fatal(err)
	}
	g.run(nil, "mv", "models/readmission.yaml", "models/team/readmission-30d.yaml")
	rename := g.commit(act{author: erin, at: day(11, 9)}, "Move readmission-30d under models/team")

	// 6. Erin breaks sepsis-risk, then fixes it.
	s.share = "1.5"
	g.write("models/sepsis-risk.yaml", s.yaml())
	g.commit(act{author: erin, at: day(12, 9)}, "sepsis-risk: dataset share")
	s.share = "0.6"
	g.write("models/sepsis-risk.yaml", s.yaml())
	g.commit(act{author: erin, at: day(13, 9)}, "sepsis-risk: dataset share is a fraction")

	// 7. The bot proposes a retrain on the local forge's branch; Frank merges the proposal.
	// The record on the status branch is written as the local forge writes it: open first,
	// merged (with the merge commit) after.
	g.run(nil, "checkout", "-q", "-b", "modelops/sepsis-risk/retrain")
	s.generation = 7
	g.write("models/sepsis-risk.yaml", s.yaml())
	head := g.commit(act{author: botty, at: day(14, 2)}, "Retrain sepsis-risk: generation 6 → 7 (drift)",
		"- raise spec.retrain.generation 6 → 7",
		"Modelops-Action: propose-retrain\nModelops-Evidence: modelops/status:reports/sepsis-risk/drift-20260114T020000Z.json\nModelops-Model: sepsis-risk\nModelops-Reason: 6 of the last 10 drift reports drifted")
	rec := forgelocal.Record{
		Model: "sepsis-risk", Kind: "retrain", State: forgelocal.StateOpen, Key: "k", Digest: "d",
		Title:  "Retrain sepsis-risk: generation 6 → 7 (drift)",
		Body:   "<!-- marker -->\n\n## Retrain `sepsis-risk`\n\n### Evidence\n\n- 6 of the last 10 drift reports drifted (share ≥ 0.5)\n- AUC 0.86\n",
		Branch: "modelops/sepsis-risk/retrain", Base: "x", Head: head, File: "models/sepsis-risk.yaml",
		Opened: day(14, 2), Updated: day(14, 2),
	}
	g.run(nil, "checkout", "-q", "--orphan", "modelops/status")
	g.run(nil, "rm", "-q", "-rf", ".")
	writeRecord(g, rec, act{author: botty, at: day(14, 2)}, "modelops: open proposal sepsis-risk/retrain")
	g.run(nil, "checkout", "-q", "main")
	g.run(&act{author: frank, at: day(15, 16)}, "merge", "-q", "--no-ff", "--no-gpg-sign", "modelops/sepsis-risk/retrain",
		"-m", "Merge proposal sepsis-risk/retrain", "-m", rec.Title)
	proposalMerge := g.run(nil, "rev-parse", "HEAD")
	g.run(nil, "checkout", "-q", "modelops/status")
	rec.State, rec.Merge, rec.Closed, rec.Updated = forgelocal.StateMerged, proposalMerge, day(15, 16), day(15, 16)
	writeRecord(g, rec, act{author: botty, at: day(15, 16)}, "modelops: proposal sepsis-risk/retrain merged")
	g.run(nil, "checkout", "-q", "main")

	// 8. Alice promotes 13 and touches only a comment of readmission: one event.
	s.production = "13"
	g.write("models/sepsis-risk.yaml", s.yaml())
	g.write("models/team/readmission-30d.yaml", readmission("30-day readmission, owned by population health", "team: population-health, tier: gold"))
	g.commit(act{author: alice, at: day(16, 9)}, "Promote sepsis-risk 13")

	// 9. Alice retires readmission.
	g.run(nil, "rm", "-q", "models/team/readmission-30d.yaml")
	g.commit(act{author: alice, at: day(17, 9)}, "Retire readmission-30d")
	return story{dir: g.dir, merge: merge, rollback: rollback, rename: rename, proposalMrg: proposalMerge}
}

func writeRecord(g *gitCLI, rec forgelocal.Record, a act, msg string) {
	g.t.Helper()
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		g.t.Fatal(err)
	}
	g.write("proposals/sepsis-risk/retrain.json", string(b)+"\n")
	g.commit(a, msg, "Modelops-Action: proposal-"+string(rec.State)+"\nModelops-Model: sepsis-risk")
}

func openStory(t testing.TB, dir string) *git.Repo {
	t.Helper()
	r, err := git.Open(context.Background(), dir, git.Options{})
	if err != nil {
		t.Fatalf("open %s: %v", dir, err)
	}
	return r
}
