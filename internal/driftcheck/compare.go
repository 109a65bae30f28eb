package driftcheck

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path"

	"github.com/medimind/modelops/internal/datafs"
	"github.com/medimind/modelops/internal/dataset"
	"github.com/medimind/modelops/internal/drift"
	"github.com/medimind/modelops/internal/objstore"
	"github.com/medimind/modelops/internal/profilecache"
)

// Source is one side of a comparison: the file Path inside FS (a policy's data root or
// the tree at a commit), the file Path of the operating system (FS nil), or an http(s)
// URL, downloaded when first needed into a temporary directory that CompareSources
// removes.
type Source struct {
	FS   fs.FS
	Path string
	URL  string
	// Client downloads URL; nil is http.DefaultClient.
	Client *http.Client
	// Name, when set, is what errors and the table call the file (the path as given on
	// the command line); a URL names itself.
	Name string
	// Buckets reads a Path in object storage (s3://, gs://, azblob://); nil is
	// objstore.Default.
	Buckets *objstore.Buckets

	located bool   // FS and Path say where the file is read
	dir     string // the download directory, once downloaded
}

// fetch locates the file once: a URL is downloaded (Path is then the downloaded file), an
// object in object storage is opened in its bucket's file system (read in place, by
// ranges), a path in FS is cleaned.
func (s *Source) fetch(ctx context.Context) error {
	if s.located {
		return nil
	}
	switch {
	case s.URL != "":
		dir, err := os.MkdirTemp("", "modelops-data-")
		if err != nil {
			return fmt.Errorf("create download directory: %w", err)
		}
		s.dir, s.Name = dir, s.URL
		if s.Path, err = Download(ctx, s.Client, s.URL, dir, "data"); err != nil {
			return err
		}
	case datafs.IsObjectURL(s.Path):
		fsys, name, where, err := objstore.Locate(ctx, s.Buckets, nil, s.Path)
		if err != nil {
			return err
		}
		s.FS, s.Path = fsys, name
		if s.Name == "" {
			s.Name = where
		}
	case s.FS != nil:
		s.Path = path.Clean(s.Path)
	}
	s.located = true
	return nil
}

func (s *Source) cleanup() {
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}

func (s *Source) read(ctx context.Context, opts dataset.Options) (*dataset.Table, error) {
	if err := s.fetch(ctx); err != nil {
		return nil, err
	}
	var t *dataset.Table
	var err error
	if s.FS != nil {
		t, err = dataset.ReadFS(s.FS, s.Path, opts)
	} else {
		t, err = dataset.Read(s.Path, opts)
	}
	if err != nil {
		if s.Name != "" {
			return nil, RenameSource(err, s.Path, s.Name)
		}
		return nil, err
	}
	if s.Name != "" {
		t.Source = s.Name
	}
	return t, nil
}

// identity returns the digest of the file's content and the name a table read from it
// would carry (dataset.ReadFS names a file of the operating system by its full path).
func (s *Source) identity(ctx context.Context) (digest, name string, err error) {
	if err := s.fetch(ctx); err != nil {
		return "", "", err
	}
	name = s.Name
	if s.FS == nil {
		digest, err = profilecache.DigestFile(s.Path)
		if name == "" {
			name = s.Path
		}
		return digest, name, err
	}
	if name == "" {
		name = s.Path
	}
	if v, ok := s.FS.(profilecache.Versioned); ok {
		version, err := v.ContentVersion(s.Path)
		if err == nil {
			return version, name, nil
		}
		if !errors.Is(err, errors.ErrUnsupported) {
			return "", "", err
		}
	}
	if h, ok := s.FS.(profilecache.BlobHasher); ok {
		sum, err := h.BlobHash(s.Path)
		if err == nil {
			return profilecache.BlobDigest(sum), name, nil
		}
		if !errors.Is(err, errors.ErrUnsupported) {
			return "", "", err
		}
	}
	f, err := s.FS.Open(s.Path)
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	if osf, ok := f.(*os.File); ok && s.Name == "" {
		name = osf.Name()
	}
	digest, err = profilecache.DigestReader(f, s.Path)
	return digest, name, err
}

