//go:build !lite

package objstore_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/parquet-go/parquet-go"

	"github.com/medimind/modelops/internal/datafs"
	"github.com/medimind/modelops/internal/dataset"
	"github.com/medimind/modelops/internal/driftcheck"
	"github.com/medimind/modelops/internal/objstore"
)

// The credentials the test server accepts. The secret must never appear in an error.
const (
	testKeyID  = "AKIAMODELOPSTEST"
	testSecret = "s3cr3t-must-never-be-logged-7d1f"
	testBucket = "data"
)

// s3Server is an S3-compatible server on loopback: gofakes3 (in memory) behind a
// handler that checks the access key a request was signed with, as S3 does first
// (InvalidAccessKeyId), records every request and the body bytes it answered, and can
// delay its answers or cut an object's body short.
type s3Server struct {
	*httptest.Server
	backend *s3mem.Backend

	mu       sync.Mutex // guards the fields below
	requests []served
	delay    time.Duration
	cutAfter map[string]int // key → body bytes sent before the connection is dropped
}

// served is one request the server answered.
type served struct {
	method, key, rng string
	bytes            int64 // body bytes written
}

var signedKey = regexp.MustCompile(`Credential=([^/]+)/`)

func newS3Server(t *testing.T) *s3Server {
	t.Helper()
	s := &s3Server{backend: s3mem.New(), cutAfter: map[string]int{}}
	if err := s.backend.CreateBucket(testBucket); err != nil {
		t.Fatal(err)
	}
	fake := gofakes3.New(s.backend).Server()
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := strings.TrimPrefix(r.URL.Path, "/"+testBucket+"/")
		m := signedKey.FindStringSubmatch(r.Header.Get("Authorization"))
		if m == nil || m[1] != testKeyID {
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
			s.requests = append(s.requests, served{method: r.Method, key: key, rng: r.Header.Get("Range"), bytes: cw.n})
			s.mu.Unlock()
		}()
		fake.ServeHTTP(cw, r)
	}))
	t.Cleanup(s.Close)
	// The AWS SDK's chain takes these from the environment; no file, no metadata server.
	t.Setenv("AWS_ACCESS_KEY_ID", testKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", testSecret)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	return s
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
		if f, ok := w.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
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

func (s *s3Server) put(t *testing.T, key string, data []byte) {
	t.Helper()
	if _, err := s.backend.PutObject(testBucket, key, map[string]string{}, bytes.NewReader(data), int64(len(data)), nil); err != nil {
		t.Fatal(err)
	}
}

// url is the policy data path of key on this server.
func (s *s3Server) url(key string) string {
	return fmt.Sprintf("s3://%s/%s?endpoint=%s&use_path_style=true&region=us-east-1", testBucket, key, s.URL)
}

func (s *s3Server) served() []served {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]served(nil), s.requests...)
}

func (s *s3Server) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

// read reads the table at the data path p through buckets, as a drift check does.
func read(t *testing.T, buckets *objstore.Buckets, p string, opts dataset.Options) (*dataset.Table, error) {
	t.Helper()
	return driftcheck.ReadPath(t.Context(), buckets, nil, p, opts)
}

// wideTable is a numeric table of random values (which do not compress) with cols
// columns named c00, c01, ...
func wideTable(rows, cols int, seed uint64) *dataset.Table {
	rng := rand.New(rand.NewPCG(seed, 1))
	t := &dataset.Table{Rows: rows, Columns: make([]dataset.Column, cols)}
	for j := range t.Columns {
		f := make([]float64, rows)
		for i := range f {
			f[i] = rng.NormFloat64()
		}
		t.Columns[j] = dataset.Column{Name: fmt.Sprintf("c%02d", j), Float: f}
	}
	return t
}

