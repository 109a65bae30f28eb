// Package kube runs training jobs as Kubernetes batch/v1 Jobs: the production runner of
// modelops, with the semantics of the local runner on a different backend.
//
// Each (model, generation) owns one Job whose name is derived from the pair alone
// (JobName), so a restarted reconciler, or a second replica, finds the Job it created
// instead of launching another: Start is create-if-absent.
//
// Jobs are watched with a shared informer over the Jobs modelops manages (label
// app.kubernetes.io/managed-by=modelops) in one namespace; Get answers from its cache and
// falls back to a GET while the cache has not synced or misses the Job (just created).
//
// A job reports its result as the SPEC's result JSON in its container's termination
// message (/dev/termination-log). The kubelet keeps its last 4096 bytes, so a longer result
// arrives cut at the front: the run fails saying so. The runner reads it from the Job's pod
// (label job-name). $MODELOPS_OUTPUT names a scratch
// directory (an emptyDir) for the job's files; unlike the local runner, a result.json
// written there is not read, because nothing outside the pod can see it.
//
// The pod passes Pod Security "restricted", which the shipped namespace enforces: non-root,
// RuntimeDefault seccomp, no privilege escalation, all capabilities dropped, and no
// ServiceAccount token unless the policy asks for one. A pod the namespace refuses is never
// created: the job controller records FailedCreate events on the Job and sets no condition,
// and the runner cannot read events, so a run whose Job has had no pod for five minutes says
// so in its message (still Running) instead of waiting silently for its deadline.
//
// A pod disrupted by Kubernetes (preemption, a drained node, an eviction: the pod carries
// the DisruptionTarget condition) is replaced, up to the policy's maxDisruptions, through
// the Job's podFailurePolicy; a non-zero exit of the training code fails the Job at once
// unless the policy asks for retries (backoffLimit).
//
// A pod runs as the policy's serviceAccountName only when the repository configuration lists
// it, and never as the account the runner itself acts as (asked of the API server with a
// SelfSubjectReview).
//
// A run is recorded by the reconciler as soon as the informer sees its Job finish (WithOnChange
// wakes it). A Job that completed but whose pod is gone (garbage-collected, or removed with
// the Job's TTL before it was read) is Unknown, never Failed: only the evidence is missing.
//
// The runner needs only this RBAC in its namespace: jobs create, get, list, watch, delete;
// pods get, list; pods/log get; and selfsubjectreviews create, which every authenticated
// identity has.
package kube
