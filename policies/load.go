package policies

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
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
// others. Load works on any fs.FS so that a git tree can be loaded without a checkout.
// Files are parsed in parallel. The error is only for I/O failures, not for invalid policies.
func Load(fsys fs.FS) (*Set, error) {
	files, err := policyFiles(fsys)
	if err != nil {
		return nil, err
	}
	type result struct {
		policies []*Policy
		err      error
	}
	results := make([]result, len(files))
	var readErr error
	var mu sync.Mutex // guards readErr
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(runtime.GOMAXPROCS(0), len(files)) {
		wg.Go(func() {
			for i := range next {
				data, err := fs.ReadFile(fsys, files[i])
				if err != nil {
					mu.Lock()
					readErr = firstErr(readErr, fmt.Errorf("read %s: %w", files[i], err))
					mu.Unlock()
					continue
				}
				ps, perr := Parse(files[i], data)
				results[i] = result{ps, perr}
			}
		})
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
	if readErr != nil {
		return nil, readErr
	}

	var ps []*Policy
	var errs []error
	for _, r := range results {
		ps = append(ps, r.policies...)
		errs = append(errs, r.err)
	}
	return NewSet(ps, errs...), nil
}

// NewSet builds a Set from policies and problems as Parse returns them (nil problems are
// skipped): it checks that names are unique, reporting every duplicate and keeping none of
// them, and sorts policies by name and errors by file, line and column.
func NewSet(policies []*Policy, problems ...error) *Set {
	set := &Set{Policies: slices.Clone(policies)}
	for _, p := range problems {
		for _, fe := range FieldErrors(p) {
			set.Errors = append(set.Errors, fe)
		}
	}
	set.dropDuplicates()
	sortErrors(set.Errors)
	return set
}

// firstErr keeps the first error, so that the error Load returns does not depend on timing
// more than necessary.
func firstErr(old, err error) error {
	if old != nil {
		return old
	}
	return err
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

// policyFiles lists the *.yaml and *.yml files of fsys in lexical order, skipping .git and
// ignored paths.
func policyFiles(fsys fs.FS) ([]string, error) {
	patterns := map[string][]gitignore.Pattern{} // directory -> patterns that apply in it
	var files []string
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("walk %s: %w", name, err)
		}
		dir := path.Dir(name)
		var parts []string
		if name != "." {
			parts = strings.Split(name, "/")
		}
		if d.IsDir() {
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
		if gitignore.NewMatcher(patterns[dir]).Match(parts, false) {
			return nil
		}
		files = append(files, name)
		return nil
	})
	return files, err
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
// that is a symlink pointing outside the root is an error, and that policy is dropped.
// Policy files are read through an os.Root, so a policy file that is a symlink out of the
// root cannot be read (an I/O error).
func LoadDir(root string) (*Set, error) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, fmt.Errorf("open policy repository: %w", err)
	}
	defer r.Close()
	set, err := Load(r.FS())
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", root, err)
	}
	realRoot, err := filepath.Abs(root)
	if err == nil {
		realRoot, err = filepath.EvalSymlinks(realRoot)
	}
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", root, err)
	}
	kept := set.Policies[:0]
	for _, p := range set.Policies {
		var bad []error
		for field, rel := range dataPaths(&p.ModelPolicy) {
			if msg := escapesRoot(realRoot, rel); msg != "" {
				bad = append(bad, p.Errorf(field, "%s", msg))
			}
		}
		if len(bad) > 0 {
			set.Errors = append(set.Errors, bad...)
			continue
		}
		kept = append(kept, p)
	}
	clear(set.Policies[len(kept):])
	set.Policies = kept
	sortErrors(set.Errors)
	return set, nil
}

// dataPaths yields the field path and value of every local data path in p.
func dataPaths(p *ModelPolicy) func(yield func(string, string) bool) {
	return func(yield func(string, string) bool) {
		if d := p.Spec.Data; d != nil {
			if d.Reference.Path != "" && !yield("spec.data.reference.path", d.Reference.Path) {
				return
			}
			if d.Current.Path != "" && !yield("spec.data.current.path", d.Current.Path) {
				return
			}
		}
		if m := p.Spec.Metrics; m != nil && m.Predictions != nil && m.Predictions.Path != "" {
			yield("spec.metrics.predictions.path", m.Predictions.Path)
		}
	}
}

// escapesRoot describes how rel, a clean relative path, leaves realRoot through a symlink, or
// returns "". The data file need not exist yet: the longest existing prefix is resolved.
func escapesRoot(realRoot, rel string) string {
	parts := strings.Split(rel, "/")
	for i := len(parts); i > 0; i-- {
		prefix := filepath.Join(realRoot, filepath.Join(parts[:i]...))
		if _, err := os.Lstat(prefix); err != nil {
			continue
		}
		resolved, err := filepath.EvalSymlinks(prefix)
		if err != nil {
			// A dangling symlink: judge where it points.
			target, rerr := os.Readlink(prefix)
			if rerr != nil {
				return ""
			}
			if !filepath.IsAbs(target) {
				target = filepath.Join(filepath.Dir(prefix), target)
			}
			resolved = filepath.Clean(target)
		}
		if !inside(realRoot, resolved) {
			return fmt.Sprintf("must stay inside the repository root, got %q, which resolves through a symlink to %s", rel, resolved)
		}
		return ""
	}
	return ""
}

// inside reports whether p is root or below it.
func inside(root, p string) bool {
	r, err := filepath.Rel(root, p)
	return err == nil && filepath.IsLocal(r) || r == "."
}
