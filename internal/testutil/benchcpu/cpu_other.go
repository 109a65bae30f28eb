//go:build !unix

package benchcpu

import "time"

// processCPU is not available without getrusage: nothing is reported.
func processCPU() (time.Duration, bool) { return 0, false }
