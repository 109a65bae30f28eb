// Package status stores the reconciler's observations on the status branch of the policy
// repository (modelops/status): one JSON file per model, full reports beside them, and manual
// retrain requests as files of their own. Git is the only store, so a restarted reconciler
// reads back exactly what it had observed.
package status

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/medimind/modelops/internal/git"
	"github.com/medimind/modelops/internal/statecache"
	"github.com/medimind/modelops/reconciler"
)

// zeroHash is the tip UpdateBranch gives an edit of a branch that does not exist.
const zeroHash = "0000000000000000000000000000000000000000"

// Branch is the default status branch.
const Branch = "modelops/status"

var _ reconciler.StatusStore = (*Store)(nil)

// Store keeps reconciler.Status on a branch of a git repository.
type Store struct {
	repo   *git.Repo
	branch string
	author git.Signature

	mu sync.Mutex // guards the cache
	// cacheTip is the status branch commit that cacheFiles hold the model files of. Reading
	// and comparing 10,000 model files through git every cycle would dominate a cycle that
	// has nothing to do; the cache makes that cycle read none. cacheHashes holds the blob
	// hash of each file (when known), so that a new tip reads only the files that changed.
	cacheTip    string
	cacheFiles  map[string][]byte
	cacheHashes map[string]string
	// disk, when set, keeps the cache in a file between processes (PersistTo); diskRead
	// says it was read, diskTip is the tip it holds.
	disk     *statecache.File
	diskRead bool
	diskTip  string
	miss     func(error)
	// backedUp is the status commit last recorded with git.Repo.Backup.
	backedUp string
}

// persistedStatus is the payload of the status cache file: the model files of the status
// branch at Tip, each with its blob hash.
type persistedStatus struct {
	Tip   string
	Files []persistedFile
}

type persistedFile struct {
	Path, Hash string
	Data       []byte
}

// cacheFormat versions persistedStatus.
const cacheFormat = "status/1"

// PersistTo keeps the model files read from the status branch in the file path between
// processes, so that a new process reads from git only the files whose blob changed (none,
// when the branch did not move). The file is read on the first Load and rewritten after a
// Load or Save that moved the cache to another tip. A file that cannot be used or written is
// told to miss (for a debug log), never an error. Call it before the first Load.
func (s *Store) PersistTo(path string, miss func(error)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.disk = &statecache.File{Path: path, Format: cacheFormat}
	s.miss = miss
}

// readDiskLocked fills an empty cache from the cache file, once.
func (s *Store) readDiskLocked() {
	if s.disk == nil || s.diskRead {
		return
	}
	s.diskRead = true
	var ps persistedStatus
	if err := s.disk.Load(&ps); err != nil {
		s.tell(err)
		return
	}
	if s.cacheTip != "" {
		return // this process has read the branch already
	}
	s.cacheFiles = make(map[string][]byte, len(ps.Files))
	s.cacheHashes = make(map[string]string, len(ps.Files))
	for _, f := range ps.Files {
		s.cacheFiles[f.Path], s.cacheHashes[f.Path] = f.Data, f.Hash
	}
	s.cacheTip, s.diskTip = ps.Tip, ps.Tip
}

// writeDiskLocked writes the cache to the cache file, unless the file holds its tip already.
func (s *Store) writeDiskLocked() {
	if s.disk == nil || s.cacheTip == "" || s.cacheTip == s.diskTip {
		return
	}
	ps := persistedStatus{Tip: s.cacheTip, Files: make([]persistedFile, 0, len(s.cacheFiles))}
	for p, b := range s.cacheFiles {
		h := s.cacheHashes[p]
		if h == "" {
			continue // not known: read from git next time
		}
		ps.Files = append(ps.Files, persistedFile{Path: p, Hash: h, Data: b})
	}
	if len(ps.Files) != len(s.cacheFiles) {
		// The file would not hold the tip's whole set of model files: keep the blobs only.
		ps.Tip = ""
	}
	if err := s.disk.Store(&ps); err != nil {
		s.tell(fmt.Errorf("write the status cache: %w", err))
		s.diskTip = ""
		return
	}
	s.diskTip = s.cacheTip
}

