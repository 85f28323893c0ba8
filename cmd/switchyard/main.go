// Command switchyard is the Switchyard server and its command-line client:
// serve, import, export and validate, and the release, model, version and
// availability commands against a running server.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil:
		return
	case !errors.As(err, new(exitError)):
		// An exitError's command has already said why.
		fmt.Fprintln(os.Stderr, "switchyard:", err)
	}
	os.Exit(exitCode(err))
}

// exitError ends the program with a status after the command printed why.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// run runs the command args name. An error that is not the command's own
// (unknown command or flag, wrong arguments) is a usageError.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	root, c := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	if len(args) == 0 {
		root.SetOut(stderr)
		root.Help()
		return exitError(exitUsage)
	}
	err := root.ExecuteContext(ctx)
	if err != nil && !c.prepared && !errors.As(err, new(usageError)) {
		err = usageError{err}
	}
	return err
}
