// Package local is the embedded proposal forge: a proposal is a branch
// modelops/<model>/<kind> holding the proposed edit on top of the tracked branch, plus a
// record on the status branch. People review with `modelops proposals` and merge with a real
// merge commit on the tracked branch, as they would merge a pull request.
package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"sync"
	"time"

	"github.com/medimind/modelops/internal/faultpoint"
	"github.com/medimind/modelops/internal/forge"
	"github.com/medimind/modelops/internal/git"
	"github.com/medimind/modelops/policies"
	"github.com/medimind/modelops/reconciler"
)

var (
	_ reconciler.Proposals         = (*Forge)(nil)
	_ reconciler.ProposalCommenter = (*Forge)(nil)
)

var (
	// ErrNotFound is returned when no proposal matches.
	ErrNotFound = errors.New("proposal not found")
	// ErrNothingToPropose is returned when the tracked branch already holds the change.
	ErrNothingToPropose = forge.ErrNothingToPropose
)

// State is a proposal's lifecycle state.
type State string

// Proposal states.
const (
	StateOpen     State = "open"
	StateMerged   State = "merged"
	StateDeclined State = "declined" // closed by a person
	StateClosed   State = "closed"   // closed by modelops, with a reason
)

// Record is a proposal as stored on the status branch.
type Record struct {
	Model    string                     `json:"model"`
	Kind     reconciler.ProposalKind    `json:"kind"`
	State    State                      `json:"state"`
	Key      string                     `json:"key"`
	Target   reconciler.PromotionTarget `json:"target,omitempty"`
	Digest   string                     `json:"digest"`
	Title    string                     `json:"title"`
	Body     string                     `json:"body"`
	Branch   string                     `json:"branch"`
	Base     string                     `json:"base"`
	Head     string                     `json:"head"`
	File     string                     `json:"file"`
	Opened   time.Time                  `json:"opened"`
	Updated  time.Time                  `json:"updated"`
	Closed   time.Time                  `json:"closed,omitzero"`
	Merge    string                     `json:"merge,omitempty"`
	Comments []Comment                  `json:"comments,omitempty"`
	// Edits and Trailers make the branch's commit again on a newer tip when the tracked
	// branch changed the same file since (see Merge).
	Edits    forge.Edits       `json:"edits,omitempty"`
	Trailers map[string]string `json:"trailers,omitempty"`
}

// Comment is a note on a proposal (why it was updated or closed).
type Comment struct {
	At   time.Time `json:"at"`
	By   string    `json:"by"`
	Text string    `json:"text"`
}

// ID is how people name a proposal on the command line: <model>/<kind>.
func (r Record) ID() string { return r.Model + "/" + string(r.Kind) }

// Forge keeps proposals as branches of repo.
type Forge struct {
	repo    *git.Repo
	tracked string
	status  string
	bot     git.Signature
	now     func() time.Time

	mu sync.Mutex // serialises writes of proposal branches and records
}

// New returns a forge for repo, proposing against branch tracked and keeping records on the
// status branch, committing as bot.
func New(repo *git.Repo, tracked, statusBranch string, bot git.Signature) *Forge {
	return &Forge{repo: repo, tracked: tracked, status: statusBranch, bot: bot, now: time.Now}
}

// WithClock sets the forge's clock (tests, the demo).
func (f *Forge) WithClock(now func() time.Time) *Forge { f.now = now; return f }

func recordPath(model string, kind reconciler.ProposalKind) string {
	return fmt.Sprintf("proposals/%s/%s.json", model, kind)
}

// Records returns every proposal record, by ID.
func (f *Forge) Records(ctx context.Context) ([]Record, error) {
	_, files, err := f.repo.BranchTree(ctx, f.status)
	if err != nil {
		return nil, err
	}
	var out []Record
	err = fs.WalkDir(files, "proposals", func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p == "proposals" {
			return fs.SkipDir
		}
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(files, p)
		if err != nil {
			return err
		}
		var r Record
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("parse proposal record %s: %w", p, err)
		}
		out = append(out, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID() < out[j].ID() })
	tracked, err := f.repo.Head(ctx, f.tracked)
	if err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].State != StateOpen {
			continue
		}
		// Merged, but the record was not updated (a crash right after the merge, or a merge
		// made with plain git): the head is already in the tracked branch.
		if merged, err := f.contains(ctx, tracked, out[i].Head); err != nil {
			return nil, err
		} else if merged {
			out[i].State = StateMerged
		}
	}
	return out, nil
}

