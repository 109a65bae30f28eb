package policies

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"

	"github.com/medimind/modelops/internal/datafs"
)

// IgnoreFile lists paths Load skips, in gitignore syntax. Like .gitignore, one may sit in any
// directory and its patterns apply below it.
const IgnoreFile = ".modelopsignore"

// Set is a loaded policy repository: the valid policies (sorted by name) and every problem.
type Set struct {
	// Policies are the valid policies, sorted by name.
	Policies []*Policy
	// Errors holds every problem found, each a *FieldError, sorted by file, line and column.
	Errors []error
}

// Err returns nil, or a *multierror.Error of all problems, sorted by file, line, col.
func (s *Set) Err() error {
	errs := slices.Clone(s.Errors)
	sortErrors(errs)
	return multiError(errs)
}

// Get returns the policy named name, or nil.
func (s *Set) Get(name string) *Policy {
	i, ok := slices.BinarySearchFunc(s.Policies, name, func(p *Policy, name string) int {
		return strings.Compare(p.Metadata.Name, name)
	})
	if !ok {
		return nil
	}
	return s.Policies[i]
}

// Load reads every *.yaml/*.yml below the root of fsys (skipping .git and paths matched by
// .modelopsignore, gitignore syntax), parses them and checks names are unique (a duplicate
// names both files and lines; neither duplicate is kept). One invalid file never stops the
// others; a policy file that is a symbolic link is an error of its own. Load works on any
// fs.FS so that a git tree can be loaded without a checkout.
// Files are read and parsed in parallel while the tree is walked. The error is only for I/O
// failures, not for invalid policies.
func Load(fsys fs.FS) (*Set, error) {
	files, err := loadFiles(fsys, loadOptions{})
	if err != nil {
		return nil, err
	}
	return setOf(files), nil
}

// fileResult is what loading found in one file.
type fileResult struct {
	name     string
	entry    fs.DirEntry // the walk's entry of the file
	key      string      // the content key, when loading through a Cache
	policies []*Policy
	errs     []error // sorted, each a *FieldError
	// checks holds, beside each policy, the problems the caller's check found in it.
	checks [][]error
	err    error // an I/O failure
}

// loadOptions are the variations of loadFiles.
type loadOptions struct {
	// cache, when set, supplies the parse of files whose content key it holds, and
	// receives the new parses.
	cache *Cache
	// check, when set, runs on every policy parsed.
	check func(*Policy) []error
	// reader, when set, makes the reader of each worker; otherwise files are read with
	// fs.ReadFile.
	reader func() fileReader
}

// fileReader reads the files of one loading worker. The walk's entry of the file may spare
// a reader a system call.
type fileReader interface {
	ReadFile(name string, entry fs.DirEntry) ([]byte, error)
	Close()
}

// fsReader reads with fs.ReadFile.
type fsReader struct{ fsys fs.FS }

func (r fsReader) ReadFile(name string, _ fs.DirEntry) ([]byte, error) {
	return fs.ReadFile(r.fsys, name)
}
func (fsReader) Close() {}

// loadFiles reads and parses the policy files of fsys in walk order, on GOMAXPROCS workers
// that start while the tree is still being walked. With a cache, a file whose content key is
// unchanged is not parsed again (nor read, when fsys knows the key). The error is the walk's,
// or the read error of the first file that could not be read.
func loadFiles(fsys fs.FS, opts loadOptions) ([]*fileResult, error) {
	var cached map[string]cacheEntry
	if opts.cache != nil {
		cached = opts.cache.snapshot()
	}
	hasher, _ := fsys.(FileHasher)

	work := make(chan *fileResult, 256)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			var rd fileReader = fsReader{fsys}
			if opts.reader != nil {
				rd = opts.reader()
			}
			defer rd.Close()
			for r := range work {
				r.load(rd, opts.cache != nil, hasher, cached, opts.check)
			}
		})
	}
	var files []*fileResult
	walkErr := policyFiles(fsys, func(name string, entry fs.DirEntry) {
		r := &fileResult{name: name, entry: entry}
		files = append(files, r)
		if entry.Type()&fs.ModeSymlink != 0 {
			r.errs = []error{linkedPolicy(fsys, name)}
			return
		}
		work <- r
	})
	close(work)
	wg.Wait()
	if walkErr != nil {
		return nil, walkErr
	}
	for _, r := range files {
		if r.err != nil {
			return nil, r.err
		}
	}
	if opts.cache != nil {
		opts.cache.store(files)
	}
	return files, nil
}

