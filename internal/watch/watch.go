// Package watch turns file-system changes under a git directory into reconcile triggers.
// It only signals that something may have changed; the reconciler reads the state itself
// (level-triggered), so a missed or duplicated event costs nothing but latency.
package watch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Debounce is how long events are gathered before one notification: git writes a ref
// through a lock file and a rename, several events for one commit.
const Debounce = 50 * time.Millisecond

// GitDir returns the directory holding refs of the repository at path: path/.git for a
// working tree, path itself for a bare repository.
func GitDir(path string) (string, error) {
	dot := filepath.Join(path, ".git")
	if fi, err := os.Stat(dot); err == nil && fi.IsDir() {
		return dot, nil
	}
	if fi, err := os.Stat(filepath.Join(path, "refs")); err == nil && fi.IsDir() {
		return path, nil
	}
	return "", fmt.Errorf("%s is not a git repository with a .git directory", path)
}

// Refs watches the refs of the git directory gitDir (loose refs at any depth and
// packed-refs) and sends on notify, without blocking, after each burst of changes. It
// returns when ctx is done.
func Refs(ctx context.Context, gitDir string, notify chan<- struct{}) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch %s: %w", gitDir, err)
	}
	defer w.Close()
	// packed-refs is replaced by rename, so watch its directory rather than the file.
	if err := w.Add(gitDir); err != nil {
		return fmt.Errorf("watch %s: %w", gitDir, err)
	}
	if err := addTree(w, filepath.Join(gitDir, "refs")); err != nil {
		return err
	}
	var timer *time.Timer
	var fire <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return errors.New("watcher closed")
			}
			// New branch directories (refs/heads/modelops/x) must be watched too.
			if ev.Has(fsnotify.Create) {
				if fi, err := os.Stat(ev.Name); err == nil && fi.IsDir() {
					_ = addTree(w, ev.Name)
				}
			}
			if timer == nil {
				timer = time.NewTimer(Debounce)
				fire = timer.C
			}
		case <-fire:
			timer, fire = nil, nil
			select {
			case notify <- struct{}{}:
			default: // a trigger is already pending
			}
		case err, ok := <-w.Errors:
			if !ok {
				return errors.New("watcher closed")
			}
			return fmt.Errorf("watch %s: %w", gitDir, err)
		}
	}
}

func addTree(w *fsnotify.Watcher, root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // a directory removed while walking is not an error
		}
		if d.IsDir() {
			if err := w.Add(p); err != nil {
				return fmt.Errorf("watch %s: %w", p, err)
			}
		}
		return nil
	})
}
