//go:build unix || windows

package policies

import "syscall"

// openNonBlock opens policy files in non-blocking mode (see readFile).
const openNonBlock = syscall.O_NONBLOCK
