package kube

import (
	"context"
	"fmt"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/medimind/modelops/reconciler"
)

// The test API server runs no kubelet, so it cannot serve a pod's log: this test alone uses
// client-go's fake clientset, with a reactor serving the log.
func TestAFailedRunCarriesTheBoundedTailOfItsPodLog(t *testing.T) {
	name := JobName("sepsis-risk", 5)
	now := metav1.Now()
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ml", UID: "job-uid", Labels: jobLabels("sepsis-risk", 5)},
		Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{
			{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: batchv1.JobReasonBackoffLimitExceeded, Message: "Job has reached the specified backoff limit", LastTransitionTime: now},
		}},
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
		Name: name + "-abcde", Namespace: "ml", Labels: map[string]string{"job-name": name, batchv1.ControllerUidLabel: "job-uid"},
	}}
	// A pod of an earlier Job of the same name must not be read.
	stale := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
		Name: name + "-old00", Namespace: "ml", Labels: map[string]string{"job-name": name, batchv1.ControllerUidLabel: "other-uid"},
	}}
	cs := fake.NewClientset(job, pod, stale)
	var asked *corev1.PodLogOptions
	cs.PrependReactor("get", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "log" {
			return false, nil, nil
		}
		g := a.(k8stesting.GenericAction)
		asked = g.GetValue().(*corev1.PodLogOptions)
		var b strings.Builder
		for i := 1; i <= 30; i++ {
			fmt.Fprintf(&b, "epoch %d loss 0.%02d\n", i, 99-i)
		}
		b.WriteString("RuntimeError: CUDA out of memory\n")
		return true, &runtime.Unknown{Raw: []byte(b.String())}, nil
	})
	r := New(cs, WithNamespace("ml"))
	run, err := r.Get(context.Background(), "sepsis-risk", 5)
	if err != nil {
		t.Fatal(err)
	}
	if run.Phase != reconciler.RunFailed {
		t.Fatalf("phase %s, want Failed", run.Phase)
	}
	if asked == nil || *asked.TailLines != logTailLines || asked.Container != containerName || asked.LimitBytes == nil {
		t.Fatalf("log options = %+v, want the last %d lines of %s, bounded in bytes", asked, logTailLines, containerName)
	}
	for _, want := range []string{"BackoffLimitExceeded", "of pod " + pod.Name, "epoch 30 loss", "CUDA out of memory"} {
		if !strings.Contains(run.Message, want) {
			t.Errorf("message lacks %q:\n%s", want, run.Message)
		}
	}
	if strings.Contains(run.Message, "epoch 11 loss") {
		t.Errorf("message keeps more than %d lines:\n%s", logTailLines, run.Message)
	}
}

func TestLastLinesKeepsWholeLinesWithinItsBounds(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		n, max int
		want   string
	}{
		{"fewer lines than asked", "a\nb\n", 5, 100, "a\nb"},
		{"the last n lines", "1\n2\n3\n4\n", 2, 100, "3\n4"},
		{"a byte bound cuts at a line start", "aaaa\nbbbb\ncccc\n", 10, 7, "cccc"},
		{"one line longer than the bound is cut", "0123456789", 10, 4, "6789"},
		{"empty", "", 3, 10, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := lastLines([]byte(tt.in), tt.n, tt.max); got != tt.want {
				t.Fatalf("lastLines(%q, %d, %d) = %q, want %q", tt.in, tt.n, tt.max, got, tt.want)
			}
		})
	}
}

func TestJobNamesAreShortDistinctLabelsForAnyModel(t *testing.T) {
	long := strings.Repeat("a", 63)
	names := map[string]string{}
	for _, c := range []struct {
		model string
		gen   int64
	}{
		{long, 1}, {long + "b", 1}, {long, 9223372036854775807}, {"Sepsis_Risk", 3}, {"---", 1}, {"sepsis-risk", 1}, {"sepsis-risk", 10},
	} {
		n := JobName(c.model, c.gen)
		if len(n) > 63 || len(validation.IsDNS1123Label(n)) > 0 {
			t.Errorf("JobName(%q, %d) = %q is not a DNS-1123 label of at most 63 characters", c.model, c.gen, n)
		}
		key := fmt.Sprintf("%s/%d", c.model, c.gen)
		for other, k := range names {
			if other == n {
				t.Errorf("JobName gives %q to both %s and %s", n, k, key)
			}
		}
		names[n] = key
	}
}
