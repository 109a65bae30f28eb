package kserve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/util/retry"

	"github.com/medimind/modelops/reconciler"
)

var _ reconciler.Router = (*Router)(nil)

// InferenceServices is the resource the router patches.
var InferenceServices = schema.GroupVersionResource{Group: "serving.kserve.io", Version: "v1beta1", Resource: "inferenceservices"}

// Annotations recording the traffic in the reconciler's terms.
const (
	AnnotationProductionVersion = "modelops.medimind.io/production-version"
	AnnotationProductionURI     = "modelops.medimind.io/production-uri"
	AnnotationCanaryVersion     = "modelops.medimind.io/canary-version"
	AnnotationCanaryURI         = "modelops.medimind.io/canary-uri"
)

// ErrNoInferenceService is returned when a model's InferenceService does not exist.
var ErrNoInferenceService = errors.New("inferenceservice not found")

// Router sets traffic on InferenceServices in one namespace.
type Router struct {
	client    dynamic.Interface
	namespace string
	name      func(model string) string
}

// Option configures a Router.
type Option func(*Router)

// WithName maps a model to its InferenceService's name (default: the model's name).
func WithName(fn func(model string) string) Option { return func(r *Router) { r.name = fn } }

// New returns a router patching InferenceServices in namespace through client.
func New(client dynamic.Interface, namespace string, opts ...Option) *Router {
	r := &Router{client: client, namespace: namespace, name: func(m string) string { return m }}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Get returns the traffic the model's InferenceService serves; ErrNotRouted when modelops
// has not set it yet, ErrNoInferenceService when there is no InferenceService.
func (r *Router) Get(ctx context.Context, model string) (reconciler.Traffic, error) {
	isvc, err := r.get(ctx, model)
	if err != nil {
		return reconciler.Traffic{}, err
	}
	return trafficOf(isvc)
}

// Set makes the model's InferenceService serve t. It writes nothing when it already does.
func (r *Router) Set(ctx context.Context, model string, t reconciler.Traffic) error {
	if err := check(t); err != nil {
		return fmt.Errorf("set traffic of %s: %w", model, err)
	}
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		isvc, err := r.get(ctx, model)
		if err != nil {
			return err
		}
		if cur, err := trafficOf(isvc); err == nil && cur == normal(t) {
			return nil
		}
		patch, err := mergePatch(isvc.GetResourceVersion(), t)
		if err != nil {
			return err
		}
		_, err = r.client.Resource(InferenceServices).Namespace(r.namespace).Patch(ctx, isvc.GetName(), types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "modelops"})
		if err != nil {
			if apierrors.IsConflict(err) {
				return err // read again and retry
			}
			return fmt.Errorf("patch inferenceservice %s/%s: %w", r.namespace, isvc.GetName(), err)
		}
		return nil
	})
}

func (r *Router) get(ctx context.Context, model string) (*unstructured.Unstructured, error) {
	name := r.name(model)
	isvc, err := r.client.Resource(InferenceServices).Namespace(r.namespace).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, fmt.Errorf("route %s: %w: %s/%s (modelops sets traffic on an existing InferenceService; create it first)", model, ErrNoInferenceService, r.namespace, name)
	case err != nil:
		return nil, fmt.Errorf("get inferenceservice %s/%s: %w", r.namespace, name, err)
	}
	return isvc, nil
}

// check rejects traffic KServe cannot serve: it loads models by URI.
func check(t reconciler.Traffic) error {
	switch {
	case t.Weight < 0 || t.Weight > 100:
		return fmt.Errorf("canary weight must be 0..100, got %d", t.Weight)
	case t.Production == "" || t.ProductionURI == "":
		return fmt.Errorf("production version and URI are required (KServe loads a model by its storageUri), got version %q uri %q", t.Production, t.ProductionURI)
	case t.Weight > 0 && (t.Canary == "" || t.CanaryURI == ""):
		return fmt.Errorf("a canary at weight %d needs its version and URI, got version %q uri %q", t.Weight, t.Canary, t.CanaryURI)
	}
	return nil
}

// normal is t as Get reads it back: without a canary version there is no canary URI.
func normal(t reconciler.Traffic) reconciler.Traffic {
	if t.Canary == "" {
		t.CanaryURI, t.Weight = "", 0
	}
	return t
}

// mergePatch sets storageUri, canaryTrafficPercent and the annotations for t, with the
// resourceVersion read as a precondition. Null removes a field.
func mergePatch(resourceVersion string, t reconciler.Traffic) ([]byte, error) {
	t = normal(t)
	storageURI, percent := t.ProductionURI, any(nil)
	if t.Weight > 0 {
		storageURI, percent = t.CanaryURI, int64(t.Weight)
	}
	annotations := map[string]any{
		AnnotationProductionVersion: t.Production,
		AnnotationProductionURI:     t.ProductionURI,
		AnnotationCanaryVersion:     nil,
		AnnotationCanaryURI:         nil,
	}
	if t.Canary != "" {
		annotations[AnnotationCanaryVersion] = t.Canary
		annotations[AnnotationCanaryURI] = t.CanaryURI
	}
	patch := map[string]any{
		"metadata": map[string]any{"resourceVersion": resourceVersion, "annotations": annotations},
		"spec": map[string]any{"predictor": map[string]any{
			"canaryTrafficPercent": percent,
			"model":                map[string]any{"storageUri": storageURI},
		}},
	}
	return json.Marshal(patch)
}

// trafficOf reads the traffic an InferenceService serves, in the reconciler's terms.
func trafficOf(isvc *unstructured.Unstructured) (reconciler.Traffic, error) {
	ann := isvc.GetAnnotations()
	production, ok := ann[AnnotationProductionVersion]
	if !ok {
		return reconciler.Traffic{}, fmt.Errorf("inferenceservice %s/%s: %w", isvc.GetNamespace(), isvc.GetName(), reconciler.ErrNotRouted)
	}
	storageURI, _, err := unstructured.NestedString(isvc.Object, "spec", "predictor", "model", "storageUri")
	if err != nil {
		return reconciler.Traffic{}, fmt.Errorf("inferenceservice %s/%s: spec.predictor.model.storageUri: %w", isvc.GetNamespace(), isvc.GetName(), err)
	}
	percent, hasPercent, err := unstructured.NestedInt64(isvc.Object, "spec", "predictor", "canaryTrafficPercent")
	if err != nil {
		return reconciler.Traffic{}, fmt.Errorf("inferenceservice %s/%s: spec.predictor.canaryTrafficPercent: %w", isvc.GetNamespace(), isvc.GetName(), err)
	}
	t := reconciler.Traffic{
		Production:    production,
		ProductionURI: ann[AnnotationProductionURI],
		Canary:        ann[AnnotationCanaryVersion],
		CanaryURI:     ann[AnnotationCanaryURI],
	}
	if hasPercent {
		// The latest revision, at storageUri, takes percent; the rolled-out one the rest.
		t.Weight, t.CanaryURI = int(percent), storageURI
		if t.Canary == "" {
			t.Canary = "(unknown)" // split by hand: differs from any tip, so it is set back
		}
	} else if storageURI != t.ProductionURI {
		// All traffic goes to storageUri: that is what production serves.
		t.ProductionURI = storageURI
	}
	return t, nil
}
