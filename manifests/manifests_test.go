package manifests_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"

	"github.com/medimind/modelops/internal/testutil/kubeenv"
	"github.com/medimind/modelops/manifests"
	"github.com/medimind/modelops/policies"
)

var env *kubeenv.Env

func TestMain(m *testing.M) { os.Exit(kubeenv.Main(m, &env)) }

func TestKustomizationListsEveryManifestFile(t *testing.T) {
	resources, err := manifests.Resources()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, name := range manifests.Names() {
		// The kustomization does not list itself, and the Job template is filled in by the
		// runner, never deployed as is.
		if name != manifests.KustomizationFile && name != manifests.JobTemplateFile {
			want = append(want, name)
		}
	}
	got := slices.Clone(resources)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("kustomization resources (sorted) = %v, want the manifest files %v", got, want)
	}
}

// applier creates objects through the dynamic client, finding each kind's resource and
// scope through discovery as kubectl does.
type applier struct {
	dyn    dynamic.Interface
	mapper meta.RESTMapper
}

func newApplier(t *testing.T) *applier {
	t.Helper()
	cfg := env.Config()
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &applier{dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(cs.Discovery()))}
}

// create creates obj in ns (ignored for cluster-scoped kinds); dryRun asks the server to run
// admission and validation and then store nothing.
func (a *applier) create(ctx context.Context, ns string, obj *unstructured.Unstructured, dryRun bool) error {
	gvk := obj.GroupVersionKind()
	m, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return err
	}
	opts := metav1.CreateOptions{FieldValidation: metav1.FieldValidationStrict}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	var ri dynamic.ResourceInterface = a.dyn.Resource(m.Resource)
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		ri = a.dyn.Resource(m.Resource).Namespace(ns)
	}
	_, err = ri.Create(ctx, obj, opts)
	return err
}

func TestEveryManifestPassesServerSideDryRun(t *testing.T) {
	ns := env.Namespace(t)
	a := newApplier(t)
	for _, name := range manifests.Names() {
		if name == manifests.KustomizationFile {
			continue // read by kustomize, not an API object
		}
		t.Run(name, func(t *testing.T) {
			objs, err := manifests.Decode(name)
			if err != nil {
				t.Fatal(err)
			}
			for _, obj := range objs {
				if obj.GetNamespace() != "" {
					t.Errorf("%s %s names namespace %q; kustomization.yaml sets it", obj.GetKind(), obj.GetName(), obj.GetNamespace())
				}
				if err := a.create(context.Background(), ns, obj, true); err != nil {
					t.Errorf("dry-run create %s %s: %v", obj.GetKind(), obj.GetName(), err)
				}
			}
		})
	}
}

// restrictedNamespace returns a fresh namespace that enforces Pod Security "restricted", as
// namespace.yaml does.
func restrictedNamespace(t *testing.T, cs kubernetes.Interface) string {
	t.Helper()
	ns := env.Namespace(t)
	patch := []byte(`{"metadata":{"labels":{"pod-security.kubernetes.io/enforce":"restricted","pod-security.kubernetes.io/enforce-version":"latest"}}}`)
	if _, err := cs.CoreV1().Namespaces().Patch(context.Background(), ns, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatalf("label namespace %s restricted: %v", ns, err)
	}
	return ns
}

