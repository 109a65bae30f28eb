package demo

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// People of the story.
var (
	// Reviewer is the person who owns the policy repository and merges proposals.
	Reviewer = Person{Name: "Ana Reviewer", Email: "ana@hospital.example"}
	// demoAuthor signs the demo's own adjustments of the copied repository.
	demoAuthor = Person{Name: "modelops demo", Email: "demo@modelops.invalid"}
)

// Person is a commit author.
type Person struct{ Name, Email string }

// signature dates a commit at when: the story's simulated time, so that the history (and
// modelops audit) tells the story in its own dates.
func (p Person) signature(when time.Time) *object.Signature {
	return &object.Signature{Name: p.Name, Email: p.Email, When: when}
}

// initRepo creates a non-bare repository at dir on branch main holding the files of src,
// committed by author at when.
func initRepo(dir string, src fs.FS, author Person, when time.Time, msg string) (string, error) {
	repo, err := gogit.PlainInitWithOptions(dir, &gogit.PlainInitOptions{
		InitOptions: gogit.InitOptions{DefaultBranch: plumbing.Main},
	})
	if err != nil {
		return "", fmt.Errorf("init repository %s: %w", dir, err)
	}
	if err := os.CopyFS(dir, src); err != nil {
		return "", fmt.Errorf("copy the example policies into %s: %w", dir, err)
	}
	return commitAll(repo, author, when, msg)
}

// commitAll stages every change of the working tree and commits it.
func commitAll(repo *gogit.Repository, author Person, when time.Time, msg string) (string, error) {
	wt, err := repo.Worktree()
	if err != nil {
		return "", fmt.Errorf("open worktree: %w", err)
	}
	if err := wt.AddWithOptions(&gogit.AddOptions{All: true}); err != nil {
		return "", fmt.Errorf("stage changes: %w", err)
	}
	h, err := wt.Commit(msg, &gogit.CommitOptions{Author: author.signature(when)})
	if err != nil {
		return "", fmt.Errorf("commit %q: %w", firstLine(msg), err)
	}
	return h.String(), nil
}

func commitIn(dir string, author Person, when time.Time, msg string) (string, error) {
	repo, err := gogit.PlainOpen(dir)
	if err != nil {
		return "", fmt.Errorf("open repository %s: %w", dir, err)
	}
	return commitAll(repo, author, when, msg)
}

// installBinary puts the binary at src into dir as modelops and returns its path: a hard link
// when dir is on the same file system, else a copy. A `go run` binary is deleted when it
// exits; the demo's training command and the commands it prints must outlive it.
func installBinary(src, dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	dst := filepath.Join(dir, "modelops")
	if err := os.Link(src, dst); err == nil {
		return dst, nil
	}
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o755)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return "", err
	}
	return dst, out.Close()
}

// checkoutTip makes the working tree and index of dir equal to the tip of main, which the
// reconciler and the forge move without a worktree: a person looking at the directory (and
// the training job, which runs there) sees the merged policy.
func checkoutTip(dir string) error {
	repo, err := gogit.PlainOpen(dir)
	if err != nil {
		return fmt.Errorf("open repository %s: %w", dir, err)
	}
	ref, err := repo.Reference(plumbing.NewBranchReferenceName("main"), true)
	if err != nil {
		return fmt.Errorf("read main: %w", err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return fmt.Errorf("open worktree: %w", err)
	}
	// A hard reset would also delete the ignored serving logs; reset the index, then write
	// the tracked files that differ.
	if err := wt.Reset(&gogit.ResetOptions{Commit: ref.Hash(), Mode: gogit.MixedReset}); err != nil {
		return fmt.Errorf("check out main at %s: %w", ref.Hash(), err)
	}
	commit, err := repo.CommitObject(ref.Hash())
	if err != nil {
		return fmt.Errorf("read main at %s: %w", ref.Hash(), err)
	}
	files, err := commit.Files()
	if err != nil {
		return fmt.Errorf("read main at %s: %w", ref.Hash(), err)
	}
	return files.ForEach(func(f *object.File) error {
		want, err := f.Contents()
		if err != nil {
			return err
		}
		path := filepath.Join(dir, filepath.FromSlash(f.Name))
		if got, err := os.ReadFile(path); err == nil && string(got) == want {
			return nil
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		return os.WriteFile(path, []byte(want), 0o644)
	})
}

// mainTip returns the commit at the tip of main in dir.
func mainTip(dir string) (string, error) {
	repo, err := gogit.PlainOpen(dir)
	if err != nil {
		return "", fmt.Errorf("open repository %s: %w", dir, err)
	}
	ref, err := repo.Reference(plumbing.NewBranchReferenceName("main"), true)
	if err != nil {
		return "", fmt.Errorf("read main: %w", err)
	}
	return ref.Hash().String(), nil
}

// commitInfo reads a commit of dir.
func commitInfo(dir, hash string) (*object.Commit, error) {
	repo, err := gogit.PlainOpen(dir)
	if err != nil {
		return nil, fmt.Errorf("open repository %s: %w", dir, err)
	}
	c, err := repo.CommitObject(plumbing.NewHash(hash))
	if err != nil {
		return nil, fmt.Errorf("read commit %s: %w", hash, err)
	}
	return c, nil
}

// isEmptyOrMissing reports whether dir does not exist or holds nothing.
func isEmptyOrMissing(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return len(entries) == 0, nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
