// Command modelops is the GitOps reconciler for machine-learning models.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	os.Exit(runMain(os.Args[1:]))
}

// runMain runs the CLI with a context that SIGINT and SIGTERM cancel, its credentials out
// of the process's environment block (hideSecretEnv).
func runMain(args []string) int {
	if err := hideSecretEnv(); err != nil {
		fmt.Fprintln(os.Stderr, "modelops:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return execute(ctx, args)
}

// execute runs the CLI and maps errors to the documented exit status:
// 0 success, 1 failure, 2 invalid input (policy or data).
func execute(ctx context.Context, args []string) int {
	root := newRootCmd()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var exit *exitError
	if errors.As(err, &exit) {
		if exit.err != nil {
			fmt.Fprintln(os.Stderr, "modelops:", exit.err)
		}
		return exit.code
	}
	fmt.Fprintln(os.Stderr, "modelops:", err)
	return 1
}

// exitError carries an exit status other than 1 out of a command. A nil err means the
// command already printed what went wrong.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// invalidInput marks err as invalid input (exit status 2).
func invalidInput(err error) error { return &exitError{code: 2, err: err} }
