package retryafter

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v5"
)

func TestParseReadsSecondsAndDates(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		header string
		want   time.Duration
		ok     bool
	}{
		{"120", 2 * time.Minute, true},
		{" 7 ", 7 * time.Second, true},
		{"0", 0, true},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
		{"-5", 0, false},
		{"soon", 0, false},
		{"", 0, false},
	} {
		got, ok := Parse(tc.header, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Parse(%q) = %v, %v; want %v, %v", tc.header, got, ok, tc.want, tc.ok)
		}
	}
}

// backoff.Retry waits what the Error asks, and the failure stays visible to the caller.
func TestErrorCarriesTheWaitToBackoffAndKeepsTheFailure(t *testing.T) {
	cause := errors.New("429 too many requests")
	var waited []time.Duration
	last := time.Now()
	attempts := 0
	_, err := backoff.Retry(context.Background(), func() (int, error) {
		attempts++
		now := time.Now()
		waited = append(waited, now.Sub(last))
		last = now
		return 0, &Error{Err: cause, Wait: 50 * time.Millisecond}
	}, backoff.WithMaxTries(2), backoff.WithBackOff(backoff.NewConstantBackOff(time.Hour)))
	if attempts != 2 || waited[1] < 50*time.Millisecond || waited[1] > 10*time.Second {
		t.Fatalf("attempts %d, waits %v: want the second after the asked 50ms, not the hour of the policy", attempts, waited)
	}
	if !errors.Is(err, cause) {
		t.Fatalf("Retry returned %v, want the failure", err)
	}
}
