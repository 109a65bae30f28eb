package kubeenv

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// env is the server shared by the tests of this package; tests that restart or stop a server
// start their own.
var env *Env

func TestMain(m *testing.M) { os.Exit(Main(m, &env)) }

func clientset(t *testing.T, cfg *rest.Config) *kubernetes.Clientset {
	t.Helper()
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("create clientset: %v", err)
	}
	return cs
}

func TestServerReportsTheVersionTheScriptBuilds(t *testing.T) {
	v, err := clientset(t, env.Config()).Discovery().ServerVersion()
	if err != nil {
		t.Fatalf("server version: %v", err)
	}
	if v.GitVersion != KubernetesVersion {
		t.Errorf("server version = %q, want %q (built without -X k8s.io/component-base/version.gitVersion?)", v.GitVersion, KubernetesVersion)
	}
}

func TestNamespaceGivesEveryCallAFreshActiveNamespace(t *testing.T) {
	cs := clientset(t, env.Config())
	a, b := env.Namespace(t), env.Namespace(t)
	if a == b {
		t.Fatalf("two calls returned the same namespace %q", a)
	}
	for _, name := range []string{a, b} {
		if !strings.HasPrefix(name, "testnamespacegiveseverycall") {
			t.Errorf("namespace %q is not named after the test", name)
		}
		ns, err := cs.CoreV1().Namespaces().Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get namespace %s: %v", name, err)
		}
		if ns.Status.Phase != corev1.NamespaceActive {
			t.Errorf("namespace %s phase = %s, want Active", name, ns.Status.Phase)
		}
	}
}

func TestNamespacePrefixIsADNSLabelStart(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"a subtest name keeps its words", "TestRunner/Job_launch", "testrunner-job-launch-"},
		{"runs of punctuation become one dash", "Test__A//B", "test-a-b-"},
		{"a long name is cut to 40 characters", strings.Repeat("x", 70), strings.Repeat("x", 40) + "-"},
		{"a name starting with a digit gets a letter first", "1st", "test-1st-"},
		{"a name without letters or digits becomes test", "///", "test-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := namespacePrefix(tt.in); got != tt.want {
				t.Errorf("namespacePrefix(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func gpuJob(name string) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: batchv1.JobSpec{
			Template: corev1.PodTemplateSpec{
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers: []corev1.Container{{
						Name:    "train",
						Image:   "registry.example/train:1",
						Command: []string{"python", "train.py"},
						Resources: corev1.ResourceRequirements{
							Limits: corev1.ResourceList{"nvidia.com/gpu": resource.MustParse("1")},
						},
					}},
				},
			},
		},
	}
}

func TestJobStatusIsWrittenThroughTheStatusSubresource(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	jobs := clientset(t, env.Config()).BatchV1().Jobs(ns)
	if _, err := jobs.Create(ctx, gpuJob("train-1"), metav1.CreateOptions{}); err != nil {
		t.Fatalf("create job: %v", err)
	}

	patchStatus := func(status string) error {
		_, err := jobs.Patch(ctx, "train-1", types.MergePatchType, []byte(`{"status":`+status+`}`), metav1.PatchOptions{}, "status")
		return err
	}
	start := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	now := time.Now().UTC().Format(time.RFC3339)

	// The server validates status as the job controller writes it: success before a start
	// time is refused. This is what makes the harness worth more than a fake clientset.
	early := fmt.Sprintf(`{"succeeded":1,"completionTime":%q}`, now)
	if err := patchStatus(early); !apierrors.IsInvalid(err) {
		t.Fatalf("completing a job that never started: err = %v, want Invalid", err)
	}
	if err := patchStatus(fmt.Sprintf(`{"startTime":%q,"active":1}`, start)); err != nil {
		t.Fatalf("mark job started: %v", err)
	}
	done := fmt.Sprintf(`{"active":0,"succeeded":1,"completionTime":%q,"conditions":[
		{"type":"SuccessCriteriaMet","status":"True","reason":"CompletionsReached","lastProbeTime":%[1]q,"lastTransitionTime":%[1]q},
		{"type":"Complete","status":"True","reason":"CompletionsReached","lastProbeTime":%[1]q,"lastTransitionTime":%[1]q}]}`, now)
	if err := patchStatus(done); err != nil {
		t.Fatalf("mark job complete: %v", err)
	}

	got, err := jobs.Get(ctx, "train-1", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get job: %v", err)
	}
	if got.Status.Succeeded != 1 || got.Status.CompletionTime == nil || len(got.Status.Conditions) != 2 {
		t.Errorf("status = %+v, want succeeded 1, a completion time and two conditions", got.Status)
	}
	if q := got.Spec.Template.Spec.Containers[0].Resources.Limits["nvidia.com/gpu"]; q.Value() != 1 {
		t.Errorf("gpu limit = %s, want 1", q.String())
	}

	// Without a controller-manager only background propagation lets the name be reused.
	bg := metav1.DeletePropagationBackground
	if err := jobs.Delete(ctx, "train-1", metav1.DeleteOptions{PropagationPolicy: &bg}); err != nil {
		t.Fatalf("delete job: %v", err)
	}
	if _, err := jobs.Create(ctx, gpuJob("train-1"), metav1.CreateOptions{}); err != nil {
		t.Fatalf("re-create job after background delete: %v", err)
	}
}

