package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	runnerkfp "github.com/medimind/modelops/internal/runner/kfp"
	"github.com/medimind/modelops/policies"
)

// validateOptions are the flags of modelops validate.
type validateOptions struct {
	output string // text or json
	stdout io.Writer
	stderr io.Writer
}

func newValidateCmd() *cobra.Command {
	opts := validateOptions{}
	cmd := &cobra.Command{
		Use:   "validate [PATH...]",
		Short: "Check policy files and directories of policies",
		Long: `validate reads ModelPolicy files (a directory is searched for *.yaml and *.yml, skipping
.git and the paths listed in .modelopsignore) and reports every problem at once, one per line:

  file:line:col: field: message

In a directory, a data path through a symbolic link the reconciler would not follow (an
absolute link, one out of the repository, more than 8 on the way) is an error too.

Paths in messages are relative to the current directory when PATH is, so editors can jump to
them. YAML documents of other API groups are ignored. With -o json the result is printed as
{"valid", "policies": [{"name", "file"}], "errors": [{"file", "line", "column", "field", "message"}]}.

Exit status: 0 all valid, 1 failure (e.g. a path cannot be read), 2 invalid policy.`,
		Example: `  modelops validate                 # the policy repository in the current directory
  modelops validate models/sepsis-risk.yaml
  modelops validate -o json .`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.stdout, opts.stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runValidate(cmd.Context(), opts, args)
		},
	}
	cmd.Flags().StringVarP(&opts.output, "output", "o", "text", "output format: text or json")
	return cmd
}

// validateResult is the JSON output of modelops validate.
type validateResult struct {
	Valid    bool              `json:"valid"`
	Policies []validatePolicy  `json:"policies"`
	Errors   []validateProblem `json:"errors"`
}

type validatePolicy struct {
	Name string `json:"name"`
	File string `json:"file"`
}

type validateProblem struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

// runValidate validates the policies at args (files or directories; default "."). It prints
// the problems itself and returns an *exitError with code 2 when any policy is invalid, and a
// plain error (exit status 1) when a path cannot be read.
func runValidate(ctx context.Context, opts validateOptions, args []string) error {
	if opts.output != "text" && opts.output != "json" {
		return fmt.Errorf("unknown output format %q, expected text or json", opts.output)
	}
	if len(args) == 0 {
		args = []string{"."}
	}
	// validate is a batch: it parses every file once and keeps only the small decoded
	// policies; for 10,000 policies the collector then almost never runs.
	defer batchGC()()
	// Files given one by one are checked together, as parts of one repository, so that a
	// name used twice among them is reported; each directory is a repository of its own.
	var sets []*policies.Set
	var files []*policies.Policy
	var fileErrs []error
	for _, arg := range args {
		if err := ctx.Err(); err != nil {
			return err
		}
		info, err := os.Stat(arg)
		if err != nil {
			if pe, ok := errors.AsType[*fs.PathError](err); ok {
				err = pe.Err // the path is named once, not "validate X: stat X: ..."
			}
			return fmt.Errorf("validate %s: %w", arg, err)
		}
		if info.IsDir() {
			set, err := validateDir(arg)
			if err != nil {
				return err
			}
			sets = append(sets, set)
			continue
		}
		data, err := os.ReadFile(arg)
		if err != nil {
			return fmt.Errorf("validate %s: %w", arg, err)
		}
		ps, perr := policies.Parse(arg, data)
		files = append(files, ps...)
		fileErrs = append(fileErrs, perr)
	}
	if len(files) > 0 || len(fileErrs) > 0 {
		sets = append(sets, policies.NewSet(files, fileErrs...))
	}

	res := validateResult{Policies: []validatePolicy{}, Errors: []validateProblem{}}
	for _, set := range sets {
		for _, p := range set.Policies {
			res.Policies = append(res.Policies, validatePolicy{Name: p.Metadata.Name, File: p.File})
		}
		for _, fe := range policies.FieldErrors(set.Err()) {
			res.Errors = append(res.Errors, validateProblem{fe.File, fe.Line, fe.Column, fe.Field, fe.Message})
		}
	}
	res.Valid = len(res.Errors) == 0

	if opts.output == "json" {
		enc := json.NewEncoder(opts.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return fmt.Errorf("write result: %w", err)
		}
	} else {
		for _, e := range res.Errors {
			fe := policies.FieldError{File: e.File, Line: e.Line, Column: e.Column, Field: e.Field, Message: e.Message}
			fmt.Fprintln(opts.stderr, fe.Error())
		}
		if res.Valid {
			noun := "policies"
			if len(res.Policies) == 1 {
				noun = "policy"
			}
			fmt.Fprintf(opts.stdout, "%d %s valid\n", len(res.Policies), noun)
		}
	}
	if !res.Valid {
		return &exitError{code: 2}
	}
	return nil
}

// validateDir loads the policy repository at dir. File names in the result are as the user
// would type them: dir joined with the path inside it.
func validateDir(dir string) (*policies.Set, error) {
	set, err := policies.LoadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("validate %s: %w", dir, err)
	}
	set.Errors = append(set.Errors, checkPipelineSpecs(dir, set)...)
	for _, p := range set.Policies {
		p.File = filepath.Join(dir, filepath.FromSlash(p.File))
	}
	for _, e := range set.Errors {
		var fe *policies.FieldError
		if errors.As(e, &fe) && fe.File != "" {
			fe.File = filepath.Join(dir, filepath.FromSlash(fe.File))
		}
	}
	return set, nil
}

// checkPipelineSpecs checks the compiled pipelines the policies of the repository at dir
// submit inline (spec.retrain.pipeline.spec) as the Kubeflow runner will at launch: the
// fields the API server needs and the inputs the run passes, so a broken pipeline is found
// before a retrain is merged rather than after.
func checkPipelineSpecs(dir string, set *policies.Set) []error {
	var errs []error
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil // LoadDir has opened it; a race with its removal is reported elsewhere
	}
	defer root.Close()
	for _, p := range set.Policies {
		r := p.Spec.Retrain
		if r == nil || r.Pipeline == nil || r.Pipeline.Spec == "" {
			continue
		}
		pl := r.Pipeline
		ir, err := fs.ReadFile(root.FS(), pl.Spec)
		if err != nil {
			errs = append(errs, p.Errorf("spec.retrain.pipeline.spec", "the compiled pipeline cannot be read: %v", err))
			continue
		}
		if _, err := runnerkfp.InlineSpec(ir, filepath.Join(dir, filepath.FromSlash(pl.Spec)), pl.CachingEnabled, slices.Collect(maps.Keys(pl.Parameters))); err != nil {
			errs = append(errs, p.Errorf("spec.retrain.pipeline.spec", "%v", err))
		}
	}
	return errs
}
