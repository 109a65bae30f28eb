// Package local runs training jobs as local processes: the embedded default runner of
// modelops. Each run of (model, generation) owns a directory; the directory is the run's
// record, so a restarted reconciler finds its runs again and never starts one twice.
//
// What a job is kept from, and what not. A job gets the reconciler's environment without
// its MODELOPS_* variables and GITHUB_TOKEN, so no credential is passed to it; and modelops
// keeps credentials out of its own initial environment block (cmd/modelops hideSecretEnv),
// so /proc/<reconciler>/environ does not show them either. The job runs in its own process
// group, which is killed once the job's main process ends and when the run is cancelled
// (a child that calls setsid leaves the group and is not). Nothing else is isolated: the
// job runs as the reconciler's user unless WithUser names another, so it can read every
// file that user can (a credential file named by a _FILE variable included), and, where
// kernel.yama.ptrace_scope is 0, the reconciler's memory. For a job that must not reach the
// reconciler's credentials, run modelops as root with --job-user, or use the Kubernetes
// runner.
package local
