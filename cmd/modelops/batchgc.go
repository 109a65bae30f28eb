package main

import (
	"os"
	"runtime/debug"
)

// batchMemoryLimit is the heap size at which the collector runs in a batch command.
const batchMemoryLimit = 400 << 20

// batchGC tunes the collector for a batch command (validate, audit) and returns the function
// that restores it. Almost everything such a command allocates is YAML node trees (and git
// objects) that are garbage as soon as a file is decoded, so collecting at every doubling of
// the small heap spends about a quarter of the CPU for nothing. The collector runs only
// when the heap nears batchMemoryLimit instead: a soft limit, so a larger input still runs,
// with collections. A GOGC or GOMEMLIMIT set by the user wins.
func batchGC() (restore func()) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	limit := debug.SetMemoryLimit(batchMemoryLimit)
	percent := debug.SetGCPercent(-1)
	return func() {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	}
}
