package audit

import (
	"fmt"
	"time"
)

// ParseSince reads a --since value: a date (2026-01-31, midnight UTC) or an RFC 3339 time
// (2026-01-31T08:00:00+01:00).
func ParseSince(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("expected a date (2026-01-31) or an RFC 3339 time (2026-01-31T08:00:00Z), got %q", s)
	}
	return t, nil
}
