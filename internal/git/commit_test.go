package git

import (
	"errors"
	"io/fs"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/medimind/modelops/internal/testutil/gitserver"
)

func TestCommitWithTrailersIsReadBackAndPushed(t *testing.T) {
	ctx := testCtx(t)
	srv, url := seeded(t, gitserver.Options{})
	r := mustOpen(t, url, Options{})
	parent, _ := r.Head(ctx, "main")

	when := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	trailers := []Trailer{
		{TrailerAction, "rollback"},
		{TrailerModel, "sepsis-risk"},
		{TrailerReason, "canary AUC dropped 0.031 > 0.02"},
		{TrailerEvidence, "modelops/status:canary/sepsis-risk/13.json"},
	}
	// Names chosen to exercise git's tree order, where a directory sorts
	// as if its name ended in "/": "models-old" < "models/" < "models0".
	files := map[string][]byte{
		"models/sepsis-risk.yaml":     []byte("rolled back\n"),
		"models-old/sepsis-risk.yaml": []byte("old\n"),
		"models0":                     []byte("zero\n"),
		"deep/a/b/c.txt":              []byte("deep\n"),
		"models/readmission.yaml":     nil,
		"data/reference.csv":          nil, // leaves data/ empty: it must vanish
	}
	h, err := r.Commit(ctx, "main", Change{Files: files, Message: "Roll back sepsis-risk canary\n\nAUC regressed.", Trailers: trailers, Author: Signature{Name: bot.Name, Email: bot.Email, When: when}})
	if err != nil {
		t.Fatal(err)
	}
	info, err := r.ReadCommit(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(info.Trailers, trailers) {
		t.Errorf("Trailers = %+v, want %+v", info.Trailers, trailers)
	}
	if !reflect.DeepEqual(info.Parents, []string{parent}) {
		t.Errorf("Parents = %v, want [%s]", info.Parents, parent)
	}
	if !info.Author.When.Equal(when) || info.Author.Name != bot.Name || info.Committer.Email != bot.Email {
		t.Errorf("Author/Committer = %+v / %+v", info.Author, info.Committer)
	}
	if !strings.HasPrefix(info.Message, "Roll back sepsis-risk canary\n\nAUC regressed.\n\nModelops-Action: rollback\n") {
		t.Errorf("Message = %q", info.Message)
	}
	tree, _ := r.Tree(ctx, h)
	for p, want := range files {
		got, err := fs.ReadFile(tree, p)
		switch {
		case want == nil && !errors.Is(err, fs.ErrNotExist):
			t.Errorf("%s: deleted file reads %q, %v", p, got, err)
		case want != nil && string(got) != string(want):
			t.Errorf("%s = %q, %v; want %q", p, got, err, want)
		}
	}
	if _, err := fs.Stat(tree, "data"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("emptied directory data/ still exists: %v", err)
	}

	if srvTip := serverRef(t, srv, "refs/heads/main"); srvTip != parent {
		t.Fatalf("server moved before Push: %s", srvTip)
	}
	if err := r.Push(ctx, "main", false); err != nil {
		t.Fatal(err)
	}
	if got := serverRef(t, srv, "refs/heads/main"); got != h {
		t.Fatalf("server main = %s, want %s", got, h)
	}
	if err := r.Push(ctx, "main", false); err != nil {
		t.Fatalf("second Push of the same commit: %v", err)
	}
	// The real git agrees: objects are well-formed (tree order included)
	// and it reads the same trailers.
	gitserver.MustGit(t, srv.Dir(repoName), "fsck", "--strict")
	out := gitserver.MustGit(t, srv.Dir(repoName), "log", "-1", "--format=%(trailers:key=Modelops-Action,valueonly)%(trailers:key=Modelops-Model,valueonly)", "main")
	if got := strings.Fields(out); !reflect.DeepEqual(got, []string{"rollback", "sepsis-risk"}) {
		t.Errorf("git reads trailers %q", out)
	}
}

func TestCommitIdenticalTreeIsErrNoChange(t *testing.T) {
	ctx := testCtx(t)
	_, url := seeded(t, gitserver.Options{})
	r := mustOpen(t, url, Options{})
	tip, _ := r.Head(ctx, "main")
	same, _ := r.ReadFile(ctx, tip, "models/sepsis-risk.yaml")

	for name, files := range map[string]map[string][]byte{
		"same content":   {"models/sepsis-risk.yaml": same},
		"delete missing": {"models/absent.yaml": nil},
		"nothing":        {},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := r.Commit(ctx, "main", Change{Files: files, Message: "noop", Author: bot})
			if !errors.Is(err, ErrNoChange) {
				t.Fatalf("Commit error = %v, want ErrNoChange", err)
			}
			if got, _ := r.Head(ctx, "main"); got != tip {
				t.Fatalf("branch moved to %s", got)
			}
		})
	}
}

