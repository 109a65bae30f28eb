package objstore

import (
	"errors"
	"io"
	"sync"
)

// The read-ahead of rangeReader. A Parquet reader asks for a few KiB at a time (page
// headers, buffered page reads) but in order through each column chunk, so each miss that
// continues the last request doubles the next request's length, up to maxAhead; a jump
// elsewhere starts again at minAhead. Over-reading past a needed chunk is then bounded by
// the last request's length, and a chunk of C bytes costs about log2(C/minAhead)
// requests, then C/maxAhead.
const (
	minAhead  = 64 << 10
	maxAhead  = 8 << 20
	maxCached = 32 << 20 // the spans kept, most recent first
)

// rangeReader is an io.ReaderAt over an object of size bytes, fetching ranges with fetch
// (one request each) and keeping the most recent ones. It is safe for concurrent use;
// requests are made one at a time.
type rangeReader struct {
	size  int64
	fetch func(off int64, n int) ([]byte, error)

	mu     sync.Mutex // guards the fields below
	spans  []span     // fetched ranges, most recent last
	cached int64      // bytes in spans
	next   int64      // the end of the last request
	ahead  int        // the length of the next request that continues the last
}

type span struct {
	off  int64
	data []byte
}

// ReadAt implements io.ReaderAt.
func (r *rangeReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("read at a negative offset")
	}
	if off >= r.size {
		return 0, io.EOF
	}
	want := p
	if rest := r.size - off; int64(len(want)) > rest {
		want = want[:rest]
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for n < len(want) {
		pos := off + int64(n)
		if k := r.fromCache(want[n:], pos); k > 0 {
			n += k
			continue
		}
		s, err := r.request(pos, len(want)-n)
		if err != nil {
			return n, err
		}
		n += copy(want[n:], s.data[pos-s.off:])
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// fromCache copies into p what a kept span holds at pos.
func (r *rangeReader) fromCache(p []byte, pos int64) int {
	for i := len(r.spans) - 1; i >= 0; i-- {
		s := r.spans[i]
		if pos >= s.off && pos < s.off+int64(len(s.data)) {
			return copy(p, s.data[pos-s.off:])
		}
	}
	return 0
}

// request fetches at least need bytes from pos, more by the read-ahead, and keeps them.
func (r *rangeReader) request(pos int64, need int) (span, error) {
	if pos == r.next && r.ahead > 0 {
		r.ahead = min(2*r.ahead, maxAhead)
	} else {
		r.ahead = minAhead
	}
	n := int64(max(need, r.ahead))
	start := pos
	if end := start + n; end > r.size {
		// Near the end (a Parquet footer, read backwards from the last bytes): take the
		// whole window that ends there, so the footer's length and the footer come in one.
		start = max(0, r.size-n)
	}
	n = min(n, r.size-start)
	data, err := r.fetch(start, int(n))
	if err != nil {
		return span{}, err
	}
	s := span{off: start, data: data}
	r.spans = append(r.spans, s)
	r.cached += n
	for len(r.spans) > 1 && r.cached > maxCached {
		r.cached -= int64(len(r.spans[0].data))
		r.spans = r.spans[1:]
	}
	r.next = start + n
	return s, nil
}
