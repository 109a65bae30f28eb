// Package gitserver starts a real git server over HTTP on loopback for tests.
//
// It wraps github.com/fluxcd/pkg/gittestserver, which serves each request by
// running the real `git upload-pack` and `git receive-pack` in stateless-RPC
// mode, so fetches and pushes behave exactly as against a hosted server: the
// server checks the old value of every ref it updates and rejects stale
// pushes. Repositories are seeded from a fixture directory, and the server's
// own reflog (core.logAllRefUpdates=always) records every ref update so tests
// can prove that a branch was never force-updated.
//
// The package also runs the git command-line client with an isolated
// configuration, so tests can play a person committing and pushing.
// It is a test-only package: it needs the git binary.
package gitserver
