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
	"time"

	"github.com/medimind/modelops/internal/git"
	"github.com/medimind/modelops/reconciler"
)

// Branch is the default status branch.
const Branch = "modelops/status"

var _ reconciler.StatusStore = (*Store)(nil)

// Store keeps reconciler.Status on a branch of a git repository.
type Store struct {
	repo   *git.Repo
	branch string
	author git.Signature
}

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
	tip, err := s.repo.Head(ctx, s.branch)
	if errors.Is(err, git.ErrBranchNotFound) {
		return st, nil
	}
	if err != nil {
		return nil, err
	}
	files, err := s.repo.Tree(ctx, tip)
	if err != nil {
		return nil, err
	}
	if err := readModels(files, st); err != nil {
		return nil, err
	}
	if err := readRequests(files, st); err != nil {
		return nil, err
	}
	return st, nil
}

func readModels(files fs.FS, st *reconciler.Status) error {
	entries, err := fs.ReadDir(files, "models")
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read status models: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		b, err := fs.ReadFile(files, "models/"+e.Name())
		if err != nil {
			return fmt.Errorf("read status of %s: %w", e.Name(), err)
		}
		var ms reconciler.ModelStatus
		if err := json.Unmarshal(b, &ms); err != nil {
			return fmt.Errorf("parse status models/%s: %w", e.Name(), err)
		}
		name := strings.TrimSuffix(e.Name(), ".json")
		ms.Model = name
		st.Models[name] = &ms
	}
	return nil
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
	_, err := s.repo.UpdateBranch(ctx, s.branch, func(_ string, tip fs.FS) (git.Change, error) {
		change := git.Change{Files: map[string][]byte{}, Message: message, Author: s.author}
		for name, ms := range st.Models {
			b, err := encodeModel(ms)
			if err != nil {
				return change, err
			}
			if old, err := fs.ReadFile(tip, modelFile(name)); err != nil || !bytes.Equal(old, b) {
				change.Files[modelFile(name)] = b
			}
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
	})
	if errors.Is(err, git.ErrNoChange) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("save status: %w", err)
	}
	return nil
}

// AddRequest records a manual retrain request for model.
func (s *Store) AddRequest(ctx context.Context, model string, req reconciler.ManualRequest) error {
	b, err := json.MarshalIndent(req, "", "  ")
	if err != nil {
		return err
	}
	_, err = s.repo.UpdateBranch(ctx, s.branch, func(string, fs.FS) (git.Change, error) {
		return git.Change{
			Files:   map[string][]byte{requestFile(model, req.At): append(b, '\n')},
			Message: fmt.Sprintf("modelops: manual retrain request for %s\n\n%s", model, req.Reason),
			Trailers: []git.Trailer{
				{Key: "Modelops-Action", Value: "request-retrain"},
				{Key: "Modelops-Model", Value: model},
			},
			Author: s.author,
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