// contains reports whether commit is in the history of tip.
func (f *Forge) contains(ctx context.Context, tip, commit string) (bool, error) {
	if commit == "" {
		return false, nil
	}
	missing, err := f.repo.Log(ctx, tip, commit, "")
	if err != nil {
		return false, fmt.Errorf("compare %s with %s: %w", commit, f.tracked, err)
	}
	return len(missing) == 0, nil
}

// Get returns the record of a proposal by its ID (<model>/<kind>).
func (f *Forge) Get(ctx context.Context, id string) (Record, error) {
	recs, err := f.Records(ctx)
	if err != nil {
		return Record{}, err
	}
	for _, r := range recs {
		if r.ID() == id {
			return r, nil
		}
	}
	return Record{}, fmt.Errorf("%w: %s", ErrNotFound, id)
}

// List returns open proposals and declined ones. An open proposal whose head is already in
// the tracked branch (merged by other means, e.g. a fast-forward) counts as merged.
func (f *Forge) List(ctx context.Context) ([]reconciler.Proposal, error) {
	recs, err := f.Records(ctx)
	if err != nil {
		return nil, err
	}
	var out []reconciler.Proposal
	for _, r := range recs {
		var state reconciler.ProposalState
		switch r.State {
		case StateOpen:
			state = reconciler.ProposalOpen
		case StateDeclined:
			state = reconciler.ProposalDeclined
		default:
			continue
		}
		out = append(out, reconciler.Proposal{
			Model: r.Model, Kind: r.Kind, State: state, Key: r.Key, Target: r.Target, Digest: r.Digest,
			Title: r.Title, Branch: r.Branch, URL: r.ID(),
		})
	}
	return out, nil
}

// Ensure builds the proposal branch from req.Base with req.Edits applied to req.File, and
// writes its record. An open proposal with the same key, digest and base is left as it is.
func (f *Forge) Ensure(ctx context.Context, req reconciler.ProposalRequest) (reconciler.Proposal, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	req.Title = git.EscapeControl(req.Title) // it is printed by modelops proposals
	branch := forge.BranchName(req.Model, req.Kind)
	old, err := f.Get(ctx, req.Model+"/"+string(req.Kind))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return reconciler.Proposal{}, err
	}
	exists := err == nil && old.State == StateOpen
	if exists && old.Key == req.Key && old.Target == req.Target && old.Digest == req.Digest && old.Base == req.Base {
		return toProposal(old), nil
	}

	files, err := f.repo.Tree(ctx, req.Base)
	if err != nil {
		return reconciler.Proposal{}, fmt.Errorf("read %s: %w", req.Base, err)
	}
	pushed, err := forge.PushBranch(ctx, f.repo, files, req, f.bot, exists)
	if errors.Is(err, forge.ErrPeoplesCommits) && exists && f.comment(&old, err.Error()) {
		// The branch stays as people left it; the proposal says why it is not updated.
		if werr := f.writeRecord(ctx, old, "modelops: comment on proposal "+old.ID()); werr != nil {
			return reconciler.Proposal{}, errors.Join(err, werr)
		}
	}
	if err != nil {
		return reconciler.Proposal{}, err
	}
	faultpoint.Hit("forge-after-branch-push")

	now := f.now()
	rec := Record{
		Model: req.Model, Kind: req.Kind, State: StateOpen, Key: req.Key, Target: req.Target, Digest: req.Digest,
		Title: req.Title, Body: req.Body, Branch: branch, Base: req.Base, Head: pushed.Head, File: req.File,
		Opened: now, Updated: now, Edits: req.Edits, Trailers: req.Trailers,
	}
	if exists {
		rec.Opened = old.Opened
		rec.Comments = append(old.Comments, Comment{At: now, By: f.bot.Name, Text: "Updated: the evidence or the tracked branch changed."})
	}
	if len(pushed.People) > 0 {
		f.comment(&rec, forge.KeptNote(pushed))
	}
	if err := f.writeRecord(ctx, rec, "modelops: "+verb(exists)+" proposal "+rec.ID()); err != nil {
		return reconciler.Proposal{}, err
	}
	return toProposal(rec), nil
}

