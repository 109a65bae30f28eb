package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/medimind/modelops/internal/datafs"
	"github.com/medimind/modelops/internal/git"
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

// TestDataLinksFollowOneRuleInTheTreeUnderDataRootAndInValidate reads the same data paths
// through the three readers: the tree at a commit (what reconcile reads), a --data-root
// directory, and modelops validate of the checkout. They agree on every symbolic link.
func TestDataLinksFollowOneRuleInTheTreeUnderDataRootAndInValidate(t *testing.T) {
	base := t.TempDir()
	outside := filepath.Join(base, "outside")
	writeFiles(t, outside, map[string]string{"creds.csv": "secret\n1\n"})
	work := filepath.Join(base, "repo")
	const content = "a\n1\n"
	files := map[string]string{
		"data/real/ref.csv":   content,
		"data/inside.csv":     "→ real/ref.csv",
		"data/up.csv":         "→ ../data/real/ref.csv",
		"data/dir":            "→ real",
		"data/chain.csv":      "→ inside.csv",
		"data/chaindir":       "→ dir",
		"data/abs.csv":        "→ " + filepath.Join(outside, "creds.csv"),
		"data/absdir":         "→ " + outside,
		"data/absinside.csv":  "→ " + filepath.Join(work, "data", "real", "ref.csv"),
		"data/escape.csv":     "→ ../../outside/creds.csv",
		"data/escapedir":      "→ ../../outside",
		"data/chainout.csv":   "→ escape.csv",
		"data/down/out.csv":   "→ ../../../outside/creds.csv",
		"data/loop.csv":       "→ loop.csv",
		"data/dangling.csv":   "→ ../../nowhere.csv",
		"data/through/up.csv": "→ ../dir/../../../outside/creds.csv",
	}
	// A chain of datafs.MaxLinks links is followed; one more is refused, as os.Root does.
	for i := 1; i <= 9; i++ {
		next := fmt.Sprintf("n%d.csv", i+1)
		if i == 9 {
			next = "real/ref.csv"
		}
		files[fmt.Sprintf("data/n%d.csv", i)] = "→ " + next
	}
	tests := []struct {
		path string
		link string // the link refused, or "" when the path is read (or missing)
	}{
		{"data/real/ref.csv", ""},
		{"data/inside.csv", ""},
		{"data/up.csv", ""},
		{"data/dir/ref.csv", ""},
		{"data/chain.csv", ""},
		{"data/chaindir/ref.csv", ""},
		{"data/n2.csv", ""},            // eight links
		{"data/n1.csv", "data/n9.csv"}, // nine: the ninth is refused
		{"data/abs.csv", "data/abs.csv"},
		{"data/absdir/creds.csv", "data/absdir"},
		{"data/absinside.csv", "data/absinside.csv"},
		{"data/escape.csv", "data/escape.csv"},
		{"data/escapedir/creds.csv", "data/escapedir"},
		{"data/chainout.csv", "data/escape.csv"},
		{"data/down/out.csv", "data/down/out.csv"},
		{"data/loop.csv", "data/loop.csv"},
		{"data/dangling.csv", "data/dangling.csv"},
		{"data/through/up.csv", "data/through/up.csv"},
		{"data/missing.csv", ""},
	}
	for i, tc := range tests {
		files[fmt.Sprintf("models/m%02d.yaml", i)] = dataPolicy(fmt.Sprintf("m%02d", i), tc.path)
	}
	writeFiles(t, work, files)
	gitserver.MustGit(t, work, "init", "-q", "-b", "main")
	gitserver.MustGit(t, work, "add", "-A")
	gitserver.MustGit(t, work, "commit", "-q", "-m", "data behind links")

	ctx := t.Context()
	repo, err := git.Open(ctx, work, git.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tip, tree, err := repo.BranchTree(ctx, "main")
	if err != nil {
		t.Fatal(err)
	}
	readers := map[string]fs.FS{"tree": datafs.New(tree, "the tree of main at "+tip[:7], "")}
	dataRoot, closeRoot, err := openDataRoot(work)
	if err != nil {
		t.Fatal(err)
	}
	defer closeRoot()
	readers["--data-root"] = dataRoot

	_, out, errOut := runCLI(t, "validate", "-o", "json", work)
	var validated validateResult
	if err := json.Unmarshal([]byte(out), &validated); err != nil {
		t.Fatalf("validate output %q, stderr %s: %v", out, errOut, err)
	}
	for i, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			for name, fsys := range readers {
				b, err := fs.ReadFile(fsys, tc.path)
				var le *datafs.LinkError
				switch {
				case tc.link != "":
					if !errors.As(err, &le) || le.Link != tc.link {
						t.Errorf("%s: read = %q, %v; want the link %s refused", name, b, err, tc.link)
					}
				case tc.path == "data/missing.csv":
					if !errors.Is(err, fs.ErrNotExist) || errors.Is(err, datafs.ErrLink) {
						t.Errorf("%s: read = %q, %v; want not found", name, b, err)
					}
				case err != nil || string(b) != content:
					t.Errorf("%s: read = %q, %v; want %q", name, b, err, content)
				}
			}
			file := filepath.Join(work, "models", fmt.Sprintf("m%02d.yaml", i))
			var problems []string
			for _, e := range validated.Errors {
				if e.File == file {
					problems = append(problems, e.Field+": "+e.Message)
				}
			}
			if tc.link == "" && len(problems) > 0 {
				t.Errorf("validate: %q, want the policy valid", problems)
			}
			if want := "spec.data.reference.path: " + tc.path + ": "; tc.link != "" &&
				(len(problems) != 1 || !strings.HasPrefix(problems[0], want) || !strings.Contains(problems[0], " "+tc.link+" → ")) {
				t.Errorf("validate: %q, want one problem starting %q naming the link %s", problems, want, tc.link)
			}
		})
	}
}

