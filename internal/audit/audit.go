package audit

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/medimind/modelops/internal/git"
	"github.com/medimind/modelops/internal/status"
	"github.com/medimind/modelops/policies"
)

// ErrUnknownModel is returned by Build when Options.Model names a model that the audited
// history never holds.
var ErrUnknownModel = errors.New("unknown model")

// Repo is what an audit reads; *git.Repo and *git.History implement it (a History is the
// fast one for long histories). None of the methods writes.
type Repo interface {
	// Head returns the commit at the tip of branch, or git.ErrBranchNotFound.
	Head(ctx context.Context, branch string) (string, error)
	// ReadCommit returns one commit with its parents and trailers.
	ReadCommit(ctx context.Context, commit string) (git.CommitInfo, error)
	// Tree returns the files at commit, with FileHash(name) giving a file's blob hash.
	Tree(ctx context.Context, commit string) (fs.FS, error)
	// Log returns the commits reachable from to and not from from that touch path.
	Log(ctx context.Context, from, to, path string) ([]git.CommitInfo, error)
	// ChangedFiles returns the files that differ between the trees of two commits (from ""
	// is the empty tree), with their blob hashes.
	ChangedFiles(ctx context.Context, from, to string) ([]git.FileChange, error)
	// ReadBlob returns the content of a blob by hash.
	ReadBlob(ctx context.Context, hash string) ([]byte, error)
}

var (
	_ Repo = (*git.Repo)(nil)
	_ Repo = (*git.History)(nil)
)

// Options says what to audit.
type Options struct {
	// Branch is the tracked branch whose history is read. Default "main".
	Branch string
	// StatusBranch holds the local forge's proposal records that merges are linked to.
	// Default status.Branch; a missing branch only means no links.
	StatusBranch string
	// Model keeps only the events of this model; empty keeps every model.
	Model string
	// Since keeps only mainline commits committed at or after it: reading newest first, the
	// first mainline commit committed before it ends the audited run, and the policies there
	// are what the first kept commit is compared with.
	Since time.Time
	// MaxMergedCommits bounds how many commits of one merged branch are listed. Default 1000.
	MaxMergedCommits int
}

// Build reads the first-parent history of opts.Branch and returns the timeline of every
// model (or of opts.Model), oldest event first. A commit that changes a policy file without
// changing its meaning (a comment, the key order) is not an event. Errors are git failures,
// or ErrUnknownModel. Give it a *git.History for a long history: a *git.Repo re-opens its
// pack files for every object it reads.
func Build(ctx context.Context, repo Repo, opts Options) (*Timeline, error) {
	if opts.Branch == "" {
		opts.Branch = "main"
	}
	if opts.StatusBranch == "" {
		opts.StatusBranch = status.Branch
	}
	if opts.MaxMergedCommits <= 0 {
		opts.MaxMergedCommits = 1000
	}
	head, err := repo.Head(ctx, opts.Branch)
	if err != nil {
		return nil, fmt.Errorf("read branch %s: %w", opts.Branch, err)
	}
	b := &builder{
		repo:      repo,
		opts:      opts,
		parses:    map[string]*parsedFile{},
		onMain:    map[string]bool{},
		listed:    map[string]bool{},
		lastValid: map[string]*policies.ModelPolicy{},
		proposals: map[string][]proposalVersion{},
	}
	tl := &Timeline{Branch: opts.Branch, Head: head, Model: opts.Model, Events: []Event{}}
	if !opts.Since.IsZero() {
		since := opts.Since.UTC()
		tl.Since = &since
	}

	// The mainline, which files are policies at each of its commits and every version of
	// them parsed, in one pass; then the comparisons, in history's order.
	h, err := b.readHistory(ctx, head)
	if err != nil {
		return nil, err
	}
	for _, c := range h.mainline {
		b.onMain[c.Hash] = true
	}
	sets := h.sets
	prev := b.snapshot(sets[0], nil)
	for name, m := range prev.models {
		if m.policy != nil {
			b.lastValid[name] = m.policy
		}
	}
	seen := opts.Model == "" || prev.models[opts.Model].present()
	for i, c := range h.mainline[h.start:] {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if sets[i+1] == sets[i] {
			continue // no policy file changed
		}
		cur := b.snapshot(sets[i+1], prev)
		if cur != prev {
			events, err := b.events(ctx, c, prev, cur)
			if err != nil {
				return nil, err
			}
			tl.Events = append(tl.Events, events...)
		}
		if !seen && cur.models[opts.Model].present() {
			seen = true
		}
		prev = cur
	}
	if !seen {
		return nil, fmt.Errorf("%w %q: no policy of that name in the history of %s", ErrUnknownModel, opts.Model, opts.Branch)
	}
	return tl, nil
}

