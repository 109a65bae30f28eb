package datafs

import (
	"fmt"
	"io/fs"
	"net/url"
	"slices"
	"strings"
)

// ObjectURL is a data path in object storage: s3://bucket/key, gs://bucket/key or
// azblob://container/key. The key may name an object or a prefix (a Hive-partitioned
// directory, written with or without its final slash). Query parameters say where the
// bucket is and how to reach it (region, endpoint); they are never credentials, which come
// from each cloud's own chain (environment, files, workload identity), so that no secret is
// ever written into a policy.
type ObjectURL struct {
	Scheme string     // s3, gs or azblob
	Bucket string     // the bucket (azblob: the container)
	Key    string     // the object or prefix inside it, without a final slash
	Params url.Values // the bucket's parameters, each among ObjectParams[Scheme]
}

// ObjectParams are the query parameters each scheme accepts: where the bucket is and which
// identity of the environment to use, never a credential. They are gocloud.dev's names.
var ObjectParams = map[string][]string{
	"s3":     {"region", "endpoint", "use_path_style", "disable_https", "profile", "anonymous", "dualstack", "fips"},
	"gs":     {"anonymous"},
	"azblob": {"storage_account", "domain", "protocol", "cdn", "localemu"},
}

// IsObjectURL reports whether a data path is in object storage (s3://, gs://, azblob://)
// rather than a path below the data root or an http(s) URL.
func IsObjectURL(s string) bool {
	scheme, _, ok := strings.Cut(s, "://")
	return ok && ObjectParams[scheme] != nil
}

// ParseObjectURL parses an object-storage data path; the error says what is wrong with it
// and what is expected.
func ParseObjectURL(s string) (ObjectURL, error) {
	u, err := url.Parse(s)
	if err != nil {
		if ue, ok := err.(*url.Error); ok {
			err = ue.Err
		}
		return ObjectURL{}, fmt.Errorf("malformed URL: %v", err)
	}
	// Errors name the object without its parameters or user: a value there may be a
	// credential written by mistake, which no message should repeat.
	shown := u.Scheme + "://" + u.Host + u.Path
	allowed := ObjectParams[u.Scheme]
	switch {
	case allowed == nil:
		return ObjectURL{}, fmt.Errorf("scheme %q: want s3://, gs:// or azblob://", u.Scheme)
	case u.User != nil:
		return ObjectURL{}, fmt.Errorf("%s://...: credentials do not go in a policy: they come from the environment (see the README)", u.Scheme)
	case u.Host == "":
		return ObjectURL{}, fmt.Errorf("%s has no bucket: want %s://BUCKET/KEY", shown, u.Scheme)
	case u.Fragment != "" || strings.Contains(s, "#"):
		return ObjectURL{}, fmt.Errorf("%s: a key with # must be written %%23", shown)
	}
	key := strings.TrimPrefix(u.Path, "/")
	key = strings.TrimSuffix(key, "/")
	if key == "" {
		return ObjectURL{}, fmt.Errorf("%s names no object: want %s://%s/KEY", shown, u.Scheme, u.Host)
	}
	if !fs.ValidPath(key) {
		return ObjectURL{}, fmt.Errorf("%s: the key %q must be a clean slash-separated path (no empty, . or .. elements)", shown, key)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return ObjectURL{}, fmt.Errorf("%s: malformed parameters", shown)
	}
	for name, values := range q {
		if !slices.Contains(allowed, name) {
			return ObjectURL{}, fmt.Errorf("%s: unknown parameter %q for %s:// (want %s); credentials never go in a policy: they come from the environment",
				shown, name, u.Scheme, strings.Join(allowed, ", "))
		}
		if len(values) != 1 {
			return ObjectURL{}, fmt.Errorf("%s: parameter %q given %d times", shown, name, len(values))
		}
	}
	return ObjectURL{Scheme: u.Scheme, Bucket: u.Host, Key: key, Params: q}, nil
}

// BucketURL is the bucket's URL as gocloud.dev's blob.OpenBucket takes it:
// scheme://bucket?params, the parameters sorted.
func (o ObjectURL) BucketURL() string {
	u := url.URL{Scheme: o.Scheme, Host: o.Bucket, RawQuery: o.Params.Encode()}
	return u.String()
}

// String is the object's URL without its parameters, as errors and reports name it.
func (o ObjectURL) String() string {
	return o.Scheme + "://" + o.Bucket + "/" + o.Key
}
