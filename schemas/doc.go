// Package schemas holds the JSON Schema of the modelops policy files, generated from the Go
// types in package policies so that editors (yaml-language-server) and CI tools can check a
// policy without running modelops.
//
// The committed file modelpolicy.v1alpha1.json is what `make schemas` writes; a test
// regenerates it in memory and fails when the committed copy is stale. The Go validator in
// package policies stays the authority: a few rules (strictly increasing canary steps, names
// unique across files, cron syntax) cannot be said in JSON Schema and are checked only there.
package schemas
