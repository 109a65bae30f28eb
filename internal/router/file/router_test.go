package file

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/medimind/modelops/reconciler"
)

var (
	stable = reconciler.Traffic{Production: "12", ProductionURI: "models:/sepsis-risk/12"}
	canary = reconciler.Traffic{Production: "12", ProductionURI: "models:/sepsis-risk/12",
		Canary: "13", CanaryURI: "models:/sepsis-risk/13", Weight: 25}
)

func TestSetThenGetRoundTrips(t *testing.T) {
	ctx := context.Background()
	r := New(t.TempDir())
	for _, want := range []reconciler.Traffic{canary, stable, {Production: "7", Canary: "8", Weight: 100}, {Production: "7", Canary: "8"}} {
		if err := r.Set(ctx, "sepsis-risk", want); err != nil {
			t.Fatalf("Set(%+v): %v", want, err)
		}
		got, err := r.Get(ctx, "sepsis-risk")
		if err != nil {
			t.Fatalf("Get after Set(%+v): %v", want, err)
		}
		if got != want {
			t.Errorf("Get = %+v, want %+v", got, want)
		}
	}
}

func TestFileLayoutIsWhatServersRead(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r := New(dir)
	if err := r.Set(ctx, "sepsis-risk", canary); err != nil {
		t.Fatal(err)
	}
	var doc map[string]map[string]any
	readJSON(t, filepath.Join(dir, "sepsis-risk.json"), &doc)
	wantProd := map[string]any{"version": "12", "uri": "models:/sepsis-risk/12", "weight": 75.0}
	wantCanary := map[string]any{"version": "13", "uri": "models:/sepsis-risk/13", "weight": 25.0}
	if fmt.Sprint(doc["production"]) != fmt.Sprint(wantProd) || fmt.Sprint(doc["canary"]) != fmt.Sprint(wantCanary) || len(doc) != 2 {
		t.Errorf("file = %v, want production %v and canary %v", doc, wantProd, wantCanary)
	}

	if err := r.Set(ctx, "sepsis-risk", stable); err != nil {
		t.Fatal(err)
	}
	doc = nil
	readJSON(t, filepath.Join(dir, "sepsis-risk.json"), &doc)
	if _, ok := doc["canary"]; ok || doc["production"]["weight"] != 100.0 {
		t.Errorf("without a canary the file = %v, want production at weight 100 and no canary", doc)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func TestGetOfUnroutedModelIsErrNotRouted(t *testing.T) {
	r := New(filepath.Join(t.TempDir(), "not-yet-created"))
	_, err := r.Get(context.Background(), "sepsis-risk")
	if !errors.Is(err, reconciler.ErrNotRouted) {
		t.Fatalf("Get = %v, want ErrNotRouted", err)
	}
}

func TestSetIsIdempotent(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r := New(dir)
	path := r.Path("sepsis-risk")
	if err := r.Set(ctx, "sepsis-risk", canary); err != nil {
		t.Fatal(err)
	}
	// Backdate the file so that any rewrite, however fast, shows as a new mtime.
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	before := stat(t, path)

	if err := r.Set(ctx, "sepsis-risk", canary); err != nil {
		t.Fatal(err)
	}
	after := stat(t, path)
	if !after.ModTime().Equal(old) || !os.SameFile(before, after) {
		t.Errorf("setting the same split rewrote the file: mtime %v -> %v, same file %v", old, after.ModTime(), os.SameFile(before, after))
	}

	changed := canary
	changed.Weight = 50
	if err := r.Set(ctx, "sepsis-risk", changed); err != nil {
		t.Fatal(err)
	}
	if st := stat(t, path); st.ModTime().Equal(old) {
		t.Errorf("setting a new split left the mtime at %v", old)
	}
	if got, err := r.Get(ctx, "sepsis-risk"); err != nil || got != changed {
		t.Errorf("Get = %+v, %v; want %+v", got, err, changed)
	}
}

func stat(t *testing.T, path string) os.FileInfo {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestConcurrentReadersNeverSeePartialFile has readers poll the file while a writer
// alternates between two splits: every read must be one split or the other, whole.
func TestConcurrentReadersNeverSeePartialFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r := New(dir)
	a, b := canary, canary
	// Long URIs make a torn write likely to be visible if writes were not atomic.
	a.CanaryURI = "models:/sepsis-risk/13?" + strings.Repeat("a", 8192)
	b.Weight, b.CanaryURI = 50, "models:/sepsis-risk/13?"+strings.Repeat("b", 4096)
	if err := r.Set(ctx, "sepsis-risk", a); err != nil {
		t.Fatal(err)
	}

	const writes, readers = 100, 3
	var done atomic.Bool
	var reads atomic.Int64
	errs := make(chan error, readers)
	var wg sync.WaitGroup
	for range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !done.Load() {
				got, err := Read(dir, "sepsis-risk")
				if err != nil {
					errs <- err
					return
				}
				if got != a && got != b {
					errs <- fmt.Errorf("read a split that was never written: weight %d, canary URI of %d bytes", got.Weight, len(got.CanaryURI))
					return
				}
				reads.Add(1)
			}
		}()
	}
	for i := range writes {
		next := a
		if i%2 == 0 {
			next = b
		}
		if err := r.Set(ctx, "sepsis-risk", next); err != nil {
			t.Fatal(err)
		}
	}
	done.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if reads.Load() == 0 {
		t.Fatal("readers read nothing while the writer ran")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		names := []string{}
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want only sepsis-risk.json (no temporary files left)", names)
	}
}