// linkedPolicy is the error of a policy file that is a symbolic link. A git tree holds a link
// as a blob naming its target, which the reconciler does not follow; so that validate agrees,
// a directory's links are not followed either, whether they stay inside the root or not.
func linkedPolicy(fsys fs.FS, name string) *FieldError {
	target, err := fs.ReadLink(fsys, name)
	if err != nil {
		target = "?"
	}
	return &FieldError{File: name, Message: fmt.Sprintf("is a symbolic link (to %s); policies are read from regular files only: commit the policy itself, or list the link in %s", target, IgnoreFile)}
}

// load fills r: from the cache when its content key is there, else by reading and parsing.
func (r *fileResult) load(rd fileReader, caching bool, hasher FileHasher, cached map[string]cacheEntry, check func(*Policy) []error) {
	if caching && hasher != nil {
		key, err := hasher.FileHash(r.name)
		if err != nil {
			r.err = fmt.Errorf("hash %s: %w", r.name, err)
			return
		}
		if e, ok := cached[r.name]; ok && e.key == key {
			r.key, r.policies, r.errs = key, e.policies, e.errs
			return
		}
		r.key = key
	}
	if r.entry != nil {
		// A file over the limit is refused before it is read (parseFile refuses the rest).
		if fi, err := r.entry.Info(); err == nil && fi.Mode().IsRegular() && fi.Size() > MaxFileBytes {
			r.entry, r.errs = nil, []error{tooLarge(r.name, fi.Size())}
			return
		}
	}
	data, err := rd.ReadFile(r.name, r.entry)
	r.entry = nil
	if err != nil {
		r.err = fmt.Errorf("read %s: %w", r.name, err)
		return
	}
	if caching && r.key == "" {
		sum := sha256.Sum256(data)
		r.key = "sha256:" + hex.EncodeToString(sum[:])
		if e, ok := cached[r.name]; ok && e.key == r.key {
			r.policies, r.errs = e.policies, e.errs
			return
		}
	}
	if r.name == RepositoryConfigFile {
		// The repository configuration is read with its own types; a tree walk checks it
		// so that `modelops validate` reports its errors with the policies'.
		if _, err := ParseRepositoryConfig(r.name, data); err != nil {
			for _, fe := range FieldErrors(err) {
				r.errs = append(r.errs, fe)
			}
			if len(r.errs) == 0 {
				r.errs = []error{err}
			}
		}
		return
	}
	r.policies, r.errs = parseFile(r.name, data)
	if check != nil {
		r.checks = make([][]error, len(r.policies))
		for i, p := range r.policies {
			r.checks[i] = check(p)
		}
	}
}

// setOf gathers the results of loadFiles in one Set.
func setOf(files []*fileResult) *Set {
	var ps []*Policy
	var errs []error
	for _, r := range files {
		ps = append(ps, r.policies...)
		errs = append(errs, r.errs...)
	}
	return newSet(ps, errs)
}

// NewSet builds a Set from policies and problems as Parse returns them (nil problems are
// skipped): it checks that names are unique, reporting every duplicate and keeping none of
// them, and sorts policies by name and errors by file, line and column.
func NewSet(policies []*Policy, problems ...error) *Set {
	var errs []error
	for _, p := range problems {
		for _, fe := range FieldErrors(p) {
			errs = append(errs, fe)
		}
	}
	return newSet(slices.Clone(policies), errs)
}

// newSet is NewSet for policies and errors it may keep.
func newSet(policies []*Policy, errs []error) *Set {
	set := &Set{Policies: policies, Errors: errs}
	set.dropDuplicates()
	sortErrors(set.Errors)
	return set
}

// dropDuplicates sorts the policies by name and removes every policy whose name is not
// unique, with an error at each of them naming the others.
func (s *Set) dropDuplicates() {
	slices.SortStableFunc(s.Policies, func(a, b *Policy) int {
		return strings.Compare(a.Metadata.Name, b.Metadata.Name)
	})
	kept := s.Policies[:0]
	for i := 0; i < len(s.Policies); {
		j := i + 1
		for j < len(s.Policies) && s.Policies[j].Metadata.Name == s.Policies[i].Metadata.Name {
			j++
		}
		if j-i == 1 {
			kept = append(kept, s.Policies[i])
			i = j
			continue
		}
		dups := s.Policies[i:j]
		for _, p := range dups {
			var others []string
			for _, o := range dups {
				if o != p {
					line, col := o.Position("metadata.name")
					others = append(others, fmt.Sprintf("%s:%d:%d", o.File, line, col))
				}
			}
			s.Errors = append(s.Errors, p.Errorf("metadata.name", "duplicate name %q, also defined at %s", p.Metadata.Name, strings.Join(others, ", ")))
		}
		i = j
	}
	clear(s.Policies[len(kept):])
	s.Policies = kept
}