func decodeStrict(t *testing.T, name string, into any) {
	t.Helper()
	b, err := manifests.Read(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(b, into); err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
}

func TestPodsOfTheDeploymentAndTheJobTemplatePassPodSecurityRestricted(t *testing.T) {
	cs, err := kubernetes.NewForConfig(env.Config())
	if err != nil {
		t.Fatal(err)
	}
	ns := restrictedNamespace(t, cs)
	var dep appsv1.Deployment
	decodeStrict(t, "deployment.yaml", &dep)
	job, err := manifests.JobTemplate()
	if err != nil {
		t.Fatal(err)
	}
	// The namespace enforces on Pods only (a Deployment or Job would merely warn), so the
	// pods their controllers would create are dry-run directly.
	weakened := dep.Spec.Template.DeepCopy()
	weakened.Spec.SecurityContext = nil
	weakened.Spec.Containers[0].SecurityContext = nil
	tests := []struct {
		name    string
		tmpl    corev1.PodTemplateSpec
		allowed bool
	}{
		{"the reconciler's pod is admitted", dep.Spec.Template, true},
		{"a training pod is admitted", job.Spec.Template, true},
		{"the reconciler's pod without its security contexts is refused", *weakened, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &corev1.Pod{ObjectMeta: tt.tmpl.ObjectMeta, Spec: tt.tmpl.Spec}
			pod.GenerateName = "pss-"
			_, err := cs.CoreV1().Pods(ns).Create(context.Background(), pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			switch {
			case tt.allowed && err != nil:
				t.Errorf("dry-run create pod: %v", err)
			case !tt.allowed && !apierrors.IsForbidden(err):
				t.Errorf("dry-run create pod: err = %v, want Forbidden by Pod Security", err)
			}
		})
	}
}

func TestDeploymentRunsTwoHardenedReplicasWithSecretFiles(t *testing.T) {
	var dep appsv1.Deployment
	decodeStrict(t, "deployment.yaml", &dep)
	if dep.Spec.Replicas == nil || *dep.Spec.Replicas != 2 {
		t.Errorf("replicas = %v, want 2", dep.Spec.Replicas)
	}
	spec := dep.Spec.Template.Spec
	if spec.ServiceAccountName != "modelops" {
		t.Errorf("serviceAccountName = %q, want modelops", spec.ServiceAccountName)
	}
	if len(spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(spec.Containers))
	}
	c := spec.Containers[0]
	for _, arg := range []string{"run", "--repo=$(MODELOPS_REPO)", "--namespace=$(POD_NAMESPACE)", "--leader-elect"} {
		if !slices.Contains(c.Args, arg) {
			t.Errorf("args %v lack %s", c.Args, arg)
		}
	}
	fieldRefs := map[string]string{}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
			fieldRefs[e.Name] = e.ValueFrom.FieldRef.FieldPath
		}
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			t.Errorf("env %s comes from a Secret; credentials are mounted as files", e.Name)
		}
	}
	if fieldRefs["POD_NAMESPACE"] != "metadata.namespace" || fieldRefs["POD_NAME"] != "metadata.name" {
		t.Errorf("downward API env = %v, want POD_NAMESPACE and POD_NAME", fieldRefs)
	}
	probes := map[string]*corev1.Probe{"/healthz": c.LivenessProbe, "/readyz": c.ReadinessProbe}
	for path, p := range probes {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != path || p.HTTPGet.Port.String() != "probes" {
			t.Errorf("probe for %s = %+v, want an HTTP GET of %s on port probes", path, p, path)
		}
	}
	// The probes have a listener of their own (--probe-listen), which API and webhook clients
	// cannot starve.
	if len(c.Ports) != 2 || c.Ports[0].Name != "http" || c.Ports[0].ContainerPort != 8080 ||
		c.Ports[1].Name != "probes" || c.Ports[1].ContainerPort != 8081 || !slices.Contains(c.Args, "--probe-listen=:8081") {
		t.Errorf("ports = %+v, args %q; want http 8080 and probes 8081 served by --probe-listen", c.Ports, c.Args)
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := c.Resources.Requests[r]; !ok {
			t.Errorf("no %s request", r)
		}
		if _, ok := c.Resources.Limits[r]; !ok {
			t.Errorf("no %s limit", r)
		}
	}
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot ||
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) ||
		sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("container securityContext = %+v, want read-only root, no privilege escalation, non-root, drop ALL, RuntimeDefault seccomp", sc)
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = v
	}
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m
	}
	for _, path := range []string{"/tmp", "/var/lib/modelops"} {
		m, ok := mounts[path]
		if !ok || volumes[m.Name].EmptyDir == nil {
			t.Errorf("%s is not an emptyDir mount (read-only root filesystem needs it writable)", path)
		}
	}
	sec, ok := mounts["/etc/modelops/secrets"]
	if !ok || !sec.ReadOnly || volumes[sec.Name].Secret == nil {
		t.Errorf("secrets mount = %+v, want a read-only Secret volume at /etc/modelops/secrets", sec)
	}
}

