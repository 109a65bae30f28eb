package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"runtime"
	"slices"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/medimind/modelops/internal/git"
	"github.com/medimind/modelops/policies"
)

// fileHasher is what internal/git's tree views offer: a file's blob hash without reading it.
type fileHasher interface {
	FileHash(name string) (string, error)
}

// fileSet is the policy files at one mainline commit: path -> blob hash.
type fileSet struct {
	files map[string]string
	// commit is where the set was read, for messages about its files.
	commit string
}

// nextFiles derives the policy files at commit at from known, those at the other end of
// changes (a commit's parent, or for a walk backwards its child). Whether a path is a policy
// file depends only on the path and the .modelopsignore files, so a policy file edited or
// deleted in place needs no walk; a YAML file that appears or a changed ignore file may
// change which files are policies, and then at's tree is walked as policies.Load walks it.
// When no policy file changed the result is known itself.
func (b *builder) nextFiles(ctx context.Context, known *fileSet, at string, changes []git.FileChange) (*fileSet, error) {
	var edits []git.FileChange
	for _, ch := range changes {
		name := path.Base(ch.Path)
		if name == policies.IgnoreFile {
			return b.walkFiles(ctx, at, known)
		}
		if ext := path.Ext(name); ext != ".yaml" && ext != ".yml" {
			continue
		}
		if ch.From == "" {
			return b.walkFiles(ctx, at, known)
		}
		if key, ok := known.files[ch.Path]; ok && key != ch.To {
			edits = append(edits, ch)
		}
	}
	if len(edits) == 0 {
		return known, nil
	}
	files := maps.Clone(known.files)
	for _, ch := range edits {
		if ch.To == "" {
			delete(files, ch.Path)
		} else {
			files[ch.Path] = ch.To
		}
	}
	return &fileSet{files: files, commit: at}, nil
}

// reversed turns a commit's changes around: what its parent has, seen from the commit.
func reversed(changes []git.FileChange) []git.FileChange {
	out := make([]git.FileChange, len(changes))
	for i, c := range changes {
		out[i] = git.FileChange{Path: c.Path, From: c.To, To: c.From}
	}
	return out
}

// walkFiles lists the policy files at commit; prev itself when they are the same.
func (b *builder) walkFiles(ctx context.Context, commit string, prev *fileSet) (*fileSet, error) {
	tree, err := b.repo.Tree(ctx, commit)
	if err != nil {
		return nil, fmt.Errorf("read tree of %s: %w", commit, err)
	}
	files, err := policyFiles(tree)
	if err != nil {
		return nil, fmt.Errorf("list policy files at %s: %w", commit, err)
	}
	if prev != nil && sameFiles(prev.files, files) {
		return prev, nil
	}
	return &fileSet{files: files, commit: commit}, nil
}

// policyFiles maps every policy file of fsys (*.yaml and *.yml, skipping .git and the paths
// that .modelopsignore files exclude, as policies.Load does) to its blob hash.
func policyFiles(fsys fs.FS) (map[string]string, error) {
	hasher, ok := fsys.(fileHasher)
	if !ok {
		return nil, errors.New("tree view gives no blob hashes")
	}
	var names []string
	if err := policies.WalkFiles(fsys, func(name string) { names = append(names, name) }); err != nil {
		return nil, err
	}
	files := make(map[string]string, len(names))
	for _, name := range names {
		h, err := hasher.FileHash(name)
		if err != nil {
			return nil, fmt.Errorf("hash %s: %w", name, err)
		}
		files[name] = h
	}
	return files, nil
}

// history is what Build reads before it compares anything.
type history struct {
	// mainline is the first-parent chain ending at the branch's tip, oldest first.
	mainline []git.CommitInfo
	// start is the first audited commit of mainline (see Options.Since).
	start int
	// sets are the policy files at mainline[start-1] (none when start is 0), then at each
	// audited commit. A commit that changes no policy file shares its parent's set, so
	// identity tells an untouched commit.
	sets []*fileSet
}

// readHistory reads the mainline from head back to the root, once, and the policy files
// along it, and parses every version of them (into b.parses). The policy files at head are
// found by walking its tree; those at each parent by comparing the two commits' trees by
// hash (Repo.ChangedFiles). Parsing YAML is most of an audit's work and file versions are
// independent, so they are parsed on as many goroutines as there are processors while the
// history is still being read.
func (b *builder) readHistory(ctx context.Context, head string) (*history, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	type job struct{ key, path, commit string }
	jobs := make(chan job, 1024)
	var mu sync.Mutex // guards parses
	parses := map[string]*parsedFile{}
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for j := range jobs {
				if ctx.Err() != nil {
					continue // drain
				}
				data, err := b.repo.ReadBlob(ctx, j.key)
				if err != nil {
					cancel(fmt.Errorf("read %s at %s: %w", j.path, j.commit, err))
					continue
				}
				pf := parseFile(data)
				mu.Lock()
				parses[j.key] = pf
				mu.Unlock()
			}
		})
	}
	queued := map[string]bool{}
	h, err := b.walkBack(ctx, head, func(s *fileSet) {
		for p, key := range s.files {
			if !queued[key] {
				queued[key] = true
				jobs <- job{key: key, path: p, commit: s.commit}
			}
		}
	})
	if err != nil {
		cancel(err) // the queued versions are not needed
	}
	close(jobs)
	wg.Wait()
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return nil, cause // a blob that could not be read; the walk stopped because of it
	}
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.parses = parses
	return h, nil
}

