// Command gen writes the JSON Schema of the policy files from the Go types in policies/.
// `make schemas` runs it from the repository root.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/medimind/modelops/schemas"
)

func main() {
	policiesDir := flag.String("policies", "policies", "directory of package policies, whose doc comments become descriptions")
	out := flag.String("o", filepath.Join("schemas", schemas.ModelPolicyFile), "file to write")
	flag.Parse()
	if err := run(*policiesDir, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(policiesDir, out string) error {
	b, err := schemas.Generate(policiesDir)
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, b, 0o644); err != nil {
		return fmt.Errorf("write schema: %w", err)
	}
	return nil
}