func TestJobTemplateCarriesTheRunnerContract(t *testing.T) {
	job, err := manifests.JobTemplate()
	if err != nil {
		t.Fatal(err)
	}
	// The Job survives a preempted node: a disrupted pod is replaced (internal/runner/kube
	// checks the template against the Job it builds).
	if pfp := job.Spec.PodFailurePolicy; pfp == nil || len(pfp.Rules) == 0 || len(pfp.Rules[0].OnPodConditions) == 0 ||
		pfp.Rules[0].OnPodConditions[0].Type != corev1.DisruptionTarget {
		t.Errorf("podFailurePolicy = %+v, want a first rule on DisruptionTarget", pfp)
	}
	if job.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("restartPolicy = %s, want Never", job.Spec.Template.Spec.RestartPolicy)
	}
	c := job.Spec.Template.Spec.Containers[0]
	var env []string
	for _, e := range c.Env {
		env = append(env, e.Name)
	}
	for _, name := range []string{"MODELOPS_MODEL", "MODELOPS_GENERATION", "MODELOPS_COMMIT", "MODELOPS_OUTPUT"} {
		if !slices.Contains(env, name) {
			t.Errorf("env %v lacks %s", env, name)
		}
	}
	if c.TerminationMessagePath != "/dev/termination-log" || c.TerminationMessagePolicy != corev1.TerminationMessageReadFile {
		t.Errorf("termination message = %s %s, want File at /dev/termination-log (the result is read from it)",
			c.TerminationMessagePath, c.TerminationMessagePolicy)
	}
	if q, ok := c.Resources.Limits["nvidia.com/gpu"]; !ok || q.Value() != 1 {
		t.Errorf("limits = %v, want nvidia.com/gpu: 1", c.Resources.Limits)
	}
	// Each call is a fresh copy: a runner filling one in must not change the next.
	job.Name = "changed"
	again, err := manifests.JobTemplate()
	if err != nil {
		t.Fatal(err)
	}
	if again.Name == "changed" {
		t.Error("JobTemplate returned a shared Job")
	}
}

// sarCase is one SubjectAccessReview of the reconciler's ServiceAccount.
type sarCase struct {
	name    string
	attrs   authorizationv1.ResourceAttributes
	allowed bool
}

func TestServiceAccountMayDoExactlyWhatTheReconcilerNeeds(t *testing.T) {
	ctx := context.Background()
	cs, err := kubernetes.NewForConfig(env.Config())
	if err != nil {
		t.Fatal(err)
	}
	ns, other := env.Namespace(t), env.Namespace(t)
	a := newApplier(t)
	for _, name := range []string{"serviceaccount.yaml", "role.yaml", "rolebinding.yaml"} {
		objs, err := manifests.Decode(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, obj := range objs {
			if err := a.create(ctx, ns, obj, false); err != nil {
				t.Fatalf("create %s from %s: %v", obj.GetKind(), name, err)
			}
		}
	}
	user := "system:serviceaccount:" + ns + ":modelops"
	// The groups a real token of this ServiceAccount carries, so grants to them count too.
	groups := []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}
	review := func(attrs authorizationv1.ResourceAttributes) (*authorizationv1.SubjectAccessReviewStatus, error) {
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: user, Groups: groups, ResourceAttributes: &attrs,
		}}
		got, err := cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
		if err != nil {
			return nil, err
		}
		return &got.Status, nil
	}

	// The RBAC authorizer reads roles from an informer: wait until it has seen the binding.
	probe := authorizationv1.ResourceAttributes{Namespace: ns, Verb: "create", Group: "batch", Resource: "jobs"}
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		st, err := review(probe)
		return err == nil && st.Allowed, err
	})
	if err != nil {
		t.Fatalf("the binding never took effect for %s: %v", user, err)
	}

	for _, tt := range sarCases(ns, other) {
		t.Run(tt.name, func(t *testing.T) {
			st, err := review(tt.attrs)
			if err != nil {
				t.Fatalf("subject access review: %v", err)
			}
			if st.Allowed != tt.allowed {
				t.Errorf("allowed = %v, want %v (reason %q)", st.Allowed, tt.allowed, st.Reason)
			}
		})
	}
}

