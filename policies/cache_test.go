package policies

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/medimind/modelops/internal/testutil/benchcpu"
)

// byFile returns the policies of set by file name.
func byFile(set *Set) map[string]*Policy {
	m := map[string]*Policy{}
	for _, p := range set.Policies {
		m[p.File] = p
	}
	return m
}

func TestLoadCachedReparsesOnlyChangedFiles(t *testing.T) {
	fsys := fstest.MapFS{
		"models/a.yaml":   file(policyYAML("a")),
		"models/b.yaml":   file(policyYAML("b")),
		"models/c.yaml":   file(policyYAML("c")),
		"models/bad.yaml": file("apiVersion: modelops.medimind.io/v1alpha1\nkind: ModelPolicy\nmetadata: {name: Bad}\n"),
	}
	var c Cache
	first, err := LoadCached(fsys, &c)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(first); !reflect.DeepEqual(got, []string{"a@models/a.yaml", "b@models/b.yaml", "c@models/c.yaml"}) {
		t.Fatalf("first load: %q", got)
	}
	if len(first.Errors) != 1 {
		t.Fatalf("first load errors: %q", errorStrings(first))
	}

	fsys["models/b.yaml"] = file(strings.Replace(policyYAML("b"), `version: "1"`, `version: "2"`, 1))
	delete(fsys, "models/c.yaml")
	fsys["models/d.yaml"] = file(policyYAML("d"))
	second, err := LoadCached(fsys, &c)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(second); !reflect.DeepEqual(got, []string{"a@models/a.yaml", "b@models/b.yaml", "d@models/d.yaml"}) {
		t.Fatalf("second load: %q", got)
	}
	before, after := byFile(first), byFile(second)
	if after["models/a.yaml"] != before["models/a.yaml"] {
		t.Error("the unchanged a.yaml was parsed again")
	}
	if after["models/b.yaml"] == before["models/b.yaml"] || after["models/b.yaml"].Spec.Production.Version != "2" {
		t.Error("the changed b.yaml was not parsed again")
	}
	if len(second.Errors) != 1 || second.Errors[0] != first.Errors[0] {
		t.Errorf("the errors of the unchanged bad.yaml were not reused: %q", errorStrings(second))
	}
	if c.Len() != 4 {
		t.Errorf("the cache holds %d files, want the 4 of the tree (c.yaml dropped)", c.Len())
	}

	// c.yaml comes back with the same content: its entry was dropped, so it is parsed anew.
	fsys["models/c.yaml"] = file(policyYAML("c"))
	third, err := LoadCached(fsys, &c)
	if err != nil {
		t.Fatal(err)
	}
	if byFile(third)["models/c.yaml"] == before["models/c.yaml"] {
		t.Error("c.yaml was served from an entry that should have been dropped")
	}
}

func TestLoadCachedChecksNamesAcrossFilesEveryTime(t *testing.T) {
	fsys := fstest.MapFS{
		"a.yaml": file(policyYAML("sepsis")),
		"b.yaml": file(policyYAML("other")),
	}
	var c Cache
	first, err := LoadCached(fsys, &c)
	if err != nil {
		t.Fatal(err)
	}
	fsys["b.yaml"] = file("# copy\n" + policyYAML("sepsis"))
	second, err := LoadCached(fsys, &c)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`a.yaml:4:9: metadata.name: duplicate name "sepsis", also defined at b.yaml:5:9`,
		`b.yaml:5:9: metadata.name: duplicate name "sepsis", also defined at a.yaml:4:9`,
	}
	if len(second.Policies) != 0 || !reflect.DeepEqual(errorStrings(second), want) {
		t.Errorf("got %q and errors %q, want no policy and %q", names(second), errorStrings(second), want)
	}
	fsys["b.yaml"] = file(policyYAML("other"))
	third, err := LoadCached(fsys, &c)
	if err != nil {
		t.Fatal(err)
	}
	if len(third.Errors) != 0 || byFile(third)["a.yaml"] != byFile(first)["a.yaml"] {
		t.Errorf("after the fix: %q, errors %q; want a.yaml's policy of the first load back", names(third), errorStrings(third))
	}
}

// hashFS is a MapFS that knows the hash of each file, as a git tree does, and counts reads.
type hashFS struct {
	fstest.MapFS
	mu    sync.Mutex // guards reads
	reads map[string]int
}

func (h *hashFS) FileHash(name string) (string, error) {
	f, ok := h.MapFS[name]
	if !ok {
		return "", &fs.PathError{Op: "hash", Path: name, Err: fs.ErrNotExist}
	}
	return fmt.Sprintf("%x", sha256.Sum256(f.Data)), nil
}

func (h *hashFS) ReadFile(name string) ([]byte, error) {
	h.mu.Lock()
	h.reads[name]++
	h.mu.Unlock()
	return h.MapFS.ReadFile(name)
}

