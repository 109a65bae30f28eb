package leader

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// Defaults of Config, those of Kubernetes' own controllers.
const (
	DefaultLeaseDuration = 15 * time.Second
	DefaultRenewDeadline = 10 * time.Second
	DefaultRetryPeriod   = 2 * time.Second
)

// Config says which Lease to compete for, and how.
type Config struct {
	// Client reaches the Lease (clientset.CoordinationV1()).
	Client coordinationv1client.LeasesGetter
	// Namespace and Name of the Lease.
	Namespace, Name string
	// Identity of this candidate; default Identity().
	Identity string
	// LeaseDuration is how long a lease is held without renewal before others may take it;
	// RenewDeadline how long the leader retries renewing before it gives up; RetryPeriod
	// the wait between attempts. Zero takes the defaults; the Lease records whole seconds,
	// so LeaseDuration must be at least one second.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
}

// Identity is the default candidate identity: the host name and the process id, unique
// among replicas (pod names are unique) and among processes of one host.
func Identity() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown-host"
	}
	return host + "_" + strconv.Itoa(os.Getpid())
}

// Elector campaigns for the Lease and runs the leader's work.
type Elector struct {
	cfg Config

	mu      sync.Mutex // guards leading, leader, stop and elector
	leading bool
	leader  string // the last holder seen on the Lease; "" when none or released
	stop    context.CancelFunc
	elector *leaderelection.LeaderElector // of the current term
}

// New checks cfg and returns an elector.
func New(cfg Config) (*Elector, error) {
	if cfg.Client == nil {
		return nil, errors.New("leader election: no client")
	}
	if cfg.Namespace == "" || cfg.Name == "" {
		return nil, fmt.Errorf("leader election: the lease needs a namespace and a name, got %q/%q", cfg.Namespace, cfg.Name)
	}
	if cfg.Identity == "" {
		cfg.Identity = Identity()
	}
	if cfg.LeaseDuration == 0 {
		cfg.LeaseDuration = DefaultLeaseDuration
	}
	if cfg.RenewDeadline == 0 {
		cfg.RenewDeadline = DefaultRenewDeadline
	}
	if cfg.RetryPeriod == 0 {
		cfg.RetryPeriod = DefaultRetryPeriod
	}
	if cfg.LeaseDuration < time.Second {
		return nil, fmt.Errorf("leader election: lease duration must be at least 1s (a Lease records whole seconds), got %s", cfg.LeaseDuration)
	}
	e := &Elector{cfg: cfg}
	// Validate the durations the way client-go will, so Run cannot fail later.
	if _, err := leaderelection.NewLeaderElector(e.electionConfig(func(context.Context) {})); err != nil {
		return nil, fmt.Errorf("leader election: %w", err)
	}
	return e, nil
}

// Identity is this candidate's identity.
func (e *Elector) Identity() string { return e.cfg.Identity }

// IsLeader reports whether this candidate holds the Lease and its work is running.
func (e *Elector) IsLeader() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.leading
}

// Leader returns the identity last seen holding the Lease (this candidate's own when it
// leads), or "" when none is known. /readyz is ready once the lease is held or known.
func (e *Elector) Leader() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.leader
}

// Run campaigns for the Lease until ctx is done. Each time it wins, it calls work with a
// context cancelled as soon as leadership is lost, waits for work to return, releases the
// Lease and campaigns again. Run returns when ctx is done and work has returned.
func (e *Elector) Run(ctx context.Context, work func(ctx context.Context)) {
	for ctx.Err() == nil {
		e.term(ctx, work)
	}
}

