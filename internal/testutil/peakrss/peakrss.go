// Package peakrss measures a piece of work's peak resident memory (VmHWM) in a fresh child
// process: the test binary re-runs itself on one child test, which does the work and prints
// its peak, so nothing the parent allocated counts.
package peakrss

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

const marker = "VmHWM "

// Child re-runs the test binary on the test named child with the extra environment env
// (KEY=value) and returns the peak resident memory, in bytes, the child reported with Print.
func Child(t testing.TB, child string, env ...string) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+child+"$", "-test.v")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	_, after, ok := strings.Cut(string(out), marker)
	if !ok {
		t.Fatalf("child printed no %s:\n%s", strings.TrimSpace(marker), out)
	}
	kb, err := strconv.Atoi(strings.Fields(after)[0])
	if err != nil {
		t.Fatalf("child output %q: %v", out, err)
	}
	return kb * 1024
}

// Print writes the process's peak resident memory for Child to read. Call it in the child
// test once the work is done, while its results are still live.
func Print(t testing.TB) {
	t.Helper()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			fmt.Printf("%s%s\n", marker, strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
}