func TestCommitRejectsBadInput(t *testing.T) {
	ctx := testCtx(t)
	_, url := seeded(t, gitserver.Options{})
	r := mustOpen(t, url, Options{})
	tip, _ := r.Head(ctx, "main")
	ok := map[string][]byte{"x": []byte("x")}

	for _, tc := range []struct {
		name   string
		branch string
		change Change
		want   string
	}{
		{"parent dir", "main", Change{Files: map[string][]byte{"../x": {}}, Message: "m", Author: bot}, `path "../x"`},
		{"absolute", "main", Change{Files: map[string][]byte{"/etc/x": {}}, Message: "m", Author: bot}, `path "/etc/x"`},
		{"into .git", "main", Change{Files: map[string][]byte{"a/.GIT/config": {}}, Message: "m", Author: bot}, "must not contain .git"},
		{"double slash", "main", Change{Files: map[string][]byte{"a//b": {}}, Message: "m", Author: bot}, `path "a//b"`},
		{"file over dir", "main", Change{Files: map[string][]byte{"models": {}}, Message: "m", Author: bot}, `path "models": is a directory`},
		{"dir over file", "main", Change{Files: map[string][]byte{"README.md/x": {}}, Message: "m", Author: bot}, `path "README.md": is a file`},
		{"no author", "main", Change{Files: ok, Message: "m"}, "author: expected a name and an email"},
		{"no message", "main", Change{Files: ok, Message: " \n", Author: bot}, "message: expected a non-empty"},
		{"bad trailer key", "main", Change{Files: ok, Message: "m", Trailers: []Trailer{{"Bad Key", "v"}}, Author: bot}, `key "Bad Key"`},
		{"multi-line trailer", "main", Change{Files: ok, Message: "m", Trailers: []Trailer{{TrailerReason, "a\nb"}}, Author: bot}, "Modelops-Reason: value must be a single line"},
		{"newline in the author", "main", Change{Files: ok, Message: "m", Author: Signature{Name: "Ana\nEvil: x", Email: "a@x"}}, "author name: character 4 is the control character U+000A"},
		{"bracket in the email", "main", Change{Files: ok, Message: "m", Author: Signature{Name: "Ana", Email: "a@x> <b@y"}}, "must not contain <, >"},
		{"missing branch", "nope", Change{Files: ok, Message: "m", Author: bot}, "branch not found"},
		{"ref name", "refs/heads/main", Change{Files: ok, Message: "m", Author: bot}, "expected a short branch name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.Commit(ctx, tc.branch, tc.change)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Commit error = %v, want it to contain %q", err, tc.want)
			}
			if got, _ := r.Head(ctx, "main"); got != tip {
				t.Fatalf("branch moved to %s", got)
			}
		})
	}
}

func TestParseTrailers(t *testing.T) {
	for _, tc := range []struct {
		name string
		msg  string
		want []Trailer
	}{
		{"bot commit", "Step canary\n\nbody\n\nModelops-Action: step\nModelops-Model: sepsis-risk\n",
			[]Trailer{{"Modelops-Action", "step"}, {"Modelops-Model", "sepsis-risk"}}},
		{"subject only", "Modelops-Action: step\n", nil},
		{"prose last paragraph", "Fix\n\nThis changes: things and more\nsecond line", nil},
		{"continuation", "S\n\nModelops-Reason: long\n  reason text\nSigned-off-by: A <a@x>",
			[]Trailer{{"Modelops-Reason", "long reason text"}, {"Signed-off-by", "A <a@x>"}}},
		{"crlf and trailing blanks", "S\r\n\r\nModelops-Action: rollback\r\n\r\n\r\n", []Trailer{{"Modelops-Action", "rollback"}}},
		{"value with colon", "S\n\nModelops-Evidence: https://x/y:1", []Trailer{{"Modelops-Evidence", "https://x/y:1"}}},
		{"empty", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ParseTrailers(tc.msg); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ParseTrailers(%q) = %+v, want %+v", tc.msg, got, tc.want)
			}
		})
	}
	// What formatMessage writes, ParseTrailers reads.
	in := []Trailer{{TrailerAction, "rollback"}, {TrailerEvidence, "a: b"}}
	msg, err := formatMessage("Subject", in)
	if err != nil {
		t.Fatal(err)
	}
	if got := ParseTrailers(msg); !reflect.DeepEqual(got, in) {
		t.Fatalf("round trip = %+v, want %+v", got, in)
	}
	if v, ok := TrailerValue(in, "modelops-action"); !ok || v != "rollback" {
		t.Fatalf("TrailerValue = %q, %v", v, ok)
	}
}

