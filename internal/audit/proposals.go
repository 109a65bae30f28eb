package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	forgelocal "github.com/medimind/modelops/internal/forge/local"
	"github.com/medimind/modelops/internal/git"
)

// proposalVersion is one committed version of a proposal record on the status branch.
type proposalVersion struct {
	commit string
	record forgelocal.Record
}

// proposal links the merge c of the local forge's proposal model/kind to its record on the
// status branch. A record is rewritten for every proposal of the same (model, kind), so the
// record's history is searched for the version that names this merge (or whose head is the
// merged commit). Without such a version the link carries the record's path only.
func (b *builder) proposal(ctx context.Context, model, kind string, c git.CommitInfo) (*Proposal, error) {
	path := fmt.Sprintf("proposals/%s/%s.json", model, kind)
	p := &Proposal{ID: model + "/" + kind, Record: b.opts.StatusBranch + ":" + path}
	versions, err := b.proposalVersions(ctx, path)
	if err != nil {
		return nil, err
	}
	for _, v := range versions {
		r := v.record
		if r.Merge != c.Hash && (len(c.Parents) < 2 || r.Head != c.Parents[1]) {
			continue
		}
		p.Title, p.State, p.Branch, p.RecordCommit = r.Title, string(r.State), r.Branch, v.commit
		p.Evidence = firstEvidence(r.Body)
		if r.Merge == c.Hash {
			// The newest version naming the merge is the settled one.
			break
		}
	}
	return p, nil
}

// proposalVersions reads every version of the record at path, newest first, once.
func (b *builder) proposalVersions(ctx context.Context, path string) ([]proposalVersion, error) {
	if vs, ok := b.proposals[path]; ok {
		return vs, nil
	}
	if b.statusTip == nil {
		tip, err := b.repo.Head(ctx, b.opts.StatusBranch)
		if err != nil && !errors.Is(err, git.ErrBranchNotFound) {
			return nil, fmt.Errorf("read branch %s: %w", b.opts.StatusBranch, err)
		}
		b.statusTip = &tip
	}
	var out []proposalVersion
	if *b.statusTip != "" {
		commits, err := b.repo.Log(ctx, "", *b.statusTip, path)
		if err != nil {
			return nil, fmt.Errorf("read history of %s: %w", path, err)
		}
		for _, c := range commits {
			tree, err := b.repo.Tree(ctx, c.Hash)
			if err != nil {
				return nil, fmt.Errorf("read %s at %s: %w", path, c.Hash, err)
			}
			data, err := fs.ReadFile(tree, path)
			if errors.Is(err, fs.ErrNotExist) {
				continue // deleted in this commit
			}
			if err != nil {
				return nil, fmt.Errorf("read %s at %s: %w", path, c.Hash, err)
			}
			var r forgelocal.Record
			if err := json.Unmarshal(data, &r); err != nil {
				// A damaged record cannot link anything; the merge still shows.
				continue
			}
			out = append(out, proposalVersion{commit: c.Hash, record: r})
		}
	}
	b.proposals[path] = out
	return out, nil
}

// firstEvidence returns the first item of the "Evidence" section of a proposal body (as
// the reconciler writes it: reconciler/render.go, writeEvidence), or "".
func firstEvidence(body string) string {
	in := false
	for _, line := range strings.Split(body, "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "#") {
			in = strings.EqualFold(strings.TrimSpace(strings.TrimLeft(t, "#")), "evidence")
			continue
		}
		if in && (strings.HasPrefix(t, "- ") || strings.HasPrefix(t, "* ")) {
			return strings.TrimSpace(t[2:])
		}
	}
	return ""
}
