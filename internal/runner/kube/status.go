package kube

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"

	"github.com/medimind/modelops/internal/runner/local"
	"github.com/medimind/modelops/reconciler"
)

// errNoPod says a finished Job has no pod left to read.
var errNoPod = errors.New("no pod")

// Bounds of what a failed run's message quotes from the pod log.
const (
	logTailLines = 20
	logTailBytes = 4096
	// podCreateGrace is how long a Job may have no pod before the run says so.
	podCreateGrace = 5 * time.Minute
)

// runOfJob maps a Job (and, once it finished, its pod) to a training run.
func (r *Runner) runOfJob(ctx context.Context, job *batchv1.Job) reconciler.TrainingRun {
	r.mu.Lock()
	done, ok := r.finished[job.UID]
	r.mu.Unlock()
	if ok {
		return done
	}
	_, gen, _ := runOf(job)
	run := reconciler.TrainingRun{
		Generation: gen,
		Commit:     job.Annotations[AnnotationCommit],
		ID:         r.namespace + "/" + job.Name,
		Started:    job.CreationTimestamp.Time,
	}
	run.Phase, run.Message = jobPhase(job, r.now())
	if !run.Phase.Finished() {
		return run
	}
	run.Finished = finishedAt(job)
	if run.Finished.IsZero() {
		run.Finished = r.now()
	}
	pod, err := r.pod(ctx, job)
	switch {
	case run.Phase == reconciler.RunSucceeded && errors.Is(err, errNoPod):
		// The Job says it succeeded; only the evidence is gone. Not a failure: a person
		// decides.
		run.Phase, run.Message = reconciler.RunUnknown, "the job completed but its result was never read: "+err.Error()+"; "+reconciler.UnknownRunAdvice
	case run.Phase == reconciler.RunSucceeded && err != nil:
		// Not recorded as finished: the pod may be readable on the next Get.
		run.Phase, run.Message = reconciler.RunRunning, "the job completed; reading its result: "+err.Error()
		run.Finished = time.Time{}
		return run
	case run.Phase == reconciler.RunSucceeded:
		res, err := resultOf(pod)
		if err != nil {
			run.Phase, run.Message = reconciler.RunFailed, err.Error()
			run.NoResult = errors.Is(err, errNoResult)
		} else {
			run.Result = res
		}
	case err != nil:
		run.Message += "; no pod log: " + err.Error()
	default:
		run.Message += "; " + r.logTail(ctx, pod)
	}
	r.mu.Lock()
	r.finished[job.UID] = run
	r.mu.Unlock()
	return run
}

// jobPhase maps a Job's conditions and counts to a run phase and message. The terminal
// conditions (Complete, Failed) decide; SuccessCriteriaMet and FailureTarget only say the
// job controller is finishing the Job, so the run is still running.
func jobPhase(job *batchv1.Job, now time.Time) (reconciler.RunPhase, string) {
	if c := condition(job, batchv1.JobComplete); c != nil {
		return reconciler.RunSucceeded, ""
	}
	if c := condition(job, batchv1.JobFailed); c != nil {
		if c.Reason == batchv1.JobReasonDeadlineExceeded {
			deadline := "its deadline"
			if s := job.Spec.ActiveDeadlineSeconds; s != nil {
				deadline = "its deadline of " + (time.Duration(*s) * time.Second).String()
			}
			return reconciler.RunFailed, "DeadlineExceeded: the job ran longer than " + deadline
		}
		return reconciler.RunFailed, strings.TrimSpace(c.Reason + ": " + c.Message)
	}
	if c := condition(job, batchv1.JobSuspended); c != nil {
		return reconciler.RunPending, strings.TrimSpace("suspended: " + c.Reason + " " + c.Message)
	}
	if c := condition(job, batchv1.JobFailureTarget); c != nil {
		return reconciler.RunRunning, "failing (" + c.Reason + "): waiting for the job's pods to terminate"
	}
	if c := condition(job, batchv1.JobSuccessCriteriaMet); c != nil {
		return reconciler.RunRunning, "succeeding: waiting for the job's pods to terminate"
	}
	if job.Status.Active > 0 {
		return reconciler.RunRunning, ""
	}
	if waiting := now.Sub(job.CreationTimestamp.Time); waiting > podCreateGrace && job.Status.Failed == 0 {
		// A pending pod (unschedulable, pulling its image) is active: no active pod for this
		// long means the job controller cannot create one, and nothing else would say so
		// before the deadline.
		return reconciler.RunRunning, fmt.Sprintf("created %s ago and still no pod: the job controller may be refused its pod "+
			"(Pod Security, a ResourceQuota, a missing ServiceAccount); see the FailedCreate events of `kubectl -n %s describe job %s`",
			waiting.Round(time.Second), job.Namespace, job.Name)
	}
	// Created is started, for the reconciler: Pending means claimed but never started, which
	// it answers by calling Start again. Kubernetes schedules the pod; until then it waits.
	return reconciler.RunRunning, "created; waiting for its pod to start"
}

