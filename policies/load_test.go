package policies

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/hashicorp/go-multierror"

	"github.com/medimind/modelops/internal/testutil/benchcpu"
)

func policyYAML(name string) string {
	return fmt.Sprintf("apiVersion: modelops.medimind.io/v1alpha1\nkind: ModelPolicy\nmetadata:\n  name: %s\nspec:\n  production: {version: \"1\"}\n", name)
}

func file(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }

func names(s *Set) []string {
	var out []string
	for _, p := range s.Policies {
		out = append(out, p.Metadata.Name+"@"+p.File)
	}
	return out
}

func errorStrings(s *Set) []string {
	var out []string
	for _, e := range s.Errors {
		out = append(out, e.Error())
	}
	return out
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name     string
		fsys     fstest.MapFS
		policies []string
		errs     []string
	}{
		{
			name: "yaml and yml files anywhere are read, other files are not",
			fsys: fstest.MapFS{
				"models/a.yaml":     file(policyYAML("a")),
				"models/deep/b.yml": file(policyYAML("b")),
				"c.yaml":            file(policyYAML("c")),
				"models/d.json":     file(policyYAML("d")),
				"README.md":         file(policyYAML("e")),
			},
			policies: []string{"a@models/a.yaml", "b@models/deep/b.yml", "c@c.yaml"},
		},
		{
			name: "the .git directory is skipped",
			fsys: fstest.MapFS{
				"models/a.yaml":      file(policyYAML("a")),
				".git/config.yaml":   file(policyYAML("x")),
				"sub/.git/hook.yaml": file("not: [valid"),
			},
			policies: []string{"a@models/a.yaml"},
		},
		{
			name: "paths in .modelopsignore are skipped, with gitignore syntax and negation",
			fsys: fstest.MapFS{
				".modelopsignore":            file("# drafts\n*.draft.yaml\narchive/\n!keep.draft.yaml\n"),
				"models/a.yaml":              file(policyYAML("a")),
				"models/b.draft.yaml":        file("broken: [yaml"),
				"models/keep.draft.yaml":     file(policyYAML("keep")),
				"archive/old.yaml":           file(policyYAML("a")),
				"models/archive/x.yaml":      file(policyYAML("a")),
				"models/archive.yaml":        file(policyYAML("archived")),
				"models/sub/.modelopsignore": file("local.yaml\n"),
				"models/sub/local.yaml":      file("broken: [yaml"),
				"models/sub/other.yaml":      file(policyYAML("other")),
				"local.yaml":                 file(policyYAML("local")),
			},
			policies: []string{"a@models/a.yaml", "archived@models/archive.yaml", "keep@models/keep.draft.yaml", "local@local.yaml", "other@models/sub/other.yaml"},
		},
		{
			name: "a duplicate name names both files and lines, and neither is kept",
			fsys: fstest.MapFS{
				"models/a.yaml": file(policyYAML("sepsis")),
				"models/b.yaml": file("# copy\n" + policyYAML("sepsis")),
				"models/c.yaml": file(policyYAML("other")),
			},
			policies: []string{"other@models/c.yaml"},
			errs: []string{
				`models/a.yaml:4:9: metadata.name: duplicate name "sepsis", also defined at models/b.yaml:5:9`,
				`models/b.yaml:5:9: metadata.name: duplicate name "sepsis", also defined at models/a.yaml:4:9`,
			},
		},
		{
			name: "an invalid file does not stop the others, and errors come sorted by file and line",
			fsys: fstest.MapFS{
				"z.yaml": file(strings.Replace(policyYAML("z"), `version: "1"`, `version: "1", uri: [x]`, 1)),
				"a.yaml": file("apiVersion: modelops.medimind.io/v1alpha1\nkind: ModelPolicy\nmetadata: {name: Bad}\nspec: {bogus: 1}\n"),
				"m.yaml": file(policyYAML("m")),
			},
			policies: []string{"m@m.yaml"},
			errs: []string{
				`a.yaml:3:18: metadata.name: must be a DNS-1123 label, got "Bad": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
				"a.yaml:4:8: spec.bogus: unknown field, expected one of suspend, production, canary, data, drift, metrics, retrain, promotion, canaryAnalysis, registry",
				"z.yaml:6:35: spec.production.uri: expected a single value, got a list",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := Load(tt.fsys)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got := names(set); !reflect.DeepEqual(got, tt.policies) {
				t.Errorf("policies:\n got %q\nwant %q", got, tt.policies)
			}
			if got := errorStrings(set); !reflect.DeepEqual(got, tt.errs) {
				t.Errorf("errors:\n got %q\nwant %q", got, tt.errs)
			}
			if (set.Err() == nil) != (len(tt.errs) == 0) {
				t.Errorf("Err() = %v with %d errors", set.Err(), len(tt.errs))
			}
		})
	}
}

func TestSetErrIsAMultierrorOfFieldErrors(t *testing.T) {
	set, err := Load(fstest.MapFS{"a.yaml": file("apiVersion: modelops.medimind.io/v1alpha1\nkind: ModelPolicy\nmetadata: {}\nspec: {canary: {weight: 101}}\n")})
	if err != nil {
		t.Fatal(err)
	}
	var merr *multierror.Error
	if !errors.As(set.Err(), &merr) || len(merr.Errors) != 4 {
		t.Fatalf("Err() = %#v, want a *multierror.Error of 4", set.Err())
	}
	for _, e := range merr.Errors {
		if _, ok := e.(*FieldError); !ok {
			t.Errorf("%v is %T, want *FieldError", e, e)
		}
	}
	want := "a.yaml:3:11: metadata.name: is required\n" +
		"a.yaml:4:16: spec.canary: a canary needs spec.production to compare with\n" +
		"a.yaml:4:16: spec.canary.version: is required\n" +
		"a.yaml:4:25: spec.canary.weight: must be between 0 and 100, got 101"
	if got := set.Err().Error(); got != want {
		t.Errorf("Err().Error():\n%s\nwant\n%s", got, want)
	}
}

// A data path naming a directory passes neither validate nor the reconciler, whose drift
// check failed with "read data/sepsis: read sepsis: is a directory" after validate said the
// policy was valid.
func TestLoadDirRejectsDataPathsThatAreDirectories(t *testing.T) {
	root := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(root, "data", "sepsis"), 0o755))
	must(t, os.Symlink("sepsis", filepath.Join(root, "data", "linked")))
	must(t, os.MkdirAll(filepath.Join(root, "models"), 0o755))
	policy := policyYAML("a") + "  data:\n    reference: {path: data/sepsis}\n    current: {path: data/linked}\n"
	must(t, os.WriteFile(filepath.Join(root, "models", "a.yaml"), []byte(policy), 0o644))
	set, err := LoadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`models/a.yaml:8:23: spec.data.reference.path: data/sepsis: is a directory; expected a data file`,
		`models/a.yaml:9:21: spec.data.current.path: data/linked: is a directory; expected a data file`,
	}
	if got := errorStrings(set); len(set.Policies) != 0 || !reflect.DeepEqual(got, want) {
		t.Errorf("policies %q, errors:\n got %q\nwant %q", names(set), got, want)
	}
}

// A log (spec.data.source) may be a directory partitioned by day; a link leaving the
// repository is refused there too.
func TestLoadDirTakesALogDirectoryAndRefusesAnEscapingOne(t *testing.T) {
	root := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(root, "logs", "features", "date=2026-12-01"), 0o755))
	must(t, os.Symlink("../..", filepath.Join(root, "logs", "outside")))
	must(t, os.MkdirAll(filepath.Join(root, "models"), 0o755))
	windows := "    reference: {last: 180d}\n    current: {last: 7d}\n"
	must(t, os.WriteFile(filepath.Join(root, "models", "a.yaml"), []byte(policyYAML("a")+"  data:\n    source: {path: logs/features, timestamp: ts}\n"+windows), 0o644))
	must(t, os.WriteFile(filepath.Join(root, "models", "b.yaml"), []byte(policyYAML("b")+"  data:\n    source: {path: logs/outside, timestamp: ts}\n"+windows), 0o644))
	set, err := LoadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`models/b.yaml:8:20: spec.data.source.path: logs/outside: symbolic link logs/outside → ../.. leads outside the repository`}
	if got := errorStrings(set); !reflect.DeepEqual(names(set), []string{"a@models/a.yaml"}) || !reflect.DeepEqual(got, want) {
		t.Errorf("policies %q, errors:\n got %q\nwant %q", names(set), got, want)
	}
}

func TestLoadDirReadsTheExampleRepositoryClean(t *testing.T) {
	set, err := LoadDir("../examples/policy-repo")
	if err != nil {
		t.Fatal(err)
	}
	if err := set.Err(); err != nil {
		t.Fatalf("the examples are invalid:\n%v", err)
	}
	want := []string{
		"deterioration-wearable@models/deterioration-wearable.yaml",
		"readmission-30d@models/readmission-30d.yaml",
		"sepsis-risk@models/sepsis-risk.yaml",
	}
	if got := names(set); !reflect.DeepEqual(got, want) {
		t.Errorf("policies = %q, want %q (drafts, notes and kustomization skipped)", got, want)
	}
	if p := set.Get("sepsis-risk"); p == nil || p.Spec.Data.Groups["omics"].Pattern == "" {
		t.Errorf("Get(sepsis-risk) = %v, want the policy with its omics pattern", p)
	}
	if set.Get("nope") != nil {
		t.Error("Get(nope) found a policy")
	}
}

func TestLoadDirRejectsDataPathsThatSymlinkOutOfTheRoot(t *testing.T) {
	outside := t.TempDir()
	root := t.TempDir()
	write := func(rel, content string) {
		t.Helper()
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	withData := func(name, ref, cur string) string {
		return policyYAML(name) + fmt.Sprintf("  data:\n    reference: {path: %s}\n    current: {path: %s}\n", ref, cur)
	}
	write("data/inside/ref.csv", "a\n1\n")
	must(t, os.Symlink(outside, filepath.Join(root, "data", "escape")))
	must(t, os.Symlink("inside", filepath.Join(root, "data", "ok")))
	must(t, os.Symlink("../../../../../../../nowhere", filepath.Join(root, "data", "dangling")))
	write("models/a.yaml", withData("a", "data/escape/ref.csv", "data/inside/ref.csv"))
	write("models/b.yaml", withData("b", "data/ok/ref.csv", "data/not-yet/current.csv"))
	write("models/c.yaml", withData("c", "data/inside/ref.csv", "data/dangling"))

	set, err := LoadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(set), []string{"b@models/b.yaml"}; !reflect.DeepEqual(got, want) {
		t.Errorf("policies = %q, want %q", got, want)
	}
	errs := errorStrings(set)
	if len(errs) != 2 ||
		errs[0] != `models/a.yaml:8:23: spec.data.reference.path: data/escape/ref.csv: symbolic link data/escape → `+outside+` is absolute; only relative links that stay inside the repository are followed` ||
		errs[1] != `models/c.yaml:9:21: spec.data.current.path: data/dangling: symbolic link data/dangling → ../../../../../../../nowhere leads outside the repository` {
		t.Errorf("errors = %q", errs)
	}
}

// A policy file that is a symbolic link is refused, as that file's error, by validate
// (LoadDir) and by the reconciler (Load on a git tree, where the link is a blob holding its
// target) alike: validate used to follow a link inside the root and call the policy valid
// while the reconciler silently skipped it, and to stop on a link out of the root with an
// I/O error. The other files load.
func TestPolicyFilesThatAreSymbolicLinksAreRefusedByValidateAndTheReconcilerAlike(t *testing.T) {
	root := t.TempDir()
	for _, dir := range []string{"shared", "models/team-a", "models/team-b"} {
		must(t, os.MkdirAll(filepath.Join(root, dir), 0o755))
	}
	outside := filepath.Join(t.TempDir(), "x.yaml")
	must(t, os.WriteFile(outside, []byte(policyYAML("x")), 0o644))
	must(t, os.WriteFile(filepath.Join(root, "shared", "a.yml"), []byte(policyYAML("a")), 0o644))
	must(t, os.WriteFile(filepath.Join(root, "models", "team-a", "b.yaml"), []byte(policyYAML("b")), 0o644))
	must(t, os.Symlink("../../shared/a.yml", filepath.Join(root, "models", "team-a", "a.yaml")))
	must(t, os.Symlink("b.yaml", filepath.Join(root, "models", "team-a", "c.yaml")))
	must(t, os.Symlink(outside, filepath.Join(root, "models", "team-b", "x.yaml")))
	const refused = ": is a symbolic link (to %s); policies are read from regular files only: commit the policy itself, or list the link in .modelopsignore"
	want := []string{
		"models/team-a/a.yaml" + fmt.Sprintf(refused, "../../shared/a.yml"),
		"models/team-a/c.yaml" + fmt.Sprintf(refused, "b.yaml"),
		"models/team-b/x.yaml" + fmt.Sprintf(refused, outside),
	}
	wantPolicies := []string{"a@shared/a.yml", "b@models/team-a/b.yaml"}

	dir, err := LoadDir(root)
	if err != nil {
		t.Fatalf("LoadDir: %v", err)
	}
	// A git tree lists a link with fs.ModeSymlink and its target as content, as this MapFS does.
	link := func(target string) *fstest.MapFile {
		return &fstest.MapFile{Data: []byte(target), Mode: fs.ModeSymlink}
	}
	tree, err := Load(fstest.MapFS{
		"shared/a.yml":         file(policyYAML("a")),
		"models/team-a/b.yaml": file(policyYAML("b")),
		"models/team-a/a.yaml": link("../../shared/a.yml"),
		"models/team-a/c.yaml": link("b.yaml"),
		"models/team-b/x.yaml": link(outside),
	})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	for name, set := range map[string]*Set{"LoadDir": dir, "Load": tree} {
		if got := errorStrings(set); !reflect.DeepEqual(got, want) {
			t.Errorf("%s errors:\n got %q\nwant %q", name, got, want)
		}
		if got := names(set); !reflect.DeepEqual(got, wantPolicies) {
			t.Errorf("%s policies = %q, want %q", name, got, wantPolicies)
		}
	}
}

func TestLoadDirFailsOnAMissingRoot(t *testing.T) {
	if _, err := LoadDir(filepath.Join(t.TempDir(), "absent")); err == nil {
		t.Fatal("LoadDir of a missing directory succeeded")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// BenchmarkLoad10k measures LoadDir on a repository of 10,000 realistic policy files: the
// three example policies in turn, renamed, in 50 team directories.
func BenchmarkLoad10k(b *testing.B) {
	const n = 10000
	root := writeBenchRepo(b, n)
	// The CPU time per load is reported beside the wall time: on a shared machine the wall
	// time says more about the neighbours than about LoadDir.
	b.ResetTimer()
	defer benchcpu.Report(b, "s")()
	for b.Loop() {
		set, err := LoadDir(root)
		if err != nil {
			b.Fatal(err)
		}
		if len(set.Policies) != n || len(set.Errors) != 0 {
			b.Fatalf("loaded %d policies and %d errors (%v), want %d and none", len(set.Policies), len(set.Errors), set.Err(), n)
		}
	}
}

// writeBenchRepo writes a repository of n realistic policy files below a temporary directory
// and returns its root: the three example policies in turn, renamed, in 50 team directories.
func writeBenchRepo(b *testing.B, n int) string {
	b.Helper()
	root := b.TempDir()
	examples, err := filepath.Glob("../examples/policy-repo/models/*.yaml")
	if err != nil {
		b.Fatal(err)
	}
	var templates []string
	for _, e := range examples {
		if strings.HasSuffix(e, ".draft.yaml") {
			continue
		}
		data, err := os.ReadFile(e)
		if err != nil {
			b.Fatal(err)
		}
		name := strings.TrimSuffix(filepath.Base(e), ".yaml")
		templates = append(templates, strings.ReplaceAll(string(data), "name: "+name, "name: NAME"))
	}
	for i := range n {
		dir := filepath.Join(root, "models", fmt.Sprintf("team-%02d", i%50))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		name := fmt.Sprintf("model-%05d", i)
		data := strings.Replace(templates[i%len(templates)], "name: NAME", "name: "+name, 1)
		if err := os.WriteFile(filepath.Join(dir, name+".yaml"), []byte(data), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return root
}

func TestLoadChecksTheRepositoryConfigBesideThePolicies(t *testing.T) {
	policy := "apiVersion: modelops.medimind.io/v1alpha1\nkind: ModelPolicy\nmetadata: {name: a}\nspec: {production: {version: \"1\"}}\n"
	good := "apiVersion: modelops.medimind.io/v1alpha1\nkind: RepositoryConfig\nspec:\n  labels: [modelops]\n"
	set, err := Load(fstest.MapFS{"models/a.yaml": {Data: []byte(policy)}, RepositoryConfigFile: {Data: []byte(good)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Errors) != 0 || len(set.Policies) != 1 {
		t.Fatalf("a valid repository config: %d policies, errors %v; want 1 and none", len(set.Policies), set.Errors)
	}
	bad := "apiVersion: modelops.medimind.io/v1alpha1\nkind: RepositoryConfig\nspec:\n  lables: [modelops]\n"
	set, err = Load(fstest.MapFS{"models/a.yaml": {Data: []byte(policy)}, RepositoryConfigFile: {Data: []byte(bad)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Policies) != 1 || len(set.Errors) != 1 || !strings.HasPrefix(set.Errors[0].Error(), ".modelops.yaml:4:3: spec.lables") {
		t.Fatalf("a misspelt repository config key: %d policies, errors %v; want the policy and one error at .modelops.yaml:4:3", len(set.Policies), set.Errors)
	}
}

func TestReadFileReadsToTheEndWhateverTheSizeItExpects(t *testing.T) {
	dir := t.TempDir()
	want := []byte(strings.Repeat("# a policy file longer than one read of 512 bytes\n", 100))
	if err := os.WriteFile(filepath.Join(dir, "p.yaml"), want, 0o644); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	// -1 is unknown; the others are what a listing made before the file changed would say.
	for _, size := range []int64{-1, 0, 1, 511, int64(len(want)) - 1, int64(len(want)), int64(len(want)) + 1, 1 << 20} {
		got, err := readFile(root, "p.yaml", size)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("readFile expecting %d bytes: got %d bytes (equal: %v), error %v; want the %d bytes of the file", size, len(got), bytes.Equal(got, want), err, len(want))
		}
	}
	if _, err := readFile(root, "missing.yaml", -1); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("readFile of a missing file: error %v, want fs.ErrNotExist", err)
	}
}

func TestPolicyFilesOverOneMiBAreRefusedUnread(t *testing.T) {
	// A policy padded with a comment past the limit: valid YAML, so only the size refuses it.
	huge := policyYAML("huge") + "# " + strings.Repeat("x", MaxFileBytes) + "\n"
	want := fmt.Sprintf("models/huge.yaml: file is %d bytes, more than the 1048576 bytes (1 MiB) a policy file may have", len(huge))
	dir := t.TempDir()
	for name, content := range map[string]string{"models/a.yaml": policyYAML("a"), "models/huge.yaml": huge} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for how, load := range map[string]func() (*Set, error){
		"directory": func() (*Set, error) { return LoadDir(dir) },
		"fs": func() (*Set, error) {
			return Load(fstest.MapFS{"models/a.yaml": file(policyYAML("a")), "models/huge.yaml": file(huge)})
		},
	} {
		set, err := load()
		if err != nil {
			t.Fatal(err)
		}
		// The other policies load.
		if got := names(set); !reflect.DeepEqual(got, []string{"a@models/a.yaml"}) {
			t.Errorf("%s: policies %q, want only a", how, got)
		}
		if got := errorStrings(set); !reflect.DeepEqual(got, []string{want}) {
			t.Errorf("%s: errors %q\nwant %q", how, got, want)
		}
	}
	if _, err := Parse("huge.yaml", []byte(huge)); err == nil || !strings.Contains(err.Error(), "more than the 1048576 bytes") {
		t.Errorf("Parse: got %v", err)
	}
}
