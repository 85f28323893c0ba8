package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/structpb"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/model"
)

// newFlagCRUDCmds returns the commands that read and change flags: list,
// get, create, toggle, set and delete.
func newFlagCRUDCmds(c *cli) []*cobra.Command {
	return []*cobra.Command{
		newFlagListCmd(c), newFlagGetCmd(c), newFlagCreateCmd(c),
		newFlagToggleCmd(c), newFlagSetCmd(c),
		newDeleteCmd(c, "flag", "Delete a flag that no other flag requires", kindFlags, func(key string) string { return c.path("flags", key) }),
	}
}

func newFlagListCmd(c *cli) *cobra.Command {
	var tag, query, typ string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the project's flags, optionally by tag, type or a text in key or description",
		Args:  argsNamed(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var resp pb.ListFlagsResponse
			path := withQuery(c.path("flags"), "tag", tag, "query", query, "type", typ)
			raw, err := c.listAll(cmd.Context(), path, "flags", &resp)
			if err != nil {
				return err
			}
			return c.print(raw, func(w io.Writer) {
				if len(resp.GetFlags()) == 0 {
					fmt.Fprintf(w, "no flags in %s\n", c.project)
					return
				}
				fmt.Fprintln(w, "FLAG\tTYPE\tVARIANTS\tENABLED IN\tTAGS\tDESCRIPTION")
				for _, f := range resp.GetFlags() {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", f.GetKey(), f.GetType(), orDash(strings.Join(variantKeys(f), ",")),
						orDash(strings.Join(enabledIn(f), ",")), orDash(strings.Join(f.GetTags(), ",")), f.GetDescription())
				}
			})
		},
	}
	cmd.Flags().StringVar(&tag, "tag", "", "only flags carrying this tag")
	cmd.Flags().StringVar(&query, "query", "", "only flags whose key or description contains this, ignoring case")
	cmd.Flags().StringVar(&typ, "type", "", "only flags of this type: bool, string, number or json")
	return cmd
}

// variantKeys are a flag's variant keys in order.
func variantKeys(f *pb.Flag) []string {
	keys := make([]string, 0, len(f.GetVariants()))
	for _, v := range f.GetVariants() {
		keys = append(keys, v.GetKey())
	}
	return keys
}

// enabledIn are the environments a flag is enabled in, sorted.
func enabledIn(f *pb.Flag) []string {
	var envs []string
	for env, t := range f.GetEnvironments() {
		if t.GetEnabled() {
			envs = append(envs, env)
		}
	}
	slices.Sort(envs)
	return envs
}

func newFlagGetCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:               "get KEY",
		Short:             "Show a flag: its variants and its targeting in each environment",
		Args:              argsNamed("KEY"),
		ValidArgsFunction: c.completeArgs(kindFlags),
		RunE: func(cmd *cobra.Command, args []string) error {
			var f pb.Flag
			raw, err := c.call(cmd.Context(), http.MethodGet, c.path("flags", args[0]), nil, &f)
			if err != nil {
				return err
			}
			return c.print(raw, func(w io.Writer) {
				fmt.Fprintf(w, "flag\t%s\ntype\t%s\n", f.GetKey(), f.GetType())
				if f.GetDescription() != "" {
					fmt.Fprintf(w, "description\t%s\n", f.GetDescription())
				}
				if len(f.GetTags()) > 0 {
					fmt.Fprintf(w, "tags\t%s\n", strings.Join(f.GetTags(), ", "))
				}
				for _, v := range f.GetVariants() {
					fmt.Fprintf(w, "variant %s\t%s\n", v.GetKey(), jsonText(v.GetValue()))
				}
				fmt.Fprintf(w, "etag\t%s\n\n", f.GetEtag())
				envs := make([]string, 0, len(f.GetEnvironments()))
				for env := range f.GetEnvironments() {
					envs = append(envs, env)
				}
				slices.Sort(envs)
				fmt.Fprintln(w, "ENVIRONMENT\tSTATE\tDEFAULT\tOFF VARIANT\tTARGETS\tRULES")
				for _, env := range envs {
					t := f.GetEnvironments()[env]
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%d\n", env, onOff(t.GetEnabled()), serveText(t.GetDefault()),
						orDash(t.GetOffVariant()), len(t.GetTargets()), len(t.GetRules()))
				}
			})
		},
	}
}

