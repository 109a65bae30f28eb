package policies

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/medimind/modelops/internal/statecache"
)

// corpus is a hashFS of every policy file the tests and examples hold: valid ones (with
// several documents, merge keys, canaries, data sources) and invalid ones.
func corpus(t *testing.T) *hashFS {
	t.Helper()
	h := &hashFS{MapFS: fstest.MapFS{}, reads: map[string]int{}}
	for _, glob := range []string{"testdata/valid/*.yaml", "testdata/invalid/*.yaml", "../examples/policy-repo/models/*.yaml"} {
		paths, err := filepath.Glob(glob)
		if err != nil || len(paths) == 0 {
			t.Fatalf("%s: %v", glob, err)
		}
		for _, p := range paths {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			name := strings.TrimPrefix(filepath.ToSlash(p), "../")
			h.MapFS[name] = file(string(data))
		}
	}
	return h
}

// sameSets fails unless got holds exactly the policies (types, files, documents, field
// positions) and errors of want.
func sameSets(t *testing.T, got, want *Set) {
	t.Helper()
	if g, w := errorStrings(got), errorStrings(want); !reflect.DeepEqual(g, w) {
		t.Fatalf("errors:\n%q\nwant\n%q", g, w)
	}
	if len(got.Policies) != len(want.Policies) || len(want.Policies) == 0 {
		t.Fatalf("%d policies, want %d", len(got.Policies), len(want.Policies))
	}
	for i, w := range want.Policies {
		g := got.Policies[i]
		if g.File != w.File || g.Doc != w.Doc || !reflect.DeepEqual(g.ModelPolicy, w.ModelPolicy) {
			t.Fatalf("policy %s (%s#%d) differs from its parse:\n%+v\nwant\n%+v", w.Metadata.Name, w.File, w.Doc, g.ModelPolicy, w.ModelPolicy)
		}
		for _, field := range []string{"metadata.name", "spec.production.version", "spec.retrain.generation", "spec.canary.weight", "spec.nowhere"} {
			gl, gc := g.Position(field)
			wl, wc := w.Position(field)
			if gl != wl || gc != wc {
				t.Fatalf("%s: %s at %d:%d, want %d:%d", w.File, field, gl, gc, wl, wc)
			}
		}
	}
}

func persisted(path string) (*Cache, *[]error) {
	var misses []error
	c := &Cache{}
	c.PersistTo(path, func(err error) { misses = append(misses, err) })
	return c, &misses
}

func TestAPersistedCacheLoadsWhatParsingLoadsWithoutReadingValidFiles(t *testing.T) {
	h := corpus(t)
	want, err := Load(h.MapFS)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cache", "policies")
	first, misses := persisted(path)
	if set, err := LoadCached(h, first); err != nil {
		t.Fatal(err)
	} else {
		sameSets(t, set, want)
	}
	if len(*misses) != 1 || !strings.Contains((*misses)[0].Error(), "no such file") {
		t.Fatalf("the first load's misses: %v, want the absent file only", *misses)
	}

	// Another process: a new Cache on the same file reads only the files with errors.
	clear(h.reads)
	second, misses := persisted(path)
	set, err := LoadCached(h, second)
	if err != nil {
		t.Fatal(err)
	}
	if len(*misses) != 0 {
		t.Fatalf("misses: %v", *misses)
	}
	// Files named in an error are read (for the error's positions); ignore files are
	// looked for. No other file is read.
	inErrors := map[string]bool{}
	for _, e := range want.Errors {
		inErrors[e.(*FieldError).File] = true
	}
	for name, n := range h.reads {
		if n > 0 && !inErrors[name] && !strings.HasSuffix(name, IgnoreFile) {
			t.Errorf("%s was read %d times; its parse is in the cache file", name, n)
		}
	}
	if h.reads["testdata/invalid/canary.yaml"] == 0 {
		t.Error("a file with errors was not parsed again")
	}
	if h.reads["testdata/valid/minimal.yaml"] != 0 {
		t.Fatal("a valid file was read before its positions were asked for")
	}
	sameSets(t, set, want)
	// sameSets asked for positions: they were found by reading the file again.
	if h.reads["testdata/valid/minimal.yaml"] == 0 {
		t.Error("a policy's positions were found without its file")
	}
}