func TestLoadCachedDoesNotReadFilesWhoseHashIsKnown(t *testing.T) {
	h := &hashFS{MapFS: fstest.MapFS{
		"a.yaml":          file(policyYAML("a")),
		"b.yaml":          file(policyYAML("b")),
		".modelopsignore": file("skip.yaml\n"),
		"skip.yaml":       file("broken: [yaml"),
	}, reads: map[string]int{}}
	var c Cache
	if _, err := LoadCached(h, &c); err != nil {
		t.Fatal(err)
	}
	if h.reads["a.yaml"] != 1 || h.reads["b.yaml"] != 1 {
		t.Fatalf("first load read %v, want a.yaml and b.yaml once", h.reads)
	}
	h.MapFS["b.yaml"] = file(policyYAML("b2"))
	set, err := LoadCached(h, &c)
	if err != nil {
		t.Fatal(err)
	}
	if h.reads["a.yaml"] != 1 || h.reads["b.yaml"] != 2 || h.reads["skip.yaml"] != 0 {
		t.Errorf("second load read %v, want only the changed b.yaml again", h.reads)
	}
	if got := names(set); !reflect.DeepEqual(got, []string{"a@a.yaml", "b2@b.yaml"}) {
		t.Errorf("policies = %q", got)
	}
}

func TestLoadCachedReportsHashAndReadErrors(t *testing.T) {
	h := &hashFS{MapFS: fstest.MapFS{"a.yaml": file(policyYAML("a"))}, reads: map[string]int{}}
	var c Cache
	if _, err := LoadCached(brokenHash{h}, &c); err == nil || !strings.Contains(err.Error(), "hash a.yaml: ") {
		t.Errorf("LoadCached with a failing FileHash: %v", err)
	}
	unreadable := failingRead{MapFS: fstest.MapFS{"a.yaml": file(policyYAML("a")), "b.yaml": file(policyYAML("b"))}, name: "b.yaml"}
	if _, err := LoadCached(unreadable, &c); err == nil || !strings.Contains(err.Error(), "read b.yaml: ") {
		t.Errorf("LoadCached with an unreadable file: %v", err)
	}
	if c.Len() != 0 {
		t.Errorf("a failed load left %d entries in the cache", c.Len())
	}
}

// failingRead is a MapFS whose file name cannot be read.
type failingRead struct {
	fstest.MapFS
	name string
}

func (f failingRead) Open(name string) (fs.File, error) {
	if name == f.name {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
	}
	return f.MapFS.Open(name)
}

func (f failingRead) ReadFile(name string) ([]byte, error) {
	if name == f.name {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
	}
	return f.MapFS.ReadFile(name)
}

// brokenHash is a hashFS whose FileHash fails.
type brokenHash struct{ *hashFS }

func (brokenHash) FileHash(name string) (string, error) {
	return "", errors.New("object store unavailable")
}

func TestLoadCachedIsSafeForConcurrentUse(t *testing.T) {
	trees := []fstest.MapFS{{}, {}}
	for i := range 40 {
		name := fmt.Sprintf("m%02d", i)
		trees[0][name+".yaml"] = file(policyYAML(name))
		trees[1][name+".yaml"] = file(strings.Replace(policyYAML(name), `"1"`, `"2"`, 1))
	}
	var c Cache
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			tree := trees[i%2]
			for range 5 {
				set, err := LoadCached(tree, &c)
				if err != nil {
					t.Error(err)
					return
				}
				want := fmt.Sprint(1 + i%2)
				for _, p := range set.Policies {
					if p.Spec.Production.Version != want {
						t.Errorf("%s: version %s from the other tree, want %s", p.File, p.Spec.Production.Version, want)
						return
					}
				}
				if len(set.Policies) != 40 {
					t.Errorf("loaded %d policies, want 40", len(set.Policies))
					return
				}
			}
		})
	}
	wg.Wait()
}

// hashedDirFS is a directory whose files' hashes are known without reading them, as the blob
// hashes of a git tree are.
type hashedDirFS struct {
	fs.FS
	hashes map[string]string
}

func (h hashedDirFS) FileHash(name string) (string, error) {
	if s, ok := h.hashes[name]; ok {
		return s, nil
	}
	return "", &fs.PathError{Op: "hash", Path: name, Err: fs.ErrNotExist}
}

func (h hashedDirFS) ReadDir(name string) ([]fs.DirEntry, error) { return fs.ReadDir(h.FS, name) }

// BenchmarkLoadCached10k measures the reconciler's load of an unchanged tree of 10,000
// realistic policies (those of BenchmarkLoad10k) after a first load has filled the cache:
// with the files' hashes known (a git tree), and with every file read and hashed (a
// directory).
func BenchmarkLoadCached10k(b *testing.B) {
	const n = 10000
	root := writeBenchRepo(b, n)
	hashes := map[string]string{}
	err := fs.WalkDir(os.DirFS(root), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(filepath.Join(root, name))
		hashes[name] = fmt.Sprintf("%x", sha256.Sum256(data))
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		fsys fs.FS
	}{
		{"hashes", hashedDirFS{os.DirFS(root), hashes}},
		{"bytes", os.DirFS(root)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var c Cache
			first, err := LoadCached(bc.fsys, &c)
			if err != nil || len(first.Policies) != n {
				b.Fatalf("first load: %d policies, %v", len(first.Policies), err)
			}
			b.ResetTimer()
			defer benchcpu.Report(b, "s")()
			for b.Loop() {
				set, err := LoadCached(bc.fsys, &c)
				if err != nil {
					b.Fatal(err)
				}
				if len(set.Policies) != n || len(set.Errors) != 0 || set.Policies[0] != first.Policies[0] {
					b.Fatalf("loaded %d policies and %d errors, want the %d of the first load", len(set.Policies), len(set.Errors), n)
				}
			}
		})
	}
}
