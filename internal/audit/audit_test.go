package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output; got:\n%s", path, got)
	}
}

func TestTimelineOfTheStory(t *testing.T) {
	st := buildStory(t)
	repo := openStory(t, st.dir)
	tl, err := Build(context.Background(), repo, Options{})
	if err != nil {
		t.Fatal(err)
	}

	var table, md bytes.Buffer
	if err := tl.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	if err := tl.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	golden(t, "story.table.golden", table.Bytes())
	golden(t, "story.markdown.golden", md.Bytes())

	// The JSON form, decoded, holds the whole story.
	var js bytes.Buffer
	if err := tl.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var got Timeline
	if err := json.Unmarshal(js.Bytes(), &got); err != nil {
		t.Fatalf("decode JSON: %v\n%s", err, js.String())
	}
	type row struct {
		model, kinds, what string
	}
	var rows []row
	for _, e := range got.Events {
		rows = append(rows, row{e.Model, kindList(e.Kinds), strings.Join(e.What(), "; ")})
	}
	want := []row{
		{"readmission-30d", "added", "added in models/readmission.yaml"},
		{"sepsis-risk", "added", "added in models/sepsis-risk.yaml"},
		{"sepsis-risk", "change", "spec.drift.threshold 0.1 → 0.15"},
		{"readmission-30d", "change", "metadata.labels.tier added gold"},
		{"sepsis-risk", "canary", `spec.canary added {"uri":"models:/sepsis-risk/13","version":"13","weight":25}`},
		{"sepsis-risk", "rollback", `spec.canary removed (was {"uri":"models:/sepsis-risk/13","version":"13","weight":25})`},
		{"readmission-30d", "moved", "moved models/readmission.yaml → models/team/readmission-30d.yaml"},
		{"sepsis-risk", "invalid", "models/sepsis-risk.yaml:10:19: spec.drift.datasetShare: must be between 0 and 1, got 1.5"},
		{"sepsis-risk", "fixed", "spec.drift.datasetShare 0.5 → 0.6"},
		{"sepsis-risk", "retrain", "spec.retrain.generation 6 → 7"},
		{"sepsis-risk", "promotion", "spec.production.version 12 → 13; spec.production.uri models:/sepsis-risk/12 → models:/sepsis-risk/13"},
		{"readmission-30d", "removed", "removed from models/team/readmission-30d.yaml"},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("events:\n got %q\nwant %q", rows, want)
	}

	byCommit := map[string]Event{}
	for _, e := range got.Events {
		byCommit[e.Commit+"/"+e.Model] = e
	}
	// The pull request merge: Dave merged, Carol wrote both commits, PR 42.
	m := byCommit[st.merge+"/sepsis-risk"]
	if m.Merge == nil || m.Merge.MergedBy.Name != "Dave Diaz" || m.PullRequest != 42 {
		t.Fatalf("merge event = %+v", m)
	}
	if n := len(m.Merge.Commits); n != 2 || m.Merge.Commits[0].Subject != "sepsis-risk: canary 13 at 10%" || m.Merge.Commits[1].Author.Name != "Carol Chen" {
		t.Errorf("merged commits = %+v", m.Merge.Commits)
	}
	// The rollback: the bot's trailers say why.
	rb := byCommit[st.rollback+"/sepsis-risk"]
	if reason := trailer(rb, "Modelops-Reason"); reason != "AUC fell 0.04 below production in 2 checks" {
		t.Errorf("rollback reason = %q", reason)
	}
	// The proposal merge links the record version that names it, with its evidence, and
	// carries the trailers of the proposal's commit.
	pm := byCommit[st.proposalMrg+"/sepsis-risk"]
	if pm.Merge == nil || pm.Merge.Proposal == nil {
		t.Fatalf("proposal merge = %+v", pm)
	}
	p := pm.Merge.Proposal
	if p.ID != "sepsis-risk/retrain" || p.State != "merged" || p.RecordCommit == "" ||
		p.Evidence != "6 of the last 10 drift reports drifted (share ≥ 0.5)" || p.Record != "modelops/status:proposals/sepsis-risk/retrain.json" {
		t.Errorf("proposal = %+v", p)
	}
	if a := trailer(pm, "Modelops-Action"); a != "propose-retrain" {
		t.Errorf("proposal merge action = %q", a)
	}
	if pm.Merge.MergedBy.Name != "Frank Fox" || pm.Author.Name != "Frank Fox" {
		t.Errorf("proposal merged by %+v", pm.Merge.MergedBy)
	}
	// Bob wrote the threshold change, Alice committed it.
	th := got.Events[2]
	if th.Author.Name != "Bob Brown" || th.Committer.Name != "Alice Adams" || th.Merge != nil {
		t.Errorf("threshold change who = %+v / %+v", th.Author, th.Committer)
	}
}