func TestLocalJobsRunInTheCheckoutOrElseInTheirRunDirectory(t *testing.T) {
	for _, bare := range []bool{false, true} {
		t.Run(fmt.Sprintf("bare=%v", bare), func(t *testing.T) {
			cwdFile := filepath.Join(t.TempDir(), "cwd")
			policy := func(gen int) string {
				return fmt.Sprintf(`apiVersion: modelops.medimind.io/v1alpha1
kind: ModelPolicy
metadata:
  name: sepsis-risk
spec:
  production: {version: "12"}
  retrain:
    generation: %d
    schedule: ""
    job:
      command: [sh, -c, 'pwd -P > "%s.tmp" && mv "%s.tmp" "%s"']
      gpus: 0
`, gen, cwdFile, cwdFile, cwdFile)
			}
			work := filepath.Join(t.TempDir(), "work")
			writeFiles(t, work, map[string]string{"models/sepsis-risk.yaml": policy(1)})
			gitserver.MustGit(t, work, "init", "-q", "-b", "main")
			gitserver.MustGit(t, work, "add", "-A")
			gitserver.MustGit(t, work, "commit", "-q", "-m", "generation 1")
			repo := work
			if bare {
				repo = filepath.Join(t.TempDir(), "policies.git")
				gitserver.MustGit(t, work, "clone", "-q", "--bare", work, repo)
			}
			stateDir := t.TempDir()
			reconcile := func() {
				t.Helper()
				if code, out, errOut := runCLI(t, "reconcile", "--once", "--repo", repo, "--state-dir", stateDir); code != 0 {
					t.Fatalf("reconcile: exit %d, %s %s", code, out, errOut)
				}
			}
			reconcile() // generation 1 is adopted
			if err := os.WriteFile(filepath.Join(work, "models", "sepsis-risk.yaml"), []byte(policy(2)), 0o644); err != nil {
				t.Fatal(err)
			}
			gitserver.MustGit(t, work, "commit", "-q", "-am", "generation 2")
			if bare {
				gitserver.MustGit(t, work, "push", "-q", repo, "main")
			}
			reconcile() // generation 2 is launched
			waitFile(t, cwdFile, time.Minute)
			b, err := os.ReadFile(cwdFile)
			if err != nil {
				t.Fatal(err)
			}
			want, err := filepath.EvalSymlinks(work) // the checkout
			if bare {
				want, err = filepath.EvalSymlinks(filepath.Join(stateDir, "runs"))
			}
			if err != nil {
				t.Fatal(err)
			}
			// In the checkout itself; below the runs directory, in the run's own directory.
			if got := strings.TrimSpace(string(b)); got != want && !(bare && strings.HasPrefix(got, want+string(filepath.Separator))) {
				t.Errorf("the job ran in %s, want %s", got, want)
			}
		})
	}
}

func TestDriftAndEvaluateReadAPolicysPathsOnlyInsideTheDataRoot(t *testing.T) {
	base := t.TempDir()
	read := func(dir, name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	writeFiles(t, base, map[string]string{
		"outside/reference.csv": read(driftData, "reference.csv"),
		"outside/p.csv":         read(evaluateData, "ties.csv"),
		"root/current.csv":      read(driftData, "current.csv"),
		"root/reference.csv":    "→ " + filepath.Join(base, "outside", "reference.csv"),
		"root/logs/p.csv":       "→ ../../outside/p.csv",
		"root/model.yaml": `apiVersion: modelops.medimind.io/v1alpha1
kind: ModelPolicy
metadata:
  name: sepsis-risk
spec:
  metrics:
    predictions: {path: logs/p.csv}
`,
	})
	root := filepath.Join(base, "root")
	code, _, errOut := runCLI(t, "drift", "--policy", filepath.Join(driftData, "policy.yaml"), "--data-root", root, "-o", "json")
	if want := "reference.csv: symbolic link reference.csv → " + filepath.Join(base, "outside", "reference.csv") +
		" is absolute; only relative links that stay inside --data-root " + root + " are followed"; code != 2 || !strings.Contains(errOut, want) {
		t.Errorf("drift: exit %d, stderr %q; want 2 and %q", code, errOut, want)
	}
	code, _, errOut = runCLI(t, "evaluate", "--policy", filepath.Join(root, "model.yaml"), "--data-root", root, "-o", "json")
	if want := "logs/p.csv: symbolic link logs/p.csv → ../../outside/p.csv leads outside --data-root " + root; code != 2 || !strings.Contains(errOut, want) {
		t.Errorf("evaluate: exit %d, stderr %q; want 2 and %q", code, errOut, want)
	}
}
