package file

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/medimind/modelops/reconciler"
)

var _ reconciler.Router = (*Router)(nil)

// DefaultFileMode is the permission of the files a Router writes: readable by a serving
// process running as another user.
const DefaultFileMode fs.FileMode = 0o644

// ErrInvalid is wrapped by the errors of a traffic file whose content is not a valid split.
var ErrInvalid = errors.New("invalid traffic file")

// Endpoint is one version's entry in a traffic file.
type Endpoint struct {
	Version string `json:"version"`
	URI     string `json:"uri,omitempty"`
	// Weight is the version's share of traffic in percent.
	Weight int `json:"weight"`
}

// File is the content of a traffic file.
type File struct {
	Production Endpoint `json:"production"`
	// Canary is nil when no canary runs.
	Canary *Endpoint `json:"canary,omitempty"`
}

// Router writes the traffic split of each model to <dir>/<model>.json. It is safe for
// concurrent use; concurrent Sets of one model leave one of the splits whole.
type Router struct {
	dir  string
	mode fs.FileMode
}

// Option configures a Router.
type Option func(*Router)

// WithFileMode sets the permission bits of the files written (DefaultFileMode by default).
// They are set explicitly, so the process umask does not narrow them.
func WithFileMode(mode fs.FileMode) Option {
	return func(r *Router) { r.mode = mode.Perm() }
}

// New returns a router writing to dir. The directory is created on the first Set.
func New(dir string, opts ...Option) *Router {
	r := &Router{dir: dir, mode: DefaultFileMode}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Path returns the file holding model's split.
func (r *Router) Path(model string) string { return filepath.Join(r.dir, model+".json") }

// Get returns the split the file of model holds; ErrNotRouted when there is no file. A
// file that is not a valid split is an error wrapping ErrInvalid naming the file.
func (r *Router) Get(ctx context.Context, model string) (reconciler.Traffic, error) {
	if err := ctx.Err(); err != nil {
		return reconciler.Traffic{}, err
	}
	return Read(r.dir, model)
}

// Set writes t as the split of model. It is idempotent: when the file already holds t,
// byte for byte, nothing is written. A corrupt file is replaced.
func (r *Router) Set(ctx context.Context, model string, t reconciler.Traffic) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkModel(model); err != nil {
		return err
	}
	f, err := FromTraffic(t)
	if err != nil {
		return fmt.Errorf("set traffic of %s: %w", model, err)
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("encode traffic of %s: %w", model, err)
	}
	data = append(data, '\n')
	path := r.Path(model)
	old, err := os.ReadFile(path)
	if err == nil && bytes.Equal(old, data) {
		if err := r.ensureMode(path); err != nil {
			return err
		}
		return nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read traffic file: %w", err)
	}
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		return fmt.Errorf("create traffic directory: %w", err)
	}
	return r.writeAtomic(path, data)
}

// ensureMode gives an unchanged file the configured mode, so a changed WithFileMode takes
// effect without rewriting the content (chmod does not change the modification time).
func (r *Router) ensureMode(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("stat traffic file: %w", err)
	}
	if st.Mode().Perm() == r.mode {
		return nil
	}
	if err := os.Chmod(path, r.mode); err != nil {
		return fmt.Errorf("set mode of traffic file: %w", err)
	}
	return nil
}