func TestACorruptOrTruncatedCacheFileIsIgnoredAndRewritten(t *testing.T) {
	h := corpus(t)
	want, err := Load(h.MapFS)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "policies")
	c, _ := persisted(path)
	if _, err := LoadCached(h, c); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	damaged := append([]byte(nil), good...)
	damaged[len(damaged)/2] ^= 0xff
	for _, tc := range []struct {
		name    string
		content []byte
	}{
		{"truncated", good[:len(good)/2]},
		{"damaged", damaged},
		{"empty", nil},
		{"not a cache", []byte("apiVersion: v1\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(path, tc.content, 0o600); err != nil {
				t.Fatal(err)
			}
			c, misses := persisted(path)
			set, err := LoadCached(h, c)
			if err != nil {
				t.Fatalf("a bad cache file made the load fail: %v", err)
			}
			sameSets(t, set, want)
			if len(*misses) != 1 || !strings.Contains((*misses)[0].Error(), "cache miss") {
				t.Fatalf("misses %v, want the bad file's", *misses)
			}
			// The file was written again, whole: the next process uses it.
			clear(h.reads)
			c, misses = persisted(path)
			if _, err := LoadCached(h, c); err != nil || len(*misses) != 0 || h.reads["testdata/valid/minimal.yaml"] != 0 {
				t.Fatalf("after the rewrite: %v, misses %v, reads %v", err, *misses, h.reads)
			}
		})
	}
}

// TestACacheFileOfAnotherFormatVersionIsIgnored writes, for a file's very key, an entry that
// says something else, under another format version: it must never be used.
func TestACacheFileOfAnotherFormatVersionIsIgnored(t *testing.T) {
	h := &hashFS{MapFS: fstest.MapFS{"models/a.yaml": file(policyYAML("a"))}, reads: map[string]int{}}
	key, err := h.FileHash("models/a.yaml")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "policies")
	forged := persistedCache{Entries: []persistedEntry{{Name: "models/a.yaml", Key: key, Docs: []int{0},
		Policies: [][]byte{[]byte(`{"apiVersion":"modelops.medimind.io/v1alpha1","kind":"ModelPolicy","metadata":{"name":"forged"}}`)}}}}
	for _, format := range []string{"policies/0", "policies/2"} {
		if err := (statecache.File{Path: path, Format: format}).Store(&forged); err != nil {
			t.Fatal(err)
		}
		c, misses := persisted(path)
		set, err := LoadCached(h, c)
		if err != nil {
			t.Fatal(err)
		}
		if got := names(set); !reflect.DeepEqual(got, []string{"a@models/a.yaml"}) {
			t.Fatalf("with a cache file of format %s: %q, want a.yaml parsed", format, got)
		}
		if len(*misses) != 1 || !strings.Contains((*misses)[0].Error(), "format "+format) {
			t.Fatalf("misses %v", *misses)
		}
	}
	// The same forged entry in the current format is used: the version is what kept it out.
	if err := (statecache.File{Path: path, Format: cacheFormat}).Store(&forged); err != nil {
		t.Fatal(err)
	}
	c, _ := persisted(path)
	set, err := LoadCached(h, c)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(set); !reflect.DeepEqual(got, []string{"forged@models/a.yaml"}) {
		t.Fatalf("with the forged entry in the current format: %q", got)
	}
}

func TestAChangedPolicyBlobIsParsedAgain(t *testing.T) {
	h := &hashFS{MapFS: fstest.MapFS{
		"models/a.yaml": file(policyYAML("a")),
		"models/b.yaml": file(policyYAML("b")),
	}, reads: map[string]int{}}
	path := filepath.Join(t.TempDir(), "policies")
	c, _ := persisted(path)
	if _, err := LoadCached(h, c); err != nil {
		t.Fatal(err)
	}
	h.MapFS["models/b.yaml"] = file(strings.Replace(policyYAML("b"), `version: "1"`, `version: "2"`, 1))
	clear(h.reads)
	c, _ = persisted(path)
	set, err := LoadCached(h, c)
	if err != nil {
		t.Fatal(err)
	}
	if got := set.Get("b"); got == nil || got.Spec.Production.Version != "2" {
		t.Fatalf("b after its change: %+v", got)
	}
	if h.reads["models/b.yaml"] != 1 || h.reads["models/a.yaml"] != 0 {
		t.Fatalf("reads %v, want the changed b.yaml alone", h.reads)
	}
	// The file now holds b's new parse.
	clear(h.reads)
	c, _ = persisted(path)
	if set, err = LoadCached(h, c); err != nil || set.Get("b").Spec.Production.Version != "2" || h.reads["models/b.yaml"] != 0 {
		t.Fatalf("the next process: %v, reads %v", err, h.reads)
	}
}
