package kube

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/medimind/modelops/policies"
	"github.com/medimind/modelops/reconciler"
)

var _ reconciler.Runner = (*Runner)(nil)

const (
	// serviceAccountUserPrefix starts the user name of a ServiceAccount:
	// system:serviceaccount:<namespace>:<name>.
	serviceAccountUserPrefix = "system:serviceaccount:"
	// defaultServiceAccount is what a pod naming no ServiceAccount runs as.
	defaultServiceAccount = "default"
)

// ErrConflict is returned by Start when a Job of the run's name exists for another
// (model, generation).
var ErrConflict = errors.New("job name taken by another run")

// Runner runs training jobs as Kubernetes Jobs in one namespace.
type Runner struct {
	client    kubernetes.Interface
	namespace string
	ttl       *int32
	now       func() time.Time
	onChange  func(model string, generation int64)

	mu sync.Mutex // guards informer, lister, synced, finished and self
	// self is the ServiceAccount the runner acts as in its namespace ("" for another
	// identity), once known.
	self     *string
	informer cache.SharedIndexInformer
	lister   batchlisters.JobLister
	synced   cache.InformerSynced
	// finished holds the runs of finished Jobs by UID: a finished Job does not change, and
	// reading its pod and log again on every Get would cost API calls for nothing.
	finished map[types.UID]reconciler.TrainingRun
}

// Option configures a Runner.
type Option func(*Runner)

// WithNamespace runs jobs in namespace (default "default").
func WithNamespace(namespace string) Option { return func(r *Runner) { r.namespace = namespace } }

// WithTTL lets Kubernetes delete a finished Job (and its pod) after ttl
// (ttlSecondsAfterFinished). It must be longer than the longest time the reconciler may be
// down: a Job that finishes and expires meanwhile leaves its run Unknown, for a person to
// decide. Zero keeps finished Jobs.
func WithTTL(ttl time.Duration) Option {
	return func(r *Runner) {
		if ttl > 0 {
			r.ttl = ptr.To(int32((ttl + time.Second - 1) / time.Second))
		}
	}
}

// WithClock sets the clock used for runs whose Job carries no time of its own (tests).
func WithClock(now func() time.Time) Option { return func(r *Runner) { r.now = now } }

// WithOnChange calls fn with the model and generation of a Job the informer sees added,
// changed or deleted, so the reconciler can enqueue the model instead of waiting for its
// next resync. fn must not block.
func WithOnChange(fn func(model string, generation int64)) Option {
	return func(r *Runner) { r.onChange = fn }
}

// New returns a runner creating Jobs through client. Call Watch to serve Get from an
// informer's cache; without it every Get reads the API server.
func New(client kubernetes.Interface, opts ...Option) *Runner {
	r := &Runner{client: client, namespace: "default", now: time.Now, finished: map[types.UID]reconciler.TrainingRun{}}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Namespace is the namespace the runner's Jobs live in.
func (r *Runner) Namespace() string { return r.namespace }

// Watch starts a shared informer over the Jobs modelops manages in the runner's namespace.
// It returns at once; the informer stops when ctx is done. The informer's reflector
// re-lists and re-watches after a lost connection, so a Job that finished while the API
// server was unreachable is seen when it is back.
func (r *Runner) Watch(ctx context.Context) {
	factory := informers.NewSharedInformerFactoryWithOptions(r.client, 0,
		informers.WithNamespace(r.namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.LabelSelector = labels.SelectorFromSet(labels.Set{LabelManagedBy: ManagedBy}).String()
		}))
	jobs := factory.Batch().V1().Jobs()
	inf := jobs.Informer()
	if r.onChange != nil {
		notify := func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if job, ok := obj.(*batchv1.Job); ok {
				if model, gen, ok := runOf(job); ok {
					r.onChange(model, gen)
				}
			}
		}
		_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    notify,
			UpdateFunc: func(_, obj any) { notify(obj) },
			DeleteFunc: notify,
		})
	}
	r.mu.Lock()
	r.informer, r.lister, r.synced = inf, jobs.Lister(), inf.HasSynced
	r.mu.Unlock()
	factory.Start(ctx.Done())
}

// WaitForCacheSync waits until the informer started by Watch has synced, or ctx is done.
func (r *Runner) WaitForCacheSync(ctx context.Context) bool {
	r.mu.Lock()
	synced := r.synced
	r.mu.Unlock()
	if synced == nil {
		return false
	}
	return cache.WaitForCacheSync(ctx.Done(), synced)
}

// runOf reads (model, generation) from a Job's labels.
func runOf(job *batchv1.Job) (string, int64, bool) {
	model := job.Labels[LabelModel]
	gen, err := strconv.ParseInt(job.Labels[LabelGeneration], 10, 64)
	return model, gen, model != "" && err == nil
}

