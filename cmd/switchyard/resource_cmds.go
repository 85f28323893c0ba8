package main

import "github.com/spf13/cobra"

// newResourceCmds returns the top-level commands for the resources an
// operator reads and changes beside flags: evaluate, key, audit, project,
// environment and component.
func newResourceCmds(c *cli) []*cobra.Command {
	return []*cobra.Command{newEvaluateCmd(c), newKeyCmd(c), newAuditCmd(c)}
}
