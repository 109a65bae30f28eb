// Package github is the GitHub forge: proposals are pull requests on branches
// modelops/<model>/<kind>, found again by a hidden marker in their body, and checks are
// published as check runs (a GitHub App) or commit statuses (a personal access token).
//
// The proposal branch is built exactly as the embedded forge (internal/forge/local) builds
// it: reset to the request's base commit, the edited policy file committed with the
// reconciler's trailers, force-pushed (only modelops/ branches may be). The pull request
// carries the title, the evidence in the body, and the labels and reviewers of the
// repository's .modelops.yaml.
//
// The client is frugal with GitHub's API: Transport layers conditional requests (a 304
// costs no rate limit), a client-side limit on content-creating requests, the primary rate
// limit read from the X-RateLimit headers, and retries of secondary limits, 429 and 5xx
// answers, every wait respecting the context and an injectable clock. Auth authenticates as
// a GitHub App installation (ghinstallation) or with a personal access token, for the API
// and for git over HTTPS, and never lets a token reach a log.
package github
