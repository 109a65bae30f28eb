package kube

import (
	"errors"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/medimind/modelops/policies"
	"github.com/medimind/modelops/reconciler"
)

const validResult = `{"version":"13","uri":"models:/sepsis-risk/13","metrics":{"auc":0.91,"precision":0.8,"recall":0.75,"samples":12000,"latencyMs":40,"coverage":1}}`

func TestTheJobAsCreatedCarriesGPUsTolerationDeadlineEnvLabelsAndAStableName(t *testing.T) {
	cs, ns := setup(t)
	ctx := testCtx(t)
	r := New(cs, WithNamespace(ns), WithTTL(36*time.Hour))
	model := "sepsis-risk-multiomics-wearable-sensor-clinical-features-v2-lng" // 63 characters, the most a policy allows
	req := request(model, 7)
	req.Job.Env = append(req.Job.Env, policies.EnvVar{Name: "MODELOPS_MODEL", Value: "spoofed"})
	req.Job.NodeSelector = map[string]string{"accelerator": "a100"}
	req.Job.ServiceAccountName = "trainer"
	req.ServiceAccounts = []string{"trainer"}
	req.Job.Resources = &policies.Resources{Requests: map[string]string{"cpu": "4", "memory": "16Gi"}, Limits: map[string]string{"memory": "32Gi"}}
	run, err := r.Start(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	name := JobName(model, 7)
	// Created is started: Running, waiting for its pod (Pending would make the reconciler
	// start it again, as a claimed run that never started).
	if run.ID != ns+"/"+name || run.Phase != reconciler.RunRunning || run.Message != "created; waiting for its pod to start" || run.Commit != "0123abcd" || run.Generation != 7 {
		t.Fatalf("Start = %+v, want a running run %s/%s of commit 0123abcd waiting for its pod", run, ns, name)
	}
	if len(name) > 63 || len(validation.IsDNS1123Label(name)) > 0 || !strings.HasPrefix(name, "sepsis-risk-") || !strings.Contains(name, "-g7-") {
		t.Fatalf("job name %q is not a DNS-1123 label of at most 63 characters of the form <model>-g7-<hash>", name)
	}
	if again := JobName(model, 7); again != name {
		t.Fatalf("JobName is not stable: %q then %q", name, again)
	}
	if JobName(model, 8) == name || JobName(model+"x", 7) == name {
		t.Fatal("JobName gives the same name to different runs")
	}

	job, err := cs.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := job.Labels; got[LabelManagedBy] != "modelops" || got[LabelModel] != model || got[LabelGeneration] != "7" {
		t.Errorf("labels = %v", got)
	}
	if got := job.Annotations; got[AnnotationCommit] != "0123abcd" || got[AnnotationPolicyFile] != "models/"+model+".yaml" {
		t.Errorf("annotations = %v", got)
	}
	// The backoff limit is the default budget of disruptions (3) and no retry of the code.
	if s := job.Spec; ptr.Deref(s.ActiveDeadlineSeconds, 0) != 7200 || ptr.Deref(s.BackoffLimit, -1) != 3 || ptr.Deref(s.TTLSecondsAfterFinished, 0) != 36*3600 {
		t.Errorf("deadline %v, backoffLimit %v, ttl %v; want 7200, 3, 129600", ptr.Deref(s.ActiveDeadlineSeconds, 0), ptr.Deref(s.BackoffLimit, -1), ptr.Deref(s.TTLSecondsAfterFinished, 0))
	}
	pod := job.Spec.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever || pod.ServiceAccountName != "trainer" || pod.NodeSelector["accelerator"] != "a100" {
		t.Errorf("pod spec: restartPolicy %s, serviceAccount %q, nodeSelector %v", pod.RestartPolicy, pod.ServiceAccountName, pod.NodeSelector)
	}
	if ptr.Deref(pod.AutomountServiceAccountToken, true) {
		t.Error("the pod mounts its ServiceAccount token, which the policy did not ask for")
	}
	wantTol := corev1.Toleration{Key: "nvidia.com/gpu", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}
	if len(pod.Tolerations) != 1 || pod.Tolerations[0] != wantTol {
		t.Errorf("tolerations = %+v, want the default GPU toleration %+v", pod.Tolerations, wantTol)
	}
	c := pod.Containers[0]
	if c.Image != req.Job.Image || strings.Join(c.Command, " ") != "python train.py" || strings.Join(c.Args, " ") != "--epochs 3" {
		t.Errorf("container image %q command %v args %v", c.Image, c.Command, c.Args)
	}
	if c.TerminationMessagePath != "/dev/termination-log" || c.TerminationMessagePolicy != corev1.TerminationMessageReadFile {
		t.Errorf("termination message %q policy %q", c.TerminationMessagePath, c.TerminationMessagePolicy)
	}
	gpu := c.Resources.Limits[corev1.ResourceName("nvidia.com/gpu")]
	if gpu.Value() != 1 {
		t.Errorf("GPU limit = %s, want 1", gpu.String())
	}
	if q := c.Resources.Requests[corev1.ResourceMemory]; q.Cmp(resource.MustParse("16Gi")) != 0 {
		t.Errorf("memory request = %s, want 16Gi", q.String())
	}
	if q := c.Resources.Limits[corev1.ResourceMemory]; q.Cmp(resource.MustParse("32Gi")) != 0 {
		t.Errorf("memory limit = %s, want 32Gi", q.String())
	}
	env := map[string]string{}
	for _, e := range c.Env {
		if _, dup := env[e.Name]; dup {
			t.Errorf("variable %s set twice", e.Name)
		}
		env[e.Name] = e.Value
	}
	want := map[string]string{"COHORT": "icu", "MODELOPS_MODEL": model, "MODELOPS_GENERATION": "7", "MODELOPS_COMMIT": "0123abcd", "MODELOPS_OUTPUT": "/modelops/output"}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("env %s = %q, want %q", k, env[k], v)
		}
	}
}

