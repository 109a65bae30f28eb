package policies

import (
	"io/fs"
	"sync"
)

// FileHasher is implemented by file systems that know a key of each file's content without
// reading it, such as a git tree (the blob hash). LoadCached uses it to skip reading files
// that did not change.
type FileHasher interface {
	// FileHash returns a key of the content of the file name: equal keys mean equal bytes.
	FileHash(name string) (string, error)
}

// Cache keeps the parse of each policy file by its name and content, so that loading a tree
// again parses only the files that changed (see LoadCached). The zero Cache is empty and
// ready to use. A Cache is safe for concurrent use.
type Cache struct {
	mu sync.Mutex // guards files
	// files maps a file name to its parse. A map, once stored, is never written again, so
	// that loads read it without holding mu.
	files map[string]cacheEntry
}

// cacheEntry is the parse of one file.
type cacheEntry struct {
	key      string // the content key
	policies []*Policy
	errs     []error
}

// snapshot returns the current entries, to be read only.
func (c *Cache) snapshot() map[string]cacheEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.files
}

// store replaces the entries by the parses of files, dropping the entries of files that
// are gone.
func (c *Cache) store(files []*fileResult) {
	m := make(map[string]cacheEntry, len(files))
	for _, r := range files {
		m[r.name] = cacheEntry{key: r.key, policies: r.policies, errs: r.errs}
	}
	c.mu.Lock()
	c.files = m
	c.mu.Unlock()
}

// Len returns the number of files in the cache.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.files)
}

// LoadCached is Load, reusing from c the parse of every file whose name and content are
// unchanged since c last saw them, and storing the new parses in c; entries of files that are
// gone are dropped. When fsys implements FileHasher (as the reconciler's git trees do), its
// key is used and an unchanged file is not even read; otherwise the key is a SHA-256 of the
// bytes. The check for duplicate names across files runs every time.
//
// The policies and errors of an unchanged file are the very ones of the previous load: they
// are shared and must not be modified.
func LoadCached(fsys fs.FS, c *Cache) (*Set, error) {
	files, err := loadFiles(fsys, loadOptions{cache: c})
	if err != nil {
		return nil, err
	}
	return setOf(files), nil
}
