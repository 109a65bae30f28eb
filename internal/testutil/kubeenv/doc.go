// Package kubeenv starts a real Kubernetes API server for tests: etcd and kube-apiserver on
// free loopback ports, with no kubelet, scheduler or controller-manager.
//
// The binaries are built from the Go module proxy by `make testenv` (scripts/testenv.sh) and
// found in $MODELOPS_TESTENV_DIR or ${XDG_CACHE_HOME:-$HOME/.cache}/modelops-testenv/<version>/.
// When they are missing or the server does not become ready, the test fails with a message
// saying to run `make testenv`; it never skips, so a machine without the binaries cannot pass
// the Kubernetes tests by accident.
//
// One server per test:
//
//	env := kubeenv.Start(t) // stopped by t.Cleanup
//
// One server per package (a server takes a few seconds and about 300 MiB to start):
//
//	var env *kubeenv.Env
//
//	func TestMain(m *testing.M) { os.Exit(kubeenv.Main(m, &env)) }
//
// What the server does and does not do:
//   - Authorization is RBAC. Config is a system:masters admin (a static bearer token);
//     ImpersonatedConfig acts as any user or ServiceAccount
//     ("system:serviceaccount:<ns>:<name>"), so RBAC rules can be checked for real.
//   - The ServiceAccount admission plugin is off, because nothing creates the "default"
//     ServiceAccount of a namespace.
//   - Nothing runs pods and no controller acts: a test plays the job controller by writing a
//     Job's status through the status subresource. The API server validates that status as
//     the job controller writes it: startTime (and active) first; success needs succeeded,
//     completionTime and the conditions SuccessCriteriaMet and Complete; failure needs
//     FailureTarget then Failed.
//   - Nothing removes finalizers: delete Jobs with PropagationPolicy Background, or a
//     re-create fails with "object is being deleted".
//   - Deleted namespaces stay Terminating forever, so Namespace gives every test its own.
//   - RestartAPIServer stops kube-apiserver and starts it again on the same port, with the
//     same certificate, token and etcd, so clients built before the restart keep working
//     and watches see their connection end.
//
// Processes are started in their own process group and stopped by pid (SIGTERM, then
// SIGKILL); they also die with the test binary, so a test that times out leaks nothing.
package kubeenv
