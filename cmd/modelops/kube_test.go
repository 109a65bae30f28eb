package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"

	"github.com/medimind/modelops/internal/testutil/gitserver"
	"github.com/medimind/modelops/internal/testutil/kubeenv"
	"github.com/medimind/modelops/manifests"
)

// startReplica runs `modelops run` with args and waits for its HTTP server.
func startReplica(t *testing.T, args ...string) *runProcess {
	t.Helper()
	return startRunProcess(t, exec.Command(os.Args[0], append([]string{"run", "--listen", "127.0.0.1:0", "--interval", "1h"}, args...)...))
}

// TestRunOnKubernetesTwoReplicasOneActs runs two `modelops run` replicas with leader
// election against a real kube-apiserver: both become ready, only the leader acts, the merged
// generation becomes exactly one Job, and when the leader stops the other takes over without
// creating a second one.
func TestRunOnKubernetesTwoReplicasOneActs(t *testing.T) {
	env := kubeenv.Start(t)
	ns := env.Namespace(t)
	kubeconfig := env.Kubeconfig(t)
	client := kubernetes.NewForConfigOrDie(env.Config())
	repo := runRepo(t, 6)
	commitGen := func(gen int, msg string) {
		t.Helper()
		policy := strings.Replace(fmt.Sprintf(runPolicy, gen), "      command:", "      image: registry.example/medimind/train:1.4\n      command:", 1)
		if err := os.WriteFile(filepath.Join(repo, "models", "sepsis-risk.yaml"), []byte(policy), 0o644); err != nil {
			t.Fatal(err)
		}
		gitserver.MustGit(t, repo, "commit", "-q", "-am", msg)
	}
	commitGen(6, "Train on Kubernetes")
	args := func(name string) []string {
		return []string{"--repo", repo, "--state-dir", filepath.Join(t.TempDir(), name), "--namespace", ns,
			"--kubeconfig", kubeconfig, "--leader-elect"}
	}
	a := startReplica(t, args("a")...)
	waitReady(t, a.base)
	b := startReplica(t, args("b")...)
	waitReady(t, b.base)

	leaderOf := func() (*runProcess, *runProcess) {
		t.Helper()
		lease, err := client.CoordinationV1().Leases(ns).Get(context.Background(), "modelops", metav1.GetOptions{})
		if err != nil || lease.Spec.HolderIdentity == nil {
			t.Fatalf("lease: %+v %v", lease, err)
		}
		holder := *lease.Spec.HolderIdentity
		if strings.HasSuffix(holder, "_"+itoa(a.cmd.Process.Pid)) {
			return a, b
		}
		if strings.HasSuffix(holder, "_"+itoa(b.cmd.Process.Pid)) {
			return b, a
		}
		t.Fatalf("the lease is held by %q, neither replica", holder)
		return nil, nil
	}
	lead, standby := leaderOf()

	jobs := func() []string {
		t.Helper()
		list, err := client.BatchV1().Jobs(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, j := range list.Items {
			names = append(names, j.Name)
		}
		return names
	}
	commitGen(7, "Raise to generation 7")
	deadline := time.Now().Add(30 * time.Second)
	for len(jobs()) == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if got := jobs(); len(got) != 1 || !strings.HasPrefix(got[0], "sepsis-risk-g7-") {
		t.Fatalf("jobs after the merge = %v, want one for generation 7\nleader log:\n%s", got, lead.log())
	}
	if strings.Contains(standby.log(), `"action":"launch-training"`) {
		t.Fatalf("the standby acted:\n%s", standby.log())
	}
	// A created Job is started: later cycles do not launch it again while its pod waits.
	time.Sleep(time.Second)
	if n := strings.Count(lead.log(), `"msg":"action done","model":"sepsis-risk","action":"launch-training"`); n != 1 {
		t.Fatalf("the leader launched generation 7 %d times, want once:\n%s", n, lead.log())
	}

	// Play the job controller: the Job ends. The poll interval is an hour, so only the
	// informer waking the leader's loop records the end in seconds.
	// Nothing plays the kubelet, so the completed Job has no pod to read a result from: its
	// run ends Unknown.
	finishJob(t, client, ns, jobs()[0])
	deadline = time.Now().Add(20 * time.Second)
	for ph := runPhase(t, repo); !strings.Contains(ph, `"phase": "Unknown"`); ph = runPhase(t, repo) {
		if time.Now().After(deadline) {
			t.Fatalf("the end of the Job was not recorded within 20s:\n%s\nleader log:\n%s", runPhase(t, repo), lead.log())
		}
		time.Sleep(200 * time.Millisecond)
	}

	// The leader stops: the standby takes the lease, sees the run recorded, creates nothing.
	if err := lead.stop(60 * time.Second); err != nil {
		t.Fatalf("leader exit: %v\n%s", err, lead.log())
	}
	deadline = time.Now().Add(60 * time.Second)
	for !strings.Contains(standby.log(), `"msg":"leading"`) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(standby.log(), `"msg":"leading"`) {
		t.Fatalf("the standby never took over:\n%s", standby.log())
	}
	deadline = time.Now().Add(20 * time.Second)
	for !strings.Contains(standby.log(), `"msg":"cycle done"`) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if got := jobs(); len(got) != 1 {
		t.Fatalf("jobs after the takeover = %v, want still one", got)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestDeploymentArgsAreFlagsOfRun keeps manifests/deployment.yaml in step with `modelops run`:
// every argument it passes must parse.
func TestDeploymentArgsAreFlagsOfRun(t *testing.T) {
	objs, err := manifests.Objects()
	if err != nil {
		t.Fatal(err)
	}
	var args []string
	for _, o := range objs {
		if o.GetKind() != "Deployment" {
			continue
		}
		containers, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
		for _, c := range containers {
			for _, a := range c.(map[string]any)["args"].([]any) {
				args = append(args, a.(string))
			}
		}
	}
	if len(args) < 2 || args[0] != "run" {
		t.Fatalf("deployment args = %q, want run and its flags", args)
	}
	cmd := newRunCmd()
	if err := cmd.ParseFlags(args[1:]); err != nil {
		t.Fatalf("modelops run refuses the deployment's args %q: %v", args[1:], err)
	}
	for _, name := range []string{"namespace", "leader-elect", "state-dir", "listen"} {
		if !cmd.Flags().Changed(name) {
			t.Errorf("the deployment does not set --%s", name)
		}
	}
}

// finishJob writes a Job's status as the job controller does when its pod succeeds:
// started and active first, then succeeded with SuccessCriteriaMet and Complete.
func finishJob(t *testing.T, client kubernetes.Interface, ns, name string) {
	t.Helper()
	ctx := context.Background()
	jobs := client.BatchV1().Jobs(ns)
	job, err := jobs.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	job.Status.StartTime, job.Status.Active = &now, 1
	if job, err = jobs.UpdateStatus(ctx, job, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	job.Status.Active, job.Status.Succeeded, job.Status.CompletionTime = 0, 1, &now
	job.Status.Conditions = []batchv1.JobCondition{
		{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: now},
	}
	if _, err := jobs.UpdateStatus(ctx, job, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// runPhase reads the run of generation 7 from the status branch ("" before it exists).
func runPhase(t *testing.T, repo string) string {
	t.Helper()
	out, err := exec.Command("git", "-C", repo, "show", "modelops/status:models/sepsis-risk.json").Output()
	if err != nil {
		return ""
	}
	s := string(out)
	if i := strings.Index(s, `"generation": 7`); i >= 0 {
		return s[i:min(len(s), i+400)]
	}
	return ""
}
