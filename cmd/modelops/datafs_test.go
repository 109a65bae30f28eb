package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medimind/modelops/internal/testutil/gitserver"
)

// dataPolicy is a model whose drift check reads reference from path and current from
// data/current.csv.
func dataPolicy(name, reference string) string {
	return fmt.Sprintf(`apiVersion: modelops.medimind.io/v1alpha1
kind: ModelPolicy
metadata:
  name: %s
spec:
  data:
    reference: {path: %s}
    current: {path: data/current.csv}
    categorical: [ward, sex]
    exclude: [id]
`, name, reference)
}

// writeFiles writes files (path → content; content "→ target" makes a symbolic link) below dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		if target, ok := strings.CutPrefix(content, "→ "); ok {
			err = os.Symlink(target, p)
		} else {
			err = os.WriteFile(p, []byte(content), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// bareRepo commits files on main in a fresh repository and returns a bare clone of it.
func bareRepo(t *testing.T, files map[string]string) string {
	t.Helper()
	work := filepath.Join(t.TempDir(), "work")
	writeFiles(t, work, files)
	gitserver.MustGit(t, work, "init", "-q", "-b", "main")
	gitserver.MustGit(t, work, "add", "-A")
	gitserver.MustGit(t, work, "commit", "-q", "-m", "policies and data")
	bare := filepath.Join(t.TempDir(), "policies.git")
	gitserver.MustGit(t, filepath.Dir(bare), "clone", "-q", "--bare", work, bare)
	return bare
}

func TestReconcileOfABareRepositoryReadsDataFromTheTreeAtTheTip(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(driftData, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	secret := filepath.Join(t.TempDir(), "creds.csv")
	if err := os.WriteFile(secret, []byte("password_of_the_host,x\n1,2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bare := bareRepo(t, map[string]string{
		"models/committed.yaml": dataPolicy("committed", "data/reference.csv"),
		"models/linked.yaml":    dataPolicy("linked", "data/latest/reference.csv"),
		"models/untracked.yaml": dataPolicy("untracked", "data/untracked.csv"),
		"models/leak.yaml":      dataPolicy("leak", "data/leak.csv"),
		"data/reference.csv":    read("reference.csv"),
		"data/current.csv":      read("current.csv"),
		"data/latest":           "→ .", // a link to a directory, inside the tree
		"data/leak.csv":         "→ " + secret,
	})
	// A file in the process's working directory, here the bare repository's own directory,
	// is not in the tree: it must not be read.
	writeFiles(t, bare, map[string]string{"data/untracked.csv": read("reference.csv")})
	t.Chdir(bare)

	code, out, errOut := runCLI(t, "reconcile", "--once", "--repo", ".", "--state-dir", t.TempDir(), "-o", "json")
	var res struct {
		Commit  string
		Actions []struct {
			Action struct{ Kind, Model string }
			Detail string
			Error  string
		}
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("exit %d, output %q, stderr %s: %v", code, out, errOut, err)
	}
	got := map[string]string{}
	for _, a := range res.Actions {
		if a.Action.Kind == "check-drift" {
			got[a.Action.Model] = a.Error
		}
	}
	tip := res.Commit[:12]
	want := map[string]string{
		"committed": "",
		"linked":    "",
		"untracked": "check drift of untracked: data/untracked.csv: not in the tree of main at " + tip + " (pass --data-root for untracked files)",
		"leak":      "check drift of leak: data/leak.csv: symbolic link data/leak.csv → " + secret + " is absolute; only relative links that stay inside the tree of main at " + tip + " are followed",
	}
	for model, w := range want {
		if g, ok := got[model]; !ok || g != w {
			t.Errorf("drift check of %s: error %q (ran: %v), want %q", model, g, ok, w)
		}
	}
	if code != 1 {
		t.Errorf("exit %d, want 1 (two drift checks failed)", code)
	}
	if all := out + errOut + gitserver.MustGit(t, bare, "log", "-p", "modelops/status"); strings.Contains(all, "password_of_the_host") {
		t.Error("the header of a file outside the repository was read")
	}
}
