package kube

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/medimind/modelops/policies"
	"github.com/medimind/modelops/reconciler"
)

// Labels and annotations modelops puts on its Jobs.
const (
	LabelManagedBy        = "app.kubernetes.io/managed-by"
	ManagedBy             = "modelops"
	LabelModel            = "modelops.medimind.io/model"
	LabelGeneration       = "modelops.medimind.io/generation"
	AnnotationCommit      = "modelops.medimind.io/commit"
	AnnotationPolicyFile  = "modelops.medimind.io/policy-file"
	containerName         = "train"
	outputVolume          = "output"
	outputPath            = "/modelops/output"
	terminationLogPath    = "/dev/termination-log"
	maxNameLength         = 63
	nameHashLength        = 8
	jobSpecField          = "spec.retrain.job"
	reservedEnvPrefix     = policies.ReservedEnvPrefix
	maxTerminationMessage = 4096
)

// JobName is the name of the Job of (model, generation): a DNS-1123 label of at most 63
// characters, "<model>-g<generation>-<hash>", where the model is trimmed to fit and the hash
// covers (model, generation), so two models that trim alike still get different names.
func JobName(model string, generation int64) string {
	sum := sha256.Sum256([]byte(model + "\x00" + strconv.FormatInt(generation, 10)))
	suffix := "-g" + strconv.FormatInt(generation, 10) + "-" + hex.EncodeToString(sum[:])[:nameHashLength]
	prefix := sanitize(model)
	if room := maxNameLength - len(suffix); len(prefix) > room {
		prefix = prefix[:room]
	}
	prefix = strings.TrimRight(prefix, "-")
	if prefix == "" {
		prefix = "model"
	}
	return prefix + suffix
}

// sanitize maps a model name onto DNS-1123 label characters. Policy validation already
// requires DNS-1123 names; this keeps JobName total for any input.
func sanitize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	return strings.Trim(b.String(), "-")
}

// jobLabels are the labels that identify the Job of (model, generation).
func jobLabels(model string, generation int64) map[string]string {
	return map[string]string{
		LabelManagedBy:  ManagedBy,
		LabelModel:      model,
		LabelGeneration: strconv.FormatInt(generation, 10),
	}
}

// buildJob returns the Job that runs req. Bad input (a quantity that does not parse) is an
// error naming the policy file and field.
func (r *Runner) buildJob(req reconciler.JobRequest) (*batchv1.Job, error) {
	spec := req.Job
	if len(spec.Command) == 0 {
		return nil, fmt.Errorf("%s: %s.command: is required", req.PolicyFile, jobSpecField)
	}
	if spec.Image == "" {
		return nil, fmt.Errorf("%s: %s.image: is required to run on Kubernetes", req.PolicyFile, jobSpecField)
	}
	gpus := policies.DefaultJobGPUs
	if spec.GPUs != nil {
		gpus = *spec.GPUs
	}
	gpuResource := spec.GPUResource
	if gpuResource == "" {
		gpuResource = policies.DefaultGPUResource
	}
	timeout := spec.Timeout.Duration
	if timeout <= 0 {
		timeout = policies.DefaultJobTimeout
	}

	resources, err := resourceRequirements(req.PolicyFile, spec.Resources)
	if err != nil {
		return nil, err
	}
	if gpus > 0 {
		if resources.Limits == nil {
			resources.Limits = corev1.ResourceList{}
		}
		resources.Limits[corev1.ResourceName(gpuResource)] = *resource.NewQuantity(int64(gpus), resource.DecimalSI)
		// Extended resources cannot be overcommitted: a request, when present, must equal
		// the limit.
		if _, ok := resources.Requests[corev1.ResourceName(gpuResource)]; ok {
			resources.Requests[corev1.ResourceName(gpuResource)] = resources.Limits[corev1.ResourceName(gpuResource)]
		}
	}

	var tolerations []corev1.Toleration
	for _, t := range spec.Tolerations {
		tolerations = append(tolerations, corev1.Toleration{
			Key: t.Key, Operator: corev1.TolerationOperator(t.Operator), Value: t.Value, Effect: corev1.TaintEffect(t.Effect),
		})
	}
	if gpus > 0 {
		// GPU nodes are commonly tainted with the resource name (as the cloud providers'
		// GPU node pools do), so a GPU job tolerates that taint by default.
		tolerations = append(tolerations, corev1.Toleration{
			Key: gpuResource, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule,
		})
	}

	env := make([]corev1.EnvVar, 0, len(spec.Env)+4)
	for _, e := range spec.Env {
		// Validation rejects MODELOPS_* names; dropping them here keeps the guarantee for
		// a request that bypassed it.
		if strings.HasPrefix(strings.ToUpper(e.Name), reservedEnvPrefix) {
			continue
		}
		env = append(env, corev1.EnvVar{Name: e.Name, Value: e.Value})
	}
	env = append(env,
		corev1.EnvVar{Name: "MODELOPS_MODEL", Value: req.Model},
		corev1.EnvVar{Name: "MODELOPS_GENERATION", Value: strconv.FormatInt(req.Generation, 10)},
		corev1.EnvVar{Name: "MODELOPS_COMMIT", Value: req.Commit},
		corev1.EnvVar{Name: "MODELOPS_OUTPUT", Value: outputPath},
	)

	labels := jobLabels(req.Model, req.Generation)
	annotations := map[string]string{AnnotationCommit: req.Commit}
	if req.PolicyFile != "" {
		annotations[AnnotationPolicyFile] = req.PolicyFile
	}
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name:        JobName(req.Model, req.Generation),
			Namespace:   r.namespace,
			Labels:      labels,
			Annotations: annotations,
		},
		Spec: batchv1.JobSpec{
			BackoffLimit:            ptr.To(backoffLimit(spec)),
			PodFailurePolicy:        podFailurePolicy(spec),
			ActiveDeadlineSeconds:   ptr.To(int64((timeout + 999_999_999) / 1_000_000_000)),
			TTLSecondsAfterFinished: r.ttl,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: maps.Clone(labels), Annotations: maps.Clone(annotations)},
				Spec: corev1.PodSpec{
					RestartPolicy:                corev1.RestartPolicyNever,
					ServiceAccountName:           spec.ServiceAccountName,
					AutomountServiceAccountToken: ptr.To(spec.AutomountServiceAccountToken),
					SecurityContext:              podSecurityContext(spec.SecurityContext),
					NodeSelector:                 maps.Clone(spec.NodeSelector),
					Tolerations:                  tolerations,
					Containers: []corev1.Container{{
						Name:                     containerName,
						Image:                    spec.Image,
						Command:                  slices.Clone(spec.Command),
						Args:                     slices.Clone(spec.Args),
						Env:                      env,
						Resources:                resources,
						TerminationMessagePath:   terminationLogPath,
						TerminationMessagePolicy: corev1.TerminationMessageReadFile,
						VolumeMounts:             []corev1.VolumeMount{{Name: outputVolume, MountPath: outputPath}},
						SecurityContext: &corev1.SecurityContext{
							AllowPrivilegeEscalation: ptr.To(false),
							Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
					}},
					Volumes: []corev1.Volume{{
						Name:         outputVolume,
						VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}},
					}},
				},
			},
		},
	}
	return job, nil
}

