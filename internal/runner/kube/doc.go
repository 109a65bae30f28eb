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
// message (/dev/termination-log, at most 4096 bytes, the kubelet's own bound). The runner
// reads it from the Job's pod (label job-name). $MODELOPS_OUTPUT names a scratch
// directory (an emptyDir) for the job's files; unlike the local runner, a result.json
// written there is not read, because nothing outside the pod can see it.
//
// The runner needs only this RBAC in its namespace: jobs create, get, list, watch, delete;
// pods get, list; pods/log get.
package kube
