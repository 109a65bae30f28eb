// Package manifests holds the Kubernetes manifests that run the reconciler in a cluster and
// the training Job template, embedded so that programs and tests use exactly the files that
// `kubectl apply -k manifests/` deploys.
//
// The files (see README.md beside them): namespace.yaml, serviceaccount.yaml, role.yaml,
// rolebinding.yaml, deployment.yaml and service.yaml, listed by kustomization.yaml; and
// job-template.yaml, the Job the Kubernetes runner fills in for each training run. None of
// them names a namespace except the Namespace itself: kustomization.yaml sets it, and the
// tests apply them into a namespace of their own.
package manifests
