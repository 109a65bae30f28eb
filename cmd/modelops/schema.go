package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/medimind/modelops/schemas"
)

func newSchemaCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of ModelPolicy files",
		Long: `schema prints the JSON Schema (draft 2020-12) of ModelPolicy files to stdout, for editors
and CI. With yaml-language-server, a policy file that starts with

  # yaml-language-server: $schema=<path>/modelpolicy.v1alpha1.json

gets completion, hover help and validation. modelops validate remains the authority: a few
rules (strictly increasing canary steps, names unique across files, cron syntax) are checked
only there.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSchema(cmd.OutOrStdout())
		},
	}
}

// runSchema writes the embedded ModelPolicy schema to w.
func runSchema(w io.Writer) error {
	if _, err := w.Write(schemas.ModelPolicy); err != nil {
		return fmt.Errorf("write schema: %w", err)
	}
	return nil
}