// podSecurityContext makes the pod pass Pod Security "restricted" (the shipped namespace
// enforces it, and the job controller's pod creates are refused otherwise): a non-root user
// and the RuntimeDefault seccomp profile; the container adds no privilege escalation and no
// capabilities. The policy may choose the user and groups, never root (validation refuses
// runAsUser 0).
func podSecurityContext(sc *policies.JobSecurityContext) *corev1.PodSecurityContext {
	out := &corev1.PodSecurityContext{
		RunAsNonRoot:   ptr.To(true),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
	if sc != nil {
		out.RunAsUser, out.RunAsGroup, out.FSGroup = copyOf(sc.RunAsUser), copyOf(sc.RunAsGroup), copyOf(sc.FSGroup)
	}
	return out
}

func copyOf[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// backoffLimit is the Job's budget of failed pods: the policy's retries of failures of the
// training code plus its budget of disruptions, which the pod failure policy counts
// against the same limit.
func backoffLimit(spec policies.JobSpec) int32 {
	return ptr.Deref(spec.BackoffLimit, policies.DefaultJobBackoffLimit) + ptr.Deref(spec.MaxDisruptions, policies.DefaultJobMaxDisruptions)
}

// podFailurePolicy tells a disrupted pod (preempted, drained, evicted: the pod carries the
// DisruptionTarget condition) from a failure of the training code. A disruption replaces
// the pod, counted against the backoff limit, so a node pool that keeps preempting the job
// fails the run once maxDisruptions is spent rather than at its deadline. With no retries
// of the code (backoffLimit 0, the default), a non-zero exit of the training container
// fails the Job at once, without spending the disruption budget on it. The DisruptionTarget
// rule comes first: a disrupted container exits non-zero too (SIGTERM), and the first
// matching rule decides.
func podFailurePolicy(spec policies.JobSpec) *batchv1.PodFailurePolicy {
	rules := []batchv1.PodFailurePolicyRule{{
		Action:          batchv1.PodFailurePolicyActionCount,
		OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}},
	}}
	if ptr.Deref(spec.BackoffLimit, policies.DefaultJobBackoffLimit) == 0 {
		rules = append(rules, batchv1.PodFailurePolicyRule{
			Action: batchv1.PodFailurePolicyActionFailJob,
			OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
				ContainerName: ptr.To(containerName),
				Operator:      batchv1.PodFailurePolicyOnExitCodesOpNotIn,
				Values:        []int32{0},
			},
		})
	}
	return &batchv1.PodFailurePolicy{Rules: rules}
}

// resourceRequirements parses the policy's requests and limits.
func resourceRequirements(file string, res *policies.Resources) (corev1.ResourceRequirements, error) {
	var out corev1.ResourceRequirements
	if res == nil {
		return out, nil
	}
	var err error
	if out.Requests, err = resourceList(file, jobSpecField+".resources.requests", res.Requests); err != nil {
		return out, err
	}
	if out.Limits, err = resourceList(file, jobSpecField+".resources.limits", res.Limits); err != nil {
		return out, err
	}
	return out, nil
}

func resourceList(file, field string, in map[string]string) (corev1.ResourceList, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := corev1.ResourceList{}
	for _, name := range slices.Sorted(maps.Keys(in)) {
		q, err := resource.ParseQuantity(in[name])
		if err != nil {
			return nil, fmt.Errorf("%s: %s.%s: expected a Kubernetes quantity such as 500m, 4 or 16Gi, got %q", file, field, name, in[name])
		}
		out[corev1.ResourceName(name)] = q
	}
	return out, nil
}