// comment adds text as the bot's comment on rec unless rec has it already; it reports
// whether it added it.
func (f *Forge) comment(rec *Record, text string) bool {
	for _, c := range rec.Comments {
		if c.Text == text {
			return false
		}
	}
	rec.Comments = append(rec.Comments, Comment{At: f.now(), By: f.bot.Name, Text: text})
	return true
}

// Close closes the open proposal of (model, kind) with a comment. The branch stays, for the
// record.
func (f *Forge) Close(ctx context.Context, model string, kind reconciler.ProposalKind, reason string) error {
	return f.close(ctx, model+"/"+string(kind), StateClosed, f.bot.Name, reason)
}

// CommentOnMerge adds text as a comment to the proposal whose merge is commit, once; it
// returns reconciler.ErrNoProposal when no proposal was merged as commit.
func (f *Forge) CommentOnMerge(ctx context.Context, commit, text string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	recs, err := f.Records(ctx)
	if err != nil {
		return err
	}
	for _, rec := range recs {
		if rec.Merge != commit {
			continue
		}
		for _, c := range rec.Comments {
			if c.Text == text {
				return nil
			}
		}
		rec.Comments = append(rec.Comments, Comment{At: f.now(), By: f.bot.Name, Text: text})
		return f.writeRecord(ctx, rec, "modelops: comment on proposal "+rec.ID())
	}
	return fmt.Errorf("%w %s", reconciler.ErrNoProposal, commit)
}

// Decline is a person closing a proposal without merging it.
func (f *Forge) Decline(ctx context.Context, id, by, reason string) error {
	return f.close(ctx, id, StateDeclined, by, reason)
}

func (f *Forge) close(ctx context.Context, id string, state State, by, reason string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	rec, err := f.Get(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if rec.State != StateOpen {
		return nil
	}
	now := f.now()
	rec.State, rec.Closed, rec.Updated = state, now, now
	rec.Comments = append(rec.Comments, Comment{At: now, By: by, Text: "Closed: " + reason})
	if err := f.writeRecord(ctx, rec, fmt.Sprintf("modelops: close proposal %s\n\n%s", id, reason)); err != nil {
		return err
	}
	return nil
}

// Merge merges an open proposal into the tracked branch with a merge commit authored by a
// person, as merging a pull request does, and marks it merged.
func (f *Forge) Merge(ctx context.Context, id string, by git.Signature) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rec, err := f.Get(ctx, id)
	if err != nil {
		return "", err
	}
	if rec.State == StateMerged && rec.Merge == "" {
		// Merged before a crash left the record open: record it, merge nothing again.
		tip, err := f.repo.Head(ctx, f.tracked)
		if err != nil {
			return "", err
		}
		now := f.now()
		rec.Merge, rec.Closed, rec.Updated = tip, now, now
		rec.Comments = append(rec.Comments, Comment{At: now, By: by.Name, Text: "Found merged into " + f.tracked})
		return tip, f.writeRecord(ctx, rec, "modelops: proposal "+id+" merged")
	}
	if rec.State != StateOpen {
		return "", fmt.Errorf("proposal %s is %s, not open", id, rec.State)
	}
	msg := fmt.Sprintf("Merge proposal %s\n\n%s", id, rec.Title)
	merge, err := f.repo.Merge(ctx, f.tracked, rec.Branch, msg, by)
	if errors.Is(err, git.ErrConflict) {
		// The tracked branch changed the proposal's file since the branch was built.
		if rec, err = f.rebuild(ctx, rec, err); err != nil {
			return "", err
		}
		merge, err = f.repo.Merge(ctx, f.tracked, rec.Branch, msg, by)
	}
	if err != nil {
		return "", err // git's errors name the branches already
	}
	if err := f.repo.Push(ctx, f.tracked, false); err != nil {
		return "", fmt.Errorf("push %s: %w", f.tracked, err)
	}
	faultpoint.Hit("forge-after-merge-push")
	now := f.now()
	rec.State, rec.Merge, rec.Closed, rec.Updated = StateMerged, merge, now, now
	rec.Comments = append(rec.Comments, Comment{At: now, By: by.Name, Text: "Merged as " + merge})
	if err := f.writeRecord(ctx, rec, "modelops: proposal "+id+" merged"); err != nil {
		return "", err
	}
	return merge, nil
}

