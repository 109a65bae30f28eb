package objstore

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
)

// TestRangeReaderReadsWhatBytesReaderReads compares ReadAt at random offsets and lengths,
// from several goroutines, with bytes.Reader's over the same bytes, and checks that a
// sequential pass through the object doubles its requests rather than making one per read.
func TestRangeReaderReadsWhatBytesReaderReads(t *testing.T) {
	data := make([]byte, 3<<20+12345)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	var mu sync.Mutex
	requests := 0
	r := &rangeReader{size: int64(len(data)), fetch: func(off int64, n int) ([]byte, error) {
		mu.Lock()
		requests++
		mu.Unlock()
		return append([]byte(nil), data[off:off+int64(n)]...), nil
	}}
	want := bytes.NewReader(data)

	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 9))
			for range 300 {
				off := rng.Int64N(int64(len(data)) + 100)
				n := rng.IntN(200 << 10)
				got, exp := make([]byte, n), make([]byte, n)
				gn, gerr := r.ReadAt(got, off)
				wn, werr := want.ReadAt(exp, off)
				if gn != wn || !bytes.Equal(got[:gn], exp[:wn]) || !errors.Is(gerr, werr) && gerr != werr {
					t.Errorf("ReadAt(%d bytes, %d) = %d, %v; bytes.Reader: %d, %v", n, off, gn, gerr, wn, werr)
					return
				}
			}
		}()
	}
	wg.Wait()

	// A pass through the whole object 4 KiB at a time, with nothing kept from before.
	r.spans, r.cached, r.next, r.ahead = nil, 0, 0, 0
	requests = 0
	buf := make([]byte, 4096)
	for off := int64(0); ; off += int64(len(buf)) {
		n, err := r.ReadAt(buf, off)
		if !bytes.Equal(buf[:n], data[off:off+int64(n)]) {
			t.Fatalf("sequential ReadAt at %d differs", off)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	// 64 KiB, 128 KiB, ... 2 MiB cover 4 MiB - 64 KiB, so the 3 MiB object takes 6.
	if requests != 6 {
		t.Errorf("a sequential pass of %d bytes made %d requests, want 6 (read-ahead doubling from 64 KiB)", len(data), requests)
	}
	if _, err := r.ReadAt(buf, -1); err == nil {
		t.Error("ReadAt at a negative offset succeeded")
	}
}
