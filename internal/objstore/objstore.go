// Package objstore reads a policy's data in object storage (s3://, gs://, azblob://) through
// gocloud.dev/blob, as an io/fs file system, so that the readers of local data (internal/
// dataset, internal/metrics) and the listing of Hive-partitioned prefixes (fs.ReadDir) work
// on it unchanged.
//
// Credentials come from each cloud's standard chain, never from a policy: for S3 the AWS
// SDK's (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE and the shared files, web
// identity, the instance or task role), for GCS Application Default Credentials
// (GOOGLE_APPLICATION_CREDENTIALS, workload identity, the metadata server), for Azure
// AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY, AZURE_STORAGE_SAS_TOKEN or
// AZURE_STORAGE_CONNECTION_STRING, else DefaultAzureCredential (environment, workload
// identity, managed identity).
//
// A file opened here is read in place (dataset.InPlace): by ranges through ReadAt, which
// Parquet uses (footer first, then the column chunks it needs), or streamed through Read,
// which CSV uses. Every request that waits longer than Options.Stall for a byte fails with
// a *StallError, so a slow or silent server fails that model's check, never the loop.
package objstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"time"

	"github.com/medimind/modelops/internal/datafs"
)

// DefaultStall is how long a request may wait for a byte of answer, by default.
const DefaultStall = time.Minute

// Default is the process's buckets, for the commands and the reconciler.
var Default = New(Options{})

// Options configure Buckets.
type Options struct {
	// Stall bounds how long one request to the object store may wait for its next byte
	// (the answer's headers, or more of its body). Zero is DefaultStall.
	Stall time.Duration
}

// Locate returns the file system that holds the data path p of a policy and p's name in
// it: p's bucket when p is an object URL (opened through buckets, nil meaning Default),
// else root, the data root, with p cleaned. where names the file system in messages (the
// object's URL, or p).
func Locate(ctx context.Context, buckets *Buckets, root fs.FS, p string) (fsys fs.FS, name, where string, err error) {
	if !datafs.IsObjectURL(p) {
		if root == nil {
			return nil, "", p, fmt.Errorf("read %s: no data root", p)
		}
		return root, path.Clean(p), p, nil
	}
	u, err := datafs.ParseObjectURL(p)
	if err != nil {
		return nil, "", p, err
	}
	if buckets == nil {
		buckets = Default
	}
	fsys, name, err = buckets.FS(ctx, u)
	return fsys, name, u.String(), err
}

// ErrDenied matches the errors of a request the object store refused: missing, wrong or
// insufficient credentials.
var ErrDenied = errors.New("access denied")

// ErrTruncated matches the error of an object whose body ended before the size it
// announced.
var ErrTruncated = errors.New("object truncated")

// StallError is a request that waited longer than the stall bound for a byte.
type StallError struct {
	URL   string
	Stall time.Duration
}

func (e *StallError) Error() string {
	return fmt.Sprintf("%s: no answer from the object store for %s (a slow or unreachable server)", e.URL, e.Stall)
}

// credentialHint says where a scheme's credentials come from, for errors of access.
var credentialHint = map[string]string{
	"s3":     "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, web identity or the instance role",
	"gs":     "GOOGLE_APPLICATION_CREDENTIALS, workload identity or the metadata server",
	"azblob": "AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN, or an Azure identity",
}