// TestControlCharactersNeverReachACommit commits a message and trailers full of control
// characters, as a hostile retrain reason would bring, then lets the git CLI check the
// repository: git fsck finds nothing wrong and git log shows every trailer.
func TestControlCharactersNeverReachACommit(t *testing.T) {
	ctx := testCtx(t)
	srv, url := seeded(t, gitserver.Options{})
	r := mustOpen(t, url, Options{})
	hostile := "drift\x00 \x1b[31mred\x1b[0m\x7f \u0085 \xff end"
	h, err := r.Commit(ctx, "main", Change{
		Files:    map[string][]byte{"x": []byte("x\n")},
		Message:  "modelops: manual retrain request\n\n" + hostile,
		Trailers: []Trailer{{TrailerReason, hostile}, {TrailerModel, "sepsis-risk"}},
		Author:   bot,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Push(ctx, "main", false); err != nil {
		t.Fatal(err)
	}
	dir := srv.Dir(repoName)
	if out, err := gitserver.Git(dir, "fsck", "--strict", "--no-dangling"); err != nil || out != "" {
		t.Fatalf("git fsck: %v\n%s", err, out)
	}
	want := `drift\x00 \x1b[31mred\x1b[0m\x7f \u0085 \xff end`
	got := gitserver.MustGit(t, dir, "log", "-1", "--format=%(trailers:key=Modelops-Reason,valueonly)%(trailers:key=Modelops-Model,valueonly)", h)
	if got != want+"\nsepsis-risk\n\n" {
		t.Fatalf("git log shows the trailers as %q, want %q and the model", got, want)
	}
	if err := CheckText("reason", hostile); err == nil || !strings.Contains(err.Error(), "character 6 is the control character U+0000") {
		t.Fatalf("CheckText = %v, want the NUL named", err)
	}
	if err := CheckText("reason", "two\nlines\tand tabs, ünïcode"); err != nil {
		t.Fatalf("CheckText refused printable text: %v", err)
	}
	if err := CheckLine("by", "ana\nbob"); err == nil {
		t.Fatal("CheckLine accepted a newline")
	}
}

// The reconciler's trailers read back under the declared keys, whichever form carries them.
func TestTrailersReadBackUnderTheDeclaredKeys(t *testing.T) {
	tr := Trailers{Action: "rollback", Model: "sepsis-risk", Reason: "auc dropped", Evidence: "reports/x.json"}
	for name, list := range map[string][]Trailer{"List": tr.List(), "Map": TrailersFrom(tr.Map())} {
		msg, err := formatMessage("Subject", list)
		if err != nil {
			t.Fatal(err)
		}
		got := ParseTrailers(msg)
		for key, want := range map[string]string{TrailerAction: "rollback", TrailerModel: "sepsis-risk", TrailerReason: "auc dropped", TrailerEvidence: "reports/x.json"} {
			if v, ok := TrailerValue(got, key); !ok || v != want {
				t.Errorf("%s: %s = %q, want %q", name, key, v, want)
			}
		}
	}
	if got := (Trailers{Action: "request-retrain", Model: "m"}).List(); !reflect.DeepEqual(got, []Trailer{{TrailerAction, "request-retrain"}, {TrailerModel, "m"}}) {
		t.Errorf("List of action and model = %+v", got)
	}
}

// TestCommitDatesByTheRepoClock: a Signature without When is dated by Options.Now (the
// demo's simulated clock), so the history tells the story in its own dates.
func TestCommitDatesByTheRepoClock(t *testing.T) {
	ctx := testCtx(t)
	_, url := seeded(t, gitserver.Options{})
	at := time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC)
	r := mustOpen(t, url, Options{Now: func() time.Time { return at }})
	given := time.Date(2026, 1, 5, 9, 30, 0, 0, time.UTC)
	for _, c := range []struct {
		author Signature
		want   time.Time
	}{
		{bot, at},
		{Signature{Name: bot.Name, Email: bot.Email, When: given}, given},
	} {
		h, err := r.Commit(ctx, "main", Change{Files: map[string][]byte{"f": []byte(c.want.String())}, Message: "dated", Author: c.author})
		if err != nil {
			t.Fatal(err)
		}
		log, err := r.Log(ctx, "", h, "")
		if err != nil || len(log) == 0 {
			t.Fatalf("log: %v", err)
		}
		if got := log[0].Author.When; !got.Equal(c.want) || !log[0].Committer.When.Equal(c.want) {
			t.Errorf("commit by %+v dated %s, want %s", c.author, got, c.want)
		}
	}
}

// TestBidiAndLineSeparatorsNeverReachACommit: a right-to-left override makes "approved by
// \u202eNAMRON" read as "approved by NORMAN" in a terminal or on a web page (Trojan Source,
// CVE-2021-42574), and U+2028/U+2029 break a line where git sees none. Both are refused at
// the door and escaped in what is written, as control characters are.
func TestBidiAndLineSeparatorsNeverReachACommit(t *testing.T) {
	for _, tc := range []struct{ in, escaped string }{
		{"approved by \u202eNAMRON\u202c ok", `approved by \u202eNAMRON\u202c ok`},
		{"a\u2066b\u2069 \u200f\u061c", `a\u2066b\u2069 \u200f\u061c`},
		{"line\u2028split\u2029para", `line\u2028split\u2029para`},
	} {
		if err := CheckText("reason", tc.in); err == nil {
			t.Errorf("CheckText(%q) accepted it", tc.in)
		}
		if err := CheckLine("by", tc.in); err == nil {
			t.Errorf("CheckLine(%q) accepted it", tc.in)
		}
		if got := EscapeControl(tc.in); got != tc.escaped {
			t.Errorf("EscapeControl(%q) = %q, want %q", tc.in, got, tc.escaped)
		}
	}
	if err := CheckText("reason", "right-to-left text itself is fine: שלום عربي, ünïcode"); err != nil {
		t.Fatalf("CheckText refused printable text: %v", err)
	}
}
