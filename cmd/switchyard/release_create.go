package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

func newReleaseCreateCmd(c *cli) *cobra.Command {
	var f releaseFlags
	cmd := &cobra.Command{
		Use:   "create [ID]",
		Short: "Draft a release from flags or a YAML/JSON file",
		Long: `Draft a release: its items (flag variants, component versions), its stages
with their gates, and its verification. --file reads the REST body; the flags
override it or add to it.`,
		Example: `  switchyard release create ios-240-de --environment production --title "iOS 2.4.0 to Germany" \
    --notes "New checkout" --item ios-app=2.4.0 \
    --stage staff:segments=staff:gate=manual --stage de-5:segments=germany:weight=5%:gate=approval \
    --stage de:segments=germany:gate=wait=24h
  switchyard release create --file ios-250-de.yaml`,
		Args: argsNamed("[ID]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := f.release(cmd.Context(), c, args)
			if err != nil {
				return err
			}
			var out pb.Release
			raw, err := c.call(cmd.Context(), http.MethodPost, c.path("releases"), r, &out)
			if err != nil {
				return err
			}
			return c.print(raw, func(w io.Writer) { fmt.Fprintln(w, releaseSummary(&out)) })
		},
	}
	f.register(cmd.Flags())
	c.completeFlag(cmd, "environment", kindEnvironments)
	cmd.RegisterFlagCompletionFunc("item", c.completeItems)
	return cmd
}

// releaseFlags are the flags that define a release: a file, and fields
// that override or add to it.
type releaseFlags struct {
	file, env, title, notes, owner, mode, ticket, change, salt, bucketBy, model string
	items, stages                                                               []string
	check                                                                       bool
}

func (f *releaseFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.file, "file", "", "read the release from this YAML or JSON file (the REST body); flags override it")
	fs.StringVar(&f.env, "environment", "", "the environment to release to")
	fs.StringVar(&f.title, "title", "", "title")
	fs.StringVar(&f.notes, "notes", "", "release notes (required before the release starts)")
	fs.StringVar(&f.owner, "owner", "", "owner, e.g. a team")
	fs.StringVar(&f.mode, "mode", "", "pull (default) or push")
	fs.StringVar(&f.ticket, "ticket", "", "link to the ticket")
	fs.StringVar(&f.change, "change-record", "", "link to the change record")
	fs.StringVar(&f.salt, "salt", "", "bucketing salt of the percentages (default: the id)")
	fs.StringVar(&f.bucketBy, "bucket-by", "", "context attribute bucketed for percentages (default: targetingKey)")
	fs.StringArrayVar(&f.items, "item", nil, "an item, repeated: FLAG=VARIANT or COMPONENT=VERSION (prefix flag: or component: when a key names both)")
	fs.StringArrayVar(&f.stages, "stage", nil, "a stage, repeated, in order: [NAME][:segments=a,b][:weight=5%][:gate=manual|wait=1h|at=RFC3339|approval[=N]][:convergence=95%]")
	fs.StringVar(&f.model, "model", "", "the release model to follow: without --stage, its template is the plan")
	fs.BoolVar(&f.check, "resolution-check", false, "run the resolution check after each stage")
}

// release builds the release the flags and the arguments ([ID]) define;
// items given by key alone are looked up on the server.
func (f *releaseFlags) release(ctx context.Context, c *cli, args []string) (*pb.Release, error) {
	r := &pb.Release{}
	if f.file != "" {
		var err error
		if r, err = readReleaseFile(f.file); err != nil {
			return nil, err
		}
	}
	if len(args) == 1 {
		r.Id = args[0]
	}
	for _, s := range []struct {
		dst *string
		v   string
	}{
		{&r.Environment, f.env}, {&r.Title, f.title}, {&r.ReleaseNotes, f.notes}, {&r.Owner, f.owner},
		{&r.Mode, f.mode}, {&r.Salt, f.salt}, {&r.BucketBy, f.bucketBy}, {&r.Model, f.model},
	} {
		if s.v != "" {
			*s.dst = s.v
		}
	}
	switch {
	case r.Id == "":
		return nil, errors.New("release create: no release id: pass it as the argument or in --file")
	case r.Environment == "":
		return nil, errors.New("release create: no environment: pass --environment or set it in --file")
	}
	if f.ticket != "" || f.change != "" {
		if r.Links == nil {
			r.Links = &pb.ReleaseLinks{}
		}
		if f.ticket != "" {
			r.Links.Ticket = f.ticket
		}
		if f.change != "" {
			r.Links.ChangeRecord = f.change
		}
	}
	r.ResolutionCheck = r.ResolutionCheck || f.check
	for _, s := range f.items {
		it, err := parseItem(s)
		if err != nil {
			return nil, err
		}
		if it.kind == "" {
			if it.kind, err = c.itemKind(ctx, it.key); err != nil {
				return nil, err
			}
		}
		r.Items = append(r.Items, it.pbItem())
	}
	if len(f.stages) > 0 {
		plan, err := parseStages(f.stages)
		if err != nil {
			return nil, err
		}
		r.Plan = plan
	}
	return r, nil
}

// itemKind asks the server whether key names a flag or a component of the
// project: "flag" or "component", or an error when it names neither or
// both.
func (c *cli) itemKind(ctx context.Context, key string) (string, error) {
	var found []string
	for _, kind := range []string{"flag", "component"} {
		_, err := c.call(ctx, http.MethodGet, c.path(kind+"s", key), nil, nil)
		var ae *apiError
		switch {
		case err == nil:
			found = append(found, kind)
		case errors.As(err, &ae) && ae.Code == "NOT_FOUND":
		default:
			return "", fmt.Errorf("--item %s: %w", key, err)
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("--item %s: project %s has no flag or component %q", key, c.project, key)
	case 2:
		return "", fmt.Errorf("--item %s: %q is both a flag and a component; write flag:%s=… or component:%s=…", key, key, key, key)
	}
	return found[0], nil
}
