// Package reconciler owns the reconcile loop of modelops: observe the world, plan the actions
// that close the gap between it and the desired state in git, and apply them.
//
// The loop is level-triggered: each cycle reads the policies at the tip of the tracked branch,
// observes the status branch, proposals and training runs, and calls the pure function Plan.
// Every Action carries a deterministic key; applying an action whose effect already exists is a
// no-op, so a crash, a restart or a missed event never launches a job twice or opens a
// duplicate proposal.
//
// The package declares the small interfaces it consumes (Repo, Proposals, Runner, DriftChecker,
// Metrics, StatusStore); adapters under internal/ implement them.
package reconciler