// walkBack follows first parents from head to the root, calling found with every new set of
// policy files as soon as it is known. Past the first commit made before Options.Since it
// only reads commits: merges need the whole mainline to tell their branch's commits.
func (b *builder) walkBack(ctx context.Context, head string, found func(*fileSet)) (*history, error) {
	c, err := b.repo.ReadCommit(ctx, head)
	if err != nil {
		return nil, fmt.Errorf("walk history: %w", err)
	}
	cur, err := b.walkFiles(ctx, head, nil)
	if err != nil {
		return nil, err
	}
	found(cur)
	var newest []git.CommitInfo // newest first
	var sets []*fileSet         // newest first: the set at newest[k], then the base
	audited := -1               // how many of the newest commits are audited, once known
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		newest = append(newest, c)
		if audited < 0 {
			sets = append(sets, cur)
			if !b.opts.Since.IsZero() && c.Committer.When.Before(b.opts.Since) {
				audited = len(newest) - 1 // c is the base
			}
		}
		if len(c.Parents) == 0 {
			break
		}
		parent, err := b.repo.ReadCommit(ctx, c.Parents[0])
		if err != nil {
			return nil, fmt.Errorf("walk history: %w", err)
		}
		if audited < 0 {
			changes, err := b.repo.ChangedFiles(ctx, parent.Hash, c.Hash)
			if err != nil {
				return nil, fmt.Errorf("compare %s with its parent: %w", c.Hash, err)
			}
			prev, err := b.nextFiles(ctx, cur, parent.Hash, reversed(changes))
			if err != nil {
				return nil, err
			}
			if prev != cur {
				found(prev)
			}
			cur = prev
		}
		c = parent
	}
	if audited < 0 {
		// Every commit is audited; before the root there were no files.
		audited = len(newest)
		sets = append(sets, &fileSet{files: map[string]string{}})
	}
	slices.Reverse(newest)
	slices.Reverse(sets)
	return &history{mainline: newest, start: len(newest) - audited, sets: sets}, nil
}

// parsedDoc is one ModelPolicy document of a file version: valid (policy set) or not (err
// set to its first problem).
type parsedDoc struct {
	name   string
	doc    int
	policy *policies.ModelPolicy
	err    *policies.FieldError
}

// parsedFile is the parse of one file version, independent of the file's name.
type parsedFile struct {
	docs []parsedDoc
	// err is the first problem that belongs to no named document (a YAML syntax error, a
	// document without a name): the models the file held before are invalid, not gone.
	err *policies.FieldError
}

// parseFile parses one file version. Problems are attributed to the document they are in by
// line, so that an invalid document still names its model.
func parseFile(data []byte) *parsedFile {
	ps, perr := policies.Parse("", data)
	out := &parsedFile{}
	for _, p := range ps {
		out.docs = append(out.docs, parsedDoc{name: p.Metadata.Name, doc: p.Doc, policy: &p.ModelPolicy})
	}
	problems := policies.FieldErrors(perr)
	if len(problems) == 0 {
		return out
	}
	valid := map[int]bool{}
	for _, p := range ps {
		valid[p.Doc] = true
	}
	starts := documentStarts(data)
	firstErr := map[int]*policies.FieldError{}
	for _, fe := range problems {
		doc := -1
		for _, s := range starts {
			if fe.Line > 0 && s.line <= fe.Line {
				doc = s.doc
			}
		}
		if doc < 0 && len(starts) == 1 {
			doc = starts[0].doc
		}
		if doc < 0 || valid[doc] {
			if out.err == nil {
				out.err = fe
			}
			continue
		}
		if firstErr[doc] == nil {
			firstErr[doc] = fe
		}
	}
	for _, s := range starts {
		fe := firstErr[s.doc]
		if fe == nil || valid[s.doc] {
			continue
		}
		if s.name == "" {
			if out.err == nil {
				out.err = fe
			}
			continue
		}
		out.docs = append(out.docs, parsedDoc{name: s.name, doc: s.doc, err: fe})
	}
	slices.SortFunc(out.docs, func(a, b parsedDoc) int { return a.doc - b.doc })
	return out
}

// docStart is where a modelops document of a file begins, and the name it gives.
type docStart struct {
	doc, line int
	name      string
}

// documentStarts lists the documents of data that policies.Parse treats as modelops policies,
// with their first line and metadata.name, up to the first YAML syntax error.
func documentStarts(data []byte) []docStart {
	var out []docStart
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for doc := 0; ; doc++ {
		var root yaml.Node
		if safeDecode(dec, &root) != nil {
			return out
		}
		n := &root
		if n.Kind == yaml.DocumentNode {
			if len(n.Content) == 0 {
				continue
			}
			n = n.Content[0]
		}
		if n.Kind != yaml.MappingNode || !isModelops(n) {
			continue
		}
		name := ""
		if meta := mapValue(n, "metadata"); meta != nil && meta.Kind == yaml.MappingNode {
			if v := mapValue(meta, "name"); v != nil && v.Kind == yaml.ScalarNode {
				name = v.Value
			}
		}
		out = append(out, docStart{doc: doc, line: n.Line, name: name})
	}
}

// isModelops mirrors policies.Parse: a document is ours when its apiVersion is in our group,
// or when it has no apiVersion and says kind: ModelPolicy.
func isModelops(m *yaml.Node) bool {
	api, kind := mapValue(m, "apiVersion"), mapValue(m, "kind")
	if api != nil {
		value := ""
		if api.Kind == yaml.ScalarNode && api.Tag != "!!null" {
			value = api.Value
		}
		group, _, _ := strings.Cut(value, "/")
		return group == policies.Group
	}
	return kind != nil && kind.Kind == yaml.ScalarNode && kind.Value == policies.KindModelPolicy
}

func mapValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// safeDecode decodes one document; yaml.v3 panics on a few malformed inputs, which must not
// end an audit.
func safeDecode(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("invalid YAML: %v", r)
		}
	}()
	return dec.Decode(n)
}
