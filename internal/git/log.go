package git

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// CommitInfo describes one commit.
type CommitInfo struct {
	Hash      string
	Parents   []string
	Author    Signature
	Committer Signature
	Message   string
	// Trailers are ParseTrailers(Message).
	Trailers []Trailer
}

func commitInfo(c *object.Commit) CommitInfo {
	info := CommitInfo{
		Hash:      c.Hash.String(),
		Author:    Signature{Name: c.Author.Name, Email: c.Author.Email, When: c.Author.When},
		Committer: Signature{Name: c.Committer.Name, Email: c.Committer.Email, When: c.Committer.When},
		Message:   c.Message,
		Trailers:  ParseTrailers(c.Message),
	}
	for _, p := range c.ParentHashes {
		info.Parents = append(info.Parents, p.String())
	}
	return info
}

// ReadCommit returns the commit with the given 40-hex hash, trailers parsed.
func (r *Repo) ReadCommit(ctx context.Context, commit string) (CommitInfo, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := r.commitLocked(commit)
	if err != nil {
		return CommitInfo{}, err
	}
	return commitInfo(c), nil
}

// Log returns the commits reachable from to but not from from (empty from
// means the whole history), newest first by committer time, keeping only
// those that touch path. A commit touches path (a file or a directory;
// empty means any) when the path's content differs from the commit's first
// parent's, so a merge that brings a change to path onto the mainline
// counts. Log reads only local objects; Fetch first for the remote's view.
func (r *Repo) Log(ctx context.Context, from, to, path string) ([]CommitInfo, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if path != "" {
		if err := validPath(path); err != nil {
			return nil, fmt.Errorf("log: %w", err)
		}
	}
	head, err := r.commitLocked(to)
	if err != nil {
		return nil, fmt.Errorf("log: %w", err)
	}
	exclude := map[plumbing.Hash]bool{}
	if from != "" {
		stop, err := r.commitLocked(from)
		if err != nil {
			return nil, fmt.Errorf("log: %w", err)
		}
		err = object.NewCommitPreorderIter(stop, nil, nil).ForEach(func(c *object.Commit) error {
			exclude[c.Hash] = true
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("log: walk %s: %w", from, err)
		}
	}
	var out []CommitInfo
	err = object.NewCommitIterCTime(head, exclude, nil).ForEach(func(c *object.Commit) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if path != "" {
			touched, err := touches(c, path)
			if err != nil {
				return err
			}
			if !touched {
				return nil
			}
		}
		out = append(out, commitInfo(c))
		return nil
	})
	if err != nil && !errors.Is(err, storer.ErrStop) {
		return nil, fmt.Errorf("log %s: %w", to, err)
	}
	return out, nil
}

// touches reports whether path's entry in c differs from its first
// parent's (or exists at all in a root commit).
func touches(c *object.Commit, path string) (bool, error) {
	cur, err := entryHash(c, path)
	if err != nil {
		return false, err
	}
	if c.NumParents() == 0 {
		return !cur.IsZero(), nil
	}
	p, err := c.Parent(0)
	if err != nil {
		return false, fmt.Errorf("read parent of %s: %w", c.Hash, err)
	}
	prev, err := entryHash(p, path)
	if err != nil {
		return false, err
	}
	return cur != prev, nil
}

// entryHash is the hash of path's blob or tree in c, or zero if absent.
func entryHash(c *object.Commit, path string) (plumbing.Hash, error) {
	t, err := c.Tree()
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("read tree of %s: %w", c.Hash, err)
	}
	e, err := t.FindEntry(path)
	if notFound(err) {
		return plumbing.ZeroHash, nil
	}
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("find %s in %s: %w", path, c.Hash, err)
	}
	return e.Hash, nil
}
