package kserve

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"
	"sigs.k8s.io/yaml"

	"github.com/medimind/modelops/internal/testutil/kubeenv"
	"github.com/medimind/modelops/reconciler"
)

var env *kubeenv.Env

func TestMain(m *testing.M) { os.Exit(kubeenv.Main(m, &env)) }

var crds = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// setup installs the InferenceService CRD (once per server) and returns a dynamic client
// and a fresh namespace.
func setup(t *testing.T) (dynamic.Interface, string, context.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	dc, err := dynamic.NewForConfig(env.Config())
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("testdata/inferenceservices.serving.kserve.io.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var crd unstructured.Unstructured
	if err := yaml.Unmarshal(b, &crd.Object); err != nil {
		t.Fatalf("parse CRD: %v", err)
	}
	if _, err := dc.Resource(crds).Create(ctx, &crd, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("install CRD: %v", err)
	}
	ns := env.Namespace(t)
	// Wait until the API server serves the new resource.
	for {
		_, err := dc.Resource(InferenceServices).Namespace(ns).List(ctx, metav1.ListOptions{})
		if err == nil {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the InferenceService resource is not served: %v", err)
		case <-time.After(200 * time.Millisecond):
		}
	}
	return dc, ns, ctx
}

// createISVC creates an InferenceService serving storageURI, as a person deploys it.
func createISVC(t *testing.T, ctx context.Context, dc dynamic.Interface, ns, name, storageURI string) {
	t.Helper()
	isvc := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "serving.kserve.io/v1beta1",
		"kind":       "InferenceService",
		"metadata":   map[string]any{"name": name, "namespace": ns},
		"spec": map[string]any{"predictor": map[string]any{
			"minReplicas": int64(1),
			"model": map[string]any{
				"modelFormat": map[string]any{"name": "sklearn"},
				"storageUri":  storageURI,
			},
		}},
	}}
	if _, err := dc.Resource(InferenceServices).Namespace(ns).Create(ctx, isvc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create inferenceservice: %v", err)
	}
}