// TestParquetIsReadByRangesOfTheColumnsNeeded reads 2 of 40 columns of a Parquet object
// and checks, from what the server saw, that every request was a range overlapping the
// footer or one of the two columns' chunks, and that the bytes fetched are those chunks
// and the footer plus the read-ahead, a small part of the object.
func TestParquetIsReadByRangesOfTheColumnsNeeded(t *testing.T) {
	s := newS3Server(t)
	tab := wideTable(20000, 40, 7)
	var buf bytes.Buffer
	if err := dataset.WriteParquet(&buf, tab); err != nil {
		t.Fatal(err)
	}
	s.put(t, "omics/ref.parquet", buf.Bytes())
	size := int64(buf.Len())

	keep := map[string]bool{"c03": true, "c27": true}
	var exclude []string
	for _, c := range tab.Columns {
		if !keep[c.Name] {
			exclude = append(exclude, c.Name)
		}
	}
	// Where the needed column chunks and the footer are, from the file's own metadata.
	pf, err := parquet.OpenFile(bytes.NewReader(buf.Bytes()), size)
	if err != nil {
		t.Fatal(err)
	}
	type extent struct{ lo, hi int64 }
	var needed []extent
	var neededBytes int64
	for _, rg := range pf.Metadata().RowGroups {
		for i, cc := range rg.Columns {
			if !keep[tab.Columns[i].Name] {
				continue
			}
			lo := cc.MetaData.DataPageOffset
			if d := cc.MetaData.DictionaryPageOffset; d > 0 && d < lo {
				lo = d
			}
			needed = append(needed, extent{lo, lo + cc.MetaData.TotalCompressedSize})
			neededBytes += cc.MetaData.TotalCompressedSize
		}
	}
	footerLen := int64(len(buf.Bytes())) - 8
	footerLen = int64(uint32(buf.Bytes()[footerLen]) | uint32(buf.Bytes()[footerLen+1])<<8 | uint32(buf.Bytes()[footerLen+2])<<16 | uint32(buf.Bytes()[footerLen+3])<<24)
	needed = append(needed, extent{size - 8 - footerLen, size}, extent{0, 4}) // and the magic bytes that tell the format

	buckets := objstore.New(objstore.Options{})
	t.Cleanup(func() { buckets.Close() })
	got, err := read(t, buckets, s.url("omics/ref.parquet"), dataset.Options{Exclude: exclude})
	if err != nil {
		t.Fatal(err)
	}
	if got.Source != "s3://data/omics/ref.parquet" || len(got.Columns) != 2 || got.Rows != tab.Rows {
		t.Fatalf("read %s: %d columns, %d rows", got.Source, len(got.Columns), got.Rows)
	}
	for i, name := range []string{"c03", "c27"} {
		want := tab.Columns[map[string]int{"c03": 3, "c27": 27}[name]]
		if got.Columns[i].Name != name || !equalFloats(got.Columns[i].Float, want.Float) {
			t.Fatalf("column %d: got %s, want %s with the values written", i, got.Columns[i].Name, name)
		}
	}

	var fetched int64
	gets := 0
	for _, r := range s.served() {
		if r.method != http.MethodGet {
			continue
		}
		gets++
		var lo, hi int64
		if _, err := fmt.Sscanf(r.rng, "bytes=%d-%d", &lo, &hi); err != nil {
			t.Fatalf("GET without a range (%q): the object would be streamed whole", r.rng)
		}
		overlaps := false
		for _, e := range needed {
			if lo < e.hi && hi >= e.lo {
				overlaps = true
			}
		}
		if !overlaps {
			t.Errorf("GET %s overlaps neither the footer nor a needed column", r.rng)
		}
		fetched += r.bytes
	}
	t.Logf("object %d bytes; needed chunks %d bytes, footer %d; fetched %d bytes in %d GETs", size, neededBytes, footerLen, fetched, gets)
	// Each needed chunk may be overshot by the read-ahead's last request (at most twice
	// its length), the footer comes in a window of 64 KiB.
	if limit := 3*neededBytes + 64<<10; fetched > limit {
		t.Errorf("fetched %d bytes, want at most %d (3 × the needed chunks + the footer's window)", fetched, limit)
	}
	if fetched > size/5 {
		t.Errorf("fetched %d of the object's %d bytes for 2 of its 40 columns", fetched, size)
	}
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestCSVIsStreamed reads a CSV object and a gzip one: the tables equal the local
// reading of the same bytes, and the text is streamed (GETs from the start, no ranges
// beyond the format's four bytes).
func TestCSVIsStreamed(t *testing.T) {
	s := newS3Server(t)
	tab := wideTable(3000, 5, 11)
	var csvText bytes.Buffer
	if err := dataset.WriteCSV(&csvText, tab); err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(csvText.Bytes())
	zw.Close()
	s.put(t, "sensor/cur.csv", csvText.Bytes())
	s.put(t, "sensor/cur.csv.gz", gz.Bytes())
	want, err := dataset.ReadBytes(csvText.Bytes(), "local.csv", dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	buckets := objstore.New(objstore.Options{})
	t.Cleanup(func() { buckets.Close() })
	for _, key := range []string{"sensor/cur.csv", "sensor/cur.csv.gz"} {
		s.reset()
		got, err := read(t, buckets, s.url(key), dataset.Options{})
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if got.Rows != want.Rows || len(got.Columns) != len(want.Columns) {
			t.Fatalf("%s: %d×%d, want %d×%d", key, got.Rows, len(got.Columns), want.Rows, len(want.Columns))
		}
		for i := range want.Columns {
			if !equalFloats(got.Columns[i].Float, want.Columns[i].Float) {
				t.Fatalf("%s: column %s differs from the local reading", key, want.Columns[i].Name)
			}
		}
		streams := 0
		for _, r := range s.served() {
			if r.method != http.MethodGet {
				continue
			}
			switch {
			case r.rng == "" || strings.HasPrefix(r.rng, "bytes=0-") && r.bytes > 4:
				streams++
			case r.bytes > 64<<10:
				t.Errorf("%s: a range GET %s of %d bytes: CSV should be streamed", key, r.rng, r.bytes)
			}
		}
		if streams == 0 || streams > 3 {
			t.Errorf("%s: %d streaming GETs, want 1 to 3 (a pass to count lines, one to parse)", key, streams)
		}
	}
}

// TestErrorsSayWhatWentWrong: each failure of object storage is an error naming the
// object and the cause, and none holds the secret key.
func TestErrorsSayWhatWentWrong(t *testing.T) {
	s := newS3Server(t)
	tab := wideTable(2000, 4, 3)
	var pq bytes.Buffer
	if err := dataset.WriteParquet(&pq, tab); err != nil {
		t.Fatal(err)
	}
	s.put(t, "ok.parquet", pq.Bytes())
	s.put(t, "truncated.parquet", pq.Bytes()[:pq.Len()/2])
	var csvText bytes.Buffer
	if err := dataset.WriteCSV(&csvText, wideTable(20000, 4, 5)); err != nil {
		t.Fatal(err)
	}
	s.put(t, "cut.csv", csvText.Bytes())
	s.mu.Lock()
	s.cutAfter["cut.csv"] = csvText.Len() / 3
	s.mu.Unlock()

	tests := []struct {
		name  string
		key   string
		setup func(t *testing.T) *objstore.Buckets
		is    error
		want  string
	}{
		{"a missing object is fs.ErrNotExist", "nope/ref.parquet", nil, fs.ErrNotExist,
			"s3://data/nope/ref.parquet: no such object"},
		{"a truncated Parquet object is invalid data", "truncated.parquet", nil, dataset.ErrInvalid,
			"s3://data/truncated.parquet: not a valid Parquet file"},
		{"a body cut in transfer says where it ended", "cut.csv", nil, objstore.ErrTruncated,
			fmt.Sprintf("s3://data/cut.csv: the object ended at byte %d of the %d it announced", csvText.Len()/3, csvText.Len())},
		{"wrong credentials are refused, naming where credentials come from", "ok.parquet", func(t *testing.T) *objstore.Buckets {
			t.Setenv("AWS_ACCESS_KEY_ID", "AKIAWRONG")
			return nil
		}, objstore.ErrDenied, "s3://data/ok.parquet: access denied: the credentials from the environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"},
		{"a slow server fails the read after the stall bound", "ok.parquet", func(t *testing.T) *objstore.Buckets {
			s.mu.Lock()
			s.delay = 3 * time.Second
			s.mu.Unlock()
			t.Cleanup(func() { s.mu.Lock(); s.delay = 0; s.mu.Unlock() })
			return objstore.New(objstore.Options{Stall: 200 * time.Millisecond})
		}, nil, "s3://data/ok.parquet: no answer from the object store for 200ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buckets := objstore.New(objstore.Options{})
			if tt.setup != nil {
				if b := tt.setup(t); b != nil {
					buckets = b
				}
			}
			defer buckets.Close()
			_, err := read(t, buckets, s.url(tt.key), dataset.Options{})
			if err == nil {
				t.Fatal("read succeeded")
			}
			t.Log(err)
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q does not match %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q\ndoes not say %q", err, tt.want)
			}
			var stall *objstore.StallError
			if tt.name == "a slow server fails the read after the stall bound" && !errors.As(err, &stall) {
				t.Errorf("error %q is not a *StallError", err)
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Errorf("error holds the secret key: %q", err)
			}
		})
	}
}

