package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
)

// subcommand is one command of a group such as "release start".
type subcommand struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// runGroup runs the subcommand of group that args name; without one, or
// with help, it prints the group's commands.
func runGroup(ctx context.Context, group string, cmds []subcommand, args []string, stdout, stderr io.Writer) error {
	usage := func(w io.Writer) {
		fmt.Fprintf(w, "Usage: switchyard %s COMMAND [flags] [arguments]\n\nCommands:\n", group)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, c := range cmds {
			fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
		}
		tw.Flush()
		fmt.Fprintf(w, "\nRun 'switchyard %s COMMAND --help' for a command's flags.\n", group)
	}
	if len(args) == 0 {
		usage(stderr)
		return exitError(2)
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return nil
	}
	for _, c := range cmds {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "switchyard %s: unknown command %q\n\n", group, args[0])
	usage(stderr)
	return exitError(2)
}
