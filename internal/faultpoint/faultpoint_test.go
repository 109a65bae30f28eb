package faultpoint

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"
)

// TestHitKillsAtTheArmedOccurrence re-runs this test binary as a child that passes three
// fault points; the child must die by SIGKILL exactly at the armed one.
func TestHitKillsAtTheArmedOccurrence(t *testing.T) {
	if os.Getenv("FAULTPOINT_CHILD") == "1" {
		for i := 1; i <= 3; i++ {
			Hit("other")
			Hit("boundary")
			os.Stdout.WriteString("passed\n")
		}
		os.Exit(0)
	}
	for _, tt := range []struct {
		env    string
		passed int  // boundaries passed before the kill
		killed bool // false: the child ends normally
	}{
		{"", 3, false},
		{"boundary", 0, true},
		{"boundary:2", 1, true},
		{"boundary:3", 2, true},
		{"boundary:4", 3, false},
		{"nowhere", 3, false},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHitKillsAtTheArmedOccurrence$")
		cmd.Env = append(os.Environ(), "FAULTPOINT_CHILD=1", EnvVar+"="+tt.env)
		out, err := cmd.Output()
		var exit *exec.ExitError
		killed := errors.As(err, &exit) && exit.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL
		if killed != tt.killed {
			t.Errorf("%s=%q: killed %v (err %v), want %v", EnvVar, tt.env, killed, err, tt.killed)
		}
		if n := countLines(out); n != tt.passed {
			t.Errorf("%s=%q: passed %d boundaries, want %d", EnvVar, tt.env, n, tt.passed)
		}
	}
}

func countLines(b []byte) int {
	n := 0
	for _, c := range b {
		if c == '\n' {
			n++
		}
	}
	return n
}