func (s *Store) tell(err error) {
	if s.miss != nil {
		s.miss(err)
	}
}

// errLost stops a save that found the status branch gone while a backup of it exists: the
// branch is restored first, so the save never starts an empty history.
var errLost = errors.New("the status branch is gone")

// New returns a store writing to branch (default Branch) of repo as author.
func New(repo *git.Repo, branch string, author git.Signature) *Store {
	if branch == "" {
		branch = Branch
	}
	return &Store{repo: repo, branch: branch, author: author}
}

func modelFile(model string) string { return "models/" + model + ".json" }

func requestFile(model string, at time.Time) string {
	return fmt.Sprintf("requests/%s/%s.json", model, at.UTC().Format("20060102T150405.000000000Z"))
}

// Load reads every model's status at the tip of the status branch, as of the repository's
// last fetch. A missing branch is an empty status.
func (s *Store) Load(ctx context.Context) (*reconciler.Status, error) {
	st := reconciler.NewStatus()
	tip, files, err := s.repo.BranchTree(ctx, s.branch)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if tip == "" {
		// The branch is gone (deleted by a person, or lost with the remote): the status is
		// the bot's memory, so it is restored from this clone's backup, never started empty.
		if st.Restored, err = s.restoreLocked(ctx); err != nil {
			return nil, err
		}
		if st.Restored != "" {
			if tip, files, err = s.repo.BranchTree(ctx, s.branch); err != nil {
				return nil, err
			}
		}
	}
	s.backupLocked(ctx, tip)
	if tip != s.cacheTip {
		s.readDiskLocked()
	}
	if tip != s.cacheTip {
		if s.cacheFiles, s.cacheHashes, err = readModelFiles(files, s.cacheFiles, s.cacheHashes); err != nil {
			s.cacheTip = ""
			return nil, err
		}
		s.cacheTip = tip
		s.writeDiskLocked()
	}
	paths := make([]string, 0, len(s.cacheFiles))
	for p := range s.cacheFiles {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	models := make([]*reconciler.ModelStatus, len(paths))
	errs := make([]error, len(paths))
	forEach(len(paths), func(i int) {
		ms := &reconciler.ModelStatus{}
		if err := json.Unmarshal(s.cacheFiles[paths[i]], ms); err != nil {
			errs[i] = fmt.Errorf("parse status %s: %w", paths[i], err)
			return
		}
		ms.Model = strings.TrimSuffix(path.Base(paths[i]), ".json")
		models[i] = ms
	})
	if err := firstError(errs); err != nil {
		return nil, err
	}
	for _, ms := range models {
		st.Models[ms.Model] = ms
	}
	if err := readRequests(files, st); err != nil {
		return nil, err
	}
	return st, nil
}

// restoreLocked recreates the status branch from this clone's backup of it and returns the
// commit restored, or "" when there is no backup (a new repository, or a new clone).
func (s *Store) restoreLocked(ctx context.Context) (string, error) {
	backup, err := s.repo.BackedUp(ctx, s.branch)
	if errors.Is(err, git.ErrBranchNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if err := s.repo.Restore(ctx, s.branch, backup); err != nil {
		return "", fmt.Errorf("the status branch %s is gone; restoring it from the backup %s: %w", s.branch, backup, err)
	}
	return backup, nil
}

// backupLocked records tip as the status branch's last known commit. A failed backup is not
// fatal: the previous backup still restores an older status.
func (s *Store) backupLocked(ctx context.Context, tip string) {
	if tip == "" || tip == zeroHash || tip == s.backedUp {
		return
	}
	if s.repo.Backup(ctx, s.branch, tip) == nil {
		s.backedUp = tip
	}
}

// fileHasher is a tree that knows the blob hash of each file without reading it.
type fileHasher interface {
	FileHash(name string) (string, error)
}

// readModelFiles reads models/*.json of the status tree, with their blob hashes when the
// tree knows them. A file whose blob hash is among prevHashes is taken from prev, not read.
func readModelFiles(files fs.FS, prev map[string][]byte, prevHashes map[string]string) (map[string][]byte, map[string]string, error) {
	out, hashes := map[string][]byte{}, map[string]string{}
	entries, err := fs.ReadDir(files, "models")
	if errors.Is(err, fs.ErrNotExist) {
		return out, hashes, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read status models: %w", err)
	}
	hasher, _ := files.(fileHasher)
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		p := "models/" + e.Name()
		if hasher != nil {
			h, err := hasher.FileHash(p)
			if err != nil {
				return nil, nil, fmt.Errorf("read status %s: %w", p, err)
			}
			hashes[p] = h
			if b, ok := prev[p]; ok && prevHashes[p] == h {
				out[p] = b
				continue
			}
		}
		b, err := fs.ReadFile(files, p)
		if err != nil {
			return nil, nil, fmt.Errorf("read status %s: %w", p, err)
		}
		out[p] = b
	}
	return out, hashes, nil
}

func readRequests(files fs.FS, st *reconciler.Status) error {
	return fs.WalkDir(files, "requests", func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p == "requests" {
			return fs.SkipDir
		}
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		b, err := fs.ReadFile(files, p)
		if err != nil {
			return err
		}
		var req reconciler.ManualRequest
		if err := json.Unmarshal(b, &req); err != nil {
			return fmt.Errorf("parse %s: %w", p, err)
		}
		model := path.Base(path.Dir(p))
		ms := st.Model(model)
		ms.Manual = append(ms.Manual, req)
		sort.Slice(ms.Manual, func(i, j int) bool { return ms.Manual[i].At.Before(ms.Manual[j].At) })
		return nil
	})
}