// policyFiles calls visit with each *.yaml and *.yml file of fsys in lexical order, skipping
// .git and ignored paths.
// WalkFiles calls visit with the path of every policy file of fsys, as Load finds them:
// *.yaml and *.yml below the root, skipping .git and what .modelopsignore files exclude.
func WalkFiles(fsys fs.FS, visit func(name string)) error {
	return policyFiles(fsys, func(name string, _ fs.DirEntry) { visit(name) })
}

func policyFiles(fsys fs.FS, visit func(name string, entry fs.DirEntry)) error {
	patterns := map[string][]gitignore.Pattern{} // directory -> patterns that apply in it
	return fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("walk %s: %w", name, err)
		}
		dir := path.Dir(name)
		if d.IsDir() {
			var parts []string
			if name != "." {
				parts = strings.Split(name, "/")
			}
			if d.Name() == ".git" && name != "." {
				return fs.SkipDir
			}
			inherited := patterns[dir]
			if name != "." && gitignore.NewMatcher(inherited).Match(parts, true) {
				return fs.SkipDir
			}
			own, err := readIgnoreFile(fsys, name, parts)
			if err != nil {
				return err
			}
			patterns[name] = append(slices.Clip(inherited), own...)
			return nil
		}
		ext := path.Ext(name)
		if ext != ".yaml" && ext != ".yml" {
			return nil
		}
		// Most directories have no patterns; splitting the name is then not needed.
		if ps := patterns[dir]; len(ps) > 0 && gitignore.NewMatcher(ps).Match(strings.Split(name, "/"), false) {
			return nil
		}
		visit(name, d)
		return nil
	})
}

// readIgnoreFile reads the patterns of dir's ignore file, as go-git reads a .gitignore.
func readIgnoreFile(fsys fs.FS, dir string, domain []string) ([]gitignore.Pattern, error) {
	data, err := fs.ReadFile(fsys, path.Join(dir, IgnoreFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path.Join(dir, IgnoreFile), err)
	}
	var ps []gitignore.Pattern
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "#") && strings.TrimSpace(line) != "" {
			ps = append(ps, gitignore.ParsePattern(line, domain))
		}
	}
	return ps, sc.Err()
}

// LoadDir is Load(os.DirFS(root)) plus the checks that need a real filesystem: a data path
// through a symbolic link that the reconciler would not follow (absolute, leading outside the
// root, or a chain too long: datafs.Resolve's rules, the same for a git tree and --data-root)
// or naming a directory is an error, and that policy is dropped. A data file that does not exist yet is no error.
// A policy file that is a symbolic link is an error of that file, as in a git tree.
func LoadDir(root string) (*Set, error) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, fmt.Errorf("open policy repository: %w", err)
	}
	defer r.Close()
	fsys := r.FS()
	// The loading workers check the data paths. The policies of a repository share most
	// data directories, and often files, so each path is resolved once.
	var mu sync.Mutex // guards escapes
	escapes := map[string]string{}
	check := func(p *Policy) []error {
		var bad []error
		for field, rel := range dataPaths(&p.ModelPolicy) {
			// A log (spec.data.source) may be a directory of files partitioned by day.
			dirOK := field == "spec.data.source.path"
			key := rel
			if dirOK {
				key += "\x00dir"
			}
			mu.Lock()
			msg, ok := escapes[key]
			mu.Unlock()
			if !ok {
				msg = dataPathProblem(fsys, rel, dirOK)
				mu.Lock()
				escapes[key] = msg
				mu.Unlock()
			}
			if msg != "" {
				bad = append(bad, p.Errorf(field, "%s", msg))
			}
		}
		return bad
	}
	files, err := loadFiles(fsys, loadOptions{check: check, reader: func() fileReader { return &dirReader{root: r, fsys: fsys} }})
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", root, err)
	}
	set := setOf(files)
	// A policy whose data escapes is dropped only after the check of names, in which its
	// name still counts.
	bad := map[*Policy][]error{}
	for _, f := range files {
		for i, p := range f.policies {
			if len(f.checks[i]) > 0 {
				bad[p] = f.checks[i]
			}
		}
	}
	if len(bad) == 0 {
		return set, nil
	}
	kept := set.Policies[:0]
	for _, p := range set.Policies {
		if errs, ok := bad[p]; ok {
			set.Errors = append(set.Errors, errs...)
			continue
		}
		kept = append(kept, p)
	}
	clear(set.Policies[len(kept):])
	set.Policies = kept
	sortErrors(set.Errors)
	return set, nil
}