// Plan says how to compare two sources.
type Plan struct {
	Read    dataset.Options
	Compare drift.Options
	// Profiles, when set, keeps the prepared reference between checks: a reference whose
	// content and preparation options are in the cache is neither read nor prepared.
	Profiles *profilecache.Cache
	// ReadingCurrent, when set, is called with the reference table (or its cached schema)
	// before the current data is read.
	ReadingCurrent func(ref *dataset.Table)
	// Memory, when positive, is the memory budget of the comparison in bytes: tables that
	// would not fit in it are compared a batch of columns at a time (see batched.go),
	// without the profile cache.
	Memory int64
	// Reference, when set, is called with the reference table (or, from the cache, its
	// schema: the columns and their kinds without values) once the current data is read
	// and aligned, before the comparison; an error stops it.
	Reference func(ref *dataset.Table) error
}

// CompareSources reads the reference and the current data and compares them, as
// dataset.ReadPair and drift.Compare do, with the reference's prepared profile taken from
// (or stored in) plan.Profiles. Reports are the same, byte for byte, with or without the
// cache.
func CompareSources(ctx context.Context, ref, cur Source, plan Plan) (*drift.Report, error) {
	defer ref.cleanup()
	defer cur.cleanup()
	plan.Read.Context = ctx
	if plan.Memory > 0 {
		if rep, done, err := compareInBatches(ctx, &ref, &cur, plan); done {
			return rep, err
		}
	}
	var key profilecache.Key
	if plan.Profiles != nil {
		// A reference that cannot be digested (missing, unreadable) is read as usual, so
		// that its error is the reader's.
		if digest, name, err := ref.identity(ctx); err == nil {
			key = profilecache.NewKey(digest, profilecache.PreparationOf(plan.Read, plan.Compare))
			if e, ok := plan.Profiles.Get(ctx, key, name, plan.Compare); ok {
				e.Schema.Source = name
				return compareCurrent(ctx, e.Schema, e.Profile, &cur, plan)
			}
		} else if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	refTable, err := ref.read(ctx, plan.Read)
	if err != nil {
		return nil, err
	}
	if plan.ReadingCurrent != nil {
		plan.ReadingCurrent(refTable)
	}
	curTable, err := cur.read(ctx, dataset.CurrentOptions(refTable, plan.Read))
	if err != nil {
		return nil, err
	}
	if err := dataset.Align(refTable, curTable, plan.Read); err != nil {
		return nil, err
	}
	if plan.Reference != nil {
		if err := plan.Reference(refTable); err != nil {
			return nil, err
		}
	}
	p, err := drift.NewProfile(ctx, refTable, plan.Compare)
	if err != nil {
		return nil, err
	}
	rep, err := p.Compare(ctx, curTable)
	if err != nil {
		return nil, err
	}
	if plan.Profiles != nil && key != (profilecache.Key{}) {
		plan.Profiles.Put(key, refTable, p)
	}
	return rep, nil
}

// compareCurrent reads the current data against a cached reference.
func compareCurrent(ctx context.Context, schema *dataset.Table, p *drift.Profile, cur *Source, plan Plan) (*drift.Report, error) {
	if plan.ReadingCurrent != nil {
		plan.ReadingCurrent(schema)
	}
	curTable, err := cur.read(ctx, dataset.CurrentOptions(schema, plan.Read))
	if err != nil {
		return nil, err
	}
	if err := dataset.Align(schema, curTable, plan.Read); err != nil {
		return nil, err
	}
	if plan.Reference != nil {
		if err := plan.Reference(schema); err != nil {
			return nil, err
		}
	}
	return p.Compare(ctx, curTable)
}