// term is one campaign: acquire, lead until the lease is lost or ctx is done, release.
func (e *Elector) term(ctx context.Context, work func(ctx context.Context)) {
	// The elector's context is not ctx itself: when ctx ends, the work is stopped first,
	// and only once it has returned is the elector stopped, which releases the Lease.
	electCtx, stopElect := context.WithCancel(context.WithoutCancel(ctx))
	defer stopElect()
	stopOnDone := context.AfterFunc(ctx, func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.leading {
			e.stop()
		} else {
			stopElect() // still campaigning: nothing to hand over
		}
	})
	defer stopOnDone()

	// OnStartedLeading runs on a goroutine of its own; it hands the work's context over.
	leadCh := make(chan context.Context, 1)
	onStarted := func(leadCtx context.Context) {
		e.mu.Lock()
		defer e.mu.Unlock()
		if ctx.Err() != nil || leadCtx.Err() != nil {
			return
		}
		workCtx, stopWork := context.WithCancel(leadCtx)
		e.leading, e.leader, e.stop = true, e.cfg.Identity, stopWork
		leadCh <- workCtx
	}
	le, err := leaderelection.NewLeaderElector(e.electionConfig(onStarted))
	if err != nil {
		return // New validated the same configuration
	}
	e.mu.Lock()
	e.elector = le
	e.mu.Unlock()
	runDone := make(chan struct{})
	go func() {
		defer close(runDone)
		le.Run(electCtx)
	}()

	select {
	case workCtx := <-leadCh:
		go e.watchHolder(workCtx, le)
		work(workCtx)
	case <-runDone:
		// Lost (or never won) before the work began.
	}
	e.mu.Lock()
	if e.stop != nil {
		e.stop()
	}
	e.leading, e.stop = false, nil
	if e.leader == e.cfg.Identity {
		e.leader = "" // released below, or lost to a holder not seen yet
	}
	e.mu.Unlock()
	// The work is over, whatever ended it: give the Lease up (ReleaseOnCancel).
	stopElect()
	<-runDone

	// Campaign again after a retry period, unless ctx is done.
	t := time.NewTimer(e.cfg.RetryPeriod)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// watchHolder stops the work as soon as the elector observes another holder on the Lease.
// client-go notices a stolen Lease on its next renewal attempt (one retry period) but
// reports it, and cancels, only when RenewDeadline has passed; this reads its observation
// (no API call) every retry period instead.
func (e *Elector) watchHolder(ctx context.Context, le *leaderelection.LeaderElector) {
	t := time.NewTicker(e.cfg.RetryPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if holder := le.GetLeader(); holder != "" && holder != e.cfg.Identity {
			e.mu.Lock()
			e.leader = holder
			if e.stop != nil {
				e.stop()
			}
			e.mu.Unlock()
			return
		}
	}
}

func (e *Elector) electionConfig(onStarted func(context.Context)) leaderelection.LeaderElectionConfig {
	return leaderelection.LeaderElectionConfig{
		Lock: &resourcelock.LeaseLock{
			LeaseMeta:  metav1.ObjectMeta{Namespace: e.cfg.Namespace, Name: e.cfg.Name},
			Client:     e.cfg.Client,
			LockConfig: resourcelock.ResourceLockConfig{Identity: e.cfg.Identity},
		},
		LeaseDuration:   e.cfg.LeaseDuration,
		RenewDeadline:   e.cfg.RenewDeadline,
		RetryPeriod:     e.cfg.RetryPeriod,
		ReleaseOnCancel: true,
		Name:            e.cfg.Namespace + "/" + e.cfg.Name,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: onStarted,
			OnStoppedLeading: func() {
				e.mu.Lock()
				if e.stop != nil {
					e.stop()
				}
				e.mu.Unlock()
			},
			OnNewLeader: func(identity string) {
				e.mu.Lock()
				defer e.mu.Unlock()
				// client-go reports on a goroutine each; a report that is no longer the
				// holder observed on the Lease is stale and ignored.
				if e.elector != nil && e.elector.GetLeader() != identity {
					return
				}
				e.leader = identity
				// Another holder on the Lease means ours is gone, whatever the renew loop
				// has yet to notice: stop acting now.
				if identity != e.cfg.Identity && e.stop != nil {
					e.stop()
				}
			},
		},
	}
}
