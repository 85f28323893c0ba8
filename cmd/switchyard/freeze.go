package main

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

// newFreezeCmd is "switchyard freeze": a project's change freezes and the
// emergency overrides of them.
func newFreezeCmd(c *cli) *cobra.Command {
	cmd := groupCmd("freeze", "Change freezes: create, list, delete, override, approve-override")
	cmd.AddCommand(newFreezeCreateCmd(c), newFreezeListCmd(c), newFreezeDeleteCmd(c),
		newFreezeOverrideCmd(c), newFreezeApproveOverrideCmd(c))
	return cmd
}

func newFreezeCreateCmd(c *cli) *cobra.Command {
	var start, end, reason string
	f := &pb.Freeze{}
	cmd := &cobra.Command{
		Use:   "create KEY --start RFC3339 --end RFC3339 --reason TEXT",
		Short: "Freeze releases from --start to --end (repeated by --rrule in --tz), in some environments or for some components",
		Args:  argsNamed("KEY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := required(map[string]string{"start": start, "end": end, "reason": reason}); err != nil {
				return err
			}
			f.Key, f.Reason = args[0], reason
			for _, t := range []struct {
				flag, v string
				dst     **timestamppb.Timestamp
			}{{"--start", start, &f.StartTime}, {"--end", end, &f.EndTime}} {
				tm, err := time.Parse(time.RFC3339, t.v)
				if err != nil {
					return usageError{fmt.Errorf("%s %q: want an RFC 3339 time such as 2030-12-20T17:00:00Z", t.flag, t.v)}
				}
				*t.dst = timestamppb.New(tm)
			}
			var out pb.Freeze
			raw, err := c.call(cmd.Context(), http.MethodPost, c.path("freezes"), f, &out)
			if err != nil {
				return err
			}
			return c.print(raw, func(w io.Writer) { freezeTable(w, []*pb.Freeze{&out}) })
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&start, "start", "", "start of the (first) window, RFC 3339")
	fl.StringVar(&end, "end", "", "end of the (first) window, RFC 3339")
	fl.StringVar(&f.Rrule, "rrule", "", `RFC 5545 recurrence rule, e.g. "FREQ=WEEKLY;BYDAY=FR"`)
	fl.StringVar(&f.TimeZone, "tz", "", "IANA time zone the rule is reckoned in (default UTC)")
	fl.StringArrayVar(&f.Environments, "environment", nil, "freeze only this environment (repeatable; default all)")
	fl.StringArrayVar(&f.Components, "component", nil, "freeze only releases of this component (repeatable; default all)")
	fl.StringVar(&reason, "reason", "", "why releases are frozen (required)")
	return cmd
}

func newFreezeListCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the project's freezes",
		Args:  argsNamed(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var resp pb.ListFreezesResponse
			raw, err := c.call(cmd.Context(), http.MethodGet, c.path("freezes")+"?page_size=1000", nil, &resp)
			if err != nil {
				return err
			}
			return c.print(raw, func(w io.Writer) {
				if len(resp.GetFreezes()) == 0 {
					fmt.Fprintf(w, "no freezes in %s\n", c.project)
					return
				}
				freezeTable(w, resp.GetFreezes())
			})
		},
	}
}

func newFreezeDeleteCmd(c *cli) *cobra.Command {
	var etag string
	cmd := &cobra.Command{
		Use:   "delete KEY",
		Short: "Delete a freeze; the steps it held are taken when the scheduler next looks",
		Args:  argsNamed("KEY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			p := c.path("freezes", args[0])
			if etag != "" {
				p += "?etag=" + url.QueryEscape(etag)
			}
			raw, err := c.call(cmd.Context(), http.MethodDelete, p, nil, nil)
			if err != nil {
				return err
			}
			return c.print(raw, func(w io.Writer) { fmt.Fprintf(w, "deleted freeze %s\n", args[0]) })
		},
	}
	cmd.Flags().StringVar(&etag, "etag", "", "delete only if the freeze still has this etag")
	return cmd
}

func newFreezeOverrideCmd(c *cli) *cobra.Command {
	var freeze, reason string
	cmd := &cobra.Command{
		Use:   "override RELEASE --freeze KEY --reason TEXT",
		Short: "Ask for an emergency override of a freeze for a release; another person approves it",
		Args:  argsNamed("RELEASE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := required(map[string]string{"freeze": freeze, "reason": reason}); err != nil {
				return err
			}
			body := &pb.OverrideFreezeRequest{Freeze: freeze, Reason: reason}
			return c.releaseCall(cmd, args[0], "overrideFreeze", body)
		},
	}
	cmd.Flags().StringVar(&freeze, "freeze", "", "the freeze to override (required)")
	cmd.Flags().StringVar(&reason, "reason", "", "why the release must move during the freeze (required)")
	return cmd
}

func newFreezeApproveOverrideCmd(c *cli) *cobra.Command {
	var freeze, comment string
	cmd := &cobra.Command{
		Use:   "approve-override RELEASE --freeze KEY",
		Short: "Approve the emergency override of a freeze someone else asked for",
		Args:  argsNamed("RELEASE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := required(map[string]string{"freeze": freeze}); err != nil {
				return err
			}
			body := &pb.ApproveFreezeOverrideRequest{Freeze: freeze, Comment: comment}
			return c.releaseCall(cmd, args[0], "approveFreezeOverride", body)
		},
	}
	cmd.Flags().StringVar(&freeze, "freeze", "", "the freeze whose override to approve (required)")
	cmd.Flags().StringVar(&comment, "comment", "", "a comment recorded with the approval")
	return cmd
}