func TestCorruptFileIsAClearError(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    []string // substrings of the error, after the file's path
	}{
		{"empty file", "", []string{"empty file"}},
		{"truncated JSON", `{"production": {"version": "12",`, []string{"truncated JSON"}},
		{"syntax error gives line and column", "{\n  \"production\": {\"version\": \"12\", \"weight\": 100},\n  \"canary\": nope\n}\n", []string{":3:14:", "invalid character"}},
		{"wrong type names the field", "{\"production\": {\"version\": \"12\", \"weight\": \"all\"}}", []string{":1:", "production.weight", "want int", "got JSON string"}},
		{"unknown field", `{"production": {"version": "12", "weight": 100}, "shadow": {}}`, []string{`unknown field "shadow"`}},
		{"trailing data", "{\"production\": {\"version\": \"12\", \"weight\": 100}}\n{}", []string{":2:1:", "unexpected data after the JSON object"}},
		{"weights not summing to 100", `{"production": {"version": "12", "weight": 80}, "canary": {"version": "13", "weight": 10}}`, []string{"production.weight: want 90 so that the weights sum to 100, got 80"}},
		{"production version missing", `{"production": {"weight": 100}}`, []string{"production.version: required"}},
		{"canary weight out of range", `{"production": {"version": "12", "weight": -20}, "canary": {"version": "13", "weight": 120}}`, []string{"canary.weight: want 0..100, got 120"}},
		{"canary version missing", `{"production": {"version": "12", "weight": 90}, "canary": {"weight": 10}}`, []string{"canary.version: required"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "sepsis-risk.json")
			if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := New(dir).Get(context.Background(), "sepsis-risk")
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Get = %v, want an error wrapping ErrInvalid", err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, path) {
				t.Errorf("error %q does not start with the file %s", msg, path)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
		})
	}
}

func TestSetReplacesCorruptFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r := New(dir)
	if err := os.WriteFile(r.Path("sepsis-risk"), []byte(`{"production": {"vers`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := r.Set(ctx, "sepsis-risk", canary); err != nil {
		t.Fatal(err)
	}
	if got, err := r.Get(ctx, "sepsis-risk"); err != nil || got != canary {
		t.Errorf("Get = %+v, %v; want %+v", got, err, canary)
	}
}

func TestInvalidSplitOrModelIsRefusedAndNothingWritten(t *testing.T) {
	tests := []struct {
		name  string
		model string
		t     reconciler.Traffic
		want  string
	}{
		{"no production version", "sepsis-risk", reconciler.Traffic{Canary: "13", Weight: 10}, "no production version"},
		{"weight above 100", "sepsis-risk", reconciler.Traffic{Production: "12", Canary: "13", Weight: 101}, "canary weight 101: want 0..100"},
		{"negative weight", "sepsis-risk", reconciler.Traffic{Production: "12", Canary: "13", Weight: -1}, "canary weight -1: want 0..100"},
		{"weight without canary", "sepsis-risk", reconciler.Traffic{Production: "12", Weight: 10}, "without a canary version"},
		{"model name leaving the directory", "../etc", stable, `model name "../etc"`},
		{"model name with a slash", "a/b", stable, `model name "a/b"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			err := New(dir).Set(context.Background(), tc.model, tc.t)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Set = %v, want an error containing %q", err, tc.want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("a refused Set left %d entries in the directory", len(entries))
			}
		})
	}
	if _, err := Read(t.TempDir(), "../etc"); err == nil || !strings.Contains(err.Error(), `model name "../etc"`) {
		t.Errorf("Read of a bad model name = %v, want it refused", err)
	}
}

// TestFileModeIgnoresUmask is not parallel: it changes the process umask.
func TestFileModeIgnoresUmask(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	ctx := context.Background()
	dir := t.TempDir()

	r := New(dir)
	if err := r.Set(ctx, "sepsis-risk", canary); err != nil {
		t.Fatal(err)
	}
	if mode := stat(t, r.Path("sepsis-risk")).Mode().Perm(); mode != DefaultFileMode {
		t.Errorf("mode = %v, want %v whatever the umask", mode, DefaultFileMode)
	}

	// A new mode applies to an unchanged file without rewriting it.
	path := r.Path("sepsis-risk")
	before := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(path, before, before); err != nil {
		t.Fatal(err)
	}
	if err := New(dir, WithFileMode(0o640)).Set(ctx, "sepsis-risk", canary); err != nil {
		t.Fatal(err)
	}
	st := stat(t, path)
	if st.Mode().Perm() != 0o640 || !st.ModTime().Equal(before) {
		t.Errorf("after Set with mode 0640: mode %v, mtime %v; want -rw-r----- and mtime unchanged %v", st.Mode().Perm(), st.ModTime(), before)
	}
}

func TestUnwritableDirectoryIsAnError(t *testing.T) {
	// A regular file where the directory should be fails for root too (unlike chmod 0555).
	parent := t.TempDir()
	blocker := filepath.Join(parent, "traffic")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	err := New(blocker).Set(context.Background(), "sepsis-risk", canary)
	if err == nil || !strings.Contains(err.Error(), blocker) {
		t.Fatalf("Set = %v, want an error naming %s", err, blocker)
	}
}

func TestCancelledContextIsReturned(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()
	if err := New(dir).Set(ctx, "sepsis-risk", canary); !errors.Is(err, context.Canceled) {
		t.Errorf("Set = %v, want context.Canceled", err)
	}
	if _, err := New(dir).Get(ctx, "sepsis-risk"); !errors.Is(err, context.Canceled) {
		t.Errorf("Get = %v, want context.Canceled", err)
	}
}
