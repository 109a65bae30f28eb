package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medimind/modelops/internal/audit"
	"github.com/medimind/modelops/internal/testutil/gitserver"
)

const auditPolicy = `apiVersion: modelops.medimind.io/v1alpha1
kind: ModelPolicy
metadata:
  name: sepsis-risk
spec:
  production: {version: "12"}
  retrain:
    generation: GEN
    job: {image: train:1, command: [python, train.py]}
`

// auditRepo makes a repository with three commits: a policy added, its generation raised by
// the bot (with trailers), and the file moved.
func auditRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	write := func(name, gen string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(strings.Replace(auditPolicy, "GEN", gen, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gitserver.MustGit(t, dir, "init", "-q", "-b", "main")
	write("models/sepsis.yaml", "6")
	gitserver.MustGit(t, dir, "add", "-A")
	gitserver.MustGit(t, dir, "commit", "-q", "-m", "Add sepsis-risk")
	write("models/sepsis.yaml", "7")
	gitserver.MustGit(t, dir, "commit", "-q", "-a", "-m", "Retrain sepsis-risk", "-m", "Modelops-Action: propose-retrain\nModelops-Reason: drift")
	gitserver.MustGit(t, dir, "mv", "models/sepsis.yaml", "models/sepsis-risk.yaml")
	gitserver.MustGit(t, dir, "commit", "-q", "-m", "Rename")
	return dir
}

func auditKinds(t *testing.T, out string) []string {
	t.Helper()
	var tl audit.Timeline
	if err := json.Unmarshal([]byte(out), &tl); err != nil {
		t.Fatalf("decode output: %v\n%s", err, out)
	}
	var kinds []string
	for _, e := range tl.Events {
		var ks []string
		for _, k := range e.Kinds {
			ks = append(ks, string(k))
		}
		kinds = append(kinds, strings.Join(ks, ","))
	}
	return kinds
}

func TestAuditLocalAndOverHTTP(t *testing.T) {
	dir := auditRepo(t)
	want := "added retrain moved"

	code, out, errOut := runCLI(t, "audit", "--repo", dir, "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if got := strings.Join(auditKinds(t, out), " "); got != want {
		t.Errorf("local kinds = %q, want %q", got, want)
	}

	// The same history served over HTTP, mirrored into the state directory.
	srv := gitserver.New(t, gitserver.Options{})
	gitserver.MustGit(t, dir, "init", "-q", "--bare", "-b", "main", srv.Dir("policies.git"))
	gitserver.MustGit(t, dir, "push", "-q", srv.Dir("policies.git"), "main")
	code, out, errOut = runCLI(t, "audit", "sepsis-risk", "--repo", srv.URL("policies.git"), "--state-dir", t.TempDir(), "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d over http: %s", code, errOut)
	}
	if got := strings.Join(auditKinds(t, out), " "); got != want {
		t.Errorf("http kinds = %q, want %q", got, want)
	}

	// The default table names the change and the bot's reason.
	code, out, errOut = runCLI(t, "audit", "--repo", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "TIME (UTC)") ||
		!strings.Contains(lines[2], "spec.retrain.generation 6 → 7") || !strings.Contains(lines[2], "action: propose-retrain; reason: drift") ||
		!strings.Contains(lines[3], "moved models/sepsis.yaml → models/sepsis-risk.yaml") {
		t.Errorf("table:\n%s", out)
	}
	code, out, _ = runCLI(t, "audit", "--repo", dir, "-o", "markdown")
	if code != 0 || !strings.Contains(out, "## `sepsis-risk`") {
		t.Errorf("markdown exit %d:\n%s", code, out)
	}
}

func TestAuditExitStatus(t *testing.T) {
	dir := auditRepo(t)
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"a bad date is invalid input", []string{"--since", "31/01/2026"}, 2, `--since: expected a date (2026-01-31)`},
		{"an unknown model is invalid input", []string{"no-such-model"}, 2, `unknown model "no-such-model"`},
		{"an unknown format is invalid input", []string{"-o", "xml"}, 2, `--output "xml"`},
		{"two models are invalid input", []string{"a", "b"}, 2, "at most one MODEL"},
		{"a missing branch is a failure", []string{"--branch", "nope"}, 1, "nope"},
		{"a date after every commit is no events", []string{"--since", "2999-01-01", "-o", "json"}, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, append([]string{"audit", "--repo", dir}, tc.args...)...)
			if code != tc.code || !strings.Contains(errOut, tc.msg) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut, tc.code, tc.msg)
			}
			if tc.code == 0 && len(auditKinds(t, out)) != 0 {
				t.Errorf("events after 2999: %s", out)
			}
		})
	}
	code, _, errOut := runCLI(t, "audit", "--repo", filepath.Join(t.TempDir(), "missing"))
	if code != 1 {
		t.Errorf("a missing repository: exit %d (%s), want 1", code, errOut)
	}
}
