package profilecache

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/medimind/modelops/internal/dataset"
	"github.com/medimind/modelops/internal/drift"
)

func tables(rows int, seed uint64) (ref, cur *dataset.Table) {
	rng := rand.New(rand.NewPCG(seed, 3))
	mk := func(shift float64) *dataset.Table {
		x, y := make([]float64, rows), make([]float64, rows)
		for i := range rows {
			x[i], y[i] = rng.NormFloat64()+shift, float64(rng.IntN(3))
		}
		codes := make([]int32, rows)
		for i := range codes {
			codes[i] = int32(rng.IntN(2))
		}
		return &dataset.Table{Source: "t", Rows: rows, Columns: []dataset.Column{{Name: "x", Float: x}, {Name: "y", Float: y},
			{Name: "site", Codes: codes, Dict: []string{"a", "b"}}}}
	}
	return mk(0), mk(0.5)
}

func stored(t *testing.T, c *Cache, digest string, rows int) (Key, []byte, *dataset.Table) {
	t.Helper()
	ctx := context.Background()
	ref, cur := tables(rows, uint64(len(digest)))
	p, err := drift.NewProfile(ctx, ref, drift.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := p.Compare(ctx, cur)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(rep)
	k := NewKey(digest, PreparationOf(dataset.Options{}, drift.Options{}))
	c.Put(k, ref, p)
	return k, want, cur
}

func TestEntryRoundTripsAndDamageIsAMiss(t *testing.T) {
	ctx := context.Background()
	c, err := Open(t.TempDir(), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	k, want, cur := stored(t, c, "sha256:aa", 500)
	e, ok := c.Get(ctx, k, "ref.csv", drift.Options{})
	if !ok {
		t.Fatal("miss after Put")
	}
	if e.Schema.Source != "ref.csv" || e.Schema.Rows != 500 || len(e.Schema.Columns) != 3 || !e.Schema.Columns[0].IsNumeric() || e.Schema.Columns[2].IsNumeric() {
		t.Fatalf("schema = %+v", e.Schema)
	}
	rep, err := e.Profile.Compare(ctx, cur)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := json.Marshal(rep); !bytes.Equal(got, want) {
		t.Fatalf("report from the entry differs:\n%s\n%s", got, want)
	}
	good, err := os.ReadFile(c.path(k))
	if err != nil {
		t.Fatal(err)
	}
	other := NewKey("sha256:bb", Preparation{})
	for name, bad := range map[string][]byte{
		"a flipped bit in a value": func() []byte { b := bytes.Clone(good); b[len(b)-100] ^= 1; return b }(),
		"truncated":                good[:len(good)/2],
		"empty":                    {},
		"another version":          func() []byte { b := bytes.Clone(good); b[len(fileMagic)] = 9; return b }(),
		"another key's entry":      func() []byte { b := bytes.Clone(good); copy(b[len(fileMagic)+4:], other[:]); return b }(),
	} {
		if err := os.WriteFile(c.path(k), bad, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, ok := c.Get(ctx, k, "ref.csv", drift.Options{}); ok {
			t.Errorf("%s: a hit", name)
		}
		if _, err := os.Stat(c.path(k)); !os.IsNotExist(err) {
			t.Errorf("%s: the damaged entry was kept (%v)", name, err)
		}
	}
	if hits, misses := c.Stats(); hits != 1 || misses != 5 {
		t.Fatalf("hits %d misses %d", hits, misses)
	}
}

func TestEvictsTheEntriesUsedLongestAgo(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	c, err := Open(dir, 1<<40, nil)
	if err != nil {
		t.Fatal(err)
	}
	var keys []Key
	for i, d := range []string{"sha256:1", "sha256:22", "sha256:333"} {
		k, _, _ := stored(t, c, d, 2000)
		keys = append(keys, k)
		// Distinct times of use, oldest first.
		at := time.Now().Add(time.Duration(i-10) * time.Minute)
		if err := os.Chtimes(c.path(k), at, at); err != nil {
			t.Fatal(err)
		}
	}
	info, err := os.Stat(c.path(keys[0]))
	if err != nil {
		t.Fatal(err)
	}
	// The first entry is used again: the second is now the oldest.
	if _, ok := c.Get(ctx, keys[0], "r", drift.Options{}); !ok {
		t.Fatal("miss")
	}
	stale := filepath.Join(dir, tmpPrefix+"crashed")
	if err := os.WriteFile(stale, []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * staleTemp)
	os.Chtimes(stale, old, old)
	c.maxBytes = 3*info.Size() - 1 // room for two of the three, then a fourth
	k4, _, _ := stored(t, c, "sha256:4444", 2000)
	for i, k := range append(keys, k4) {
		_, err := os.Stat(c.path(k))
		if kept, want := err == nil, i == 0 || i == 3; kept != want {
			t.Errorf("entry %d kept = %v, want %v", i+1, kept, want)
		}
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Error("a stale temporary file was kept")
	}
}