func TestACPUJobHasNoGPULimitNorGPUToleration(t *testing.T) {
	cs, ns := setup(t)
	ctx := testCtx(t)
	req := request("sepsis-risk", 2)
	req.Job.GPUs = ptr.To(0)
	req.Job.Tolerations = []policies.Toleration{{Key: "dedicated", Operator: "Equal", Value: "ml", Effect: "NoSchedule"}}
	if _, err := New(cs, WithNamespace(ns)).Start(ctx, req); err != nil {
		t.Fatal(err)
	}
	job, err := cs.BatchV1().Jobs(ns).Get(ctx, JobName("sepsis-risk", 2), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod := job.Spec.Template.Spec
	if _, ok := pod.Containers[0].Resources.Limits["nvidia.com/gpu"]; ok {
		t.Errorf("limits = %v, want no GPU", pod.Containers[0].Resources.Limits)
	}
	if len(pod.Tolerations) != 1 || pod.Tolerations[0].Key != "dedicated" {
		t.Errorf("tolerations = %+v, want only the policy's", pod.Tolerations)
	}
}

func TestABadQuantityIsAnErrorNamingFileAndField(t *testing.T) {
	cs, ns := setup(t)
	req := request("sepsis-risk", 3)
	req.Job.Resources = &policies.Resources{Limits: map[string]string{"memory": "lots"}}
	_, err := New(cs, WithNamespace(ns)).Start(testCtx(t), req)
	want := `models/sepsis-risk.yaml: spec.retrain.job.resources.limits.memory: expected a Kubernetes quantity such as 500m, 4 or 16Gi, got "lots"`
	if err == nil || err.Error() != want {
		t.Fatalf("Start error = %v, want %q", err, want)
	}
	if _, err := New(cs, WithNamespace(ns)).Get(testCtx(t), "sepsis-risk", 3); !errors.Is(err, reconciler.ErrRunNotFound) {
		t.Fatalf("a rejected request created a job: Get = %v", err)
	}
}

func TestStartIsIdempotentAcrossARestartAndAConflictingJobIsAnError(t *testing.T) {
	cs, ns := setup(t)
	ctx := testCtx(t)
	first, err := New(cs, WithNamespace(ns)).Start(ctx, request("sepsis-risk", 4))
	if err != nil {
		t.Fatal(err)
	}
	// A new Runner, as after a restart of the reconciler, with the informer running.
	r2 := New(cs, WithNamespace(ns))
	r2.Watch(ctx)
	if !r2.WaitForCacheSync(ctx) {
		t.Fatal("cache did not sync")
	}
	again, err := r2.Start(ctx, request("sepsis-risk", 4))
	if err != nil {
		t.Fatalf("second Start: %v", err)
	}
	if again.ID != first.ID || !again.Started.Equal(first.Started) {
		t.Fatalf("second Start = %+v, want the first run %+v", again, first)
	}
	jobs, err := cs.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{LabelSelector: LabelModel + "=sepsis-risk"})
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs.Items) != 1 {
		t.Fatalf("%d jobs, want 1", len(jobs.Items))
	}

	// A Job of the name of generation 5 that another run made.
	squatter := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: JobName("sepsis-risk", 5), Labels: map[string]string{LabelManagedBy: "modelops", LabelModel: "other-model", LabelGeneration: "5"}},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: "x", Image: "busybox"}},
		}}},
	}
	if _, err := cs.BatchV1().Jobs(ns).Create(ctx, squatter, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = r2.Start(ctx, request("sepsis-risk", 5))
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), `model="other-model"`) || !strings.Contains(err.Error(), squatter.Name) {
		t.Fatalf("Start over another run's job = %v, want ErrConflict naming the job and its labels", err)
	}
}

