package driftcheck

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/medimind/modelops/internal/datafs"
	"github.com/medimind/modelops/internal/dataset"
	"github.com/medimind/modelops/internal/drift"
	"github.com/medimind/modelops/internal/git"
	"github.com/medimind/modelops/internal/objstore"
	"github.com/medimind/modelops/internal/profilecache"
	"github.com/medimind/modelops/internal/testutil/gitserver"
	"github.com/medimind/modelops/internal/testutil/s3fake"
)

// mixedTables is a reference and a current table with numeric columns (one shifted, one
// with a few distinct values, one with missing cells and a stray word), a categorical one
// with a category new in the current data and an identifier to exclude.
func mixedTables(rows int) (ref, cur *dataset.Table) {
	rng := rand.New(rand.NewPCG(7, 11))
	mk := func(shift float64, wards []string) *dataset.Table {
		t := &dataset.Table{Rows: rows}
		id, lac, few, gene := make([]float64, rows), make([]float64, rows), make([]float64, rows), make([]float64, rows)
		ward := dataset.Column{Name: "ward", Dict: wards, Codes: make([]int32, rows)}
		for i := range rows {
			id[i] = float64(i)
			lac[i] = rng.NormFloat64() + shift
			few[i] = float64(rng.IntN(4))
			gene[i] = rng.ExpFloat64()
			if i%37 == 0 {
				gene[i] = nan()
			}
			ward.Codes[i] = int32(rng.IntN(len(wards)))
			if i%53 == 0 {
				ward.Codes[i] = -1
			}
		}
		t.Columns = []dataset.Column{{Name: "patient_id", Float: id}, {Name: "lactate", Float: lac},
			{Name: "grade", Float: few}, {Name: "gene_a", Float: gene}, ward}
		return t
	}
	return mk(0, []string{"icu", "er"}), mk(0.4, []string{"icu", "er", "ward-7"})
}

func nan() float64 { return math.NaN() }