// dirReader reads files through an os.Root as its FS does, but keeps the directory of the
// last file open. The root resolves every directory of a path anew, which is a good part of
// the cost of reading a small file, and a worker reads the files of a directory one after
// another. Whatever the directory cannot read (a symlink to elsewhere in the repository, an
// error) is read through the root, so that the outcome is the root's.
type dirReader struct {
	root *os.Root
	fsys fs.FS // root.FS()
	dir  string
	sub  *os.Root // the root of dir, or nil
}

func (r *dirReader) ReadFile(name string, entry fs.DirEntry) ([]byte, error) {
	if dir := path.Dir(name); dir != r.dir {
		r.Close()
		r.dir = dir
		r.sub, _ = r.root.OpenRoot(dir) // on failure, the root reads
	}
	if r.sub != nil {
		// The root's entries come with the file's information, which the root finds when
		// it lists the directory: its size saves a stat of the file.
		size := int64(-1)
		if entry != nil {
			if fi, err := entry.Info(); err == nil && fi.Mode().IsRegular() {
				size = fi.Size()
			}
		}
		if data, err := readFile(r.sub, path.Base(name), size); err == nil {
			return data, nil
		}
	}
	return fs.ReadFile(r.fsys, name)
}

// readFile reads the file name of root as root.ReadFile does, but opens it in non-blocking
// mode, and takes size, when known (>= 0), as the size to expect rather than stat the file;
// a file that changed since is still read to its end. Opened in blocking mode, os puts a
// file in non-blocking mode to register it with the poller and, as a regular file cannot be
// registered, back: four fcntl calls of the ten system calls per file. Non-blocking mode
// does not change the reading of a regular file, and a FIFO among the policies reads what
// its writer has written instead of hanging the load until one opens it.
func readFile(root *os.Root, name string, size int64) ([]byte, error) {
	f, err := root.OpenFile(name, os.O_RDONLY|openNonBlock, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if size < 0 {
		size = 511
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			size = fi.Size()
		}
	}
	data := make([]byte, 0, size+1) // one more, so that EOF is read without growing
	for {
		n, err := f.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if errors.Is(err, io.EOF) {
			return data, nil
		}
		if err != nil {
			return nil, err
		}
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
	}
}

func (r *dirReader) Close() {
	if r.sub != nil {
		r.sub.Close()
		r.sub = nil
	}
}

// dataPaths yields the field path and value of every repository path in p the reconciler
// reads: the local data paths, and a pipeline's compiled spec.
func dataPaths(p *ModelPolicy) func(yield func(string, string) bool) {
	return func(yield func(string, string) bool) {
		if d := p.Spec.Data; d != nil {
			if d.Source != nil && d.Source.Path != "" && !yield("spec.data.source.path", d.Source.Path) {
				return
			}
			if d.Reference.Path != "" && !yield("spec.data.reference.path", d.Reference.Path) {
				return
			}
			if d.Current.Path != "" && !yield("spec.data.current.path", d.Current.Path) {
				return
			}
		}
		if m := p.Spec.Metrics; m != nil && m.Predictions != nil && m.Predictions.Path != "" {
			if !yield("spec.metrics.predictions.path", m.Predictions.Path) {
				return
			}
		}
		if r := p.Spec.Retrain; r != nil && r.Pipeline != nil && r.Pipeline.Spec != "" {
			yield("spec.retrain.pipeline.spec", r.Pipeline.Spec)
		}
	}
}

// dataPathProblem says why the reconciler could not read the data file rel: a symbolic link
// on its way it would refuse to follow, or a directory where a file is expected (unless
// dirOK); or returns "".
func dataPathProblem(fsys fs.FS, rel string, dirOK bool) string {
	var le *datafs.LinkError
	resolved, err := datafs.Resolve(fsys, rel)
	if errors.As(err, &le) {
		le.Where = "the repository"
		return le.Error()
	}
	if fi, err := fs.Stat(fsys, resolved); err == nil && fi.IsDir() && !dirOK {
		return rel + ": is a directory; expected a data file"
	}
	return ""
}
