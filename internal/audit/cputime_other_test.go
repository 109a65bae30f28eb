//go:build !unix

package audit

import "time"

// processCPU cannot be read here; benchmarks leave their CPU metric out.
func processCPU() (time.Duration, bool) { return 0, false }