// modelState is one model at one commit.
type modelState struct {
	file string
	doc  int
	key  string // content key of file
	// policy is the decoded, defaulted policy; nil when the policy is invalid (err) or the
	// model is absent.
	policy *policies.ModelPolicy
	err    string
}

func (m modelState) present() bool { return m.file != "" }

// snapshot is the policies at one commit.
type snapshot struct {
	files  map[string]string // policy file -> content key
	models map[string]modelState
}

type builder struct {
	repo      Repo
	opts      Options
	parses    map[string]*parsedFile // by content key
	onMain    map[string]bool        // the mainline's commits
	listed    map[string]bool        // branch commits already shown under a merge
	lastValid map[string]*policies.ModelPolicy
	// proposals caches the versions of each proposal record on the status branch, by path.
	proposals map[string][]proposalVersion
	statusTip *string
}

// snapshot decodes the policies of set, whose files are all parsed. When no policy file
// differs from prev it returns prev itself, so callers tell an untouched commit by identity.
func (b *builder) snapshot(set *fileSet, prev *snapshot) *snapshot {
	files := set.files
	if prev != nil && sameFiles(prev.files, files) {
		return prev
	}
	cur := &snapshot{files: files, models: map[string]modelState{}}
	type found struct {
		state modelState
		files []string
	}
	byName := map[string]*found{}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		key := files[p]
		pf := b.parses[key]
		for _, d := range pf.docs {
			st := modelState{file: p, doc: d.doc, key: key, policy: d.policy}
			if d.err != nil {
				st.err = located(d.err, p)
			}
			if f := byName[d.name]; f != nil {
				f.files = append(f.files, p)
				continue
			}
			byName[d.name] = &found{state: st, files: []string{p}}
		}
	}
	for name, f := range byName {
		st := f.state
		if len(f.files) > 1 {
			st.policy = nil
			st.err = fmt.Sprintf("%s: metadata.name: duplicate name %q, also defined in %s", st.file, name, strings.Join(f.files[1:], ", "))
		}
		cur.models[name] = st
	}
	// A file that no longer parses far enough to name its models leaves them invalid, not gone.
	// A broken file that was renamed is found by its unchanged content.
	if prev != nil {
		broken := map[string]string{} // content key -> a path holding it, for unparsable files
		for _, p := range paths {
			if pf := b.parses[files[p]]; pf.err != nil {
				if _, ok := broken[files[p]]; !ok {
					broken[files[p]] = p
				}
			}
		}
		for name, old := range prev.models {
			if _, ok := cur.models[name]; ok {
				continue
			}
			file := old.file
			key, ok := files[file]
			if !ok || b.parses[key].err == nil {
				if file, ok = broken[old.key]; !ok {
					continue
				}
				key = old.key
			}
			cur.models[name] = modelState{file: file, doc: old.doc, key: key, err: located(b.parses[key].err, file)}
		}
	}
	return cur
}

func sameFiles(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for p, k := range a {
		if b[p] != k {
			return false
		}
	}
	return true
}

// located renders a problem found by parsing file's content under no name, at file.
func located(fe *policies.FieldError, file string) string {
	c := *fe
	c.File = file
	return c.Error()
}