func trailer(e Event, key string) string {
	for _, t := range e.Trailers {
		if t.Key == key {
			return t.Value
		}
	}
	return ""
}

func TestOneModelSince(t *testing.T) {
	st := buildStory(t)
	repo := openStory(t, st.dir)
	since, err := ParseSince("2026-01-11")
	if err != nil {
		t.Fatal(err)
	}
	tl, err := Build(context.Background(), repo, Options{Model: "readmission-30d", Since: since})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range tl.Events {
		if e.Model != "readmission-30d" {
			t.Errorf("event of %s in an audit of readmission-30d", e.Model)
		}
		kinds = append(kinds, kindList(e.Kinds))
	}
	if want := []string{"moved", "removed"}; !reflect.DeepEqual(kinds, want) {
		t.Errorf("kinds = %q, want %q", kinds, want)
	}

	// A model that never existed is an error; one that existed only before Since is not.
	if _, err := Build(context.Background(), repo, Options{Model: "no-such-model"}); !errors.Is(err, ErrUnknownModel) {
		t.Errorf("unknown model: err = %v", err)
	}
	late, _ := ParseSince("2026-01-18T00:00:00Z")
	tl, err = Build(context.Background(), repo, Options{Model: "sepsis-risk", Since: late})
	if err != nil || len(tl.Events) != 0 {
		t.Errorf("sepsis-risk since the 18th: %v, %d events", err, len(tl.Events))
	}
}

func TestParseSince(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		ok   bool
	}{
		{"2026-01-31", "2026-01-31T00:00:00Z", true},
		{"2026-01-31T08:00:00+01:00", "2026-01-31T07:00:00Z", true},
		{"31/01/2026", "", false},
		{"2026-02-30", "", false},
		{"", "", false},
	} {
		got, err := ParseSince(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("ParseSince(%q) error = %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if tc.ok && got.UTC().Format("2006-01-02T15:04:05Z07:00") != tc.want {
			t.Errorf("ParseSince(%q) = %s, want %s", tc.in, got.UTC(), tc.want)
		}
	}
}

// A file that stops parsing leaves its models invalid, not removed, and a move of an invalid
// policy is still a move.
func TestSyntaxErrorKeepsTheModelInvalid(t *testing.T) {
	g := newGitCLI(t)
	s := sepsis{production: "12", threshold: "0.1", generation: 6}
	g.write("models/sepsis-risk.yaml", s.yaml())
	g.commit(act{author: alice, at: day(1, 9)}, "Add")
	g.write("models/sepsis-risk.yaml", s.yaml()+"  drift: [unclosed\n")
	g.commit(act{author: alice, at: day(2, 9)}, "Break the YAML")
	g.run(nil, "mv", "models/sepsis-risk.yaml", "models/sepsis.yaml")
	g.commit(act{author: alice, at: day(3, 9)}, "Rename while broken")
	g.write("models/sepsis.yaml", s.yaml())
	g.commit(act{author: alice, at: day(4, 9)}, "Fix")

	tl, err := Build(context.Background(), openStory(t, g.dir), Options{Model: "sepsis-risk"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range tl.Events {
		got = append(got, kindList(e.Kinds)+" "+e.File)
	}
	want := []string{"added models/sepsis-risk.yaml", "invalid models/sepsis-risk.yaml", "invalid,moved models/sepsis.yaml", "fixed models/sepsis.yaml"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events = %q, want %q", got, want)
	}
	if e := tl.Events[1].Error; !strings.HasPrefix(e, "models/sepsis-risk.yaml:") || !strings.Contains(e, "invalid YAML") {
		t.Errorf("error = %q", e)
	}
}