// onOff is "on" or "off".
func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// serveText is what a serve gives, for a table: a variant, a version, or
// a rollout as "on 25%, off 75%".
func serveText(s *pb.Serve) string {
	switch {
	case s.GetVariant() != "":
		return s.GetVariant()
	case s.GetVersion() != "":
		return s.GetVersion()
	case len(s.GetRollout()) > 0:
		parts := make([]string, 0, len(s.GetRollout()))
		for _, w := range s.GetRollout() {
			parts = append(parts, fmt.Sprintf("%s %s%%", w.GetVariant()+w.GetVersion(),
				strconv.FormatFloat(float64(w.GetWeight())*100/model.RolloutTotal, 'f', -1, 64)))
		}
		return strings.Join(parts, ", ")
	}
	return "-"
}

// jsonText is a value as compact JSON.
func jsonText(v *structpb.Value) string {
	data, err := v.MarshalJSON()
	if err != nil {
		return "?"
	}
	return string(data)
}

func newFlagCreateCmd(c *cli) *cobra.Command {
	var typ, def, description string
	var variations, tags []string
	cmd := &cobra.Command{
		Use:   "create KEY --type bool|string|number|json [--variation NAME=JSON]... [--default NAME]",
		Short: "Create a flag, switched off in every environment of the project",
		Long: `Create a flag, switched off in every environment of the project.

Each --variation is a variant NAME=VALUE, VALUE in JSON ('blue="#00f"',
'limit=10', 'cfg={"a":1}'); for a string flag a VALUE that is not JSON is
the string itself (color=blue). A bool flag without variations has the
implicit variants on (true) and off (false). --default is the variant every
environment serves, and serves when switched off (default: the first
variation; off for a bool flag without variations). Switch it on with
'flag toggle', change what it serves with 'flag set'.`,
		Args: argsNamed("KEY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if typ == "object" {
				typ = string(model.TypeJSON)
			}
			f := &pb.Flag{Key: args[0], Type: typ, Description: description, Tags: tags}
			for _, v := range variations {
				variant, err := parseVariation(typ, v)
				if err != nil {
					return usageError{err}
				}
				f.Variants = append(f.Variants, variant)
			}
			names := variantKeys(f)
			if len(names) == 0 && typ == string(model.TypeBool) {
				names = []string{"on", "off"}
			}
			if def != "" && len(names) > 0 && !slices.Contains(names, def) {
				return usageError{fmt.Errorf("--default %q: not one of the variations %s", def, strings.Join(names, ", "))}
			}
			switch {
			case def != "":
			case len(f.Variants) > 0:
				def = f.Variants[0].GetKey()
			case typ == string(model.TypeBool):
				def = "off"
			}
			if def != "" {
				var envs pb.ListEnvironmentsResponse
				if _, err := c.listAll(cmd.Context(), c.path("environments"), "environments", &envs); err != nil {
					return err
				}
				f.Environments = map[string]*pb.Targeting{}
				for _, e := range envs.GetEnvironments() {
					f.Environments[e.GetKey()] = &pb.Targeting{OffVariant: def, Default: &pb.Serve{Variant: def}}
				}
			}
			var out pb.Flag
			raw, err := c.call(cmd.Context(), http.MethodPost, c.path("flags"), f, &out)
			if err != nil {
				return err
			}
			return c.print(raw, func(w io.Writer) {
				fmt.Fprintf(w, "created %s flag %s in %s (off everywhere, default %s)\n", out.GetType(), out.GetKey(), c.project, orDash(def))
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&typ, "type", "", "bool, string, number or json (object is the same as json)")
	fl.StringArrayVar(&variations, "variation", nil, "a variant NAME=VALUE (VALUE in JSON), repeated")
	fl.StringVar(&def, "default", "", "the variant served by default and when off")
	fl.StringVar(&description, "description", "", "what the flag is for")
	fl.StringArrayVar(&tags, "tag", nil, "a tag, repeated")
	return cmd
}

// parseVariation parses a --variation NAME=VALUE of a flag of type typ.
func parseVariation(typ, s string) (*pb.Variant, error) {
	name, text, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return nil, fmt.Errorf("--variation %q: want NAME=VALUE", s)
	}
	var v any
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		if typ != string(model.TypeString) {
			return nil, fmt.Errorf("--variation %q: the value is not JSON: %w", s, err)
		}
		v = text
	}
	value, err := structpb.NewValue(v)
	if err != nil {
		return nil, fmt.Errorf("--variation %q: %w", s, err)
	}
	return &pb.Variant{Key: name, Value: value}, nil
}