func read(t *testing.T, ctx context.Context, dc dynamic.Interface, ns, name string) *unstructured.Unstructured {
	t.Helper()
	u, err := dc.Resource(InferenceServices).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// served returns spec.predictor.model.storageUri and canaryTrafficPercent (-1 when unset).
func served(t *testing.T, u *unstructured.Unstructured) (string, int64) {
	t.Helper()
	uri, _, _ := unstructured.NestedString(u.Object, "spec", "predictor", "model", "storageUri")
	p, ok, _ := unstructured.NestedInt64(u.Object, "spec", "predictor", "canaryTrafficPercent")
	if !ok {
		p = -1
	}
	return uri, p
}

var (
	production = reconciler.Traffic{Production: "12", ProductionURI: "gs://models/sepsis-risk/12"}
	canary     = reconciler.Traffic{Production: "12", ProductionURI: "gs://models/sepsis-risk/12", Canary: "13", CanaryURI: "gs://models/sepsis-risk/13", Weight: 10}
)

func TestSetThenGetRoundTripsProductionAndCanary(t *testing.T) {
	dc, ns, ctx := setup(t)
	createISVC(t, ctx, dc, ns, "sepsis-risk", "gs://models/sepsis-risk/12")
	r := New(dc, ns)

	if _, err := r.Get(ctx, "sepsis-risk"); !errors.Is(err, reconciler.ErrNotRouted) {
		t.Fatalf("Get before any Set = %v, want ErrNotRouted", err)
	}
	for _, step := range []struct {
		name    string
		traffic reconciler.Traffic
		uri     string
		percent int64
	}{
		{"production only: all traffic on the production URI", production, "gs://models/sepsis-risk/12", -1},
		{"canary at 10: storageUri is the canary's, which takes 10 %", canary, "gs://models/sepsis-risk/13", 10},
		{"canary stepped to 50: only the split changes", withWeight(canary, 50), "gs://models/sepsis-risk/13", 50},
		{"canary at 100: all traffic on the canary", withWeight(canary, 100), "gs://models/sepsis-risk/13", 100},
	} {
		if err := r.Set(ctx, "sepsis-risk", step.traffic); err != nil {
			t.Fatalf("%s: Set: %v", step.name, err)
		}
		got, err := r.Get(ctx, "sepsis-risk")
		if err != nil {
			t.Fatalf("%s: Get: %v", step.name, err)
		}
		if got != step.traffic {
			t.Fatalf("%s: Get = %+v, want %+v", step.name, got, step.traffic)
		}
		u := read(t, ctx, dc, ns, "sepsis-risk")
		if uri, p := served(t, u); uri != step.uri || p != step.percent {
			t.Fatalf("%s: spec serves %s at canaryTrafficPercent %d, want %s at %d", step.name, uri, p, step.uri, step.percent)
		}
		// Setting what is served writes nothing.
		if err := r.Set(ctx, "sepsis-risk", step.traffic); err != nil {
			t.Fatal(err)
		}
		if again := read(t, ctx, dc, ns, "sepsis-risk"); again.GetResourceVersion() != u.GetResourceVersion() {
			t.Fatalf("%s: a second identical Set wrote (resourceVersion %s -> %s)", step.name, u.GetResourceVersion(), again.GetResourceVersion())
		}
	}
	// The fields modelops does not own are left as the person wrote them.
	u := read(t, ctx, dc, ns, "sepsis-risk")
	if f, _, _ := unstructured.NestedString(u.Object, "spec", "predictor", "model", "modelFormat", "name"); f != "sklearn" {
		t.Fatalf("modelFormat.name = %q, want sklearn kept", f)
	}
}

func TestRollbackToWeightZeroRestoresTheProductionURI(t *testing.T) {
	dc, ns, ctx := setup(t)
	createISVC(t, ctx, dc, ns, "sepsis-risk", "gs://models/sepsis-risk/12")
	r := New(dc, ns)
	if err := r.Set(ctx, "sepsis-risk", withWeight(canary, 25)); err != nil {
		t.Fatal(err)
	}
	if err := r.Set(ctx, "sepsis-risk", production); err != nil {
		t.Fatal(err)
	}
	u := read(t, ctx, dc, ns, "sepsis-risk")
	if uri, p := served(t, u); uri != "gs://models/sepsis-risk/12" || p != -1 {
		t.Fatalf("after rollback the spec serves %s at canaryTrafficPercent %d, want the production URI with no split", uri, p)
	}
	for _, k := range []string{AnnotationCanaryVersion, AnnotationCanaryURI} {
		if v, ok := u.GetAnnotations()[k]; ok {
			t.Errorf("annotation %s=%q survived the rollback", k, v)
		}
	}
	got, err := r.Get(ctx, "sepsis-risk")
	if err != nil || got != production {
		t.Fatalf("Get = %+v, %v; want %+v", got, err, production)
	}
}

func TestAHandEditOfTheSplitReadsAsADifferenceAndIsSetBack(t *testing.T) {
	dc, ns, ctx := setup(t)
	createISVC(t, ctx, dc, ns, "sepsis-risk", "gs://models/sepsis-risk/12")
	r := New(dc, ns)
	if err := r.Set(ctx, "sepsis-risk", canary); err != nil {
		t.Fatal(err)
	}
	edit := []byte(`{"spec":{"predictor":{"canaryTrafficPercent":60}}}`)
	if _, err := dc.Resource(InferenceServices).Namespace(ns).Patch(ctx, "sepsis-risk", types.MergePatchType, edit, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := r.Get(ctx, "sepsis-risk")
	if err != nil || got.Weight != 60 {
		t.Fatalf("Get = %+v, %v; want weight 60 as served", got, err)
	}
	if err := r.Set(ctx, "sepsis-risk", canary); err != nil {
		t.Fatal(err)
	}
	if _, p := served(t, read(t, ctx, dc, ns, "sepsis-risk")); p != 10 {
		t.Fatalf("canaryTrafficPercent = %d after Set, want 10", p)
	}
}

func TestAMissingInferenceServiceIsAClearError(t *testing.T) {
	dc, ns, ctx := setup(t)
	r := New(dc, ns)
	_, err := r.Get(ctx, "sepsis-risk")
	if !errors.Is(err, ErrNoInferenceService) || errors.Is(err, reconciler.ErrNotRouted) || !strings.Contains(err.Error(), ns+"/sepsis-risk") {
		t.Fatalf("Get = %v, want ErrNoInferenceService naming %s/sepsis-risk", err, ns)
	}
	if err := r.Set(ctx, "sepsis-risk", production); !errors.Is(err, ErrNoInferenceService) {
		t.Fatalf("Set = %v, want ErrNoInferenceService", err)
	}
	if _, err := dc.Resource(InferenceServices).Namespace(ns).Get(ctx, "sepsis-risk", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("Set created an InferenceService: %v", err)
	}
}

func TestTrafficKServeCannotServeIsRejected(t *testing.T) {
	dc, ns, ctx := setup(t)
	createISVC(t, ctx, dc, ns, "sepsis-risk", "gs://models/sepsis-risk/12")
	r := New(dc, ns)
	for _, tt := range []struct {
		name string
		t    reconciler.Traffic
		want string
	}{
		{"no production URI", reconciler.Traffic{Production: "12"}, "production version and URI are required"},
		{"a canary without a URI", reconciler.Traffic{Production: "12", ProductionURI: "gs://m/12", Canary: "13", Weight: 10}, "needs its version and URI"},
		{"a weight over 100", withWeight(canary, 120), "canary weight must be 0..100, got 120"},
	} {
		if err := r.Set(ctx, "sepsis-risk", tt.t); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Set = %v, want an error saying %q", tt.name, err, tt.want)
		}
	}
	if _, err := r.Get(ctx, "sepsis-risk"); !errors.Is(err, reconciler.ErrNotRouted) {
		t.Fatalf("a rejected Set wrote: Get = %v", err)
	}
}

// A write that races ours between read and patch cannot be timed on a real server: this
// test alone uses the fake dynamic client, with a reactor that answers the first patch
// with a conflict, as the API server does when the resourceVersion precondition fails.
func TestAConflictingWriteMakesSetReadAgain(t *testing.T) {
	isvc := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
		"metadata": map[string]any{"name": "sepsis-risk", "namespace": "ml", "resourceVersion": "7"},
		"spec":     map[string]any{"predictor": map[string]any{"model": map[string]any{"storageUri": "gs://m/12"}}},
	}}
	dc := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{InferenceServices: "InferenceServiceList"}, isvc)
	var patches []string
	dc.PrependReactor("patch", "inferenceservices", func(a k8stesting.Action) (bool, runtime.Object, error) {
		patches = append(patches, string(a.(k8stesting.PatchAction).GetPatch()))
		if len(patches) == 1 {
			return true, nil, apierrors.NewConflict(InferenceServices.GroupResource(), "sepsis-risk", errors.New("the object has been modified"))
		}
		return false, nil, nil
	})
	if err := New(dc, "ml").Set(context.Background(), "sepsis-risk", canary); err != nil {
		t.Fatalf("Set after a conflict: %v", err)
	}
	if len(patches) != 2 || !strings.Contains(patches[0], `"resourceVersion":"7"`) {
		t.Fatalf("patches = %q, want two, carrying the resourceVersion read", patches)
	}
}

func withWeight(t reconciler.Traffic, w int) reconciler.Traffic {
	t.Weight = w
	return t
}