// releaseCall posts body to the verb of a release and prints the release's
// overrides.
func (c *cli) releaseCall(cmd *cobra.Command, id, verb string, body any) error {
	var out pb.Release
	raw, err := c.call(cmd.Context(), http.MethodPost, c.path("releases", id)+":"+verb, body, &out)
	if err != nil {
		return err
	}
	return c.print(raw, func(w io.Writer) {
		fmt.Fprintln(w, "FREEZE\tWINDOW\tASKED BY\tAPPROVED BY\tREASON")
		for _, o := range out.GetFreezeOverrides() {
			approver := o.GetApproverPrincipal()
			if approver == "" {
				approver = "(waiting)"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", o.GetFreeze(), span(o.GetWindow().GetStartTime(), o.GetWindow().GetEndTime()),
				o.GetRequesterPrincipal(), approver, o.GetReason())
		}
	})
}

// required refuses, as a usage error, the first flag (by name) left empty.
func required(flags map[string]string) error {
	for _, name := range slices.Sorted(maps.Keys(flags)) {
		if flags[name] == "" {
			return usageError{fmt.Errorf("--%s is required", name)}
		}
	}
	return nil
}

func freezeTable(w io.Writer, fs []*pb.Freeze) {
	fmt.Fprintln(w, "FREEZE\tWINDOW\tREPEATS\tENVIRONMENTS\tCOMPONENTS\tREASON")
	for _, f := range fs {
		repeats := "-"
		if f.GetRrule() != "" {
			repeats = f.GetRrule()
			if f.GetTimeZone() != "" {
				repeats += " (" + f.GetTimeZone() + ")"
			}
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", f.GetKey(), span(f.GetStartTime(), f.GetEndTime()), repeats,
			orAll(f.GetEnvironments()), orAll(f.GetComponents()), f.GetReason())
	}
}

func span(from, to *timestamppb.Timestamp) string {
	return from.AsTime().UTC().Format(time.RFC3339) + " – " + to.AsTime().UTC().Format(time.RFC3339)
}

func orAll(list []string) string {
	if len(list) == 0 {
		return "all"
	}
	return strings.Join(list, ",")
}

// newCalendarCmd is "switchyard calendar": the release schedule.
func newCalendarCmd(c *cli) *cobra.Command {
	var from, to string
	cmd := &cobra.Command{
		Use:   "calendar",
		Short: "The release schedule: steps across releases, freezes and conflicts (--from, --to RFC 3339)",
		Args:  argsNamed(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{}
			for _, p := range []struct{ flag, v string }{{"from", from}, {"to", to}} {
				if p.v == "" {
					continue
				}
				if _, err := time.Parse(time.RFC3339, p.v); err != nil {
					return usageError{fmt.Errorf("--%s %q: want an RFC 3339 time such as 2030-12-20T17:00:00Z", p.flag, p.v)}
				}
				q.Set(p.flag, p.v)
			}
			path := c.path("calendar")
			if len(q) > 0 {
				path += "?" + q.Encode()
			}
			var cal pb.Calendar
			raw, err := c.call(cmd.Context(), http.MethodGet, path, nil, &cal)
			if err != nil {
				return err
			}
			return c.print(raw, func(w io.Writer) { calendarTable(w, &cal) })
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "start of the range, RFC 3339 (default 7 days ago)")
	cmd.Flags().StringVar(&to, "to", "", "end of the range, RFC 3339 (default 90 days ahead)")
	return cmd
}

func calendarTable(w io.Writer, cal *pb.Calendar) {
	fmt.Fprintf(w, "%s: %s\n", cal.GetProject(), span(cal.GetFrom(), cal.GetTo()))
	fmt.Fprintln(w, "TIME\tRELEASE\tENVIRONMENT\tSTAGE\tGATE\tSTATE")
	for _, s := range cal.GetSteps() {
		stage := fmt.Sprint(s.GetStage())
		if s.GetStageName() != "" {
			stage += " (" + s.GetStageName() + ")"
		}
		state := s.GetState()
		if s.GetFreeze() != "" {
			state += " by " + s.GetFreeze()
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", s.GetTime().AsTime().UTC().Format(time.RFC3339), s.GetRelease(), s.GetEnvironment(), stage, s.GetGate(), state)
	}
	if len(cal.GetFreezes()) > 0 {
		fmt.Fprintln(w, "\nFREEZE\tWINDOW\tENVIRONMENTS\tCOMPONENTS\tREASON")
		for _, f := range cal.GetFreezes() {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", f.GetFreeze(), span(f.GetStartTime(), f.GetEndTime()),
				orAll(f.GetEnvironments()), orAll(f.GetComponents()), f.GetReason())
		}
	}
	if len(cal.GetConflicts()) > 0 {
		fmt.Fprintln(w, "\nCONFLICT\tRELEASES\tDETAIL")
		for _, cf := range cal.GetConflicts() {
			fmt.Fprintf(w, "%s\t%s\t%s\n", cf.GetKind(), strings.Join(cf.GetReleases(), ","), cf.GetMessage())
		}
	}
}
