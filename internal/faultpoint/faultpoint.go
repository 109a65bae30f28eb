// Package faultpoint marks the boundaries between side effects where a crash must lose
// nothing and repeat nothing, so a test can kill the process exactly there.
//
// A process started with MODELOPS_FAULTPOINT=<name> sends itself SIGKILL the first time it
// reaches Hit(<name>); with <name>:<n>, the n-th time. Without the variable Hit does nothing
// but one atomic load.
package faultpoint

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
)

// EnvVar names the fault point to crash at.
const EnvVar = "MODELOPS_FAULTPOINT"

var (
	once    sync.Once
	armed   atomic.Bool
	target  string
	nth     int64
	reached atomic.Int64
)

func load() {
	v := os.Getenv(EnvVar)
	if v == "" {
		return
	}
	name, count, _ := strings.Cut(v, ":")
	n, err := strconv.ParseInt(count, 10, 64)
	if err != nil || n < 1 {
		n = 1
	}
	target, nth = name, n
	armed.Store(true)
}

// Hit marks the boundary name. It kills the process with SIGKILL when name is the armed
// fault point and this is the armed occurrence: no deferred call, no flush, as in a crash.
func Hit(name string) {
	once.Do(load)
	if !armed.Load() || name != target {
		return
	}
	if reached.Add(1) == nth {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // SIGKILL is delivered asynchronously; never run past the boundary
	}
}