// rebuild makes the proposal's branch again on the tip of the tracked branch from the edits
// its record keeps, as Ensure does when the tip moves, so that it merges without conflict.
// It is the bot's own branch: a branch with commits people added is not rebuilt.
func (f *Forge) rebuild(ctx context.Context, rec Record, conflict error) (Record, error) {
	if len(rec.Edits) == 0 {
		return rec, fmt.Errorf("%w; run `modelops reconcile` to build proposal %s again on %s, then merge again", conflict, rec.ID(), f.tracked)
	}
	tip, err := f.repo.Head(ctx, f.tracked)
	if err != nil {
		return rec, err
	}
	files, err := f.repo.Tree(ctx, tip)
	if err != nil {
		return rec, err
	}
	pushed, err := forge.PushBranch(ctx, f.repo, files, reconciler.ProposalRequest{
		Model: rec.Model, Kind: rec.Kind, Key: rec.Key, Target: rec.Target, Digest: rec.Digest, Title: rec.Title, Body: rec.Body,
		Base: tip, File: rec.File, Edits: rec.Edits, Trailers: rec.Trailers,
	}, f.bot, true)
	switch {
	case errors.Is(err, ErrNothingToPropose):
		return rec, fmt.Errorf("%w; %s already holds what proposal %s proposes: nothing to merge, close it", conflict, f.tracked, rec.ID())
	case errors.Is(err, policies.ErrConflict):
		return rec, fmt.Errorf("%w; proposal %s no longer applies to %s (%w): run `modelops reconcile` to plan it again, or close it", conflict, rec.ID(), f.tracked, err)
	case err != nil:
		return rec, fmt.Errorf("%w; building proposal %s again on %s failed: %w", conflict, rec.ID(), f.tracked, err)
	case len(pushed.People) > 0:
		return rec, fmt.Errorf("%w; its branch holds commits people added (%s), which modelops does not rebuild: merge %s into %s with git, resolve the conflict there, then merge again",
			conflict, forge.DescribeCommits(pushed.People), f.tracked, rec.Branch)
	}
	now := f.now()
	rec.Base, rec.Head, rec.Updated = tip, pushed.Head, now
	rec.Comments = append(rec.Comments, Comment{At: now, By: f.bot.Name, Text: fmt.Sprintf("Rebuilt on %s at %s to merge: it had changed %s since.", f.tracked, tip, rec.File)})
	if err := f.writeRecord(ctx, rec, "modelops: update proposal "+rec.ID()); err != nil {
		return rec, err
	}
	return rec, nil
}

func (f *Forge) writeRecord(ctx context.Context, rec Record, msg string) error {
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	_, err = f.repo.UpdateBranch(ctx, f.status, func(string, fs.FS) (git.Change, error) {
		return git.Change{
			Files:    map[string][]byte{recordPath(rec.Model, rec.Kind): append(b, '\n')},
			Message:  msg,
			Trailers: git.Trailers{Action: "proposal-" + string(rec.State), Model: rec.Model}.List(),
			Author:   f.bot,
		}, nil
	})
	if err != nil && !errors.Is(err, git.ErrNoChange) {
		return fmt.Errorf("record proposal %s: %w", rec.ID(), err)
	}
	return nil
}

func toProposal(r Record) reconciler.Proposal {
	return reconciler.Proposal{Model: r.Model, Kind: r.Kind, State: reconciler.ProposalOpen, Key: r.Key, Target: r.Target, Digest: r.Digest, Title: r.Title, Branch: r.Branch, URL: r.ID()}
}

func verb(update bool) string {
	if update {
		return "update"
	}
	return "open"
}
