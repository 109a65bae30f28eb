package policies

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"reflect"
	"sync"

	"github.com/medimind/modelops/internal/statecache"
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
// ready to use; PersistTo keeps it in a file between processes. A Cache is safe for
// concurrent use.
type Cache struct {
	mu sync.Mutex // guards files, disk and read
	// files maps a file name to its parse. A map, once stored, is never written again, so
	// that loads read it without holding mu.
	files map[string]cacheEntry

	// disk, when set, is the file the entries persist in between processes; read says it
	// was read into files, stored names the (name, key) pairs it holds.
	disk   *statecache.File
	read   bool
	stored map[string]string
	miss   func(error) // told why the file was not used or not written
	// writeMu serialises writes of the file.
	writeMu sync.Mutex
}

// cacheEntry is the parse of one file.
type cacheEntry struct {
	key      string // the content key
	policies []*Policy
	errs     []error
	// persisted is the entry as the cache file holds it; nil when it is not persisted (a file
	// with errors, or a parse that does not survive the round trip through the file).
	persisted *persistedEntry
	// fromDisk marks an entry read from the file: its policies are decoded from persisted
	// on first use.
	fromDisk bool
}

// persistedEntry is a file's parse as the cache file holds it: each valid policy of the file,
// defaults applied, as JSON. Files with errors are not persisted; they are parsed again.
type persistedEntry struct {
	Name, Key string
	Docs      []int    // the document index of each policy
	Policies  [][]byte // each policy's ModelPolicy as JSON
}

// persistedCache is the cache file's payload.
type persistedCache struct {
	Entries []persistedEntry
}

// cacheFormat versions persistedCache and its JSON; the build of modelops is checked apart
// (statecache), so changes of the policy types, defaults or validation need no bump here.
const cacheFormat = "policies/1"

// PersistTo keeps c's entries in the file path between processes: they are read on c's first
// load, and the file is rewritten (atomically) after a load that parsed files or dropped
// some. Only files without errors are kept, keyed by their content, and only by the build of
// modelops that parsed them. A file that cannot be used, or cannot be written, is told to miss
// (for a debug log) and is never an error of the load. Call it before the first load.
func (c *Cache) PersistTo(path string, miss func(error)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.disk = &statecache.File{Path: path, Format: cacheFormat}
	c.miss = miss
}

// snapshot returns the current entries, to be read only. The first snapshot of a persisted
// cache reads its file.
func (c *Cache) snapshot() map[string]cacheEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.disk != nil && !c.read {
		c.read = true
		var pc persistedCache
		if err := c.disk.Load(&pc); err != nil {
			c.tell(err)
			return c.files
		}
		files := make(map[string]cacheEntry, len(pc.Entries))
		c.stored = make(map[string]string, len(pc.Entries))
		for i := range pc.Entries {
			e := &pc.Entries[i]
			if len(e.Docs) != len(e.Policies) {
				continue
			}
			files[e.Name] = cacheEntry{key: e.Key, persisted: e, fromDisk: true}
			c.stored[e.Name] = e.Key
		}
		// Entries parsed in this process win over the file's.
		for name, e := range c.files {
			files[name] = e
		}
		c.files = files
	}
	return c.files
}

func (c *Cache) tell(err error) {
	if c.miss != nil && err != nil {
		c.miss(err)
	}
}

// decode returns the policies of an entry read from the cache file, as parsing the file
// would; their positions are found, when an error needs them, by reading name from fsys
// again (whose content the entry's key guarantees). ok is false when the entry cannot be
// decoded: the file is then parsed.
func (e *cacheEntry) decode(fsys fs.FS, name string) (ps []*Policy, ok bool) {
	read := func() []byte {
		b, _ := fs.ReadFile(fsys, name)
		return b
	}
	for i, raw := range e.persisted.Policies {
		p := &Policy{File: name, Doc: e.persisted.Docs[i], pos: &positions{read: read, doc: e.persisted.Docs[i]}}
		if err := json.Unmarshal(raw, &p.ModelPolicy); err != nil {
			return nil, false
		}
		ps = append(ps, p)
	}
	return ps, true
}

// persist returns the cache file's form of a fresh parse, or nil when it has errors or does
// not come back equal from its JSON (a type that JSON does not carry whole is never cached).
func persist(r *fileResult) *persistedEntry {
	if len(r.errs) > 0 || r.key == "" {
		return nil
	}
	pe := &persistedEntry{Name: r.name, Key: r.key}
	for _, p := range r.policies {
		raw, err := json.Marshal(&p.ModelPolicy)
		if err != nil {
			return nil
		}
		var back ModelPolicy
		if json.Unmarshal(raw, &back) != nil || !reflect.DeepEqual(back, p.ModelPolicy) {
			return nil
		}
		pe.Docs = append(pe.Docs, p.Doc)
		pe.Policies = append(pe.Policies, raw)
	}
	return pe
}

// store replaces the entries by the parses of files, dropping the entries of files that
// are gone, and rewrites the cache file when what it should hold changed.
func (c *Cache) store(files []*fileResult) {
	m := make(map[string]cacheEntry, len(files))
	for _, r := range files {
		m[r.name] = cacheEntry{key: r.key, policies: r.policies, errs: r.errs, persisted: r.persisted}
	}
	c.mu.Lock()
	c.files = m
	disk := c.disk
	c.mu.Unlock()
	if disk != nil {
		c.write(m)
	}
}

// write rewrites the cache file with the persisted entries of m, unless it holds them already.
func (c *Cache) write(m map[string]cacheEntry) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	want := map[string]string{}
	var pc persistedCache
	for name, e := range m {
		if e.persisted != nil {
			want[name] = e.key
			pc.Entries = append(pc.Entries, *e.persisted)
		}
	}
	c.mu.Lock()
	same := reflect.DeepEqual(want, c.stored) || (len(want) == 0 && len(c.stored) == 0)
	c.mu.Unlock()
	if same {
		return
	}
	if err := c.disk.Store(&pc); err != nil {
		c.tell(fmt.Errorf("write the policy cache: %w", err))
		want = nil // whatever the file holds now, write it again next time
	}
	c.mu.Lock()
	c.stored = want
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
