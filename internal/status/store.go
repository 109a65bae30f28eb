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
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/medimind/modelops/internal/git"
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
	// has nothing to do; the cache makes that cycle read none.
	cacheTip   string
	cacheFiles map[string][]byte
	// backedUp is the status commit last recorded with git.Repo.Backup.
	backedUp string
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
		if s.cacheFiles, err = readModelFiles(files); err != nil {
			return nil, err
		}
		s.cacheTip = tip
	}
	for p, b := range s.cacheFiles {
		var ms reconciler.ModelStatus
		if err := json.Unmarshal(b, &ms); err != nil {
			return nil, fmt.Errorf("parse status %s: %w", p, err)
		}
		ms.Model = strings.TrimSuffix(path.Base(p), ".json")
		st.Models[ms.Model] = &ms
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

// readModelFiles reads models/*.json of the status tree.
func readModelFiles(files fs.FS) (map[string][]byte, error) {
	out := map[string][]byte{}
	entries, err := fs.ReadDir(files, "models")
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read status models: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		p := "models/" + e.Name()
		b, err := fs.ReadFile(files, p)
		if err != nil {
			return nil, fmt.Errorf("read status %s: %w", p, err)
		}
		out[p] = b
	}
	return out, nil
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
	encoded := make(map[string][]byte, len(st.Models))
	for name, ms := range st.Models {
		b, err := encodeModel(ms)
		if err != nil {
			return err
		}
		encoded[modelFile(name)] = b
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
	// The tip now holds exactly these model files (written, or equal already).
	s.cacheTip, s.cacheFiles = h, encoded
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
