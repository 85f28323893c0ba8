package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/switchyard/switchyard/internal/buildinfo"
	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

// versionCommands are the commands of "switchyard version".
func versionCommands() []subcommand {
	return []subcommand{
		{"register", "register a version the pipeline has deployed (switched off)", runVersionRegister},
		{"list", "list a component's versions with their states", runVersionList},
	}
}

// runVersion prints the build version when no subcommand is named
// ("switchyard version [--json]"), else runs the subcommand.
func runVersion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && slices.Contains([]string{"help", "-h", "-help", "--help"}, args[0]) {
		fmt.Fprint(stdout, "Usage: switchyard version [--json]\n\nPrints this binary's module version, commit and Go version.\n\n")
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") && !slices.Contains([]string{"-h", "-help", "--help"}, args[0]) {
		return runBuildVersion(args, stdout, stderr)
	}
	return runGroup(ctx, "version", versionCommands(), args, stdout, stderr)
}

// runBuildVersion prints the module version, the commit (with "-dirty"
// for a build of a modified tree) and the Go version of this binary.
func runBuildVersion(args []string, stdout, stderr io.Writer) error {
	var asJSON bool
	fs := newFlagSet("version", "version [--json]", stderr)
	fs.BoolVar(&asJSON, "json", false, "print a JSON object")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("version: unknown command %q (want register or list)", fs.Arg(0))
	}
	info := buildinfo.Get()
	if asJSON {
		return json.NewEncoder(stdout).Encode(info)
	}
	_, err := fmt.Fprintf(stdout, "switchyard %s\ncommit %s\n%s\n", info.Version, info.Commit, info.GoVersion)
	return err
}

func runVersionRegister(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	a, fs := newAPICommand("version register", "version register [flags] COMPONENT VERSION", stdout, stderr)
	v := &pb.Version{}
	var labels listFlag
	fs.StringVar(&v.Notes, "notes", "", "release notes shown to clients that update to it")
	fs.StringVar(&v.Artifact, "artifact", "", "URL of the build artifact")
	fs.BoolVar(&v.Required, "required", false, "clients below it must update (a push update)")
	fs.Var(&labels, "label", "a label KEY=VALUE, repeated")
	args, err := a.parse(fs, args, "COMPONENT", "VERSION")
	if err != nil {
		return err
	}
	v.Version = args[1]
	for _, l := range labels {
		k, val, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			return fmt.Errorf("--label %q: want KEY=VALUE", l)
		}
		if v.Labels == nil {
			v.Labels = map[string]string{}
		}
		v.Labels[k] = val
	}
	var out pb.ComponentVersion
	if err := a.fetch(ctx, http.MethodPost, a.path("components", args[0], "versions"), v, &out); err != nil {
		return err
	}
	return a.show(func(w io.Writer) {
		fmt.Fprintf(w, "registered %s %s: %s\n", out.GetComponent(), out.GetVersion().GetVersion(), out.GetState())
	})
}

func runVersionList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	a, fs := newAPICommand("version list", "version list [flags] COMPONENT", stdout, stderr)
	args, err := a.parse(fs, args, "COMPONENT")
	if err != nil {
		return err
	}
	var resp pb.ListVersionsResponse
	if err := a.fetch(ctx, http.MethodGet, a.path("components", args[0], "versions")+"?page_size=1000", nil, &resp); err != nil {
		return err
	}
	return a.show(func(w io.Writer) {
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
