// Package s3fake serves an S3-compatible API on loopback for tests of data in object
// storage: gofakes3 (in memory; it implements GET with ranges, HEAD and ListObjectsV2 as S3
// does) behind a handler that checks the access key a request was signed with, as S3 does
// first (gofakes3 checks no signature), records each request and the body bytes answered,
// and can delay its answers or cut an object's body short. No S3 server that builds from
// the Go module proxy in reasonable time was found (see the README).
package s3fake

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// The credentials UseCredentials puts in the environment. Secret must never appear in an
// error or a log.
const (
	KeyID  = "AKIAMODELOPSTEST"
	Secret = "s3cr3t-must-never-be-logged-7d1f"
	Bucket = "data"
)

// Server is one S3 endpoint with the bucket Bucket.
type Server struct {
	*httptest.Server
	backend *s3mem.Backend
	keyID   string

	mu       sync.Mutex // guards the fields below
	requests []Request
	delay    time.Duration
	cutAfter map[string]int
}

// Request is one request the server answered.
type Request struct {
	Method, Key, Range string
	Bytes              int64 // body bytes written
}

var signedKey = regexp.MustCompile(`Credential=([^/]+)/`)

// Start serves an endpoint that accepts requests signed with the access key keyID (others
// get S3's 403 InvalidAccessKeyId), until the test ends.
func Start(t *testing.T, keyID string) *Server {
	t.Helper()
	s := &Server{backend: s3mem.New(), keyID: keyID, cutAfter: map[string]int{}}
	if err := s.backend.CreateBucket(Bucket); err != nil {
		t.Fatal(err)
	}
	fake := gofakes3.New(s.backend).Server()
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := strings.TrimPrefix(r.URL.Path, "/"+Bucket+"/")
		if m := signedKey.FindStringSubmatch(r.Header.Get("Authorization")); m == nil || m[1] != s.keyID {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			if r.Method != http.MethodHead {
				fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidAccessKeyId</Code><Message>The AWS Access Key Id you provided does not exist in our records.</Message></Error>`)
			}
			return
		}
		s.mu.Lock()
		delay, cut, isCut := s.delay, 0, false
		if r.Method == http.MethodGet {
			cut, isCut = s.cutAfter[key]
		}
		s.mu.Unlock()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		cw := &countingWriter{ResponseWriter: w, limit: -1}
		if isCut {
			cw.limit = cut
		}
		defer func() {
			s.mu.Lock()
			s.requests = append(s.requests, Request{Method: r.Method, Key: key, Range: r.Header.Get("Range"), Bytes: cw.n})
			s.mu.Unlock()
		}()
		fake.ServeHTTP(cw, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// UseCredentials puts KeyID (or keyID when not empty) and Secret in the environment of the
// test, where the AWS SDK's chain finds them, and keeps the chain off every file and the
// instance metadata service.
func UseCredentials(t *testing.T, keyID string) {
	if keyID == "" {
		keyID = KeyID
	}
	t.Setenv("AWS_ACCESS_KEY_ID", keyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", Secret)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// countingWriter counts the body bytes written and, with a limit, drops the connection
// after limit bytes, as a server or a network cut mid-transfer does.
type countingWriter struct {
	http.ResponseWriter
	n     int64
	limit int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	if w.limit >= 0 && w.n+int64(len(p)) > int64(w.limit) {
		k, _ := w.ResponseWriter.Write(p[:int64(w.limit)-w.n])
		w.n += int64(k)
		w.Flush()
		panic(http.ErrAbortHandler)
	}
	k, err := w.ResponseWriter.Write(p)
	w.n += int64(k)
	return k, err
}

func (w *countingWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Put stores data as the object key.
func (s *Server) Put(t *testing.T, key string, data []byte) {
	t.Helper()
	if _, err := s.backend.PutObject(Bucket, key, map[string]string{}, bytes.NewReader(data), int64(len(data)), nil); err != nil {
		t.Fatal(err)
	}
}

// Path is the policy data path of key on this server.
func (s *Server) Path(key string) string {
	return fmt.Sprintf("s3://%s/%s?endpoint=%s&use_path_style=true&region=us-east-1", Bucket, key, s.URL)
}

// Requests returns the requests answered so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Reset forgets the requests answered so far.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

// Delay makes every answer wait d (or until the client gives up).
func (s *Server) Delay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// CutAfter drops the connection of every GET of key after n bytes of body.
func (s *Server) CutAfter(key string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cutAfter[key] = n
}
