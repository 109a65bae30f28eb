package kube

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/pod-security-admission/api"
	psapolicy "k8s.io/pod-security-admission/policy"
	"k8s.io/utils/ptr"

	"github.com/medimind/modelops/manifests"
	"github.com/medimind/modelops/policies"
	"github.com/medimind/modelops/reconciler"
)

// jobVariants are requests covering every branch of buildJob that touches the pod: GPU and
// CPU jobs, a ServiceAccount with its token, a chosen user and groups, retries of the code.
func jobVariants() map[string]reconciler.JobRequest {
	gpu := request("sepsis-risk", 1)
	cpu := request("sepsis-risk", 2)
	cpu.Job.GPUs = ptr.To(0)
	cpu.Job.Tolerations = []policies.Toleration{{Key: "dedicated", Operator: "Equal", Value: "ml", Effect: "NoSchedule"}}
	account := request("sepsis-risk", 3)
	account.Job.ServiceAccountName, account.Job.AutomountServiceAccountToken = "trainer", true
	account.ServiceAccounts = []string{"trainer"}
	user := request("sepsis-risk", 4)
	user.Job.SecurityContext = &policies.JobSecurityContext{RunAsUser: ptr.To[int64](1000), RunAsGroup: ptr.To[int64](0), FSGroup: ptr.To[int64](2000)}
	user.Job.Resources = &policies.Resources{Requests: map[string]string{"cpu": "4", "nvidia.com/gpu": "1"}}
	retries := request("sepsis-risk", 5)
	retries.Job.BackoffLimit, retries.Job.MaxDisruptions = ptr.To[int32](2), ptr.To[int32](0)
	return map[string]reconciler.JobRequest{"gpu": gpu, "cpu": cpu, "service account": account, "user and groups": user, "retries": retries}
}

// namespaceEnforces returns the level and version manifests/namespace.yaml enforces.
func namespaceEnforces(t *testing.T) api.LevelVersion {
	t.Helper()
	objs, err := manifests.Decode("namespace.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, errs := api.PolicyToEvaluate(objs[0].GetLabels(), api.Policy{})
	if len(errs) > 0 {
		t.Fatalf("namespace.yaml pod-security labels: %v", errs.ToAggregate())
	}
	return p.Enforce
}

// forbidden evaluates a pod template with the Pod Security admission's own checks and
// returns why the level refuses it (none when it is admitted).
func forbidden(t *testing.T, lv api.LevelVersion, tmpl *corev1.PodTemplateSpec) []string {
	t.Helper()
	eval, err := psapolicy.NewEvaluator(psapolicy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	res := psapolicy.AggregateCheckResults(eval.EvaluatePod(lv, &tmpl.ObjectMeta, &tmpl.Spec))
	var out []string
	for i, r := range res.ForbiddenReasons {
		out = append(out, r+" ("+res.ForbiddenDetails[i]+")")
	}
	return out
}

func TestEveryBuiltJobPassesTheNamespacesPodSecurityLevel(t *testing.T) {
	lv := namespaceEnforces(t)
	if lv.Level != api.LevelRestricted {
		t.Fatalf("namespace.yaml enforces %s; this test expects restricted, the strictest", lv)
	}
	r := New(nil, WithNamespace("modelops"))
	for name, req := range jobVariants() {
		t.Run(name, func(t *testing.T) {
			job, err := r.buildJob(req)
			if err != nil {
				t.Fatal(err)
			}
			if why := forbidden(t, lv, &job.Spec.Template); len(why) > 0 {
				t.Errorf("Pod Security %s refuses the pod: %s", lv, strings.Join(why, "; "))
			}
		})
	}
	// The evaluator does refuse: the same pod without the runner's security contexts.
	job, err := r.buildJob(request("sepsis-risk", 9))
	if err != nil {
		t.Fatal(err)
	}
	job.Spec.Template.Spec.SecurityContext, job.Spec.Template.Spec.Containers[0].SecurityContext = nil, nil
	why := strings.Join(forbidden(t, lv, &job.Spec.Template), "; ")
	for _, want := range []string{"allowPrivilegeEscalation != false", "unrestricted capabilities", "runAsNonRoot != true", "seccompProfile"} {
		if !strings.Contains(why, want) {
			t.Errorf("a pod without security contexts is refused for %q, want also %q", why, want)
		}
	}
}

// restrictedNamespace returns a fresh namespace that enforces Pod Security "restricted", as
// manifests/namespace.yaml does.
func restrictedNamespace(t *testing.T, cs kubernetes.Interface) string {
	t.Helper()
	ns := env.Namespace(t)
	patch := []byte(`{"metadata":{"labels":{"pod-security.kubernetes.io/enforce":"restricted","pod-security.kubernetes.io/enforce-version":"latest"}}}`)
	if _, err := cs.CoreV1().Namespaces().Patch(testCtx(t), ns, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatalf("label namespace %s restricted: %v", ns, err)
	}
	return ns
}

// The server runs no job controller: the test creates the pod it would, from the Job's
// template, and the PodSecurity admission of the real API server judges it.
func TestTheJobControllersPodIsAdmittedInARestrictedNamespace(t *testing.T) {
	cs, _ := setup(t)
	ns := restrictedNamespace(t, cs)
	ctx := testCtx(t)
	r := New(cs, WithNamespace(ns))
	for name, req := range jobVariants() {
		t.Run(name, func(t *testing.T) {
			if _, err := r.Start(ctx, req); err != nil {
				t.Fatal(err)
			}
			job, err := cs.BatchV1().Jobs(ns).Get(ctx, JobName(req.Model, req.Generation), metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			pod := &corev1.Pod{ObjectMeta: *job.Spec.Template.ObjectMeta.DeepCopy(), Spec: *job.Spec.Template.Spec.DeepCopy()}
			pod.GenerateName = job.Name + "-"
			if _, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
				t.Fatalf("the job controller's pod would be refused: %v", err)
			}
		})
	}
	// The namespace does refuse a pod without the runner's security contexts.
	job, err := r.buildJob(request("sepsis-risk", 9))
	if err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "weak-"}, Spec: job.Spec.Template.Spec}
	pod.Spec.SecurityContext, pod.Spec.Containers[0].SecurityContext = nil, nil
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("a pod without security contexts: err = %v, want Forbidden by PodSecurity", err)
	}
}

