// Package ui is the read-only web UI of `modelops run --ui`: an overview of every model, a
// page per model (drift over time by feature group, the latest report's columns, canary
// checks, training runs, the audit timeline) and any drift report of the status branch.
//
// It reads the same status the API serves — the reconciler's snapshot and the status
// branch — so it is never a second source of truth. Pages are rendered on the server with
// html/template, charts are server-rendered SVG (native tooltips from <title>, so they need
// no script), and the few static files are embedded: no request leaves the machine, the
// Content-Security-Policy allows nothing but this origin, and every page works with
// JavaScript off. The one script reloads the page's main content when a cycle ends
// (Server-Sent Events on /ui/events).
//
// Access: a login form takes the API token and sets an HttpOnly, SameSite=Strict cookie
// holding a random session id (never the token); with AuthProxy the UI trusts the
// X-Forwarded-User / X-Forwarded-Email headers of an authenticating proxy instead.
package ui
