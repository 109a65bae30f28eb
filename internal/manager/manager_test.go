package manager

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// waitFor fails the test unless cond holds within a few seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// start runs m until the returned stop is called; stop waits for Run to return.
func start(t *testing.T, m *Manager) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	stop = func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return after stop")
		}
	}
	t.Cleanup(stop)
	return stop
}

func counting(n *atomic.Int64) func(context.Context) error {
	return func(context.Context) error { n.Add(1); return nil }
}

func TestAWakeUpTriggersACycle(t *testing.T) {
	var cycles atomic.Int64
	m, err := New(Options{Cycle: counting(&cycles), Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	start(t, m)
	waitFor(t, "the first cycle", func() bool { return cycles.Load() == 1 })
	m.Nudge()
	waitFor(t, "a cycle after the wake-up", func() bool { return cycles.Load() == 2 })
}

func TestTheIntervalTicks(t *testing.T) {
	var cycles atomic.Int64
	m, err := New(Options{Cycle: counting(&cycles), Interval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start(t, m)
	waitFor(t, "three cycles without a wake-up", func() bool { return cycles.Load() >= 3 })
}

// blockingCycle signals when a cycle starts and ends it when release closes or its context
// ends; it records whether the context ended first.
type blockingCycle struct {
	started   chan struct{}
	release   chan struct{}
	cancelled atomic.Bool
}

func newBlockingCycle() *blockingCycle {
	return &blockingCycle{started: make(chan struct{}, 1), release: make(chan struct{})}
}

func (b *blockingCycle) cycle(ctx context.Context) error {
	b.started <- struct{}{}
	select {
	case <-b.release:
		return nil
	case <-ctx.Done():
		b.cancelled.Store(true)
		return ctx.Err()
	}
}

func TestStopDrainsTheCycleInProgressWithinTheGrace(t *testing.T) {
	b := newBlockingCycle()
	var drained atomic.Bool
	m, err := New(Options{Cycle: b.cycle, Interval: time.Hour, Grace: time.Hour, Drain: func() { drained.Store(true) }})
	if err != nil {
		t.Fatal(err)
	}
	stop := start(t, m)
	<-b.started
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	waitFor(t, "Drain on stop", drained.Load)
	select {
	case <-stopped:
		t.Fatal("Run returned while a cycle was in progress and the grace had not run out")
	case <-time.After(20 * time.Millisecond):
	}
	close(b.release)
	<-stopped
	if b.cancelled.Load() {
		t.Error("the cycle's context was cancelled by the stop itself")
	}
}

func TestStopCancelsTheCycleOnceTheGraceRunsOut(t *testing.T) {
	b := newBlockingCycle()
	m, err := New(Options{Cycle: b.cycle, Interval: time.Hour, Grace: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	stop := start(t, m)
	<-b.started
	stop()
	if !b.cancelled.Load() {
		t.Error("Run returned but the cycle's context was not cancelled")
	}
}

func TestReadyAfterTheFirstCycleAndUnreadyAfterFetchFailures(t *testing.T) {
	errUnreachable := errors.New("unreachable")
	var fail atomic.Bool
	b := newBlockingCycle()
	first := true
	cycle := func(ctx context.Context) error {
		if first { // the first cycle waits, so readiness can be read before it completes
			first = false
			if err := b.cycle(ctx); err != nil {
				return err
			}
		}
		if fail.Load() {
			return errUnreachable
		}
		return nil
	}
	var cycles atomic.Int64
	counted := func(ctx context.Context) error { defer cycles.Add(1); return cycle(ctx) }
	m, err := New(Options{Cycle: counted, Interval: time.Hour, UnreadyAfter: 2,
		Unreachable: func(err error) bool { return errors.Is(err, errUnreachable) }})
	if err != nil {
		t.Fatal(err)
	}
	start(t, m)
	<-b.started
	if err := m.Ready(t.Context()); err == nil {
		t.Error("ready before any cycle completed")
	}
	close(b.release)
	waitFor(t, "ready after the first cycle", func() bool { return m.Ready(t.Context()) == nil })
	fail.Store(true)
	m.Nudge()
	waitFor(t, "a failed cycle", func() bool { return cycles.Load() == 2 })
	if err := m.Ready(t.Context()); err != nil {
		t.Errorf("one fetch failure of two allowed: %v", err)
	}
	m.Nudge()
	waitFor(t, "unready after two fetch failures", func() bool { return m.Ready(t.Context()) != nil })
}

// fakeElector leads from when lead is called until lose is called, then stands by until
// Run's context ends.
type fakeElector struct {
	mu      sync.Mutex
	leading bool
	leader  string
	gain    chan struct{}
	lose    chan struct{}
}

func (e *fakeElector) Run(ctx context.Context, lead func(context.Context)) {
	select {
	case <-e.gain:
	case <-ctx.Done():
		return
	}
	leadCtx, cancel := context.WithCancel(ctx)
	e.set(true, "me")
	go func() {
		select {
		case <-e.lose:
			e.set(false, "other")
			cancel()
		case <-leadCtx.Done():
		}
	}()
	lead(leadCtx)
	cancel()
	<-ctx.Done()
}

func (e *fakeElector) set(leading bool, leader string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.leading, e.leader = leading, leader
}

func (e *fakeElector) IsLeader() bool   { e.mu.Lock(); defer e.mu.Unlock(); return e.leading }
func (e *fakeElector) Leader() string   { e.mu.Lock(); defer e.mu.Unlock(); return e.leader }
func (e *fakeElector) Identity() string { return "me" }

func TestCyclesOnlyWhileLeading(t *testing.T) {
	var cycles atomic.Int64
	e := &fakeElector{gain: make(chan struct{}), lose: make(chan struct{})}
	m, err := New(Options{Cycle: counting(&cycles), Interval: 2 * time.Millisecond, Elector: e})
	if err != nil {
		t.Fatal(err)
	}
	start(t, m)
	time.Sleep(20 * time.Millisecond)
	if n := cycles.Load(); n != 0 {
		t.Fatalf("%d cycles before leading", n)
	}
	if err := m.Ready(t.Context()); err == nil {
		t.Error("a standby that does not know the leader is ready")
	}
	close(e.gain)
	waitFor(t, "cycles while leading", func() bool { return cycles.Load() >= 2 })
	close(e.lose)
	waitFor(t, "standing by", func() bool { return !e.IsLeader() })
	time.Sleep(5 * time.Millisecond) // a cycle in flight when the lease went may finish
	n := cycles.Load()
	time.Sleep(20 * time.Millisecond)
	if got := cycles.Load(); got != n {
		t.Errorf("%d cycles after the lease was lost", got-n)
	}
	if err := m.Ready(t.Context()); err != nil {
		t.Errorf("a standby that knows the leader: %v", err)
	}
}

func TestARequestedCheckRunsBeforeTheNextCycle(t *testing.T) {
	var mu sync.Mutex
	var events []string
	record := func(s string) { mu.Lock(); events = append(events, s); mu.Unlock() }
	snapshot := func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), events...) }
	m, err := New(Options{
		Cycle:    func(context.Context) error { record("cycle"); return nil },
		CheckNow: func(_ context.Context, model string) error { record("check " + model); return nil },
		Interval: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	start(t, m)
	waitFor(t, "the first cycle", func() bool { return len(snapshot()) == 1 })
	m.RequestCheck("sepsis")
	waitFor(t, "the check and a cycle", func() bool { return len(snapshot()) == 3 })
	want := []string{"cycle", "check sepsis", "cycle"}
	if got := snapshot(); !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
}
