// Command switchyard is the Switchyard server and its command-line client:
// serve, import, export and validate, and the release, model, version and
// availability commands against a running server.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `switchyard — feature flags and staged releases

Usage:
  switchyard serve [flags]          run the server (defaults: ./switchyard.db, gRPC 127.0.0.1:9090, HTTP 127.0.0.1:8080)
  switchyard import [flags] FILE    apply a YAML or JSON document to a running server
  switchyard export [flags]         print a project's document from a running server
  switchyard validate FILE          check a document offline; prints every problem with its path
  switchyard release COMMAND        create, run and inspect staged releases: create, list, start,
                                    advance, approve, pause, resume, rollback, cancel, status, report
  switchyard model COMMAND          release models: list, create
  switchyard version [--json]       this binary's version, commit and Go version
  switchyard version COMMAND        component versions: register, list
  switchyard flag COMMAND           flags: stale (unused for days, or never)
  switchyard availability COMPONENT the version available to a client, and whether to update
  switchyard experiment COMMAND     A/B experiments: create, list, start, stop, results
  switchyard metric COMMAND         experiment metrics: create, list
  switchyard webhook COMMAND        webhook deliveries: deliveries, redeliver
  switchyard segment keys COMMAND   a segment's key lists: add, remove, replace, list
                                    (streamed, one key per line; --exclude for the exclude list)

Commands that call a running server take --server, --token, --project, and
--json to print the API's JSON answer instead of text.

Run 'switchyard COMMAND --help' for a command's flags. Every flag can also be
set as a SWITCHYARD_* environment variable (--http-addr: SWITCHYARD_HTTP_ADDR);
'serve' also reads them from a YAML file (--config, see 'serve --help').
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	var exit exitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		os.Exit(int(exit))
	case errors.Is(err, flag.ErrHelp):
	default:
		fmt.Fprintln(os.Stderr, "switchyard:", err)
		os.Exit(1)
	}
}

// exitError ends the program with a status after the command printed why.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// run runs one command.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitError(2)
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return runServe(ctx, rest, stdout, stderr)
	case "import":
		return runImport(ctx, rest, stdout, stderr)
	case "export":
		return runExport(ctx, rest, stdout, stderr)
	case "validate":
		return runValidate(rest, stdout, stderr)
	case "release":
		return runRelease(ctx, rest, stdout, stderr)
	case "model":
		return runModel(ctx, rest, stdout, stderr)
	case "version":
		return runVersion(ctx, rest, stdout, stderr)
	case "flag":
		return runFlag(ctx, rest, stdout, stderr)
	case "availability":
		return runAvailability(ctx, rest, stdout, stderr)
	case "experiment":
		return runExperiment(ctx, rest, stdout, stderr)
	case "metric":
		return runMetric(ctx, rest, stdout, stderr)
	case "webhook":
		return runWebhook(ctx, rest, stdout, stderr)
	case "segment":
		return runSegment(ctx, rest, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "switchyard: unknown command %q\n\n%s", cmd, usage)
	return exitError(2)
}
