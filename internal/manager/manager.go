// Package manager runs reconcile cycles until stopped, as controller-runtime's manager runs
// its controllers: a cycle every interval and at once on a wake-up, one at a time; on stop,
// the cycle in progress drains within a grace period; with a leader elector, cycles run only
// while this replica leads; readiness once a cycle has completed. It knows nothing of the
// CLI, the reconciler or Kubernetes: a cycle is a function, an elector an interface.
package manager

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Elector is leader election as internal/leader provides it: Run calls lead with a context
// cancelled the moment leadership is lost, and returns once ctx ends.
type Elector interface {
	Run(ctx context.Context, lead func(ctx context.Context))
	IsLeader() bool
	Leader() string
	Identity() string
}

// Options configure a Manager. Cycle is required, Interval must be positive.
type Options struct {
	// Cycle runs one cycle on ctx, which ends when the grace after a stop runs out or the
	// lease is lost.
	Cycle func(ctx context.Context) error
	// Interval is the time between cycles without a wake-up.
	Interval time.Duration
	// Grace bounds the wait for the cycle in progress after a stop.
	Grace time.Duration
	// Drain, when set, is called on stop so that the cycle in progress stops after its
	// current action.
	Drain func()
	// Wake, when set, is the channel wake-ups arrive on (a ref watcher, a Job informer, a
	// webhook send to it); one pending wake-up is enough. Without it the manager makes one.
	Wake chan struct{}
	// Elector, when set, makes cycles run only while this replica leads.
	Elector Elector
	// Unreachable reports whether a cycle's error means the remote could not be reached;
	// after UnreadyAfter such cycles in a row (0: never) the manager is not ready.
	Unreachable  func(error) bool
	UnreadyAfter int
	// CheckNow runs one model's on-demand check (a person re-ran its check on GitHub), on
	// the cycle's context before the next cycle.
	CheckNow func(ctx context.Context, model string) error
	Log      *slog.Logger
}

// Manager runs the cycles. Its methods are safe for concurrent use.
type Manager struct {
	o         Options
	ready     atomic.Bool
	failures  atomic.Int64 // cycles in a row that could not reach the remote
	mu        sync.Mutex
	requested []string // models whose check was asked for, in order, once each
}

// New checks o and returns a Manager.
func New(o Options) (*Manager, error) {
	if o.Cycle == nil {
		return nil, errors.New("manager: no cycle function")
	}
	if o.Interval <= 0 {
		return nil, errors.New("manager: the interval must be positive")
	}
	if o.Wake == nil {
		o.Wake = make(chan struct{}, 1)
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Manager{o: o}, nil
}

// Nudge asks for a cycle now, without waiting: one pending request is enough.
func (m *Manager) Nudge() {
	select {
	case m.o.Wake <- struct{}{}:
	default:
	}
}

// RequestCheck records that model's check should run now and nudges a cycle. It does not
// block, so a webhook handler may call it.
func (m *Manager) RequestCheck(model string) {
	m.mu.Lock()
	if !slices.Contains(m.requested, model) {
		m.requested = append(m.requested, model)
	}
	m.mu.Unlock()
	m.Nudge()
}

// Ready is the readiness check: a cycle has completed and the remote answered one of the
// last UnreadyAfter fetches; with leader election, a standby is ready once it knows who leads.
func (m *Manager) Ready(context.Context) error {
	if e := m.o.Elector; e != nil && !e.IsLeader() {
		if e.Leader() == "" {
			return errors.New("the leader is not known yet")
		}
		return nil
	}
	if !m.ready.Load() {
		return errors.New("no cycle has completed yet")
	}
	if n := m.failures.Load(); m.o.UnreadyAfter > 0 && n >= int64(m.o.UnreadyAfter) {
		return fmt.Errorf("the remote is unreachable: the last %d fetches failed", n)
	}
	return nil
}

// Run runs cycles until stop ends, then drains: the cycle in progress keeps a context that
// stop does not cancel, for at most Grace. With an Elector, it campaigns and runs cycles
// while leading; on stop the loop drains before the lease is released.
func (m *Manager) Run(stop context.Context) {
	work, cancelWork := context.WithCancel(context.WithoutCancel(stop))
	defer cancelWork()
	go m.drainOnStop(stop, work, cancelWork)

	ticker := time.NewTicker(m.o.Interval)
	defer ticker.Stop()
	e := m.o.Elector
	if e == nil {
		m.loop(stop, work, ticker)
		return
	}
	// Losing the lease cancels lead at once; on stop the loop drains, then the lease is
	// released.
	e.Run(work, func(lead context.Context) {
		m.o.Log.Info("leading", "identity", e.Identity())
		m.loop(stop, lead, ticker)
		if stop.Err() != nil {
			cancelWork()
		} else {
			m.o.Log.Warn("lost the lease; standing by", "identity", e.Identity())
		}
	})
}

// drainOnStop waits for stop, asks the cycle in progress to drain, and cancels work once the
// grace runs out (at once on a standby, which has nothing in progress).
func (m *Manager) drainOnStop(stop, work context.Context, cancelWork func()) {
	select {
	case <-stop.Done():
	case <-work.Done():
		return
	}
	m.o.Log.Info("stopping after the action in progress")
	if m.o.Drain != nil {
		m.o.Drain()
	}
	if e := m.o.Elector; e != nil && !e.IsLeader() {
		cancelWork()
		return
	}
	t := time.NewTimer(m.o.Grace)
	defer t.Stop()
	select {
	case <-t.C:
		cancelWork()
	case <-work.Done():
	}
}

// loop runs cycles on act until stop or act (a lost lease) is done.
func (m *Manager) loop(stop, act context.Context, ticker *time.Ticker) {
	for {
		m.checkRequested(act)
		m.cycle(act)
		select {
		case <-stop.Done():
			return
		case <-act.Done():
			return
		case <-ticker.C:
		case <-m.o.Wake:
		}
	}
}

// checkRequested runs the checks asked for since the last cycle.
func (m *Manager) checkRequested(ctx context.Context) {
	m.mu.Lock()
	models := m.requested
	m.requested = nil
	m.mu.Unlock()
	if m.o.CheckNow == nil {
		return
	}
	for _, model := range models {
		if err := m.o.CheckNow(ctx, model); err != nil {
			m.o.Log.Error("requested check failed", "model", model, "error", err)
		} else {
			m.o.Log.Info("requested check done", "model", model)
		}
	}
}

func (m *Manager) cycle(ctx context.Context) {
	err := m.o.Cycle(ctx)
	unreachable := err != nil && m.o.Unreachable != nil && m.o.Unreachable(err)
	if unreachable {
		m.failures.Add(1)
	} else {
		m.failures.Store(0)
	}
	switch {
	case unreachable:
		m.o.Log.Error("cycle failed: the remote is unreachable", "failures", m.failures.Load(), "error", err)
	case err != nil:
		m.o.Log.Error("cycle failed", "error", err)
	default:
		m.ready.Store(true)
	}
}
