package main

import "fmt"

// errLite says that feature is missing from a binary built with -tags lite.
func errLite(feature string) error {
	return fmt.Errorf("%s: this modelops was built with -tags lite (as make demo builds it), without Kubernetes, GitHub and Prometheus; build the full binary with make build", feature)
}