// Save writes the status and the extra files in one commit on the status branch. Manual
// requests are files of their own, so that a request added by `modelops retrain` while a
// cycle runs is never overwritten; Save deletes only those a launch has served. When nothing
// differs from the tip, no commit is made.
func (s *Store) Save(ctx context.Context, st *reconciler.Status, files map[string][]byte, message string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(st.Models))
	for name := range st.Models {
		names = append(names, name)
	}
	sort.Strings(names)
	bodies := make([][]byte, len(names))
	errs := make([]error, len(names))
	forEach(len(names), func(i int) { bodies[i], errs[i] = encodeModel(st.Models[names[i]]) })
	if err := firstError(errs); err != nil {
		return err
	}
	encoded := make(map[string][]byte, len(st.Models))
	for i, name := range names {
		encoded[modelFile(name)] = bodies[i]
	}
	var base string // the tip the last edit was computed on
	edit := func(tipHash string, tip fs.FS) (git.Change, error) {
		base = tipHash
		if tipHash == zeroHash {
			if _, err := s.repo.BackedUp(ctx, s.branch); err == nil {
				return git.Change{}, errLost
			}
		}
		change := git.Change{Files: map[string][]byte{}, Message: message, Author: s.author}
		for p, b := range encoded {
			var old []byte
			var err error
			if tipHash == s.cacheTip {
				old = s.cacheFiles[p]
			} else if old, err = fs.ReadFile(tip, p); err != nil {
				old = nil
			}
			if !bytes.Equal(old, b) {
				change.Files[p] = b
			}
		}
		for name, ms := range st.Models {
			for _, p := range servedRequests(tip, name, ms.LastLaunch) {
				change.Files[p] = nil
			}
		}
		for p, b := range files {
			change.Files[p] = b
		}
		if len(change.Files) == 0 {
			return change, git.ErrNoChange
		}
		return change, nil
	}
	h, err := s.repo.UpdateBranch(ctx, s.branch, edit)
	if errors.Is(err, errLost) {
		if _, err = s.restoreLocked(ctx); err != nil {
			return fmt.Errorf("save status: %w", err)
		}
		h, err = s.repo.UpdateBranch(ctx, s.branch, edit)
	}
	switch {
	case errors.Is(err, git.ErrNoChange):
		h = base
	case err != nil:
		s.cacheTip = "" // the branch may have moved: read it again
		return fmt.Errorf("save status: %w", err)
	}
	// The tip now holds exactly these model files (written, or equal already). A file's
	// hash is computed only when its bytes changed.
	hashes := make(map[string]string, len(encoded))
	for p, b := range encoded {
		if old, ok := s.cacheFiles[p]; ok && s.cacheHashes[p] != "" && bytes.Equal(old, b) {
			hashes[p] = s.cacheHashes[p]
		} else {
			hashes[p] = plumbing.ComputeHash(plumbing.BlobObject, b).String()
		}
	}
	s.cacheTip, s.cacheFiles, s.cacheHashes = h, encoded, hashes
	s.writeDiskLocked()
	s.backupLocked(ctx, h)
	return nil
}

