package main

import (
	"fmt"
	"io"
	"net/http"

	"github.com/spf13/cobra"
)

// newResourceCmds returns the top-level commands for the resources an
// operator reads and changes beside flags: evaluate, key, audit, project,
// environment and component.
//
// The commands for groups another file owns are registered there:
// newVersionCRUDCmds under version, newSegmentCRUDCmds under segment,
// newWebhookCRUDCmds under webhook, newReleaseRecordCmds under release.
func newResourceCmds(c *cli) []*cobra.Command {
	return []*cobra.Command{newEvaluateCmd(c), newKeyCmd(c), newAuditCmd(c), newProjectCmd(c), newEnvironmentCmd(c), newComponentCmd(c)}
}

// newCreateCmd is "create KEY [--description D]" of a resource that has
// only those: route gives the path to POST and the body.
func newCreateCmd(c *cli, noun string, route func(key, description string) (path string, body any)) *cobra.Command {
	var description string
	cmd := &cobra.Command{
		Use:   "create KEY",
		Short: "Create a " + noun,
		Args:  argsNamed("KEY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, body := route(args[0], description)
			raw, err := c.call(cmd.Context(), http.MethodPost, path, body, nil)
			if err != nil {
				return err
			}
			return c.print(raw, func(w io.Writer) { fmt.Fprintf(w, "created %s %s\n", noun, args[0]) })
		},
	}
	cmd.Flags().StringVar(&description, "description", "", "what the "+noun+" is for")
	return cmd
}

// newDeleteCmd is "delete KEY [--etag E]" of a resource of kind (its
// keys complete the argument): path gives the resource's path.
func newDeleteCmd(c *cli, noun, short string, kind resourceKind, path func(key string) string) *cobra.Command {
	var etag string
	cmd := &cobra.Command{
		Use:               "delete KEY",
		Short:             short,
		Args:              argsNamed("KEY"),
		ValidArgsFunction: c.completeArgs(kind),
		RunE: func(cmd *cobra.Command, args []string) error {
			raw, err := c.call(cmd.Context(), http.MethodDelete, withQuery(path(args[0]), "etag", etag), nil, nil)
			if err != nil {
				return err
			}
			return c.print(raw, func(w io.Writer) { fmt.Fprintf(w, "deleted %s %s\n", noun, args[0]) })
		},
	}
	cmd.Flags().StringVar(&etag, "etag", "", "delete only if the "+noun+" still has this etag")
	return cmd
}
