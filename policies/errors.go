package policies

import (
	"cmp"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/go-multierror"
)

// FieldError is one problem in a policy file. Error() renders "file:line:col: field: message".
// Field is a path such as spec.canary.steps[2] or spec.data.groups.omics.pattern.
//
// Validate returns FieldErrors with only Field and Message set; Parse and Load add the file and
// the position of the field (or of its nearest parent present in the file). A Column of 0
// means the column is unknown (YAML syntax errors carry only a line); the column is then left
// out of Error(), as compilers do.
type FieldError struct {
	File         string
	Line, Column int
	Field        string
	Message      string
}

// Error renders the error as "file:line:col: field: message", leaving out the parts that are
// unknown.
func (e *FieldError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(e.Line))
			if e.Column > 0 {
				b.WriteByte(':')
				b.WriteString(strconv.Itoa(e.Column))
			}
		}
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// FieldErrors returns every *FieldError inside err (a *FieldError, a *multierror.Error or any
// error wrapping them), in order. Errors of other types are returned as FieldErrors with only
// the message set, so that callers can print one list.
func FieldErrors(err error) []*FieldError {
	if err == nil {
		return nil
	}
	var merr *multierror.Error
	if errors.As(err, &merr) {
		var out []*FieldError
		for _, e := range merr.Errors {
			out = append(out, FieldErrors(e)...)
		}
		return out
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		return []*FieldError{fe}
	}
	return []*FieldError{{Message: err.Error()}}
}

// compareErrors orders errors by file, line, column, field and message; FieldErrors come
// before other errors.
func compareErrors(a, b error) int {
	var fa, fb *FieldError
	okA, okB := errors.As(a, &fa), errors.As(b, &fb)
	switch {
	case okA && okB:
		return cmp.Or(
			strings.Compare(fa.File, fb.File),
			cmp.Compare(fa.Line, fb.Line),
			cmp.Compare(fa.Column, fb.Column),
			strings.Compare(fa.Field, fb.Field),
			strings.Compare(fa.Message, fb.Message),
		)
	case okA:
		return -1
	case okB:
		return 1
	}
	return strings.Compare(a.Error(), b.Error())
}

// sortErrors sorts errs in place by file, line and column.
func sortErrors(errs []error) {
	slices.SortStableFunc(errs, compareErrors)
}

// multiError wraps errs (nil when empty) in a *multierror.Error whose text lists one error
// per line, the way a linter prints them. Policy validation keeps go-multierror because
// *multierror.Error is the documented type of Parse's and Validate's errors and its
// ErrorFormat gives that listing; elsewhere the module combines errors with errors.Join,
// which is enough where nobody needs the list's type or format.
func multiError(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return &multierror.Error{Errors: errs, ErrorFormat: listFormat}
}

func listFormat(errs []error) string {
	lines := make([]string, len(errs))
	for i, e := range errs {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}
