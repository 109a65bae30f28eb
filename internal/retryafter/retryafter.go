// Package retryafter reads an HTTP Retry-After header and hands the wait it asks for to
// cenkalti/backoff, keeping the failure that caused it for the log.
package retryafter

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// Parse reads a Retry-After header: delay-seconds or an HTTP date (RFC 9110 §10.2.3),
// relative to now. A date in the past waits 0; an empty or malformed header is not ok.
func Parse(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.Atoi(v); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// Error is a retryable failure whose next attempt waits as the server asked. backoff's own
// RetryAfterError carries only the wait; this keeps the failure too.
type Error struct {
	Err  error
	Wait time.Duration
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// As lets backoff.Retry find the wait as its *backoff.RetryAfterError.
func (e *Error) As(target any) bool {
	if t, ok := target.(**backoff.RetryAfterError); ok {
		*t = &backoff.RetryAfterError{Duration: e.Wait}
		return true
	}
	return false
}
