package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/spf13/cobra"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

// newComponentCmd is "switchyard component": the deployable things whose
// versions CI/CD registers ('switchyard version register').
func newComponentCmd(c *cli) *cobra.Command {
	var description, minSupported string
	create := &cobra.Command{
		Use:   "create KEY [--min-supported VERSION] [--description D]",
		Short: "Create a component; its versions are registered with 'version register'",
		Args:  argsNamed("KEY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			body := &pb.Component{Key: args[0], Description: description, MinSupported: minSupported}
			raw, err := c.call(cmd.Context(), http.MethodPost, c.path("components"), body, nil)
			if err != nil {
				return err
			}
			return c.print(raw, func(w io.Writer) { fmt.Fprintf(w, "created component %s\n", args[0]) })
		},
	}
	create.Flags().StringVar(&description, "description", "", "what the component is")
	create.Flags().StringVar(&minSupported, "min-supported", "", "the lowest version clients may run; below it an update is required")
	list := &cobra.Command{
		Use:   "list",
		Short: "List the project's components with their versions",
		Args:  argsNamed(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var resp pb.ListComponentsResponse
			raw, err := c.listAll(cmd.Context(), c.path("components"), "components", &resp)
			if err != nil {
				return err
			}
			return c.print(raw, func(w io.Writer) {
				if len(resp.GetComponents()) == 0 {
					fmt.Fprintf(w, "no components in %s\n", c.project)
					return
				}
				fmt.Fprintln(w, "COMPONENT\tMIN SUPPORTED\tVERSIONS\tDESCRIPTION")
				for _, comp := range resp.GetComponents() {
					versions := make([]string, 0, len(comp.GetVersions()))
					for _, v := range comp.GetVersions() {
						text := v.GetVersion()
						if v.GetWithdrawn() {
							text += " (withdrawn)"
						}
						versions = append(versions, text)
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", comp.GetKey(), orDash(comp.GetMinSupported()),
						orDash(strings.Join(versions, ", ")), comp.GetDescription())
				}
			})
		},
	}
	cmd := groupCmd("component", "Components: create, list (versions: 'switchyard version')")
	cmd.AddCommand(create, list)
	return cmd
}

// newVersionCRUDCmds returns the commands of "switchyard version" that
// change a registered version: withdraw.
func newVersionCRUDCmds(c *cli) []*cobra.Command {
	var etag string
	withdraw := &cobra.Command{
		Use:   "withdraw COMPONENT VERSION",
		Short: "Withdraw a version: never served again, clients on it must update; it cannot be restored",
		Long: `Withdraw a version: it is never served again and clients that run it must
update. A withdrawn version cannot be restored, and a version that some
environment's targeting still serves cannot be withdrawn (change the
targeting first).`,
		Args:              argsNamed("COMPONENT", "VERSION"),
		ValidArgsFunction: c.completeArgs(kindComponents),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := c.path("components", args[0], "versions", args[1])
			if etag == "" {
				var cur pb.ComponentVersion
				if _, err := c.call(cmd.Context(), http.MethodGet, path, nil, &cur); err != nil {
					return err
				}
				etag = cur.GetEtag()
			}
			var out pb.ComponentVersion
			raw, err := c.call(cmd.Context(), http.MethodPatch, withQuery(path, "update_mask", "withdrawn", "etag", etag),
				&pb.Version{Version: args[1], Withdrawn: true}, &out)
			if err != nil {
				return err
			}
			return c.print(raw, func(w io.Writer) {
				fmt.Fprintf(w, "%s %s: %s\n", out.GetComponent(), out.GetVersion().GetVersion(), out.GetState())
			})
		},
	}
	withdraw.Flags().StringVar(&etag, "etag", "", "withdraw only if the component still has this etag (default: the etag read just before)")
	return []*cobra.Command{withdraw}
}