func TestImpersonatedConfigIsAuthorizedByRBAC(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	admin := clientset(t, env.Config())
	sa := "system:serviceaccount:" + ns + ":runner"
	runner := clientset(t, env.ImpersonatedConfig(sa))

	if _, err := runner.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("list jobs as %s without a binding: err = %v, want Forbidden", sa, err)
	}
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "jobs-reader"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"batch"}, Resources: []string{"jobs"}, Verbs: []string{"list"}}},
	}
	if _, err := admin.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create role: %v", err)
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "runner"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "runner", Namespace: ns}},
	}
	if _, err := admin.RbacV1().RoleBindings(ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create role binding: %v", err)
	}
	if _, err := runner.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("list jobs as %s with a binding: %v", sa, err)
	}
	if _, err := runner.BatchV1().Jobs(ns).Create(ctx, gpuJob("x"), metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("create job as %s, whose role only lists: err = %v, want Forbidden", sa, err)
	}
}

func TestKubeconfigReachesTheServerAsAdmin(t *testing.T) {
	path := env.Kubeconfig(t)
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	ns := env.Namespace(t)
	// Reading secrets needs more than any default role grants: it proves the admin identity.
	if _, err := clientset(t, cfg).CoreV1().Secrets(ns).List(context.Background(), metav1.ListOptions{}); err != nil {
		t.Errorf("list secrets through %s: %v", path, err)
	}
}

func TestRestartAPIServerKeepsObjectsAndEndsWatches(t *testing.T) {
	own := Start(t)
	ctx := context.Background()
	cfg := own.Config()
	cs := clientset(t, cfg)
	ns := own.Namespace(t)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kept"}, Data: map[string]string{"k": "v"}}
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create configmap: %v", err)
	}
	w, err := cs.CoreV1().ConfigMaps(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("watch configmaps: %v", err)
	}
	defer w.Stop()

	own.RestartAPIServer(t)

	// A liveness bound, not a performance claim: the watch must end, not hang forever.
	closed := time.After(time.Minute)
watch:
	for {
		select {
		case _, ok := <-w.ResultChan():
			if !ok {
				break watch
			}
		case <-closed:
			t.Fatal("watch opened before the restart is still open a minute after it")
		}
	}
	got, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, "kept", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get configmap after restart with the old config: %v", err)
	}
	if got.Data["k"] != "v" {
		t.Errorf("configmap data after restart = %v, want k=v", got.Data)
	}
	if got, want := own.Config().Host, cfg.Host; got != want {
		t.Errorf("host after restart = %s, want %s", got, want)
	}
}

// fatalRecorder is a testing.TB that records Fatalf and Skip instead of ending the test, so
// a test can check how Start fails.
type fatalRecorder struct {
	testing.TB
	fatal   string
	skipped bool
}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (r *fatalRecorder) Fatal(args ...any)                { r.Fatalf("%s", fmt.Sprint(args...)) }
func (r *fatalRecorder) FailNow()                         { r.Fatalf("FailNow") }
func (r *fatalRecorder) Skip(args ...any)                 { r.SkipNow() }
func (r *fatalRecorder) Skipf(format string, args ...any) { r.SkipNow() }
func (r *fatalRecorder) SkipNow()                         { r.skipped = true; runtime.Goexit() }

func TestStartWithoutBinariesFailsAndSaysToRunMakeTestenv(t *testing.T) {
	empty := t.TempDir()
	t.Setenv(DirEnv, empty)
	r := &fatalRecorder{TB: t}
	done := make(chan *Env)
	go func() {
		var e *Env
		defer func() { done <- e }()
		e = Start(r)
	}()
	if e := <-done; e != nil {
		t.Fatalf("Start returned an environment from an empty directory")
	}
	if r.skipped {
		t.Fatalf("Start skipped the test; it must fail")
	}
	for _, want := range []string{"make testenv", empty, "etcd"} {
		if !strings.Contains(r.fatal, want) {
			t.Errorf("failure %q does not mention %q", r.fatal, want)
		}
	}
}

func TestStartWithABrokenBinaryFailsWithItsOutput(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(DirEnv, dir)
	// An etcd that exits at once stands for a server that cannot start.
	script := "#!/bin/sh\necho 'etcd: cannot start: disk on fire' >&2\nexit 3\n"
	for _, name := range []string{"etcd", "kube-apiserver"} {
		if err := os.WriteFile(dir+"/"+name, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	_, err := start(t.Logf)
	if err == nil {
		t.Fatal("start with an etcd that exits succeeded")
	}
	for _, want := range []string{"etcd exited before it was ready", "disk on fire", "make testenv"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

// BenchmarkStart measures start to ready (both processes) plus stop, and reports the two
// parts as s-ready/op and s-stop/op. Run it with a small count on the shared machines:
// go test -run '^$' -bench Start -benchtime 3x.
func BenchmarkStart(b *testing.B) {
	var ready, stop time.Duration
	for b.Loop() {
		t0 := time.Now()
		e, err := start(func(string, ...any) {})
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := e.stop(); err != nil {
			b.Fatal(err)
		}
		ready += t1.Sub(t0)
		stop += time.Since(t1)
	}
	b.ReportMetric(ready.Seconds()/float64(b.N), "s-ready/op")
	b.ReportMetric(stop.Seconds()/float64(b.N), "s-stop/op")
}