func writeTable(t *testing.T, path string, tab *dataset.Table) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(path, ".parquet") {
		err = dataset.WriteParquet(f, tab)
	} else {
		err = dataset.WriteCSV(f, tab)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func plan(cache *profilecache.Cache) Plan {
	share := 0.3
	return Plan{
		Read: dataset.Options{Exclude: []string{"patient_id"}, Categorical: []string{"grade"}},
		Compare: drift.Options{Exclude: []string{"patient_id"}, Categorical: []string{"grade"}, AllTests: true, DatasetShare: &share,
			Groups: []drift.Group{{Name: "omics", Pattern: "^gene_"}, {Name: "labs", Features: []string{"lactate", "grade"}}}},
		Profiles: cache,
	}
}

func reportJSON(t *testing.T, rep *drift.Report) []byte {
	t.Helper()
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCachedReportsAreByteIdentical compares a CSV and a Parquet pair without the cache,
// then twice with it (a miss that stores, a hit that reads only the current file): the
// three JSON reports are the same bytes.
func TestCachedReportsAreByteIdentical(t *testing.T) {
	ctx := context.Background()
	for _, ext := range []string{".csv", ".parquet"} {
		t.Run(ext, func(t *testing.T) {
			dir := t.TempDir()
			ref, cur := mixedTables(3000)
			refPath, curPath := filepath.Join(dir, "ref"+ext), filepath.Join(dir, "cur"+ext)
			writeTable(t, refPath, ref)
			writeTable(t, curPath, cur)
			uncached, err := CompareSources(ctx, Source{Path: refPath}, Source{Path: curPath}, plan(nil))
			if err != nil {
				t.Fatal(err)
			}
			want := reportJSON(t, uncached)
			cache, err := profilecache.Open(filepath.Join(dir, "profiles"), 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 2 {
				var seen []string
				p := plan(cache)
				p.Reference = func(ref *dataset.Table) error {
					for _, c := range ref.Columns {
						seen = append(seen, fmt.Sprintf("%s:%v", c.Name, c.IsNumeric()))
					}
					return nil
				}
				rep, err := CompareSources(ctx, Source{Path: refPath}, Source{Path: curPath}, p)
				if err != nil {
					t.Fatal(err)
				}
				if got := reportJSON(t, rep); !bytes.Equal(got, want) {
					t.Fatalf("check %d: report differs from the uncached one:\n%s\nwant\n%s", i+1, got, want)
				}
				if s := strings.Join(seen, " "); s != "lactate:true grade:false gene_a:true ward:false" {
					t.Errorf("check %d: the reference's columns given to Reference = %s", i+1, s)
				}
			}
			if hits, misses := cache.Stats(); hits != 1 || misses != 1 {
				t.Fatalf("hits %d misses %d, want one miss (the first check) and one hit", hits, misses)
			}
			if !uncached.Columns[0].Drifted || uncached.Columns[len(uncached.Columns)-1].NCurrent == 0 {
				t.Fatalf("fixture: lactate should drift: %+v", uncached.Columns[0])
			}
		})
	}
}

// countingFS counts the openings of each file of a data root, and keeps its BlobHash.
type countingFS struct {
	*datafs.FS
	mu     sync.Mutex
	opened map[string]int
}

func (c *countingFS) Open(name string) (fs.File, error) {
	c.mu.Lock()
	c.opened[name]++
	c.mu.Unlock()
	return c.FS.Open(name)
}

// TestCachedReferenceInAGitTreeIsNotRead checks drift on data committed to a real
// repository: the reference is known by its blob hash, so the second check opens only the
// current file; a commit that changes the reference's bytes is a miss, one that moves the
// same bytes elsewhere a hit.
func TestCachedReferenceInAGitTreeIsNotRead(t *testing.T) {
	ctx := context.Background()
	work, bare := t.TempDir(), filepath.Join(t.TempDir(), "data.git")
	ref, cur := mixedTables(2000)
	writeTable(t, filepath.Join(work, "ref.csv"), ref)
	writeTable(t, filepath.Join(work, "cur.csv"), cur)
	gitserver.MustGit(t, work, "init", "-q", "-b", "main")
	gitserver.MustGit(t, t.TempDir(), "init", "-q", "--bare", bare)
	commit := func() string {
		gitserver.MustGit(t, work, "add", "-A")
		gitserver.MustGit(t, work, "commit", "-q", "-m", "data")
		gitserver.MustGit(t, work, "push", "-q", bare, "main")
		return strings.TrimSpace(gitserver.MustGit(t, work, "rev-parse", "HEAD"))
	}
	first := commit()
	repo, err := git.Open(ctx, bare, git.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cache, err := profilecache.Open(t.TempDir(), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	check := func(commit, refName string) (*countingFS, []byte) {
		t.Helper()
		tree, err := repo.Tree(ctx, commit)
		if err != nil {
			t.Fatal(err)
		}
		data := &countingFS{FS: datafs.New(tree, "the tree", ""), opened: map[string]int{}}
		rep, err := CompareSources(ctx, Source{FS: data, Path: refName}, Source{FS: data, Path: "cur.csv"}, plan(cache))
		if err != nil {
			t.Fatal(err)
		}
		return data, reportJSON(t, rep)
	}
	data, want := check(first, "ref.csv")
	if data.opened["ref.csv"] == 0 {
		t.Fatal("the first check did not read the reference")
	}
	data, got := check(first, "ref.csv")
	if data.opened["ref.csv"] != 0 || data.opened["cur.csv"] == 0 || !bytes.Equal(got, want) {
		t.Fatalf("second check opened %v (want cur.csv only), same report %v", data.opened, bytes.Equal(got, want))
	}
	gitserver.MustGit(t, work, "mv", "ref.csv", "reference.csv")
	moved := commit()
	if data, got = check(moved, "reference.csv"); data.opened["reference.csv"] != 0 || !bytes.Equal(got, want) {
		t.Fatalf("the same bytes under another name: opened %v, same report %v", data.opened, bytes.Equal(got, want))
	}
	ref.Columns[1].Float[0] += 1e-9
	writeTable(t, filepath.Join(work, "reference.csv"), ref)
	changed := commit()
	if data, _ = check(changed, "reference.csv"); data.opened["reference.csv"] == 0 {
		t.Fatal("a changed reference was not read")
	}
	if hits, misses := cache.Stats(); hits != 2 || misses != 2 {
		t.Fatalf("hits %d misses %d, want 2 and 2", hits, misses)
	}
}

// TestProfileKeyFollowsThePreparation: options that change what is prepared (a column's
// kind, the columns excluded, a limit) are another entry; options applied only when
// comparing (tests, thresholds, shares, groups) are the same one.
func TestProfileKeyFollowsThePreparation(t *testing.T) {
	base := plan(nil)
	key := func(p Plan) profilecache.Key {
		return profilecache.NewKey("sha256:00", profilecache.PreparationOf(p.Read, p.Compare))
	}
	k := key(base)
	same := plan(nil)
	thr := 0.01
	same.Compare.Threshold, same.Compare.Tests, same.Compare.Groups = &thr, []drift.Test{drift.TestKS}, nil
	if key(same) != k {
		t.Error("comparison options changed the key")
	}
	for name, change := range map[string]func(*Plan){
		"categorical":    func(p *Plan) { p.Read.Categorical = nil; p.Compare.Categorical = nil },
		"exclude":        func(p *Plan) { p.Read.Exclude = nil; p.Compare.Exclude = nil },
		"invalid values": func(p *Plan) { p.Read.Invalid = dataset.InvalidIgnore },
		"max rows":       func(p *Plan) { p.Read.Limits.MaxRows = 10 },
		"drift numeric":  func(p *Plan) { p.Compare.Numeric = []string{"lactate"} },
	} {
		p := plan(nil)
		change(&p)
		if key(p) == k {
			t.Errorf("%s: same key", name)
		}
	}
	if profilecache.NewKey("sha256:01", profilecache.PreparationOf(base.Read, base.Compare)) == k {
		t.Error("another digest gave the same key")
	}
}

// TestACachedReferenceInObjectStorageIsNotRead: a reference in an S3 bucket is keyed by its
// ETag, so the second check asks only for its attributes (no GET of its bytes) and gives the
// same report; an object written again is read again.
func TestACachedReferenceInObjectStorageIsNotRead(t *testing.T) {
	ctx := context.Background()
	s := s3fake.Start(t, s3fake.KeyID)
	s3fake.UseCredentials(t, "")
	dir := t.TempDir()
	ref, cur := mixedTables(3000)
	refPath, curPath := filepath.Join(dir, "ref.parquet"), filepath.Join(dir, "cur.parquet")
	writeTable(t, refPath, ref)
	writeTable(t, curPath, cur)
	for key, file := range map[string]string{"ref.parquet": refPath, "cur.parquet": curPath} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		s.Put(t, key, b)
	}
	buckets := objstore.New(objstore.Options{})
	t.Cleanup(func() { buckets.Close() })
	cache, err := profilecache.Open(filepath.Join(dir, "profiles"), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	check := func() (string, int) {
		t.Helper()
		s.Reset()
		rep, err := CompareSources(ctx, Source{Path: s.Path("ref.parquet"), Buckets: buckets}, Source{Path: s.Path("cur.parquet"), Buckets: buckets}, plan(cache))
		if err != nil {
			t.Fatal(err)
		}
		gets := 0
		for _, r := range s.Requests() {
			if r.Method == "GET" && r.Key == "ref.parquet" {
				gets++
			}
		}
		return string(reportJSON(t, rep)), gets
	}
	first, gets := check()
	if gets == 0 {
		t.Fatal("the first check did not read the reference")
	}
	second, gets := check()
	if gets != 0 || second != first {
		t.Fatalf("second check: %d GETs of the reference (want 0), same report %v", gets, second == first)
	}
	// Written again (another content, another ETag): read again.
	other, _ := mixedTables(2000)
	writeTable(t, refPath, other)
	b, _ := os.ReadFile(refPath)
	s.Put(t, "ref.parquet", b)
	if _, gets := check(); gets == 0 {
		t.Error("a rewritten reference was served from the cache")
	}
}
