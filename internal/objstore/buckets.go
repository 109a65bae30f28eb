//go:build !lite

package objstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/logging"
	gcaws "gocloud.dev/aws"
	"gocloud.dev/blob"
	"gocloud.dev/blob/s3blob"
	"gocloud.dev/gcerrors"

	// The drivers of the other schemes a policy may name, on blob.DefaultURLMux.
	_ "gocloud.dev/blob/azureblob"
	_ "gocloud.dev/blob/gcsblob"

	"github.com/medimind/modelops/internal/datafs"
)

// Buckets opens the buckets that data paths name, once each, and keeps them (with their
// clients and credential caches) until Close.
type Buckets struct {
	stall time.Duration

	mu   sync.Mutex              // guards open
	open map[string]*blob.Bucket // by datafs.ObjectURL.BucketURL
}

// New returns an empty set of buckets.
func New(opts Options) *Buckets {
	if opts.Stall <= 0 {
		opts.Stall = DefaultStall
	}
	return &Buckets{stall: opts.Stall, open: map[string]*blob.Bucket{}}
}

// Close closes every bucket opened.
func (b *Buckets) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	var errs []error
	for k, bk := range b.open {
		errs = append(errs, bk.Close())
		delete(b.open, k)
	}
	return errors.Join(errs...)
}

// bucket returns the open bucket of u, opening it on first use.
func (b *Buckets) bucket(ctx context.Context, u datafs.ObjectURL) (*blob.Bucket, error) {
	key := u.BucketURL()
	b.mu.Lock()
	defer b.mu.Unlock()
	if bk := b.open[key]; bk != nil {
		return bk, nil
	}
	var bk *blob.Bucket
	var err error
	if u.Scheme == "s3" {
		bk, err = openS3(ctx, u)
	} else {
		bk, err = blob.OpenBucket(ctx, key)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: open bucket: %w", u, err)
	}
	b.open[key] = bk
	return bk, nil
}

// FS returns the bucket u names as a file system whose every request is made under ctx,
// and u's key in it (an object, or a prefix to list).
func (b *Buckets) FS(ctx context.Context, u datafs.ObjectURL) (fs.FS, string, error) {
	bk, err := b.bucket(ctx, u)
	if err != nil {
		return nil, "", err
	}
	return &bucketFS{ctx: ctx, b: bk, scheme: u.Scheme, bucket: u.Bucket, stall: b.stall}, u.Key, nil
}

// explain turns an error of gocloud.dev about the object url into one that says what went
// wrong: a missing object matches fs.ErrNotExist, a refusal ErrDenied.
func explain(url string, scheme string, err error) error {
	if err == nil {
		return nil
	}
	switch gcerrors.Code(err) {
	case gcerrors.NotFound:
		return &fs.PathError{Op: "read", Path: url, Err: fmt.Errorf("no such object: %w", fs.ErrNotExist)}
	case gcerrors.PermissionDenied:
		return fmt.Errorf("%s: %w: the credentials from the environment (%s) are missing, wrong or may not read it: %v",
			url, ErrDenied, credentialHint[scheme], short(err))
	}
	return fmt.Errorf("%s: %w", url, err)
}

// short is the message of a gocloud.dev error without the call that made it, which
// repeats the URL.
func short(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, "api error "); i >= 0 {
		return msg[i:]
	}
	return msg
}

// openS3 opens an S3 bucket as s3blob's URL opener does (the AWS SDK's credential chain,
// the parameters of gocloud.dev/aws), with the SDK's own logging off: it would print
// notes such as a response without a checksum to stderr, outside modelops's logs.
func openS3(ctx context.Context, u datafs.ObjectURL) (*blob.Bucket, error) {
	q := url.Values{}
	var clientOpts []func(*s3.Options)
	for name, values := range u.Params {
		switch name {
		case "use_path_style", "disable_https":
			on, err := strconv.ParseBool(values[0])
			if err != nil {
				return nil, fmt.Errorf("parameter %s: %w", name, err)
			}
			if name == "use_path_style" {
				clientOpts = append(clientOpts, func(o *s3.Options) { o.UsePathStyle = on })
			} else {
				clientOpts = append(clientOpts, func(o *s3.Options) { o.EndpointOptions.DisableHTTPS = on })
			}
		default:
			q[name] = values
		}
	}
	cfg, err := gcaws.V2ConfigFromURLParams(ctx, q)
	if err != nil {
		return nil, err
	}
	cfg.Logger = logging.Nop{}
	clientOpts = append(clientOpts, func(o *s3.Options) { o.DisableLogOutputChecksumValidationSkipped = true })
	return s3blob.OpenBucket(ctx, s3.NewFromConfig(cfg, clientOpts...), u.Bucket, nil)
}
