package main

import (
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

// newProjectCmd is "switchyard project": the server's projects.
func newProjectCmd(c *cli) *cobra.Command {
	cmd := groupCmd("project", "Projects: list, create, delete")
	cmd.AddCommand(
		&cobra.Command{
			Use:   "list",
			Short: "List the projects",
			Args:  argsNamed(),
			RunE: func(cmd *cobra.Command, _ []string) error {
				var resp pb.ListProjectsResponse
				raw, err := c.listAll(cmd.Context(), "/api/v1/projects", "projects", &resp)
				if err != nil {
					return err
				}
				return c.print(raw, func(w io.Writer) {
					fmt.Fprintln(w, "PROJECT\tCREATED\tDESCRIPTION")
					for _, p := range resp.GetProjects() {
						fmt.Fprintf(w, "%s\t%s\t%s\n", p.GetKey(), p.GetCreateTime().AsTime().UTC().Format(time.RFC3339), p.GetDescription())
					}
				})
			},
		},
		newCreateCmd(c, "project", func(key, description string) (string, any) {
			return "/api/v1/projects", &pb.Project{Key: key, Description: description}
		}),
		newDeleteCmd(c, "project", "Delete a project and everything in it", kindProjects, func(key string) string {
			return "/api/v1/projects/" + url.PathEscape(key)
		}),
	)
	return cmd
}

// newEnvironmentCmd is "switchyard environment": a project's environments.
func newEnvironmentCmd(c *cli) *cobra.Command {
	cmd := groupCmd("environment", "Environments of the project: list, create, delete")
	cmd.AddCommand(
		&cobra.Command{
			Use:   "list",
			Short: "List the project's environments with their revisions",
			Args:  argsNamed(),
			RunE: func(cmd *cobra.Command, _ []string) error {
				var resp pb.ListEnvironmentsResponse
				raw, err := c.listAll(cmd.Context(), c.path("environments"), "environments", &resp)
				if err != nil {
					return err
				}
				return c.print(raw, func(w io.Writer) {
					fmt.Fprintln(w, "ENVIRONMENT\tREVISION\tDESCRIPTION")
					for _, e := range resp.GetEnvironments() {
						fmt.Fprintf(w, "%s\t%d\t%s\n", e.GetKey(), e.GetRevision(), e.GetDescription())
					}
				})
			},
		},
		newCreateCmd(c, "environment", func(key, description string) (string, any) {
			return c.path("environments"), &pb.Environment{Key: key, Description: description}
		}),
		newDeleteCmd(c, "environment", "Delete an environment of the project with its targeting", kindEnvironments, func(key string) string {
			return c.path("environments", key)
		}),
	)
	return cmd
}
