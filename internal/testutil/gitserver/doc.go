// Package gitserver starts a real git server over HTTP on loopback for tests.
//
// It serves bare repositories with `git http-backend` behind net/http/cgi on
// an httptest server at 127.0.0.1, so fetches and pushes meet the real git
// protocol implementation: receive-pack checks the old value of every ref
// it updates under a lock and answers a stale push with a proper "ng"
// status. (github.com/fluxcd/pkg/gittestserver was tried first; its gitkit
// handler merges receive-pack's stderr into the protocol stream, so exactly
// that rejection reaches the client as a corrupt response, "invalid pkt-len
// found".)
//
// Repositories are seeded from a fixture directory, and the server's own
// reflog (core.logAllRefUpdates=always) records every ref update so tests
// can prove that a branch was never force-updated. Optional basic auth
// tests credentials; middleware lets a test interfere with a push between
// its ref advertisement and its update.
//
// The package also runs the git command-line client with an isolated
// configuration, so tests can play a person committing and pushing.
// It is a test-only package: it needs the git binary.
package gitserver
