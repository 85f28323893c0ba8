package main

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// resourceKind is a kind of thing the server lists, whose keys complete
// command-line arguments and flags.
type resourceKind string

// The kinds of resources completed from the server.
const (
	kindFlags        resourceKind = "flags"
	kindSegments     resourceKind = "segments"
	kindReleases     resourceKind = "releases"
	kindComponents   resourceKind = "components"
	kindExperiments  resourceKind = "experiments"
	kindEnvironments resourceKind = "environments"
	kindProjects     resourceKind = "projects"
	kindWebhooks     resourceKind = "webhooks"
	// kindFile completes a file name, as the shell would.
	kindFile resourceKind = ""
)

// listing is how the server lists k: the REST path (of the project, but
// for projects), the answer's field that holds the list, each item's
// identifying field and the field shown as its description.
func (k resourceKind) listing(c *cli) (path, id, about string) {
	switch k {
	case kindProjects:
		return "/api/v1/projects", "key", "description"
	case kindReleases:
		return c.path("releases"), "id", "title"
	case kindExperiments:
		return c.path("experiments"), "id", "flag"
	case kindWebhooks:
		return c.path("webhooks"), "id", "url"
	}
	return c.path(string(k)), "key", "description"
}

// completionTimeout bounds how long a completion waits for the server.
const completionTimeout = 5 * time.Second

// keys returns the keys of kind that start with prefix, each with its
// description after a tab, asking the server with cmd's client settings
// (flags, variables, profile). It returns nothing on any error: a
// completion stays quiet.
func (c *cli) keys(cmd *cobra.Command, kind resourceKind, prefix string) []cobra.Completion {
	if c.prepare(cmd) != nil {
		return nil
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, completionTimeout)
	defer cancel()
	path, id, about := kind.listing(c)
	raw, err := c.call(ctx, http.MethodGet, path+"?page_size=1000", nil, nil)
	if err != nil {
		return nil
	}
	var page map[string][]map[string]any
	if json.Unmarshal(raw, &page) != nil {
		return nil
	}
	var out []cobra.Completion
	for _, item := range page[string(kind)] {
		key, _ := item[id].(string)
		if key == "" || !strings.HasPrefix(key, prefix) {
			continue
		}
		desc, _ := item[about].(string)
		out = append(out, cobra.CompletionWithDesc(key, firstLine(desc)))
	}
	sort.Strings(out)
	return out
}

// firstLine is the first line of s.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// completeArgs returns a ValidArgsFunction that completes the n-th
// argument with the keys of kinds[n] from the server (kindFile: a file
// name), and nothing past the last.
func (c *cli) completeArgs(kinds ...resourceKind) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		switch {
		case len(args) >= len(kinds):
			return nil, cobra.ShellCompDirectiveNoFileComp
		case kinds[len(args)] == kindFile:
			return nil, cobra.ShellCompDirectiveDefault
		}
		return c.keys(cmd, kinds[len(args)], toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// completeFlag completes the value of cmd's flag name with the keys of
// kind from the server.
func (c *cli) completeFlag(cmd *cobra.Command, name string, kind resourceKind) {
	cmd.RegisterFlagCompletionFunc(name, func(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return c.keys(cmd, kind, toComplete), cobra.ShellCompDirectiveNoFileComp
	})
}

// completeItems completes a release's --item: a flag or component key
// followed by "=", the variant or version left to type.
func (c *cli) completeItems(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if strings.Contains(toComplete, "=") {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []cobra.Completion
	for _, kind := range []resourceKind{kindFlags, kindComponents} {
		for _, k := range c.keys(cmd, kind, toComplete) {
			key, desc, _ := strings.Cut(k, "\t")
			out = append(out, cobra.CompletionWithDesc(key+"=", desc))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
}

// completeProfiles completes profile names from the CLI config file.
func (c *cli) completeProfiles(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if c.fromEnvironment(cmd) != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	cfg, _, err := c.loadConfig()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []cobra.Completion
	for name := range cfg.Profiles {
		if strings.HasPrefix(name, toComplete) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out, cobra.ShellCompDirectiveNoFileComp
}
