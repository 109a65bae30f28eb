package notify

import (
	"context"
	"sync"
)

// queue is one sink's bounded FIFO of events waiting for delivery.
type queue struct {
	sink Sink
	max  int
	// wake holds at most one signal that events arrived or the queue closed.
	wake chan struct{}

	mu        sync.Mutex // guards everything below
	items     []Event
	closed    bool
	delivered int64
	failed    int64
	dropped   int64
}

// push appends e, dropping the oldest event when the queue is full; it reports whether
// one was dropped. A closed queue drops e itself.
func (q *queue) push(e Event) (dropped bool) {
	q.mu.Lock()
	if q.closed {
		q.dropped++
		q.mu.Unlock()
		return true
	}
	if len(q.items) >= q.max {
		// Copy down rather than reslice so the backing array does not grow without bound.
		copy(q.items, q.items[1:])
		q.items = q.items[:len(q.items)-1]
		q.dropped++
		dropped = true
	}
	q.items = append(q.items, e)
	q.mu.Unlock()
	q.signal()
	return dropped
}

// pop waits for the next event. It returns false once the queue is closed and empty, or
// when ctx is done.
func (q *queue) pop(ctx context.Context) (Event, bool) {
	for {
		// A cancelled ctx (Close's deadline passed) leaves the rest for Close to count.
		if ctx.Err() != nil {
			return Event{}, false
		}
		q.mu.Lock()
		if len(q.items) > 0 {
			e := q.items[0]
			copy(q.items, q.items[1:])
			q.items[len(q.items)-1] = Event{}
			q.items = q.items[:len(q.items)-1]
			q.mu.Unlock()
			return e, true
		}
		closed := q.closed
		q.mu.Unlock()
		if closed {
			return Event{}, false
		}
		select {
		case <-q.wake:
		case <-ctx.Done():
			return Event{}, false
		}
	}
}

func (q *queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.signal()
}

// dropAll empties the queue, counting what it drops.
func (q *queue) dropAll() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := len(q.items)
	q.dropped += int64(n)
	q.items = nil
	return n
}

func (q *queue) countDelivered() {
	q.mu.Lock()
	q.delivered++
	q.mu.Unlock()
}

func (q *queue) countFailed() {
	q.mu.Lock()
	q.failed++
	q.mu.Unlock()
}

func (q *queue) stats() SinkStats {
	q.mu.Lock()
	defer q.mu.Unlock()
	return SinkStats{Delivered: q.delivered, Failed: q.failed, Dropped: q.dropped, Queued: len(q.items)}
}