func condition(job *batchv1.Job, t batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range job.Status.Conditions {
		if c := &job.Status.Conditions[i]; c.Type == t && c.Status == corev1.ConditionTrue {
			return c
		}
	}
	return nil
}

func finishedAt(job *batchv1.Job) time.Time {
	if t := job.Status.CompletionTime; t != nil {
		return t.Time
	}
	for _, t := range []batchv1.JobConditionType{batchv1.JobFailed, batchv1.JobComplete} {
		if c := condition(job, t); c != nil {
			return c.LastTransitionTime.Time
		}
	}
	return time.Time{}
}

// pod returns the Job's most recent pod: the job controller labels its pods with the Job's
// name and UID; a pod of an earlier Job of the same name (another UID) is not this run's.
func (r *Runner) pod(ctx context.Context, job *batchv1.Job) (*corev1.Pod, error) {
	sel := labels.SelectorFromSet(labels.Set{"job-name": job.Name}).String()
	pods, err := r.client.CoreV1().Pods(r.namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, fmt.Errorf("list pods of job %s/%s: %w", r.namespace, job.Name, err)
	}
	var mine []*corev1.Pod
	for i := range pods.Items {
		p := &pods.Items[i]
		uid, ok := p.Labels[batchv1.ControllerUidLabel]
		if !ok {
			uid, ok = p.Labels["controller-uid"]
		}
		if ok && uid != string(job.UID) {
			continue
		}
		mine = append(mine, p)
	}
	if len(mine) == 0 {
		return nil, fmt.Errorf("job %s/%s: %w (deleted, or removed with the job's TTL)", r.namespace, job.Name, errNoPod)
	}
	// The newest pod is the last attempt, which decided the Job's outcome.
	return slices.MaxFunc(mine, func(a, b *corev1.Pod) int {
		return a.CreationTimestamp.Time.Compare(b.CreationTimestamp.Time)
	}), nil
}

// errNoResult matches a job that succeeded without a result: it may have registered its
// candidate in the model registry instead (TrainingRun.NoResult).
var errNoResult = errors.New("no result")

type noResultError struct{ pod string }

func (e *noResultError) Error() string {
	return fmt.Sprintf("pod %s: the job succeeded but wrote no result JSON to %s", e.pod, terminationLogPath)
}

func (e *noResultError) Is(target error) bool { return target == errNoResult }

// resultOf reads and validates the training container's termination message.
func resultOf(pod *corev1.Pod) (*reconciler.RunResult, error) {
	term := terminated(pod)
	if term == nil {
		return nil, fmt.Errorf("pod %s: the %s container has not terminated; no result to read", pod.Name, containerName)
	}
	msg := term.Message
	if len(msg) > maxTerminationMessage {
		return nil, fmt.Errorf("pod %s: the termination message is %d bytes, more than the %d a result may take", pod.Name, len(msg), maxTerminationMessage)
	}
	if strings.TrimSpace(msg) == "" {
		return nil, &noResultError{pod: pod.Name}
	}
	res, err := local.ParseResult([]byte(msg))
	if err != nil && len(msg) == maxTerminationMessage {
		// The kubelet keeps the last 4096 bytes of the file: a longer result arrives cut
		// at the front, which no parse error would explain.
		return nil, fmt.Errorf("pod %s: result truncated by the kubelet's %d-byte limit on %s (the message is exactly %d bytes and not a result: %v); "+
			"write the result to the registry or keep it under 4 KiB", pod.Name, maxTerminationMessage, terminationLogPath, maxTerminationMessage, err)
	}
	if err != nil {
		return nil, fmt.Errorf("pod %s: termination message: %w", pod.Name, err)
	}
	return res, nil
}

func terminated(pod *corev1.Pod) *corev1.ContainerStateTerminated {
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.Name == containerName {
			return cs.State.Terminated
		}
	}
	return nil
}

// logTail returns the last lines of the training container's log, bounded in lines and
// bytes, or why there is none.
func (r *Runner) logTail(ctx context.Context, pod *corev1.Pod) string {
	stream, err := r.client.CoreV1().Pods(r.namespace).GetLogs(pod.Name, &corev1.PodLogOptions{
		Container: containerName,
		TailLines: ptr.To[int64](logTailLines),
		// The server cuts at LimitBytes from the start of the tail; a little more than we
		// keep, so the cut below falls on a line boundary.
		LimitBytes: ptr.To[int64](2 * logTailBytes),
	}).Stream(ctx)
	if err != nil {
		return "log of pod " + pod.Name + " unavailable: " + err.Error()
	}
	defer stream.Close()
	b, err := io.ReadAll(io.LimitReader(stream, 2*logTailBytes))
	if err != nil && len(b) == 0 {
		return "log of pod " + pod.Name + " unavailable: " + err.Error()
	}
	return "last lines of the log of pod " + pod.Name + ":\n" + lastLines(b, logTailLines, logTailBytes)
}

// lastLines keeps at most n lines and max bytes from the end of b, starting at a line.
func lastLines(b []byte, n, max int) string {
	b = bytes.TrimRight(b, "\n")
	if len(b) > max {
		b = b[len(b)-max:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	lines := bytes.Split(b, []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
