//go:build lite

package objstore

import (
	"context"
	"fmt"
	"io/fs"

	"github.com/medimind/modelops/internal/datafs"
)

// Buckets is empty in the lite build (make demo), which links no cloud SDK: gocloud.dev
// and its drivers would more than double the packages it compiles.
type Buckets struct{}

// New returns the lite build's buckets, which open none.
func New(Options) *Buckets { return &Buckets{} }

// Close does nothing.
func (*Buckets) Close() error { return nil }

// FS refuses every object URL.
func (*Buckets) FS(_ context.Context, u datafs.ObjectURL) (fs.FS, string, error) {
	return nil, "", fmt.Errorf("%s: this build of modelops reads no %s:// data (the lite build leaves object storage out; use the full binary)", u, u.Scheme)
}
