// Package leader elects one acting replica of the reconciler with a coordination.k8s.io
// Lease, through client-go's leaderelection and its LeaseLock.
//
// Only the leader acts. The function given to Run gets a context that is cancelled the
// moment leadership is lost: when another identity is seen holding the Lease (stolen, or
// taken over after our lease expired; seen on the next renewal attempt, within one
// RetryPeriod), when renewing fails for RenewDeadline (which is
// shorter than LeaseDuration, so the old leader stops before anyone else may acquire), or
// when Run's own context ends. Run waits for the function to return before it releases
// the Lease (ReleaseOnCancel), so a successor never overlaps the work of its predecessor
// in a clean hand-over.
//
// The needed RBAC is get, create and update on leases in the Lease's namespace.
package leader