func TestStatusMapsSuccessFailureAndDeadline(t *testing.T) {
	tests := []struct {
		name     string
		play     func(t *testing.T, cs kubernetes.Interface, ns string, job *batchv1.Job)
		phase    reconciler.RunPhase
		contains []string
		result   bool
	}{
		{
			name: "a complete job with a valid result succeeds with that result",
			play: func(t *testing.T, cs kubernetes.Interface, ns string, job *batchv1.Job) {
				podTerminated(t, cs, ns, job, 0, validResult)
				completeJob(t, cs, ns, job.Name)
			},
			phase: reconciler.RunSucceeded, result: true,
		},
		{
			name: "a complete job whose termination message is oversize fails",
			play: func(t *testing.T, cs kubernetes.Interface, ns string, job *batchv1.Job) {
				big := validResult[:len(validResult)-1] + `,"padding":"` + strings.Repeat("x", 4100) + `"}`
				podTerminated(t, cs, ns, job, 0, big)
				completeJob(t, cs, ns, job.Name)
			},
			phase: reconciler.RunFailed, contains: []string{"termination message is", "more than the 4096"},
		},
		{
			name: "a complete job whose termination message is malformed fails",
			play: func(t *testing.T, cs kubernetes.Interface, ns string, job *batchv1.Job) {
				podTerminated(t, cs, ns, job, 0, `{"version":"13","metrics":{"auc":1.7}}`)
				completeJob(t, cs, ns, job.Name)
			},
			phase: reconciler.RunFailed, contains: []string{"termination message", "metrics.auc must be between 0 and 1, got 1.7"},
		},
		{
			name: "a complete job that wrote no result fails",
			play: func(t *testing.T, cs kubernetes.Interface, ns string, job *batchv1.Job) {
				podTerminated(t, cs, ns, job, 0, "")
				completeJob(t, cs, ns, job.Name)
			},
			phase: reconciler.RunFailed, contains: []string{"wrote no result JSON to /dev/termination-log"},
		},
		{
			name: "a complete job whose pod is gone is unknown, asking for a decision",
			play: func(t *testing.T, cs kubernetes.Interface, ns string, job *batchv1.Job) {
				completeJob(t, cs, ns, job.Name)
			},
			phase: reconciler.RunUnknown, contains: []string{"the job completed but its result was never read", "no pod", "decide: raise spec.retrain.generation"},
		},
		{
			name: "a result longer than the kubelet keeps fails saying it was truncated",
			play: func(t *testing.T, cs kubernetes.Interface, ns string, job *batchv1.Job) {
				long := validResult[:len(validResult)-1] + `,"notes":"` + strings.Repeat("n", 5000) + `"}`
				// The kubelet keeps the last 4096 bytes of /dev/termination-log.
				podTerminated(t, cs, ns, job, 0, long[len(long)-4096:])
				completeJob(t, cs, ns, job.Name)
			},
			phase: reconciler.RunFailed, contains: []string{"result truncated by the kubelet's 4096-byte limit", "write the result to the registry or keep it under 4 KiB"},
		},
		{
			name: "a job past its backoff limit fails with the reason and what the pod log gave",
			play: func(t *testing.T, cs kubernetes.Interface, ns string, job *batchv1.Job) {
				podTerminated(t, cs, ns, job, 3, "CUDA out of memory")
				failJob(t, cs, ns, job.Name, batchv1.JobReasonBackoffLimitExceeded)
			},
			// The test server runs no kubelet, so the log itself is unavailable; the fake
			// clientset test checks the tail.
			phase: reconciler.RunFailed, contains: []string{"BackoffLimitExceeded", "log of pod " + JobName("sepsis-risk", 9) + "-x7k2p"},
		},
		{
			name: "a job past its deadline fails saying so",
			play: func(t *testing.T, cs kubernetes.Interface, ns string, job *batchv1.Job) {
				failJob(t, cs, ns, job.Name, batchv1.JobReasonDeadlineExceeded)
			},
			phase: reconciler.RunFailed, contains: []string{"DeadlineExceeded: the job ran longer than its deadline of 2h0m0s", "no pod (deleted, or removed with the job's TTL)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs, ns := setup(t)
			ctx := testCtx(t)
			r := New(cs, WithNamespace(ns))
			if _, err := r.Start(ctx, request("sepsis-risk", 9)); err != nil {
				t.Fatal(err)
			}
			job := startJob(t, cs, ns, JobName("sepsis-risk", 9))
			if run, err := r.Get(ctx, "sepsis-risk", 9); err != nil || run.Phase != reconciler.RunRunning {
				t.Fatalf("Get after the pod started = %+v, %v; want Running", run, err)
			}
			tt.play(t, cs, ns, job)
			run, err := r.Get(ctx, "sepsis-risk", 9)
			if err != nil {
				t.Fatal(err)
			}
			if run.Phase != tt.phase || run.Finished.IsZero() {
				t.Fatalf("phase %s finished %v (%s), want %s with a finish time", run.Phase, run.Finished, run.Message, tt.phase)
			}
			for _, s := range tt.contains {
				if !strings.Contains(run.Message, s) {
					t.Errorf("message %q lacks %q", run.Message, s)
				}
			}
			if tt.result != (run.Result != nil) {
				t.Fatalf("result = %+v, want one: %v", run.Result, tt.result)
			}
			// Only a job without a result may have registered its candidate instead.
			if run.NoResult != (tt.name == "a complete job that wrote no result fails") {
				t.Errorf("NoResult = %v", run.NoResult)
			}
			if tt.result && (run.Result.Version != "13" || *run.Result.Metrics.AUC != 0.91 || run.Result.Metrics.Samples != 12000) {
				t.Fatalf("result = %+v", run.Result)
			}
		})
	}
}

