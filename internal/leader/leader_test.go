package leader

import (
	"context"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/medimind/modelops/internal/testutil/kubeenv"
)

var env *kubeenv.Env

func TestMain(m *testing.M) { os.Exit(kubeenv.Main(m, &env)) }

// Short durations: a Lease counts whole seconds.
const (
	leaseDuration = 2 * time.Second
	renewDeadline = 1500 * time.Millisecond
	retryPeriod   = 250 * time.Millisecond
)

// candidate runs an Elector whose work records when it acts.
type candidate struct {
	id      string
	e       *Elector
	cancel  context.CancelFunc
	done    chan struct{}
	started chan struct{} // one value each time the work starts
	stopped chan struct{} // one value each time the work's context is cancelled
}

// log records which candidates act, to check that two never act at once.
type log struct {
	mu      sync.Mutex
	acting  map[string]bool
	overlap []string
}

func (l *log) set(id string, on bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if on {
		for other, a := range l.acting {
			if a && other != id {
				l.overlap = append(l.overlap, other+" and "+id)
			}
		}
	}
	l.acting[id] = on
}

func run(t *testing.T, cfg Config, id string, l *log) *candidate {
	t.Helper()
	cfg.Identity = id
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &candidate{id: id, e: e, cancel: cancel, done: make(chan struct{}), started: make(chan struct{}, 10), stopped: make(chan struct{}, 10)}
	go func() {
		defer close(c.done)
		e.Run(ctx, func(ctx context.Context) {
			l.set(id, true)
			c.started <- struct{}{}
			<-ctx.Done()
			l.set(id, false)
			c.stopped <- struct{}{}
		})
	}()
	t.Cleanup(func() { cancel(); <-c.done })
	return c
}

func setup(t *testing.T) (kubernetes.Interface, Config) {
	t.Helper()
	cs, err := kubernetes.NewForConfig(env.Config())
	if err != nil {
		t.Fatal(err)
	}
	return cs, Config{
		Client: cs.CoordinationV1(), Namespace: env.Namespace(t), Name: "modelops",
		LeaseDuration: leaseDuration, RenewDeadline: renewDeadline, RetryPeriod: retryPeriod,
	}
}

func wait(t *testing.T, ch <-chan struct{}, within time.Duration, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(within):
		t.Fatalf("%s did not happen within %s", what, within)
	}
}

// first returns whichever candidate starts acting first.
func first(t *testing.T, a, b *candidate) (leader, follower *candidate) {
	t.Helper()
	select {
	case <-a.started:
		return a, b
	case <-b.started:
		return b, a
	case <-time.After(30 * time.Second):
		t.Fatal("no candidate became leader within 30s")
	}
	return nil, nil
}

