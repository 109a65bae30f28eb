//go:build unix

package metrics

import (
	"syscall"
	"testing"
	"time"
)

// reportCPU starts measuring the process's CPU time (user + system) and returns a
// function that reports it per operation as the "cpu-ms/op" metric. On a shared machine
// this is steadier than wall time.
func reportCPU(b *testing.B) func() {
	start := processCPU()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64(processCPU()-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
		}
	}
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
