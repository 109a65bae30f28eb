package audit

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// eventLines renders events as "kinds file: what" for comparison.
func eventLines(tl *Timeline) []string {
	var out []string
	for _, e := range tl.Events {
		out = append(out, e.Model+" "+kindList(e.Kinds)+" "+e.File+": "+strings.Join(e.What(), "; "))
	}
	return out
}

// buildBoth audits the repository at dir through a Repo and through a History, checks that
// both give the same timeline and returns it.
func buildBoth(t *testing.T, dir string, opts Options) *Timeline {
	t.Helper()
	ctx := context.Background()
	repo := openStory(t, dir)
	viaRepo, err := Build(ctx, repo, opts)
	if err != nil {
		t.Fatal(err)
	}
	hist, err := repo.OpenHistory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer hist.Close()
	viaHistory, err := Build(ctx, hist, opts)
	if err != nil {
		t.Fatal(err)
	}
	var a, b bytes.Buffer
	if err := viaRepo.WriteJSON(&a); err != nil {
		t.Fatal(err)
	}
	if err := viaHistory.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Errorf("timelines differ through a Repo and a History:\n%s\n---\n%s", a.String(), b.String())
	}
	return viaHistory
}

func TestStoryIsTheSameThroughAHistory(t *testing.T) {
	st := buildStory(t)
	tl := buildBoth(t, st.dir, Options{})
	if len(tl.Events) != 12 {
		t.Errorf("%d events, want the story's 12", len(tl.Events))
	}
	since, _ := ParseSince("2026-01-11")
	buildBoth(t, st.dir, Options{Model: "sepsis-risk", Since: since})
}

// A policy's identity is its metadata.name: moved to a subdirectory, edited there, then moved
// into a file it shares with another model (and edited in the same commit), it keeps one
// history.
func TestMovedPolicyKeepsOneHistory(t *testing.T) {
	g := newGitCLI(t)
	s := sepsis{production: "12", threshold: "0.1", generation: 6}
	other := readmission("30-day readmission", "team: population-health")
	g.write("models/a.yaml", s.yaml())
	g.write("models/other.yaml", other)
	g.commit(act{author: alice, at: day(1, 9)}, "Add sepsis-risk and readmission-30d")

	if err := os.MkdirAll(filepath.Join(g.dir, "models/clinical"), 0o755); err != nil {
		t.Fatal(err)
	}
	g.run(nil, "mv", "models/a.yaml", "models/clinical/a.yaml")
	g.commit(act{author: bob, at: day(2, 9)}, "Move sepsis-risk under models/clinical")

	s.generation = 7
	g.write("models/clinical/a.yaml", s.yaml())
	g.commit(act{author: carol, at: day(3, 9)}, "sepsis-risk: retrain")

	s.threshold = "0.15"
	g.run(nil, "rm", "-q", "models/clinical/a.yaml", "models/other.yaml")
	g.write("models/clinical/all.yaml", other+"---\n"+s.yaml())
	g.commit(act{author: dave, at: day(4, 9)}, "One file for the clinical models")

	tl := buildBoth(t, g.dir, Options{Model: "sepsis-risk"})
	want := []string{
		"sepsis-risk added models/a.yaml: added in models/a.yaml",
		"sepsis-risk moved models/clinical/a.yaml: moved models/a.yaml → models/clinical/a.yaml",
		"sepsis-risk retrain models/clinical/a.yaml: spec.retrain.generation 6 → 7",
		"sepsis-risk moved models/clinical/all.yaml: moved models/clinical/a.yaml → models/clinical/all.yaml; spec.drift.threshold 0.1 → 0.15",
	}
	if got := eventLines(tl); !reflect.DeepEqual(got, want) {
		t.Errorf("events:\n got %q\nwant %q", got, want)
	}
	// The other model moved into the shared file without a change of meaning.
	tl = buildBoth(t, g.dir, Options{Model: "readmission-30d"})
	want = []string{
		"readmission-30d added models/other.yaml: added in models/other.yaml",
		"readmission-30d moved models/clinical/all.yaml: moved models/other.yaml → models/clinical/all.yaml",
	}
	if got := eventLines(tl); !reflect.DeepEqual(got, want) {
		t.Errorf("events:\n got %q\nwant %q", got, want)
	}
}

// .modelopsignore decides which files are policies at each commit, as policies.Load does:
// ignoring a directory removes its models, an edit or a new file there is no event, and
// dropping the ignore file brings them back as they are then.
func TestIgnoreFileAtEachCommit(t *testing.T) {
	g := newGitCLI(t)
	g.write("models/a.yaml", sepsis{production: "12", threshold: "0.1", generation: 6}.yaml())
	g.write("drafts/b.yaml", readmission("draft", "team: population-health"))
	g.commit(act{author: alice, at: day(1, 9)}, "Add")

	g.write(".modelopsignore", "drafts/\n")
	g.commit(act{author: alice, at: day(2, 9)}, "Drafts are not policies")

	g.write("drafts/b.yaml", readmission("draft", "team: population-health, tier: gold"))
	g.write("drafts/new.yml", strings.Replace(readmission("new", "team: x"), "readmission-30d", "draft-model", 1))
	g.commit(act{author: bob, at: day(3, 9)}, "Work on drafts")

	g.run(nil, "rm", "-q", ".modelopsignore")
	g.commit(act{author: bob, at: day(4, 9)}, "Drafts are policies again")

	tl := buildBoth(t, g.dir, Options{})
	want := []string{
		"readmission-30d added drafts/b.yaml: added in drafts/b.yaml",
		"sepsis-risk added models/a.yaml: added in models/a.yaml",
		"readmission-30d removed : removed from drafts/b.yaml",
		"draft-model added drafts/new.yml: added in drafts/new.yml",
		"readmission-30d added drafts/b.yaml: added in drafts/b.yaml",
	}
	if got := eventLines(tl); !reflect.DeepEqual(got, want) {
		t.Errorf("events:\n got %q\nwant %q", got, want)
	}
}

// A blob that cannot be read is an error naming the file and the commit, not a model gone.
func TestUnreadablePolicyIsAnError(t *testing.T) {
	g := newGitCLI(t)
	g.write("models/a.yaml", sepsis{production: "12", threshold: "0.1", generation: 6}.yaml())
	c := g.commit(act{author: alice, at: day(1, 9)}, "Add")
	blob := g.run(nil, "rev-parse", c+":models/a.yaml")
	if err := os.Remove(filepath.Join(g.dir, ".git", "objects", blob[:2], blob[2:])); err != nil {
		t.Fatal(err)
	}
	repo := openStory(t, g.dir)
	hist, err := repo.OpenHistory(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer hist.Close()
	for name, r := range map[string]Repo{"Repo": repo, "History": hist} {
		_, err := Build(context.Background(), r, Options{})
		if err == nil || !strings.Contains(err.Error(), "read models/a.yaml at "+c) {
			t.Errorf("%s: err = %v, want one naming models/a.yaml at %s", name, err, c)
		}
	}
}