// ReadFile reads a file (a full drift or canary report) at the tip of the status branch, as
// of the repository's last fetch. A missing file or branch gives an error matching
// fs.ErrNotExist.
func (s *Store) ReadFile(ctx context.Context, name string) ([]byte, error) {
	tip, files, err := s.repo.BranchTree(ctx, s.branch)
	if err != nil {
		return nil, err
	}
	b, err := fs.ReadFile(files, name)
	if err != nil {
		return nil, fmt.Errorf("read %s on %s at %s: %w", name, s.branch, tip, err)
	}
	return b, nil
}

// Tree returns the tip of the status branch and its files, as of the repository's last
// fetch; a missing branch gives "" and an empty tree.
func (s *Store) Tree(ctx context.Context) (string, fs.FS, error) {
	return s.repo.BranchTree(ctx, s.branch)
}

// ModelAt reads the recorded status of model from a status branch tree (Tree); nil when
// none is recorded.
func ModelAt(files fs.FS, model string) (*reconciler.ModelStatus, error) {
	b, err := fs.ReadFile(files, modelFile(model))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read status of %s: %w", model, err)
	}
	var ms reconciler.ModelStatus
	if err := json.Unmarshal(b, &ms); err != nil {
		return nil, fmt.Errorf("parse status %s: %w", modelFile(model), err)
	}
	ms.Model = model
	return &ms, nil
}

// AddRequest records a manual retrain request for model.
func (s *Store) AddRequest(ctx context.Context, model string, req reconciler.ManualRequest) error {
	b, err := json.MarshalIndent(req, "", "  ")
	if err != nil {
		return err
	}
	_, err = s.repo.UpdateBranch(ctx, s.branch, func(string, fs.FS) (git.Change, error) {
		return git.Change{
			Files:    map[string][]byte{requestFile(model, req.At): append(b, '\n')},
			Message:  fmt.Sprintf("modelops: manual retrain request for %s\n\n%s", model, req.Reason),
			Trailers: git.Trailers{Action: "request-retrain", Model: model}.List(),
			Author:   s.author,
		}, nil
	})
	if err != nil {
		return fmt.Errorf("record retrain request for %s: %w", model, err)
	}
	return nil
}

// forEach calls fn(i) for every i in [0, n) on GOMAXPROCS goroutines. Decoding and encoding
// the model files is most of the status work of a cycle over thousands of models, and each
// file is independent of the others.
func forEach(n int, fn func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				fn(i)
			}
		})
	}
	wg.Wait()
}

func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// encodeModel writes a model's status without its manual requests, which live in files of
// their own.
func encodeModel(ms *reconciler.ModelStatus) ([]byte, error) {
	c := *ms
	c.Manual = nil
	b, err := json.MarshalIndent(&c, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode status of %s: %w", ms.Model, err)
	}
	return append(b, '\n'), nil
}

// servedRequests lists the request files of model made before its last launch.
func servedRequests(tip fs.FS, model string, lastLaunch time.Time) []string {
	if lastLaunch.IsZero() {
		return nil
	}
	dir := "requests/" + model
	entries, err := fs.ReadDir(tip, dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		b, err := fs.ReadFile(tip, dir+"/"+e.Name())
		if err != nil {
			continue
		}
		var req reconciler.ManualRequest
		if json.Unmarshal(b, &req) == nil && !req.At.After(lastLaunch) {
			out = append(out, dir+"/"+e.Name())
		}
	}
	return out
}
