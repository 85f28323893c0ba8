package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/switchyard/switchyard/internal/buildinfo"
	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

// newVersionCmd is "switchyard version": this binary's version, and the
// commands of component versions.
func newVersionCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "version",
		Short: "This binary's version; component versions: register, list",
		Long: `With no command: this binary's module version, commit (with "-dirty" for a
build of a modified tree) and Go version; --output json prints an object.

The commands register and list the versions of a component on a server.`,
		Example: `  switchyard version
  switchyard version --output json
  switchyard version register ios-app 2.4.0 --notes "New checkout"`,
		Args:        noCommand,
		Annotations: map[string]string{noProfile: "true"},
		RunE: func(*cobra.Command, []string) error {
			info := buildinfo.Get()
			raw, err := json.Marshal(info)
			if err != nil {
				return err
			}
			return c.print(raw, func(w io.Writer) {
				fmt.Fprintf(w, "switchyard %s\ncommit %s\n%s\n", info.Version, info.Commit, info.GoVersion)
			})
		},
	}
	cmd.AddCommand(newVersionRegisterCmd(c), newVersionListCmd(c))
	cmd.AddCommand(newVersionCRUDCmds(c)...)
	return cmd
}

func newVersionRegisterCmd(c *cli) *cobra.Command {
	v := &pb.Version{}
	var labels []string
	cmd := &cobra.Command{
		Use:   "register COMPONENT VERSION",
		Short: "Register a version the pipeline has deployed (switched off)",
		Example: `  switchyard version register ios-app 2.4.0 --notes "New checkout" \
    --artifact https://ci.example.com/ios-app/2.4.0.ipa --label build=1234`,
		Args:              argsNamed("COMPONENT", "VERSION"),
		ValidArgsFunction: c.completeArgs(kindComponents),
		RunE: func(cmd *cobra.Command, args []string) error {
			v.Version = args[1]
			for _, l := range labels {
				k, val, ok := strings.Cut(l, "=")
				if !ok || k == "" {
					return usageError{fmt.Errorf("--label %q: want KEY=VALUE", l)}
				}
				if v.Labels == nil {
					v.Labels = map[string]string{}
				}
				v.Labels[k] = val
			}
			var out pb.ComponentVersion
			raw, err := c.call(cmd.Context(), http.MethodPost, c.path("components", args[0], "versions"), v, &out)
			if err != nil {
				return err
			}
			return c.print(raw, func(w io.Writer) {
				fmt.Fprintf(w, "registered %s %s: %s\n", out.GetComponent(), out.GetVersion().GetVersion(), out.GetState())
			})
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&v.Notes, "notes", "", "release notes shown to clients that update to it")
	fs.StringVar(&v.Artifact, "artifact", "", "URL of the build artifact")
	fs.BoolVar(&v.Required, "required", false, "clients below it must update (a push update)")
	fs.StringArrayVar(&labels, "label", nil, "a label KEY=VALUE, repeated")
	return cmd
}

func newVersionListCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:               "list COMPONENT",
		Short:             "List a component's versions with their states",
		Args:              argsNamed("COMPONENT"),
		ValidArgsFunction: c.completeArgs(kindComponents),
		RunE: func(cmd *cobra.Command, args []string) error {
			var resp pb.ListVersionsResponse
			raw, err := c.call(cmd.Context(), http.MethodGet, c.path("components", args[0], "versions")+"?page_size=1000", nil, &resp)
			if err != nil {
				return err
			}
			return c.print(raw, func(w io.Writer) {
				fmt.Fprintln(w, "VERSION\tSTATE\tREQUIRED\tENVIRONMENTS\tLABELS\tNOTES")
				for _, cv := range resp.GetVersions() {
					v := cv.GetVersion()
					required := "-"
					if v.GetRequired() {
						required = "yes"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", v.GetVersion(), cv.GetState(), required,
						orDash(strings.Join(cv.GetEnvironments(), ",")), orDash(labelText(v.GetLabels())), v.GetNotes())
				}
			})
		},
	}
}

// labelText is a version's labels as "k=v,k2=v2", sorted by key.
func labelText(labels map[string]string) string {
	out := make([]string, 0, len(labels))
	for k, v := range labels {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}
