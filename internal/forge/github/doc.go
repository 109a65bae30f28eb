// Package github is the GitHub forge: proposals are pull requests on branches
// modelops/<model>/<kind>, found again by a hidden marker in their body, and checks are
// published as check runs (a GitHub App) or commit statuses (a personal access token).
//
// A proposal's pull request is found by its branch (GitHub's head filter), from this
// repository only: a fork's pull request is a person's, even with a copied marker.
//
// The proposal branch is built exactly as the embedded forge (internal/forge/local) builds
// it: reset to the request's base commit, the edited policy file committed with the
// reconciler's trailers, force-pushed (only modelops/ branches may be). The pull request
// carries the title, the evidence in the body, and the labels and reviewers of the
// repository's .modelops.yaml.
//
// The client is frugal with GitHub's API: Transport layers conditional requests (a 304
// costs no rate limit, but GitHub's ETags are specific to the token, so each hourly
// installation token pays once for every URL it reads again: in the steady state that is
// 2.25 counted requests per model per hour for a fleet of 8, the proposal and the check of
// each model and the two shared lists of pull requests, measured by
// TestSteadyStateCostsWithHourlyTokens), a client-side limit on content-creating requests
// (one a second, as GitHub asks), the primary rate limit read from the X-RateLimit headers,
// and retries of secondary limits, 429 and 5xx answers to idempotent requests (a POST or
// PATCH answered 5xx may have taken effect: the caller looks before writing again), every
// wait respecting the context and an injectable clock. Auth authenticates as
// a GitHub App installation (ghinstallation) or with a personal access token, for the API
// and for git over HTTPS, and never lets a token reach a log.
package github
