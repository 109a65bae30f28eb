//go:build !unix

package metrics

import "testing"

// reportCPU reports nothing where the process's CPU time is not available.
func reportCPU(*testing.B) func() { return func() {} }
