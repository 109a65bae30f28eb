//go:build unix

package audit

import (
	"syscall"
	"time"
)

// processCPU is the CPU time this process has used (user and system, every thread), or
// false when it cannot be read. Children (git) are not counted.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
