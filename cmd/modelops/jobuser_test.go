package main

import (
	"strings"
	"testing"
)

func TestJobUserFlag(t *testing.T) {
	for _, spec := range []string{"65534", "65534:65534", "nobody"} {
		if _, err := jobUser(spec); err != nil {
			t.Errorf("--job-user %s: %v", spec, err)
		}
	}
	for spec, want := range map[string]string{
		"0":                  "must not run as root",
		"root":               "must not run as root",
		"65534:staff":        "expected a user name, a uid or uid:gid",
		"no-such-user-xyzzy": "unknown user",
	} {
		if _, err := jobUser(spec); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("--job-user %s: %v, want an error containing %q", spec, err, want)
		}
	}
}
