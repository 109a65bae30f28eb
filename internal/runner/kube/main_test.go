package kube

import (
	"context"
	"os"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/medimind/modelops/internal/testutil/kubeenv"
	"github.com/medimind/modelops/policies"
	"github.com/medimind/modelops/reconciler"
)

// env is one real kube-apiserver and etcd for the package's tests.
var env *kubeenv.Env

func TestMain(m *testing.M) { os.Exit(kubeenv.Main(m, &env)) }

// setup returns an admin clientset and a fresh namespace.
func setup(t *testing.T) (kubernetes.Interface, string) {
	t.Helper()
	cs, err := kubernetes.NewForConfig(env.Config())
	if err != nil {
		t.Fatal(err)
	}
	return cs, env.Namespace(t)
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func request(model string, gen int64) reconciler.JobRequest {
	return reconciler.JobRequest{
		Model: model, Generation: gen, Commit: "0123abcd", PolicyFile: "models/" + model + ".yaml",
		Job: policies.JobSpec{
			Image:   "registry.example/medimind/train:1.4",
			Command: []string{"python", "train.py"},
			Args:    []string{"--epochs", "3"},
			Env:     []policies.EnvVar{{Name: "COHORT", Value: "icu"}},
			Timeout: policies.Duration{Duration: 2 * time.Hour},
		},
	}
}

// The helpers below play the job controller and the kubelet, which the test server lacks,
// writing status as they do (see internal/testutil/kubeenv).

func startJob(t *testing.T, cs kubernetes.Interface, ns, name string) *batchv1.Job {
	t.Helper()
	ctx := testCtx(t)
	job, err := cs.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	job.Status.StartTime = &now
	job.Status.Active = 1
	job, err = cs.BatchV1().Jobs(ns).UpdateStatus(ctx, job, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("mark job started: %v", err)
	}
	return job
}

func completeJob(t *testing.T, cs kubernetes.Interface, ns, name string) {
	t.Helper()
	ctx := testCtx(t)
	job, err := cs.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	job.Status.Active, job.Status.Succeeded = 0, 1
	job.Status.CompletionTime = &now
	job.Status.Conditions = append(job.Status.Conditions,
		batchv1.JobCondition{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, Reason: batchv1.JobReasonCompletionsReached, LastTransitionTime: now, LastProbeTime: now},
		batchv1.JobCondition{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, Reason: batchv1.JobReasonCompletionsReached, LastTransitionTime: now, LastProbeTime: now},
	)
	if _, err := cs.BatchV1().Jobs(ns).UpdateStatus(ctx, job, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("mark job complete: %v", err)
	}
}

func failJob(t *testing.T, cs kubernetes.Interface, ns, name, reason string) {
	t.Helper()
	ctx := testCtx(t)
	job, err := cs.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	job.Status.Conditions = append(job.Status.Conditions,
		batchv1.JobCondition{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, Reason: reason, Message: "job failed: " + reason, LastTransitionTime: now, LastProbeTime: now})
	if job, err = cs.BatchV1().Jobs(ns).UpdateStatus(ctx, job, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("mark job failure target: %v", err)
	}
	job.Status.Active, job.Status.Failed = 0, 1
	job.Status.Conditions = append(job.Status.Conditions,
		batchv1.JobCondition{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: reason, Message: "job failed: " + reason, LastTransitionTime: now, LastProbeTime: now})
	if _, err := cs.BatchV1().Jobs(ns).UpdateStatus(ctx, job, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("mark job failed: %v", err)
	}
}

// podTerminated creates the Job's pod, as the job controller would, and records its
// training container as terminated with exitCode and message, as the kubelet would.
func podTerminated(t *testing.T, cs kubernetes.Interface, ns string, job *batchv1.Job, exitCode int32, message string) {
	t.Helper()
	ctx := testCtx(t)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: job.Name + "-x7k2p", Namespace: ns,
			Labels: map[string]string{
				"job-name": job.Name, batchv1.JobNameLabel: job.Name,
				"controller-uid": string(job.UID), batchv1.ControllerUidLabel: string(job.UID),
			},
		},
		Spec: *job.Spec.Template.Spec.DeepCopy(),
	}
	pod, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod: %v", err)
	}
	phase := corev1.PodSucceeded
	if exitCode != 0 {
		phase = corev1.PodFailed
	}
	now := metav1.Now()
	pod.Status = corev1.PodStatus{
		Phase: phase,
		ContainerStatuses: []corev1.ContainerStatus{{
			Name: containerName, Image: pod.Spec.Containers[0].Image, ImageID: "docker-pullable://" + pod.Spec.Containers[0].Image,
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: exitCode, Message: message, StartedAt: now, FinishedAt: now, Reason: map[bool]string{true: "Completed", false: "Error"}[exitCode == 0],
			}},
			Started: ptr.To(false),
		}},
	}
	if _, err := cs.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("record pod termination: %v", err)
	}
}
