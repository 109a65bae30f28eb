// Package notify tells people what the reconciler did: a rollback, drift that opened a
// retrain proposal, a promotion proposed or merged, a training run that failed.
//
// An Event goes to every configured Sink: a generic JSON webhook (the Event itself), a
// Slack incoming webhook (text plus Block Kit blocks), or email (a plain-text and an HTML
// part, sent with go-mail over STARTTLS or TLS, authenticated with AUTH PLAIN). Notifier.Notify never blocks the
// reconcile loop: each sink has a bounded queue drained by its own goroutine, which retries
// failed deliveries with exponential backoff and jitter (cenkalti/backoff), waits as long as
// a 429 response's Retry-After asks, and gives up after a bounded number of attempts. When a
// queue is full the oldest event is dropped and counted. Close delivers what is queued, up
// to a deadline.
//
// Webhook URLs and SMTP passwords are secrets (a Slack URL carries its token): they appear in
// no log line and no error; sinks are named in both instead.
package notify
