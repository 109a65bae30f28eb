//go:build !(unix || windows)

package policies

// openNonBlock is 0 where the platform has no non-blocking open (js, wasip1).
const openNonBlock = 0