func holder(t *testing.T, cs kubernetes.Interface, cfg Config) *coordinationv1.Lease {
	t.Helper()
	l, err := cs.CoordinationV1().Leases(cfg.Namespace).Get(context.Background(), cfg.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestTwoCandidatesOnOneLeaseOnlyOneActsAndCancellingTheLeaderHandsOver(t *testing.T) {
	cs, cfg := setup(t)
	// A lease long enough that a take-over within the wait below shows the Lease was
	// released, not left to expire.
	cfg.LeaseDuration, cfg.RenewDeadline = 8*time.Second, 6*time.Second
	l := &log{acting: map[string]bool{}}
	a, b := run(t, cfg, "replica-a", l), run(t, cfg, "replica-b", l)
	leader, follower := first(t, a, b)

	// Longer than a lease: the follower must not start while the leader renews.
	select {
	case <-follower.started:
		t.Fatalf("%s acted while %s led", follower.id, leader.id)
	case <-time.After(cfg.LeaseDuration + 2*time.Second):
	}
	if !leader.e.IsLeader() || follower.e.IsLeader() {
		t.Fatalf("IsLeader: %s %v, %s %v", leader.id, leader.e.IsLeader(), follower.id, follower.e.IsLeader())
	}
	if got := follower.e.Leader(); got != leader.id {
		t.Fatalf("the follower knows the leader as %q, want %q", got, leader.id)
	}
	if got := ptr.Deref(holder(t, cs, cfg).Spec.HolderIdentity, ""); got != leader.id {
		t.Fatalf("the Lease is held by %q, want %q", got, leader.id)
	}

	// The leader shuts down: its work stops, it releases the Lease, the follower takes over
	// well before the lease would have expired.
	leader.cancel()
	wait(t, leader.stopped, 5*time.Second, "the leader's work stopping")
	wait(t, follower.started, cfg.LeaseDuration-2*time.Second, "the follower taking over the released Lease")
	<-leader.done
	if leader.e.IsLeader() || !follower.e.IsLeader() {
		t.Fatalf("after hand-over IsLeader: %s %v, %s %v", leader.id, leader.e.IsLeader(), follower.id, follower.e.IsLeader())
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.overlap) > 0 {
		t.Fatalf("two replicas acted at once: %v", l.overlap)
	}
}

func TestALeaderWhoseLeaseIsStolenStopsActingAtOnce(t *testing.T) {
	cs, cfg := setup(t)
	// A renew deadline far longer than the wait below: stopping in time shows the theft is
	// acted on when seen, not when renewing has failed for the whole deadline.
	cfg.LeaseDuration, cfg.RenewDeadline = 20*time.Second, 15*time.Second
	l := &log{acting: map[string]bool{}}
	a := run(t, cfg, "replica-a", l)
	wait(t, a.started, 30*time.Second, "replica-a leading")

	// The leader renews meanwhile: steal on the latest version.
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		lease := holder(t, cs, cfg)
		now := metav1.NewMicroTime(time.Now())
		lease.Spec.HolderIdentity = ptr.To("thief")
		lease.Spec.AcquireTime, lease.Spec.RenewTime = &now, &now
		lease.Spec.LeaseDurationSeconds = ptr.To[int32](3600)
		_, err := cs.CoordinationV1().Leases(cfg.Namespace).Update(context.Background(), lease, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	stolen := time.Now()
	// The next renewal attempt (one retry period) sees another holder.
	wait(t, a.stopped, 5*time.Second, "replica-a stopping after its Lease was stolen")
	t.Logf("work stopped %s after the Lease was stolen", time.Since(stolen).Round(time.Millisecond))
	if a.e.IsLeader() {
		t.Fatal("IsLeader is true after the Lease was stolen")
	}
	if got := a.e.Leader(); got != "thief" {
		t.Fatalf("Leader = %q, want the thief", got)
	}
	// The thief holds an unexpired lease: replica-a must not act again.
	select {
	case <-a.started:
		t.Fatal("replica-a acted again while the thief holds the Lease")
	case <-time.After(2 * leaseDuration):
	}
}

func TestALeaderThatCannotRenewStopsBeforeItsLeaseExpires(t *testing.T) {
	admin, cfg := setup(t)
	ctx := context.Background()
	// replica-a runs as a ServiceAccount allowed to use Leases through a RoleBinding that
	// the test then removes, so its renewals fail as they would in a network partition.
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "leases"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"get", "create", "update"}}},
	}
	if _, err := admin.RbacV1().Roles(cfg.Namespace).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "leases"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "leases"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "modelops", Namespace: cfg.Namespace}},
	}
	if _, err := admin.RbacV1().RoleBindings(cfg.Namespace).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	sa, err := kubernetes.NewForConfig(env.ImpersonatedConfig("system:serviceaccount:"+cfg.Namespace+":modelops", "system:serviceaccounts"))
	if err != nil {
		t.Fatal(err)
	}
	acfg := cfg
	acfg.Client = sa.CoordinationV1()
	l := &log{acting: map[string]bool{}}
	a := run(t, acfg, "replica-a", l)
	wait(t, a.started, 30*time.Second, "replica-a leading")
	renewed := holder(t, admin, cfg).Spec.RenewTime.Time

	if err := admin.RbacV1().RoleBindings(cfg.Namespace).Delete(ctx, "leases", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	wait(t, a.stopped, 3*leaseDuration, "replica-a stopping when it cannot renew")
	stoppedAt := time.Now()
	// The last successful renewal may come just before the binding went away.
	last := holder(t, admin, cfg).Spec.RenewTime.Time
	if last.Before(renewed) {
		last = renewed
	}
	if expiry := last.Add(leaseDuration); !stoppedAt.Before(expiry.Add(500 * time.Millisecond)) {
		t.Errorf("work stopped at %s, after the lease expired at %s", stoppedAt.Format(time.StampMilli), expiry.Format(time.StampMilli))
	}
	if a.e.IsLeader() {
		t.Fatal("IsLeader is true after renewal failed")
	}

	// Another replica (with its rights) takes over once the lease has expired.
	b := run(t, cfg, "replica-b", l)
	wait(t, b.started, 10*time.Second, "replica-b taking over the expired lease")
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.overlap) > 0 {
		t.Fatalf("two replicas acted at once: %v", l.overlap)
	}
}

func TestNewRejectsAConfigurationClientGoWouldRefuse(t *testing.T) {
	_, cfg := setup(t)
	for _, tt := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no lease name", func(c *Config) { c.Name = "" }, "needs a namespace and a name"},
		{"a lease shorter than a second", func(c *Config) {
			c.LeaseDuration, c.RenewDeadline, c.RetryPeriod = 500*time.Millisecond, 300*time.Millisecond, 100*time.Millisecond
		}, "at least 1s"},
		{"a renew deadline not under the lease", func(c *Config) { c.RenewDeadline = 3 * time.Second }, "leaseDuration must be greater than renewDeadline"},
	} {
		c := cfg
		tt.edit(&c)
		if _, err := New(c); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: New = %v, want an error saying %q", tt.name, err, tt.want)
		}
	}
	e, err := New(Config{Client: cfg.Client, Namespace: "ns", Name: "modelops"})
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	if id := e.Identity(); !strings.HasPrefix(id, host+"_") || !strings.HasSuffix(id, "_"+strconv.Itoa(os.Getpid())) {
		t.Fatalf("default identity %q, want <hostname>_<pid>", id)
	}
}