// flagTargetingChange reads a flag's targeting in an environment and
// writes back the fields mask names as change sets them, conditional on
// the etag read (or on etag, when the caller names one), overriding an
// active release's hold on the flag if o names the release.
func flagTargetingChange(cmd *cobra.Command, c *cli, flag, env, etag string, o override, mask []string, change func(t *pb.Targeting)) (*pb.FlagTargeting, []byte, error) {
	var cur pb.FlagTargeting
	path := c.path("flags", flag, "environments", env)
	if _, err := c.call(cmd.Context(), http.MethodGet, path, nil, &cur); err != nil {
		return nil, nil, err
	}
	if etag == "" {
		etag = cur.GetEtag()
	}
	t := cur.GetTargeting()
	if t == nil {
		t = &pb.Targeting{}
	}
	change(t)
	var out pb.FlagTargeting
	raw, err := c.call(cmd.Context(), http.MethodPatch,
		withQuery(path, "update_mask", strings.Join(mask, ","), "etag", etag,
			"override_release", o.release, "override_reason", o.reason), t, &out)
	if err != nil {
		return nil, nil, err
	}
	return &out, raw, nil
}

func newFlagToggleCmd(c *cli) *cobra.Command {
	var env, etag string
	var o override
	var on, off bool
	cmd := &cobra.Command{
		Use:               "toggle KEY --environment E [--on|--off]",
		Short:             "Switch a flag on or off in an environment (neither flag: the other way round)",
		Args:              argsNamed("KEY"),
		ValidArgsFunction: c.completeArgs(kindFlags),
		RunE: func(cmd *cobra.Command, args []string) error {
			if env == "" {
				return usageError{fmt.Errorf("--environment is required")}
			}
			if on && off {
				return usageError{fmt.Errorf("--on and --off exclude each other")}
			}
			if err := o.check(); err != nil {
				return err
			}
			out, raw, err := flagTargetingChange(cmd, c, args[0], env, etag, o, []string{"enabled"}, func(t *pb.Targeting) {
				switch {
				case on, off:
					t.Enabled = on
				default:
					t.Enabled = !t.Enabled
				}
			})
			if err != nil {
				return err
			}
			return c.print(raw, func(w io.Writer) {
				fmt.Fprintf(w, "%s is %s in %s (revision %d)\n", out.GetFlag(), onOff(out.GetTargeting().GetEnabled()), out.GetEnvironment(), out.GetRevision())
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&env, "environment", "e", "", "the environment")
	fl.BoolVar(&on, "on", false, "switch it on")
	fl.BoolVar(&off, "off", false, "switch it off")
	fl.StringVar(&etag, "etag", "", "change only if the targeting still has this etag (default: the etag read just before)")
	o.register(cmd)
	c.completeFlag(cmd, "environment", kindEnvironments)
	return cmd
}

func newFlagSetCmd(c *cli) *cobra.Command {
	var env, etag, defVariant, offVariant, rollout string
	var on, off bool
	var o override
	cmd := &cobra.Command{
		Use:   "set KEY --environment E [--default-variation V | --rollout V=PCT,...] [--off-variation V] [--on|--off]",
		Short: "Change what a flag serves in an environment: a default variant or a percentage rollout, on or off",
		Long: `Change what a flag serves in an environment, in one write: by default one
variant (--default-variation) or a percentage rollout between variants
(--rollout on=10,off=90; percentages with up to three decimals that sum to
100), the variant served when it is off (--off-variation), and whether it is
on (--on, --off). Rules and targets stay.`,
		Args:              argsNamed("KEY"),
		ValidArgsFunction: c.completeArgs(kindFlags),
		RunE: func(cmd *cobra.Command, args []string) error {
			if env == "" {
				return usageError{fmt.Errorf("--environment is required")}
			}
			if defVariant != "" && rollout != "" {
				return usageError{fmt.Errorf("--default-variation and --rollout exclude each other")}
			}
			if on && off {
				return usageError{fmt.Errorf("--on and --off exclude each other")}
			}
			if err := o.check(); err != nil {
				return err
			}
			var mask []string
			var serve *pb.Serve
			switch {
			case defVariant != "":
				serve = &pb.Serve{Variant: defVariant}
			case rollout != "":
				entries, err := parseRollout(rollout)
				if err != nil {
					return usageError{err}
				}
				serve = &pb.Serve{Rollout: entries}
			}
			if serve != nil {
				mask = append(mask, "default")
			}
			if offVariant != "" {
				mask = append(mask, "off_variant")
			}
			if on || off {
				mask = append(mask, "enabled")
			}
			if len(mask) == 0 {
				return usageError{fmt.Errorf("nothing to set: pass --default-variation, --rollout, --off-variation, --on or --off")}
			}
			out, raw, err := flagTargetingChange(cmd, c, args[0], env, etag, o, mask, func(t *pb.Targeting) {
				if serve != nil {
					t.Default = serve
				}
				if offVariant != "" {
					t.OffVariant = offVariant
				}
				if on || off {
					t.Enabled = on
				}
			})
			if err != nil {
				return err
			}
			return c.print(raw, func(w io.Writer) {
				t := out.GetTargeting()
				fmt.Fprintf(w, "%s in %s: %s, default %s, off variant %s (revision %d)\n", out.GetFlag(), out.GetEnvironment(),
					onOff(t.GetEnabled()), serveText(t.GetDefault()), orDash(t.GetOffVariant()), out.GetRevision())
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&env, "environment", "e", "", "the environment")
	fl.StringVar(&defVariant, "default-variation", "", "serve this variant by default")
	fl.StringVar(&rollout, "rollout", "", "serve a percentage rollout by default: VARIANT=PERCENT,… summing to 100")
	fl.StringVar(&offVariant, "off-variation", "", "serve this variant when the flag is off")
	fl.BoolVar(&on, "on", false, "switch it on")
	fl.BoolVar(&off, "off", false, "switch it off")
	fl.StringVar(&etag, "etag", "", "change only if the targeting still has this etag (default: the etag read just before)")
	o.register(cmd)
	c.completeFlag(cmd, "environment", kindEnvironments)
	return cmd
}

// override is a change's override of an active release's hold on the
// flag: without it such a change is refused (409, naming the release).
type override struct{ release, reason string }

// register adds --override-release and --reason to cmd.
func (o *override) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.release, "override-release", "", "change a flag an active release holds, naming that release (recorded on its timeline)")
	cmd.Flags().StringVar(&o.reason, "reason", "", "why the release's hold is overridden")
}

// check refuses an override without a reason, or a reason without one.
func (o override) check() error {
	if (o.release == "") != (o.reason == "") {
		return usageError{fmt.Errorf("--override-release and --reason go together")}
	}
	return nil
}

// parseRollout parses "on=12.5,off=87.5" into rollout entries whose
// weights are thousandths of a percent.
func parseRollout(s string) ([]*pb.Weighted, error) {
	var out []*pb.Weighted
	total := 0
	for part := range strings.SplitSeq(s, ",") {
		name, pct, ok := strings.Cut(strings.TrimSpace(part), "=")
		p, err := strconv.ParseFloat(strings.TrimSuffix(pct, "%"), 64)
		w := math.Round(p * 1000)
		switch {
		case !ok || name == "":
			return nil, fmt.Errorf("--rollout %q: want VARIANT=PERCENT,…", s)
		case err != nil || p < 0 || p > 100:
			return nil, fmt.Errorf("--rollout %q: %q is not a percentage from 0 to 100", s, pct)
		case math.Abs(p*1000-w) > 1e-6:
			return nil, fmt.Errorf("--rollout %q: %q has more than three decimals", s, pct)
		}
		total += int(w)
		out = append(out, &pb.Weighted{Variant: name, Weight: int32(w)})
	}
	if total != model.RolloutTotal {
		return nil, fmt.Errorf("--rollout %q: the percentages sum to %s, not 100", s, strconv.FormatFloat(float64(total)/1000, 'f', -1, 64))
	}
	return out, nil
}