func TestAJobReplacesADisruptedPodWithinItsBudgetAndFailsOnTheCodesFailure(t *testing.T) {
	cs, ns := setup(t)
	ctx := testCtx(t)
	r := New(cs, WithNamespace(ns))
	variants := jobVariants()
	for _, tt := range []struct {
		variant string
		backoff int32
		failJob bool
	}{
		// The defaults: 3 disruptions, no retry of the code, which fails the Job at once.
		{"gpu", 3, true},
		// backoffLimit 2 retries the code; the two budgets share the Job's limit.
		{"retries", 2, false},
	} {
		t.Run(tt.variant, func(t *testing.T) {
			req := variants[tt.variant]
			if _, err := r.Start(ctx, req); err != nil {
				t.Fatalf("the server refused the Job: %v", err)
			}
			job, err := cs.BatchV1().Jobs(ns).Get(ctx, JobName(req.Model, req.Generation), metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := ptr.Deref(job.Spec.BackoffLimit, -1); got != tt.backoff {
				t.Errorf("backoffLimit = %d, want %d", got, tt.backoff)
			}
			pfp := job.Spec.PodFailurePolicy
			if pfp == nil || len(pfp.Rules) == 0 {
				t.Fatal("the Job has no podFailurePolicy: a preempted node fails the run")
			}
			// The first matching rule decides, and a disrupted container exits non-zero too:
			// the disruption rule must come first.
			first := pfp.Rules[0]
			if first.Action != batchv1.PodFailurePolicyActionCount || len(first.OnPodConditions) != 1 ||
				first.OnPodConditions[0].Type != corev1.DisruptionTarget || first.OnPodConditions[0].Status != corev1.ConditionTrue {
				t.Errorf("first rule = %+v, want Count on the DisruptionTarget condition", first)
			}
			failJob := slices.IndexFunc(pfp.Rules, func(r batchv1.PodFailurePolicyRule) bool {
				e := r.OnExitCodes
				return r.Action == batchv1.PodFailurePolicyActionFailJob && e != nil && ptr.Deref(e.ContainerName, "") == containerName &&
					e.Operator == batchv1.PodFailurePolicyOnExitCodesOpNotIn && slices.Equal(e.Values, []int32{0})
			})
			if (failJob > 0) != tt.failJob || len(pfp.Rules) != map[bool]int{true: 2, false: 1}[tt.failJob] {
				t.Errorf("rules = %+v, want FailJob on a non-zero exit of %s: %v", pfp.Rules, containerName, tt.failJob)
			}
		})
	}
}

// TestTheTemplateShowsWhatTheRunnerBuilds keeps manifests/job-template.yaml, which people
// read, in step with the Job the runner creates on what the namespace and the run depend on.
func TestTheTemplateShowsWhatTheRunnerBuilds(t *testing.T) {
	tmpl, err := manifests.JobTemplate()
	if err != nil {
		t.Fatal(err)
	}
	job, err := New(nil).buildJob(request("sepsis-risk", 1))
	if err != nil {
		t.Fatal(err)
	}
	got, want := job.Spec, tmpl.Spec
	if ptr.Deref(got.BackoffLimit, -1) != ptr.Deref(want.BackoffLimit, -2) {
		t.Errorf("backoffLimit: runner %d, template %d", ptr.Deref(got.BackoffLimit, -1), ptr.Deref(want.BackoffLimit, -2))
	}
	same := func(what string, a, b any) {
		t.Helper()
		if !equalJSON(t, a, b) {
			t.Errorf("%s: runner %+v, template %+v", what, a, b)
		}
	}
	same("podFailurePolicy", got.PodFailurePolicy, want.PodFailurePolicy)
	same("pod securityContext", got.Template.Spec.SecurityContext, want.Template.Spec.SecurityContext)
	same("container securityContext", got.Template.Spec.Containers[0].SecurityContext, want.Template.Spec.Containers[0].SecurityContext)
	same("automountServiceAccountToken", got.Template.Spec.AutomountServiceAccountToken, want.Template.Spec.AutomountServiceAccountToken)
}

func TestAJobRunsOnlyAsAServiceAccountTheRepositoryAllowsAndNeverAsTheRunners(t *testing.T) {
	admin, ns := setup(t)
	ctx := testCtx(t)
	req := request("sepsis-risk", 1)
	req.Job.ServiceAccountName = "trainer"
	_, err := New(admin, WithNamespace(ns)).Start(ctx, req)
	want := `models/sepsis-risk.yaml: spec.retrain.job.serviceAccountName: "trainer" is not among the ServiceAccounts training may run as; list it in .modelops.yaml spec.kubernetes.serviceAccounts (now [])`
	if err == nil || err.Error() != want {
		t.Fatalf("Start with an account the repository does not list = %v, want %q", err, want)
	}
	if _, err := New(admin, WithNamespace(ns)).Get(ctx, "sepsis-risk", 1); !errors.Is(err, reconciler.ErrRunNotFound) {
		t.Fatalf("a refused request created a job: Get = %v", err)
	}

	// The runner acts as the ServiceAccount "trainer" of the namespace: a job may not.
	asTrainer, err := kubernetes.NewForConfig(env.ImpersonatedConfig("system:serviceaccount:"+ns+":trainer", "system:serviceaccounts", "system:serviceaccounts:"+ns))
	if err != nil {
		t.Fatal(err)
	}
	r := New(asTrainer, WithNamespace(ns))
	req.ServiceAccounts = []string{"trainer", "other"}
	_, err = r.Start(ctx, req)
	if err == nil || !strings.Contains(err.Error(), `the job would run as "trainer", the reconciler's own ServiceAccount in `+ns) {
		t.Fatalf("Start as the runner's own account = %v, want a refusal naming it", err)
	}
	// Another allowed account passes the check; "trainer" has no RBAC, so the create itself
	// is forbidden, which shows the check is on the identity, not on the rights.
	req.Job.ServiceAccountName = "other"
	if _, err = r.Start(ctx, req); !apierrors.IsForbidden(err) {
		t.Fatalf("Start as another allowed account = %v, want past the check and forbidden by RBAC", err)
	}
	// A runner acting as the namespace's "default" account refuses a job naming none.
	asDefault, err := kubernetes.NewForConfig(env.ImpersonatedConfig("system:serviceaccount:"+ns+":default", "system:serviceaccounts", "system:serviceaccounts:"+ns))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(asDefault, WithNamespace(ns)).Start(ctx, request("sepsis-risk", 2)); err == nil || !strings.Contains(err.Error(), `would run as "default"`) {
		t.Fatalf("Start of a job naming no account by a runner acting as default = %v, want a refusal", err)
	}
}

func TestAJobWithoutAPodForFiveMinutesSaysTheJobControllerMayBeRefused(t *testing.T) {
	cs, ns := setup(t)
	ctx := testCtx(t)
	if _, err := New(cs, WithNamespace(ns)).Start(ctx, request("sepsis-risk", 1)); err != nil {
		t.Fatal(err)
	}
	job, err := cs.BatchV1().Jobs(ns).Get(ctx, JobName("sepsis-risk", 1), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	later := New(cs, WithNamespace(ns), WithClock(func() time.Time { return job.CreationTimestamp.Add(6 * time.Minute) }))
	run, err := later.Get(ctx, "sepsis-risk", 1)
	if err != nil {
		t.Fatal(err)
	}
	if run.Phase != reconciler.RunRunning || !strings.Contains(run.Message, "created 6m0s ago and still no pod") ||
		!strings.Contains(run.Message, "FailedCreate events of `kubectl -n "+ns+" describe job "+job.Name+"`") {
		t.Fatalf("run = %s %q, want Running, saying no pod was created and where to look", run.Phase, run.Message)
	}
	soon := New(cs, WithNamespace(ns), WithClock(func() time.Time { return job.CreationTimestamp.Add(time.Minute) }))
	if run, _ := soon.Get(ctx, "sepsis-risk", 1); run.Message != "created; waiting for its pod to start" {
		t.Fatalf("a minute after its creation the run says %q", run.Message)
	}
}

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(ja) == string(jb)
}
