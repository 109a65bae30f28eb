// Package benchcpu reports a benchmark's CPU time per operation beside its wall time. On a
// shared machine CPU time is the steadier figure, and it is the one to compare with a
// single-threaded reference run (SciPy) or to divide by the cores for an idle machine.
package benchcpu

import (
	"testing"
	"time"
)

// Report starts measuring the process's CPU time (user + system) and returns a function that
// reports it per operation as the metric "cpu-<unit>/op", unit being ms or s. Call it as
// `defer benchcpu.Report(b, "ms")()` after the benchmark's setup.
func Report(b *testing.B, unit string) func() {
	scale := time.Millisecond
	if unit == "s" {
		scale = time.Second
	}
	start, ok := processCPU()
	return func() {
		end, ok2 := processCPU()
		if ok && ok2 && b.N > 0 {
			b.ReportMetric(float64(end-start)/float64(scale)/float64(b.N), "cpu-"+unit+"/op")
		}
	}
}
