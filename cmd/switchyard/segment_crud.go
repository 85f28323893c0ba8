package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/structpb"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

// newSegmentCRUDCmds returns the commands of "switchyard segment" that
// list, show, create and delete segments (their key lists: segment keys).
func newSegmentCRUDCmds(c *cli) []*cobra.Command {
	list := &cobra.Command{
		Use:   "list",
		Short: "List the project's segments",
		Args:  argsNamed(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var resp pb.ListSegmentsResponse
			raw, err := c.listAll(cmd.Context(), c.path("segments"), "segments", &resp)
			if err != nil {
				return err
			}
			return c.print(raw, func(w io.Writer) {
				if len(resp.GetSegments()) == 0 {
					fmt.Fprintf(w, "no segments in %s\n", c.project)
					return
				}
				fmt.Fprintln(w, "SEGMENT\tMATCH\tCONDITIONS\tINCLUDED\tEXCLUDED\tDESCRIPTION")
				for _, s := range resp.GetSegments() {
					fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%d\t%s\n", s.GetKey(), segmentMatch(s), len(s.GetConditions()),
						s.GetIncludeCount(), s.GetExcludeCount(), s.GetDescription())
				}
			})
		},
	}
	get := &cobra.Command{
		Use:               "get KEY",
		Short:             "Show a segment: its conditions and the size of its key lists",
		Args:              argsNamed("KEY"),
		ValidArgsFunction: c.completeArgs(kindSegments),
		RunE: func(cmd *cobra.Command, args []string) error {
			var s pb.Segment
			raw, err := c.call(cmd.Context(), http.MethodGet, c.path("segments", args[0]), nil, &s)
			if err != nil {
				return err
			}
			return c.print(raw, func(w io.Writer) {
				fmt.Fprintf(w, "segment\t%s\n", s.GetKey())
				if s.GetDescription() != "" {
					fmt.Fprintf(w, "description\t%s\n", s.GetDescription())
				}
				fmt.Fprintf(w, "match\t%s\n", segmentMatch(&s))
				for _, cond := range s.GetConditions() {
					fmt.Fprintf(w, "condition\t%s\n", conditionText(cond))
				}
				fmt.Fprintf(w, "included\t%d keys\nexcluded\t%d keys\netag\t%s\n", s.GetIncludeCount(), s.GetExcludeCount(), s.GetEtag())
			})
		},
	}
	var description, match string
	var conditions, include, exclude []string
	create := &cobra.Command{
		Use:   "create KEY [--condition 'ATTRIBUTE OP VALUE,…']... [--match all|any] [--include KEY]... [--exclude KEY]...",
		Short: "Create a segment",
		Long: `Create a segment: an audience of the contexts that meet its conditions
(all of them, or --match any), plus the targeting keys of --include, minus
those of --exclude. A --condition is 'ATTRIBUTE OP VALUE,…': VALUEs that
parse as JSON are that (42, true, "7"), others are strings
('country in DE,FR', 'plan exists', 'app_version semver_gte 2.4.0').
Long key lists are uploaded with 'segment keys add'.`,
		Args: argsNamed("KEY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			s := &pb.Segment{Key: args[0], Description: description, Match: match, Include: include, Exclude: exclude}
			for _, text := range conditions {
				cond, err := parseCondition(text)
				if err != nil {
					return usageError{err}
				}
				s.Conditions = append(s.Conditions, cond)
			}
			raw, err := c.call(cmd.Context(), http.MethodPost, c.path("segments"), s, nil)
			if err != nil {
				return err
			}
			return c.print(raw, func(w io.Writer) { fmt.Fprintf(w, "created segment %s\n", args[0]) })
		},
	}
	fl := create.Flags()
	fl.StringVar(&description, "description", "", "who the segment is")
	fl.StringVar(&match, "match", "", "how conditions combine: all (default) or any")
	fl.StringArrayVar(&conditions, "condition", nil, "a condition 'ATTRIBUTE OP VALUE,…', repeated")
	fl.StringArrayVar(&include, "include", nil, "a targeting key always in the segment, repeated")
	fl.StringArrayVar(&exclude, "exclude", nil, "a targeting key never in the segment, repeated")
	remove := newDeleteCmd(c, "segment", "Delete a segment no flag or segment uses", kindSegments, func(key string) string { return c.path("segments", key) })
	return []*cobra.Command{list, get, create, remove}
}

// segmentMatch is how a segment's conditions combine; empty means all.
func segmentMatch(s *pb.Segment) string {
	if s.GetMatch() == "" {
		return "all"
	}
	return s.GetMatch()
}

// parseCondition parses --condition 'ATTRIBUTE OP VALUE,…'.
func parseCondition(text string) (*pb.Condition, error) {
	f := strings.Fields(text)
	if len(f) < 2 {
		return nil, fmt.Errorf("--condition %q: want 'ATTRIBUTE OP VALUE,…'", text)
	}
	cond := &pb.Condition{Attribute: f[0], Op: f[1]}
	if len(f) == 2 {
		return cond, nil
	}
	for part := range strings.SplitSeq(strings.Join(f[2:], " "), ",") {
		part = strings.TrimSpace(part)
		var v any = part
		if json.Unmarshal([]byte(part), &v) != nil {
			v = part
		}
		value, err := structpb.NewValue(v)
		if err != nil {
			return nil, fmt.Errorf("--condition %q: %w", text, err)
		}
		cond.Values = append(cond.Values, value)
	}
	return cond, nil
}

// conditionText is a condition as --condition takes it.
func conditionText(c *pb.Condition) string {
	values := make([]string, 0, len(c.GetValues()))
	for _, v := range c.GetValues() {
		if s, ok := v.GetKind().(*structpb.Value_StringValue); ok {
			values = append(values, s.StringValue)
		} else {
			values = append(values, jsonText(v))
		}
	}
	return strings.TrimSpace(c.GetAttribute() + " " + c.GetOp() + " " + strings.Join(values, ","))
}