// Start creates the Job of (req.Model, req.Generation) unless it exists. An existing Job
// of the same run is success (its run is returned); a Job of that name made for another
// run is an ErrConflict.
func (r *Runner) Start(ctx context.Context, req reconciler.JobRequest) (reconciler.TrainingRun, error) {
	if err := r.checkServiceAccount(ctx, req); err != nil {
		return reconciler.TrainingRun{}, err
	}
	job, err := r.buildJob(req)
	if err != nil {
		return reconciler.TrainingRun{}, err
	}
	created, err := r.client.BatchV1().Jobs(r.namespace).Create(ctx, job, metav1.CreateOptions{})
	switch {
	case err == nil:
		return r.runOfJob(ctx, created), nil
	case !apierrors.IsAlreadyExists(err):
		return reconciler.TrainingRun{}, fmt.Errorf("create job %s/%s: %w", r.namespace, job.Name, err)
	}
	existing, err := r.client.BatchV1().Jobs(r.namespace).Get(ctx, job.Name, metav1.GetOptions{})
	if err != nil {
		// Deleted between our create and get (a cancel, or its TTL): not ours to re-create.
		return reconciler.TrainingRun{}, fmt.Errorf("get existing job %s/%s: %w", r.namespace, job.Name, err)
	}
	if model, gen, ok := runOf(existing); !ok || model != req.Model || gen != req.Generation || existing.Labels[LabelManagedBy] != ManagedBy {
		return reconciler.TrainingRun{}, fmt.Errorf("create job %s/%s for %s generation %d: %w: it is labelled model=%q generation=%q managed-by=%q",
			r.namespace, job.Name, req.Model, req.Generation, ErrConflict,
			existing.Labels[LabelModel], existing.Labels[LabelGeneration], existing.Labels[LabelManagedBy])
	}
	return r.runOfJob(ctx, existing), nil
}

// checkServiceAccount refuses a job that would run as a ServiceAccount the repository does
// not allow (req.ServiceAccounts), or as the runner's own: the training code would get the
// reconciler's rights. A pod naming none runs as the namespace's "default".
func (r *Runner) checkServiceAccount(ctx context.Context, req reconciler.JobRequest) error {
	field := req.PolicyFile + ": " + jobSpecField + ".serviceAccountName"
	account := req.Job.ServiceAccountName
	if account != "" && !slices.Contains(req.ServiceAccounts, account) {
		return fmt.Errorf("%s: %q is not among the ServiceAccounts training may run as; list it in %s spec.kubernetes.serviceAccounts (now %v)",
			field, account, policies.RepositoryConfigFile, req.ServiceAccounts)
	}
	if account == "" {
		account = defaultServiceAccount
	}
	self, err := r.serviceAccount(ctx)
	if err != nil {
		return err
	}
	if account == self {
		return fmt.Errorf("%s: the job would run as %q, the reconciler's own ServiceAccount in %s, with the reconciler's rights; "+
			"name another ServiceAccount, or run the reconciler under its own", field, account, r.namespace)
	}
	return nil
}

// serviceAccount returns the name of the ServiceAccount the runner acts as in its namespace,
// or "" when it acts as another identity (a person's kubeconfig, an account of another
// namespace). It asks the API server once, with a SelfSubjectReview, which every
// authenticated identity may create.
func (r *Runner) serviceAccount(ctx context.Context) (string, error) {
	r.mu.Lock()
	self := r.self
	r.mu.Unlock()
	if self != nil {
		return *self, nil
	}
	review, err := r.client.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("ask the API server which identity the runner has (SelfSubjectReview): %w", err)
	}
	name := ""
	if rest, ok := strings.CutPrefix(review.Status.UserInfo.Username, serviceAccountUserPrefix+r.namespace+":"); ok {
		name = rest
	}
	r.mu.Lock()
	r.self = &name
	r.mu.Unlock()
	return name, nil
}

// Get returns the run of (model, generation) from the informer's cache, or from the API
// server while the cache has not synced or lacks the Job.
func (r *Runner) Get(ctx context.Context, model string, generation int64) (reconciler.TrainingRun, error) {
	job, err := r.job(ctx, model, generation)
	if err != nil {
		return reconciler.TrainingRun{}, err
	}
	if m, g, ok := runOf(job); !ok || m != model || g != generation {
		return reconciler.TrainingRun{}, fmt.Errorf("get run %s generation %d: job %s/%s: %w: it is labelled model=%q generation=%q",
			model, generation, r.namespace, job.Name, ErrConflict, job.Labels[LabelModel], job.Labels[LabelGeneration])
	}
	return r.runOfJob(ctx, job), nil
}

// job finds the Job of (model, generation); ErrRunNotFound when there is none.
func (r *Runner) job(ctx context.Context, model string, generation int64) (*batchv1.Job, error) {
	name := JobName(model, generation)
	if job, ok := r.cached(name); ok {
		return job, nil
	}
	job, err := r.client.BatchV1().Jobs(r.namespace).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, reconciler.ErrRunNotFound
	case err != nil:
		return nil, fmt.Errorf("get job %s/%s: %w", r.namespace, name, err)
	}
	return job, nil
}

// cached returns the Job named name from the informer's cache once it has synced.
func (r *Runner) cached(name string) (*batchv1.Job, bool) {
	r.mu.Lock()
	lister, synced := r.lister, r.synced
	r.mu.Unlock()
	if lister == nil || !synced() {
		return nil, false
	}
	job, err := lister.Jobs(r.namespace).Get(name)
	if err != nil {
		return nil, false
	}
	return job, true
}

// Cancel deletes the Job of (model, generation) and, through background propagation, its
// pod. A finished or absent Job is left alone.
func (r *Runner) Cancel(ctx context.Context, model string, generation int64) error {
	job, err := r.job(ctx, model, generation)
	if errors.Is(err, reconciler.ErrRunNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if phase, _ := jobPhase(job, r.now()); phase.Finished() {
		return nil
	}
	// Background, not the Job API's default orphan propagation: orphaning leaves the pod
	// running, and a finalizer only a controller-manager removes.
	err = r.client.BatchV1().Jobs(r.namespace).Delete(ctx, job.Name, metav1.DeleteOptions{
		PropagationPolicy: ptr.To(metav1.DeletePropagationBackground),
		Preconditions:     &metav1.Preconditions{UID: ptr.To(job.UID)},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("delete job %s/%s: %w", r.namespace, job.Name, err)
	}
	return nil
}