func TestASuspendedJobIsPendingWithAMessage(t *testing.T) {
	cs, ns := setup(t)
	ctx := testCtx(t)
	r := New(cs, WithNamespace(ns))
	if _, err := r.Start(ctx, request("sepsis-risk", 1)); err != nil {
		t.Fatal(err)
	}
	job, err := cs.BatchV1().Jobs(ns).Get(ctx, JobName("sepsis-risk", 1), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	job.Spec.Suspend = ptr.To(true)
	if job, err = cs.BatchV1().Jobs(ns).Update(ctx, job, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	job.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobSuspended, Status: corev1.ConditionTrue, Reason: "JobSuspended", Message: "Job suspended", LastTransitionTime: now, LastProbeTime: now}}
	if _, err := cs.BatchV1().Jobs(ns).UpdateStatus(ctx, job, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	run, err := r.Get(ctx, "sepsis-risk", 1)
	if err != nil {
		t.Fatal(err)
	}
	if run.Phase != reconciler.RunPending || !strings.Contains(run.Message, "suspended") {
		t.Fatalf("run = %s %q, want Pending saying suspended", run.Phase, run.Message)
	}
}

// watchChanges runs the informer of r with a channel of the runs it reports.
func watchChanges(t *testing.T, cs kubernetes.Interface, ns string) (*Runner, <-chan int64) {
	t.Helper()
	changes := make(chan int64, 100)
	r := New(cs, WithNamespace(ns), WithOnChange(func(model string, gen int64) {
		if model == "sepsis-risk" {
			select {
			case changes <- gen:
			default:
			}
		}
	}))
	r.Watch(testCtx(t))
	if !r.WaitForCacheSync(testCtx(t)) {
		t.Fatal("cache did not sync")
	}
	return r, changes
}

// waitCached waits until the informer's cache holds the Job of gen and it satisfies ok.
func waitCached(t *testing.T, r *Runner, changes <-chan int64, gen int64, what string, ok func(*batchv1.Job) bool, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for {
		if job, found := r.cached(JobName("sepsis-risk", gen)); found && ok(job) {
			return
		}
		select {
		case <-changes:
		case <-time.After(100 * time.Millisecond):
			// The change may have come before the cache was read; read it again.
		case <-deadline:
			t.Fatalf("the informer did not see generation %d %s within %s", gen, what, within)
		}
	}
}

func complete(job *batchv1.Job) bool { return condition(job, batchv1.JobComplete) != nil }
func active(job *batchv1.Job) bool   { return job.Status.Active > 0 }

func TestTheInformerSeesACompletion(t *testing.T) {
	cs, ns := setup(t)
	ctx := testCtx(t)
	r, changes := watchChanges(t, cs, ns)
	if _, err := r.Start(ctx, request("sepsis-risk", 11)); err != nil {
		t.Fatal(err)
	}
	job := startJob(t, cs, ns, JobName("sepsis-risk", 11))
	podTerminated(t, cs, ns, job, 0, validResult)
	completeJob(t, cs, ns, job.Name)
	waitCached(t, r, changes, 11, "complete", complete, 30*time.Second)
	run, err := r.Get(ctx, "sepsis-risk", 11)
	if err != nil || run.Phase != reconciler.RunSucceeded || run.Result == nil {
		t.Fatalf("Get = %+v, %v; want Succeeded with its result", run, err)
	}
}

func TestTheRunnerReconnectsAfterAnAPIServerRestartAndMissesNoCompletion(t *testing.T) {
	cs, ns := setup(t)
	ctx := testCtx(t)
	r, changes := watchChanges(t, cs, ns)
	if _, err := r.Start(ctx, request("sepsis-risk", 21)); err != nil {
		t.Fatal(err)
	}
	job := startJob(t, cs, ns, JobName("sepsis-risk", 21))
	waitCached(t, r, changes, 21, "running", active, 30*time.Second)

	env.RestartAPIServer(t)
	// The informer's watch ended with the old server and its reflector is backing off:
	// the job completes before it is back.
	podTerminated(t, cs, ns, job, 0, validResult)
	completeJob(t, cs, ns, job.Name)

	waitCached(t, r, changes, 21, "complete after the restart", complete, 90*time.Second)
	run, err := r.Get(ctx, "sepsis-risk", 21)
	if err != nil || run.Phase != reconciler.RunSucceeded || run.Result == nil || run.Result.Version != "13" {
		t.Fatalf("Get = %+v, %v; want Succeeded with version 13", run, err)
	}
}

func TestCancelDeletesTheJobAndLeavesFinishedOrUnknownRunsAlone(t *testing.T) {
	cs, ns := setup(t)
	ctx := testCtx(t)
	r := New(cs, WithNamespace(ns))
	if _, err := r.Start(ctx, request("sepsis-risk", 31)); err != nil {
		t.Fatal(err)
	}
	startJob(t, cs, ns, JobName("sepsis-risk", 31))
	if err := r.Cancel(ctx, "sepsis-risk", 31); err != nil {
		t.Fatal(err)
	}
	_, err := cs.BatchV1().Jobs(ns).Get(ctx, JobName("sepsis-risk", 31), metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		t.Fatalf("after Cancel the job is still there (get: %v); background propagation deletes it at once", err)
	}
	if _, err := r.Get(ctx, "sepsis-risk", 31); !errors.Is(err, reconciler.ErrRunNotFound) {
		t.Fatalf("Get after Cancel = %v, want ErrRunNotFound", err)
	}
	if err := r.Cancel(ctx, "sepsis-risk", 31); err != nil {
		t.Fatalf("cancelling a cancelled run: %v", err)
	}
	if err := r.Cancel(ctx, "sepsis-risk", 99); err != nil {
		t.Fatalf("cancelling an unknown run: %v", err)
	}

	if _, err := r.Start(ctx, request("sepsis-risk", 32)); err != nil {
		t.Fatal(err)
	}
	job := startJob(t, cs, ns, JobName("sepsis-risk", 32))
	podTerminated(t, cs, ns, job, 0, validResult)
	completeJob(t, cs, ns, job.Name)
	if err := r.Cancel(ctx, "sepsis-risk", 32); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.BatchV1().Jobs(ns).Get(ctx, JobName("sepsis-risk", 32), metav1.GetOptions{}); err != nil {
		t.Fatalf("Cancel deleted a finished job: %v", err)
	}
}

// TestTheRunnerNeedsOnlyItsRBAC runs the runner as a ServiceAccount granted exactly the
// rules the package documents: jobs create/get/list/watch/delete, pods get/list, pods/log get.
func TestTheRunnerNeedsOnlyItsRBAC(t *testing.T) {
	admin, ns := setup(t)
	ctx := testCtx(t)
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "modelops-runner"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{"batch"}, Resources: []string{"jobs"}, Verbs: []string{"create", "get", "list", "watch", "delete"}},
			{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list"}},
			{APIGroups: []string{""}, Resources: []string{"pods/log"}, Verbs: []string{"get"}},
		},
	}
	if _, err := admin.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "modelops-runner"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "modelops", Namespace: ns}},
	}
	if _, err := admin.RbacV1().RoleBindings(ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(env.ImpersonatedConfig("system:serviceaccount:"+ns+":modelops", "system:serviceaccounts", "system:serviceaccounts:"+ns))
	if err != nil {
		t.Fatal(err)
	}
	// The grant is what makes it work: without the binding the same calls are forbidden.
	if _, err := cs.BatchV1().Jobs("default").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("listing jobs outside the granted namespace = %v, want forbidden", err)
	}
	r, changes := watchChanges(t, cs, ns)
	if _, err := r.Start(ctx, request("sepsis-risk", 41)); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Start(ctx, request("sepsis-risk", 41)); err != nil {
		t.Fatalf("Start of an existing job: %v", err)
	}
	job := startJob(t, admin, ns, JobName("sepsis-risk", 41))
	podTerminated(t, admin, ns, job, 1, "")
	failJob(t, admin, ns, job.Name, batchv1.JobReasonBackoffLimitExceeded)
	waitCached(t, r, changes, 41, "failed", func(j *batchv1.Job) bool { return condition(j, batchv1.JobFailed) != nil }, 30*time.Second)
	run, err := r.Get(ctx, "sepsis-risk", 41)
	if err != nil || run.Phase != reconciler.RunFailed {
		t.Fatalf("Get = %+v, %v; want Failed", run, err)
	}
	if strings.Contains(run.Message, "forbidden") {
		t.Fatalf("the runner needed more than its RBAC: %s", run.Message)
	}
	if _, err := r.Start(ctx, request("sepsis-risk", 42)); err != nil {
		t.Fatal(err)
	}
	if err := r.Cancel(ctx, "sepsis-risk", 42); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
}

func TestConfigReadsAKubeconfigAndNamesAMissingOne(t *testing.T) {
	cfg, err := Config(env.Kubeconfig(t))
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Namespaces().Get(testCtx(t), "default", metav1.GetOptions{}); err != nil {
		t.Fatalf("the client from Config cannot reach the server: %v", err)
	}
	missing := t.TempDir() + "/no-such-kubeconfig"
	if _, err := Config(missing); err == nil || !strings.Contains(err.Error(), "load kubeconfig "+missing) {
		t.Fatalf("Config(%q) = %v, want an error naming the file", missing, err)
	}
}