// TestPrefixesListAsDirectories: a Hive-partitioned prefix lists as directories through
// fs.ReadDir and fs.WalkDir, and its files open, so that windows over partitions read
// object storage as they read a directory.
func TestPrefixesListAsDirectories(t *testing.T) {
	s := newS3Server(t)
	for _, k := range []string{
		"logs/sepsis/date=2026-12-01/part-0.csv", "logs/sepsis/date=2026-12-01/part-1.csv",
		"logs/sepsis/date=2026-12-02/part-0.csv", "logs/sepsis/_SUCCESS", "logs/other/date=2026-12-01/part-0.csv",
	} {
		s.put(t, k, []byte("x\n1\n"))
	}
	buckets := objstore.New(objstore.Options{})
	t.Cleanup(func() { buckets.Close() })
	u, err := datafs.ParseObjectURL(s.url("logs/sepsis/"))
	if err != nil {
		t.Fatal(err)
	}
	fsys, dir, err := buckets.FS(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := fs.Stat(fsys, dir); err != nil || !fi.IsDir() {
		t.Fatalf("Stat(%s) = %v, %v; want a directory", dir, fi, err)
	}
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name()+map[bool]string{true: "/", false: ""}[e.IsDir()])
	}
	if got, want := strings.Join(names, " "), "_SUCCESS date=2026-12-01/ date=2026-12-02/"; got != want {
		t.Errorf("ReadDir(%s) = %s, want %s", dir, got, want)
	}
	var files []string
	err = fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 4 {
		t.Errorf("WalkDir found %v, want the 4 objects below logs/sepsis", files)
	}
	b, err := fs.ReadFile(fsys, "logs/sepsis/date=2026-12-02/part-0.csv")
	if err != nil || string(b) != "x\n1\n" {
		t.Errorf("ReadFile = %q, %v", b, err)
	}
	if _, err := fs.ReadDir(fsys, "logs/none"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadDir of an empty prefix: %v, want fs.ErrNotExist", err)
	}
}
