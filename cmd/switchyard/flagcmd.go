package main

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

// newFlagCmd is "switchyard flag": the flags of a project.
func newFlagCmd(c *cli) *cobra.Command {
	cmd := groupCmd("flag", "Flags: list, get, create, toggle, set, delete, stale")
	cmd.AddCommand(newFlagStaleCmd(c))
	cmd.AddCommand(newFlagCRUDCmds(c)...)
	return cmd
}

func newFlagStaleCmd(c *cli) *cobra.Command {
	var days int
	cmd := &cobra.Command{
		Use:   "stale",
		Short: "List flags no SDK exposed and the server did not evaluate for days, or ever",
		Args:  argsNamed(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if days < 1 {
				return usageError{fmt.Errorf("--days %d: must be at least 1", days)}
			}
			var resp pb.ListStaleFlagsResponse
			raw, err := c.call(cmd.Context(), http.MethodGet, c.path()+"/flags:stale?days="+strconv.Itoa(days), nil, &resp)
			if err != nil {
				return err
			}
			return c.print(raw, func(w io.Writer) {
				if len(resp.GetFlags()) == 0 {
					fmt.Fprintf(w, "no flag of %s unused for %d days\n", c.project, resp.GetDays())
					return
				}
				fmt.Fprintln(w, "FLAG\tLAST SEEN\tENVIRONMENTS")
				for _, f := range resp.GetFlags() {
					envs := make([]string, 0, len(f.GetEnvironments()))
					for _, e := range f.GetEnvironments() {
						envs = append(envs, e.GetEnvironment()+" "+seenText(e.GetLastSeen().AsTime(), e.GetLastSeen() != nil))
					}
					fmt.Fprintf(w, "%s\t%s\t%s\n", f.GetFlag(), seenText(f.GetLastSeen().AsTime(), f.GetLastSeen() != nil), strings.Join(envs, ", "))
				}
			})
		},
	}
	cmd.Flags().IntVar(&days, "days", 30, "days without an exposure or evaluation in any environment that make a flag stale")
	return cmd
}

// seenText is a last-seen time for a table: "never" when there is none.
func seenText(t time.Time, ok bool) string {
	if !ok {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}