// sarCases lists, for every resource the Role grants, every verb (allowed exactly when
// granted), then requests the reconciler must never be able to make.
func sarCases(ns, other string) []sarCase {
	granted := []struct {
		group, resource, subresource string
		verbs                        []string
	}{
		{"batch", "jobs", "", []string{"create", "get", "list", "watch", "delete"}},
		{"", "pods", "", []string{"get", "list"}},
		{"", "pods", "log", []string{"get"}},
		{"coordination.k8s.io", "leases", "", []string{"get", "create", "update"}},
		{"serving.kserve.io", "inferenceservices", "", []string{"get", "patch"}},
	}
	verbs := []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}
	var cases []sarCase
	for _, g := range granted {
		what := g.resource
		if g.subresource != "" {
			what += "/" + g.subresource
		}
		if g.group != "" {
			what += "." + g.group
		}
		for _, verb := range verbs {
			allowed := slices.Contains(g.verbs, verb)
			may := "may"
			if !allowed {
				may = "may not"
			}
			cases = append(cases, sarCase{
				name:    strings.Join([]string{may, verb, what, "in its namespace"}, " "),
				attrs:   authorizationv1.ResourceAttributes{Namespace: ns, Verb: verb, Group: g.group, Resource: g.resource, Subresource: g.subresource},
				allowed: allowed,
			})
		}
	}
	denied := []struct {
		name  string
		attrs authorizationv1.ResourceAttributes
	}{
		{"may not get secrets in its namespace", authorizationv1.ResourceAttributes{Namespace: ns, Verb: "get", Resource: "secrets"}},
		{"may not list secrets in its namespace", authorizationv1.ResourceAttributes{Namespace: ns, Verb: "list", Resource: "secrets"}},
		{"may not get secrets cluster-wide", authorizationv1.ResourceAttributes{Verb: "get", Resource: "secrets"}},
		{"may not list secrets cluster-wide", authorizationv1.ResourceAttributes{Verb: "list", Resource: "secrets"}},
		{"may not create jobs in another namespace", authorizationv1.ResourceAttributes{Namespace: other, Verb: "create", Group: "batch", Resource: "jobs"}},
		{"may not list jobs in another namespace", authorizationv1.ResourceAttributes{Namespace: other, Verb: "list", Group: "batch", Resource: "jobs"}},
		{"may not list jobs cluster-wide", authorizationv1.ResourceAttributes{Verb: "list", Group: "batch", Resource: "jobs"}},
		{"may not update the status of jobs", authorizationv1.ResourceAttributes{Namespace: ns, Verb: "update", Group: "batch", Resource: "jobs", Subresource: "status"}},
		{"may not exec into pods", authorizationv1.ResourceAttributes{Namespace: ns, Verb: "create", Resource: "pods", Subresource: "exec"}},
		{"may not list nodes", authorizationv1.ResourceAttributes{Verb: "list", Resource: "nodes"}},
		{"may not create events (unused)", authorizationv1.ResourceAttributes{Namespace: ns, Verb: "create", Resource: "events"}},
		{"may not get configmaps", authorizationv1.ResourceAttributes{Namespace: ns, Verb: "get", Resource: "configmaps"}},
		{"may not update its own role", authorizationv1.ResourceAttributes{Namespace: ns, Verb: "update", Group: "rbac.authorization.k8s.io", Resource: "roles"}},
		{"may not create role bindings", authorizationv1.ResourceAttributes{Namespace: ns, Verb: "create", Group: "rbac.authorization.k8s.io", Resource: "rolebindings"}},
	}
	for _, d := range denied {
		cases = append(cases, sarCase{name: d.name, attrs: d.attrs})
	}
	return cases
}

// TestObjectsAreTheKustomizationResourcesInOrder checks the accessor the deploy tooling
// uses against the files themselves.
func TestObjectsAreTheKustomizationResourcesInOrder(t *testing.T) {
	objs, err := manifests.Objects()
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, o := range objs {
		kinds = append(kinds, o.GetKind())
	}
	want := []string{"Namespace", "ServiceAccount", "Role", "RoleBinding", "Deployment", "Service"}
	if !slices.Equal(kinds, want) {
		t.Errorf("kinds = %v, want %v", kinds, want)
	}
	// Integers stay integers (int64), as the API machinery expects of unstructured objects.
	for _, o := range objs {
		if o.GetKind() != "Deployment" {
			continue
		}
		if r, found, err := unstructured.NestedFieldNoCopy(o.Object, "spec", "replicas"); err != nil || !found {
			t.Errorf("spec.replicas: found %v, err %v", found, err)
		} else if _, ok := r.(int64); !ok {
			t.Errorf("spec.replicas is %T, want int64", r)
		}
		var dep appsv1.Deployment
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &dep); err != nil {
			t.Errorf("convert deployment: %v", err)
		}
	}
}

func TestDecodeRejectsAFileThatIsNotThere(t *testing.T) {
	if _, err := manifests.Decode("missing.yaml"); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("Decode(missing.yaml) err = %v, want an error naming the file", err)
	}
}

// Policy validation refuses policies.ReconcilerServiceAccount for training jobs: it must be
// the account these manifests give the reconciler.
func TestTheReconcilersServiceAccountIsTheOneValidationRefuses(t *testing.T) {
	objs, err := manifests.Decode("serviceaccount.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var dep appsv1.Deployment
	decodeStrict(t, "deployment.yaml", &dep)
	if objs[0].GetName() != policies.ReconcilerServiceAccount || dep.Spec.Template.Spec.ServiceAccountName != policies.ReconcilerServiceAccount {
		t.Errorf("ServiceAccount %q, deployment runs as %q; policies refuse %q for training",
			objs[0].GetName(), dep.Spec.Template.Spec.ServiceAccountName, policies.ReconcilerServiceAccount)
	}
}
