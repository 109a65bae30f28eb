package status

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/medimind/modelops/internal/statecache"
	"github.com/medimind/modelops/internal/testutil/gitserver"
	"github.com/medimind/modelops/reconciler"
)

// openCached opens a store on a fresh clone whose cache persists in path, as a new process
// does, and collects its misses.
func openCached(t *testing.T, url, path string) (*Store, *[]error) {
	t.Helper()
	s := open(t, url)
	var misses []error
	s.PersistTo(path, func(err error) { misses = append(misses, err) })
	return s, &misses
}

func loadModels(t *testing.T, s *Store) map[string]*reconciler.ModelStatus {
	t.Helper()
	st, err := s.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st.Models
}

// TestAPersistedStatusCacheServesOnlyTheBlobsItWasKeyedBy: a new process loads the status a
// previous one saved from the cache file; after another writer moved the branch, the changed
// model is read from git, never from the stale entry; a forged entry is used only under the
// current format, at the very tip and blob it names.
func TestAPersistedStatusCacheServesOnlyTheBlobsItWasKeyedBy(t *testing.T) {
	srv := gitserver.New(t, gitserver.Options{})
	url := srv.Seed(t, "policies.git", "main", "testdata/repo")
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "cache", "status")

	st := sample()
	st.Model("readmission-30d").LaunchedGeneration = 3
	first, _ := openCached(t, url, path)
	if _, err := first.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if err := first.Save(ctx, st, nil, "save"); err != nil {
		t.Fatal(err)
	}
	want := loadModels(t, open(t, url))

	second, misses := openCached(t, url, path)
	if got := loadModels(t, second); !reflect.DeepEqual(got, want) || len(*misses) != 0 {
		t.Fatalf("from the cache file: %+v (misses %v), want %+v", got, *misses, want)
	}

	// Another writer (no cache) raises one model's generation.
	other := open(t, url)
	moved := loadModels(t, other)
	moved["sepsis-risk"].LaunchedGeneration = 9
	if err := other.Save(ctx, &reconciler.Status{Models: moved}, nil, "another writer"); err != nil {
		t.Fatal(err)
	}
	third, _ := openCached(t, url, path)
	got := loadModels(t, third)
	if got["sepsis-risk"].LaunchedGeneration != 9 || got["readmission-30d"].LaunchedGeneration != 3 {
		t.Fatalf("after another writer moved the branch: sepsis-risk generation %d, readmission-30d %d; want 9 and 3",
			got["sepsis-risk"].LaunchedGeneration, got["readmission-30d"].LaunchedGeneration)
	}

	// A forged file at the current tip, claiming other bytes for a model, is used under the
	// current format (the tip is what keys it) and ignored under another.
	tip, _, err := third.repo.BranchTree(ctx, Branch)
	if err != nil {
		t.Fatal(err)
	}
	forged := persistedStatus{Tip: tip, Files: []persistedFile{{Path: "models/forged.json", Hash: "x", Data: []byte(`{"launchedGeneration": 42}`)}}}
	for _, format := range []string{"status/0", cacheFormat} {
		if err := (statecache.File{Path: path, Format: format}).Store(&forged); err != nil {
			t.Fatal(err)
		}
		s, misses := openCached(t, url, path)
		got := loadModels(t, s)
		_, used := got["forged"]
		if used != (format == cacheFormat) {
			t.Fatalf("a cache file of format %s: used %v (misses %v)", format, used, *misses)
		}
		if !used && (len(*misses) != 1 || !strings.Contains((*misses)[0].Error(), "format status/0")) {
			t.Fatalf("misses %v, want the other format's", *misses)
		}
	}
}

func TestACorruptStatusCacheFileIsIgnoredAndRewritten(t *testing.T) {
	srv := gitserver.New(t, gitserver.Options{})
	url := srv.Seed(t, "policies.git", "main", "testdata/repo")
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "status")
	first, _ := openCached(t, url, path)
	if _, err := first.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if err := first.Save(ctx, sample(), nil, "save"); err != nil {
		t.Fatal(err)
	}
	want := loadModels(t, open(t, url))
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]byte{good[:len(good)-7], append(good[:len(good)-1:len(good)-1], good[len(good)-1]^1), []byte("garbage")} {
		if err := os.WriteFile(path, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		s, misses := openCached(t, url, path)
		if got := loadModels(t, s); !reflect.DeepEqual(got, want) {
			t.Fatalf("with a bad cache file: %+v, want %+v", got, want)
		}
		if len(*misses) != 1 || !errors.Is((*misses)[0], statecache.ErrMiss) {
			t.Fatalf("misses %v, want the bad file's", *misses)
		}
		s, misses = openCached(t, url, path)
		if got := loadModels(t, s); !reflect.DeepEqual(got, want) || len(*misses) != 0 {
			t.Fatalf("the file was not rewritten whole: misses %v", *misses)
		}
	}
}
