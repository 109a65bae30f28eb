package policies

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// durationHint is the shape of a duration, for error messages.
const durationHint = "a duration such as 6h, 90m, 30d or 1d12h"

// ParseDuration reads a Go/Kubernetes-style duration ("6h", "90m", "1h30m"), with days
// as one more unit: "d" is 24 hours (whatever the calendar does: 7d is 168 hours across a
// daylight-saving change too) and combines with the others ("90d", "1d12h",
// "0d", "1.5d"). Anything time.ParseDuration reads is read the same way.
func ParseDuration(s string) (time.Duration, error) {
	if !strings.Contains(s, "d") {
		return time.ParseDuration(s)
	}
	bad := errors.New("time: invalid duration " + strconv.Quote(s))
	rest, neg := s, false
	if rest != "" && (rest[0] == '-' || rest[0] == '+') {
		neg, rest = rest[0] == '-', rest[1:]
	}
	// Split off every "<number>d" term; what remains, in order, is for time.ParseDuration.
	var total time.Duration
	var others strings.Builder
	for rest != "" {
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.') {
			i++
		}
		if i == 0 {
			return 0, bad
		}
		j := i
		for j < len(rest) && (rest[j] < '0' || rest[j] > '9') && rest[j] != '.' {
			j++
		}
		num, unit := rest[:i], rest[i:j]
		rest = rest[j:]
		if unit != "d" {
			others.WriteString(num + unit)
			continue
		}
		// Days are read as hours and scaled, so "1.5d" is exactly 36h.
		h, err := time.ParseDuration(num + "h")
		if err != nil || h > (1<<63-1)/24 {
			return 0, bad
		}
		total += h * 24
		if total < 0 {
			return 0, bad
		}
	}
	if others.Len() > 0 {
		d, err := time.ParseDuration(others.String())
		if err != nil || total+d < total {
			return 0, bad
		}
		total += d
	}
	if neg {
		total = -total
	}
	return total, nil
}