// writeAtomic replaces path with data: write a temporary file beside it, sync, rename,
// sync the directory. Readers see the old content or the new, never a mix.
func (r *Router) writeAtomic(path string, data []byte) (err error) {
	tmp, err := os.CreateTemp(r.dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create temporary traffic file: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	// CreateTemp makes the file 0600; the serving process may run as another user.
	if err := tmp.Chmod(r.mode); err != nil {
		return fmt.Errorf("set mode of %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("replace traffic file: %w", err)
	}
	// The rename is durable only once the directory entry is.
	if err := syncDir(r.dir); err != nil {
		return fmt.Errorf("sync traffic directory %s: %w", r.dir, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// FromTraffic returns the file content of t; an error when t is not a valid split (no
// production version, a weight outside 0..100, a weight without a canary).
func FromTraffic(t reconciler.Traffic) (File, error) {
	switch {
	case t.Production == "":
		return File{}, errors.New("no production version")
	case t.Weight < 0 || t.Weight > 100:
		return File{}, fmt.Errorf("canary weight %d: want 0..100", t.Weight)
	case t.Canary == "" && (t.Weight != 0 || t.CanaryURI != ""):
		return File{}, fmt.Errorf("canary weight %d or URI %q without a canary version", t.Weight, t.CanaryURI)
	}
	f := File{Production: Endpoint{Version: t.Production, URI: t.ProductionURI, Weight: 100 - t.Weight}}
	if t.Canary != "" {
		f.Canary = &Endpoint{Version: t.Canary, URI: t.CanaryURI, Weight: t.Weight}
	}
	return f, nil
}

// Traffic returns the split f describes; an error naming the field when f is not valid.
func (f File) Traffic() (reconciler.Traffic, error) {
	t := reconciler.Traffic{Production: f.Production.Version, ProductionURI: f.Production.URI}
	if f.Production.Version == "" {
		return t, errors.New("production.version: required")
	}
	canary := 0
	if c := f.Canary; c != nil {
		if c.Version == "" {
			return t, errors.New("canary.version: required")
		}
		if c.Weight < 0 || c.Weight > 100 {
			return t, fmt.Errorf("canary.weight: want 0..100, got %d", c.Weight)
		}
		t.Canary, t.CanaryURI, t.Weight = c.Version, c.URI, c.Weight
		canary = c.Weight
	}
	if f.Production.Weight+canary != 100 {
		return t, fmt.Errorf("production.weight: want %d so that the weights sum to 100, got %d", 100-canary, f.Production.Weight)
	}
	return t, nil
}

// Read returns the split of model from the traffic file in dir, as a serving process reads
// it; ErrNotRouted when there is no file. Errors about the content wrap ErrInvalid and name
// the file, the line and column of a syntax error, or the field.
func Read(dir, model string) (reconciler.Traffic, error) {
	if err := checkModel(model); err != nil {
		return reconciler.Traffic{}, err
	}
	path := filepath.Join(dir, model+".json")
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return reconciler.Traffic{}, fmt.Errorf("read traffic of %s: %w", model, reconciler.ErrNotRouted)
	}
	if err != nil {
		return reconciler.Traffic{}, fmt.Errorf("read traffic file: %w", err)
	}
	f, err := decode(path, data)
	if err != nil {
		return reconciler.Traffic{}, err
	}
	t, err := f.Traffic()
	if err != nil {
		return reconciler.Traffic{}, fmt.Errorf("%s: %w: %w", path, ErrInvalid, err)
	}
	return t, nil
}

// decode reads a traffic file strictly: unknown fields and trailing data are errors.
func decode(path string, data []byte) (File, error) {
	var f File
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(&f)
	if err == nil {
		end := dec.InputOffset()
		for end < int64(len(data)) && strings.ContainsRune(" \t\r\n", rune(data[end])) {
			end++
		}
		if _, terr := dec.Token(); terr != io.EOF {
			return File{}, fmt.Errorf("%s:%s: %w: unexpected data after the JSON object", path, position(data, end), ErrInvalid)
		}
		return f, nil
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return File{}, fmt.Errorf("%s: %w: empty file", path, ErrInvalid)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return File{}, fmt.Errorf("%s: %w: truncated JSON", path, ErrInvalid)
	case errors.As(err, &syn):
		// Offset counts the offending byte; point at it.
		return File{}, fmt.Errorf("%s:%s: %w: %w", path, position(data, syn.Offset-1), ErrInvalid, err)
	case errors.As(err, &typ):
		return File{}, fmt.Errorf("%s:%s: %w: %s: want %s, got JSON %s", path, position(data, typ.Offset), ErrInvalid, typ.Field, typ.Type, typ.Value)
	default:
		// Unknown fields: encoding/json reports `json: unknown field "x"` without an offset.
		return File{}, fmt.Errorf("%s: %w: %s", path, ErrInvalid, strings.TrimPrefix(err.Error(), "json: "))
	}
}

// position gives the line:column (1-based) of byte offset off in data.
func position(data []byte, off int64) string {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line := bytes.Count(before, []byte{'\n'}) + 1
	col := len(before) - bytes.LastIndexByte(before, '\n')
	return fmt.Sprintf("%d:%d", line, col)
}

// checkModel rejects a model name that is not a DNS-1123 label (what policies allow), so a
// name can never reach outside the directory.
func checkModel(model string) error {
	if msgs := validation.IsDNS1123Label(model); len(msgs) > 0 {
		return fmt.Errorf("model name %q: %s", model, strings.Join(msgs, "; "))
	}
	return nil
}