// events compares two snapshots around mainline commit c.
func (b *builder) events(ctx context.Context, c git.CommitInfo, prev, cur *snapshot) ([]Event, error) {
	names := map[string]bool{}
	for n := range prev.models {
		names[n] = true
	}
	for n := range cur.models {
		names[n] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	slices.Sort(sorted)

	var out []Event
	var ctxInfo *commitContext
	for _, name := range sorted {
		old, now := prev.models[name], cur.models[name]
		ev, ok := b.compare(name, old, now)
		if now.policy != nil {
			b.lastValid[name] = now.policy
		}
		if !ok || (b.opts.Model != "" && name != b.opts.Model) {
			continue
		}
		if ctxInfo == nil {
			var err error
			if ctxInfo, err = b.commitContext(ctx, c); err != nil {
				return nil, err
			}
		}
		ctxInfo.fill(&ev, name)
		ev.Kinds = kinds(ev, old, now)
		out = append(out, ev)
	}
	return out, nil
}

// compare describes how model name changed from old to now, and whether it did.
func (b *builder) compare(name string, old, now modelState) (Event, bool) {
	ev := Event{Model: name, File: now.file, Changes: []Change{}}
	switch {
	case !old.present() && !now.present():
		return ev, false
	case !old.present():
		ev.Error = now.err
		return ev, true
	case !now.present():
		ev.PreviousFile = old.file
		return ev, true
	}
	if old.file != now.file {
		ev.PreviousFile = old.file
	}
	switch {
	case now.policy == nil:
		ev.Error = now.err
		return ev, old.policy != nil || old.err != now.err || ev.PreviousFile != ""
	case old.policy == nil:
		// Fixed: compare with the last valid version, so that the fix reads as what changed.
		if last := b.lastValid[name]; last != nil {
			ev.Changes = append(ev.Changes, Diff(last, now.policy)...)
		}
		return ev, true
	}
	if old.key != now.key || old.doc != now.doc {
		ev.Changes = append(ev.Changes, Diff(old.policy, now.policy)...)
	}
	return ev, len(ev.Changes) > 0 || ev.PreviousFile != ""
}

// kinds names what an event means, most important first.
func kinds(ev Event, old, now modelState) []Kind {
	var out []Kind
	switch {
	case !old.present():
		out = append(out, KindAdded)
	case !now.present():
		return []Kind{KindRemoved}
	}
	if now.policy == nil {
		out = append(out, KindInvalid)
	} else if old.present() && old.policy == nil {
		out = append(out, KindFixed)
	}
	if ev.PreviousFile != "" {
		out = append(out, KindMoved)
	}
	if now.policy == nil {
		return out
	}
	rollback := false
	for _, t := range ev.Trailers {
		if strings.EqualFold(t.Key, git.TrailerAction) && strings.EqualFold(t.Value, "rollback") {
			rollback = true
		}
	}
	named := map[Kind]bool{}
	for _, c := range ev.Changes {
		switch {
		case c.Path == "spec.production.version" || c.Path == "spec.production" && c.Op == OpAdded:
			named[KindPromotion] = true
		case c.Path == "spec.retrain.generation" && greater(c.To, c.From):
			named[KindRetrain] = true
		case c.Path == "spec.canary" && c.Op == OpRemoved,
			c.Path == "spec.canary.weight" && isZero(c.To):
			if rollback {
				named[KindRollback] = true
			} else {
				named[KindCanaryRemoved] = true
			}
		case c.Path == "spec.canary" && c.Op == OpAdded, c.Path == "spec.canary.version":
			named[KindCanary] = true
		case c.Path == "spec.canary.weight":
			named[KindCanaryStep] = true
		}
	}
	if named[KindPromotion] {
		// A full promotion ends the canary: that is not a rollback or a stop.
		delete(named, KindCanaryRemoved)
	}
	for _, k := range []Kind{KindPromotion, KindRollback, KindRetrain, KindCanary, KindCanaryStep, KindCanaryRemoved} {
		if named[k] {
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		out = append(out, KindChange)
	}
	return out
}

func greater(a, b any) bool {
	x, ok1 := a.(int64)
	y, ok2 := b.(int64)
	return ok1 && ok2 && x > y
}

func isZero(v any) bool {
	n, ok := v.(int)
	return ok && n == 0
}

var (
	pullRequestMerge  = regexp.MustCompile(`^Merge pull request #([0-9]+)`)
	pullRequestSquash = regexp.MustCompile(`\(#([0-9]+)\)$`)
	proposalMerge     = regexp.MustCompile(`^Merge proposal ([a-z0-9][-a-z0-9]*)/([a-z0-9][-a-z0-9]*)`)
)

// commitContext is who and why of one mainline commit, shared by its events.
type commitContext struct {
	commit      git.CommitInfo
	pullRequest int
	merge       *Merge
	trailers    []Trailer
}

// commitContext reads the who and why of mainline commit c: for a merge, the merged branch's
// commits and the proposal record it closes.
func (b *builder) commitContext(ctx context.Context, c git.CommitInfo) (*commitContext, error) {
	cc := &commitContext{commit: c, trailers: modelopsTrailers(c)}
	subject := subjectOf(c.Message)
	if m := pullRequestMerge.FindStringSubmatch(subject); m != nil {
		cc.pullRequest, _ = strconv.Atoi(m[1])
	} else if m := pullRequestSquash.FindStringSubmatch(subject); m != nil {
		cc.pullRequest, _ = strconv.Atoi(m[1])
	}
	if len(c.Parents) < 2 {
		return cc, nil
	}
	cc.merge = &Merge{MergedBy: person(c.Committer), Commits: []CommitRef{}}
	branch, truncated, err := b.branchCommits(ctx, c.Parents[1:])
	if err != nil {
		return nil, err
	}
	cc.merge.Truncated = truncated
	for _, bc := range branch {
		ref := CommitRef{Hash: bc.Hash, Subject: subjectOf(bc.Message), Author: person(bc.Author), Trailers: modelopsTrailers(bc)}
		cc.merge.Commits = append(cc.merge.Commits, ref)
		cc.trailers = append(cc.trailers, ref.Trailers...)
	}
	if m := proposalMerge.FindStringSubmatch(subject); m != nil {
		p, err := b.proposal(ctx, m[1], m[2], c)
		if err != nil {
			return nil, err
		}
		cc.merge.Proposal = p
	}
	return cc, nil
}

// fill copies the commit's who and why into ev, keeping the trailers that are about model
// (those that name no model, or name it).
func (cc *commitContext) fill(ev *Event, model string) {
	c := cc.commit
	ev.Commit = c.Hash
	ev.Time = c.Committer.When.UTC()
	ev.Subject = subjectOf(c.Message)
	ev.Author = person(c.Author)
	ev.Committer = person(c.Committer)
	ev.PullRequest = cc.pullRequest
	ev.Merge = cc.merge
	ev.Trailers = []Trailer{}
	byCommit := map[string]string{} // commit -> the model its trailers name
	for _, t := range cc.trailers {
		if strings.EqualFold(t.Key, git.TrailerModel) {
			byCommit[t.Commit] = t.Value
		}
	}
	for _, t := range cc.trailers {
		if m, ok := byCommit[t.Commit]; ok && m != model {
			continue
		}
		ev.Trailers = append(ev.Trailers, t)
	}
}

// branchCommits lists the commits a merge brings in, oldest first: those reachable from
// heads that are neither on the mainline nor shown under an earlier merge.
func (b *builder) branchCommits(ctx context.Context, heads []string) ([]git.CommitInfo, bool, error) {
	var out []git.CommitInfo
	queue := slices.Clone(heads)
	for len(queue) > 0 {
		h := queue[0]
		queue = queue[1:]
		if b.onMain[h] || b.listed[h] {
			continue
		}
		if len(out) == b.opts.MaxMergedCommits {
			return sortCommits(out), true, nil
		}
		b.listed[h] = true
		c, err := b.repo.ReadCommit(ctx, h)
		if err != nil {
			return nil, false, fmt.Errorf("read merged commit: %w", err)
		}
		out = append(out, c)
		queue = append(queue, c.Parents...)
	}
	return sortCommits(out), false, nil
}

// sortCommits orders commits oldest first by committer time, then author time.
func sortCommits(cs []git.CommitInfo) []git.CommitInfo {
	slices.SortStableFunc(cs, func(a, b git.CommitInfo) int {
		if c := a.Committer.When.Compare(b.Committer.When); c != 0 {
			return c
		}
		return a.Author.When.Compare(b.Author.When)
	})
	return cs
}

func modelopsTrailers(c git.CommitInfo) []Trailer {
	var out []Trailer
	for _, t := range c.Trailers {
		if len(t.Key) > len("Modelops-") && strings.EqualFold(t.Key[:len("Modelops-")], "Modelops-") {
			out = append(out, Trailer{Key: t.Key, Value: t.Value, Commit: c.Hash})
		}
	}
	return out
}

func subjectOf(msg string) string {
	line, _, _ := strings.Cut(strings.TrimLeft(msg, "\r\n"), "\n")
	return strings.TrimSpace(line)
}

func person(s git.Signature) Person {
	return Person{Name: s.Name, Email: s.Email, Time: s.When.UTC()}
}
