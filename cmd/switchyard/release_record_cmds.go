package main

import (
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

// newReleaseRecordCmds returns the commands of "switchyard release" that
// add to a release's record: incident and review.
func newReleaseRecordCmds(c *cli) []*cobra.Command {
	var summary, severity, at, author, incidentEtag string
	incident := &cobra.Command{
		Use:               "incident RELEASE --severity critical|high|medium|low --summary TEXT [--time T]",
		Short:             "Link an incident to a release (it counts in the release report)",
		Args:              argsNamed("RELEASE"),
		ValidArgsFunction: c.completeArgs(kindReleases),
		RunE: func(cmd *cobra.Command, args []string) error {
			in := &pb.ReleaseIncident{Severity: severity, Note: summary, Author: author}
			if at != "" {
				t, err := time.Parse(time.RFC3339, at)
				if err != nil {
					return usageError{fmt.Errorf("--time %q: want an RFC 3339 time such as 2026-01-02T15:04:05Z", at)}
				}
				in.Time = timestamppb.New(t)
			}
			var out pb.Release
			raw, err := c.call(cmd.Context(), http.MethodPost,
				withQuery(c.path("releases", args[0], "incidents"), "etag", incidentEtag), in, &out)
			if err != nil {
				return err
			}
			return c.print(raw, func(w io.Writer) {
				incs := out.GetIncidents()
				if len(incs) == 0 {
					return
				}
				last := incs[len(incs)-1]
				fmt.Fprintf(w, "incident %d (%s) linked to release %s at stage %d\n", last.GetId(), last.GetSeverity(), out.GetId(), last.GetStage())
			})
		},
	}
	fl := incident.Flags()
	fl.StringVar(&summary, "summary", "", "what happened")
	fl.StringVar(&severity, "severity", "", "critical, high, medium or low")
	fl.StringVar(&at, "time", "", "when it happened, RFC 3339 (default: now)")
	fl.StringVar(&author, "author", "", "who reports it (default: your key's name)")
	fl.StringVar(&incidentEtag, "etag", "", "only if the release still has this etag")

	var outcome, lessons, reviewEtag string
	review := &cobra.Command{
		Use:               "review RELEASE --outcome success|partial|failure [--lessons TEXT]",
		Short:             "Write (or rewrite) the review of a release that has ended",
		Args:              argsNamed("RELEASE"),
		ValidArgsFunction: c.completeArgs(kindReleases),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out pb.Release
			raw, err := c.call(cmd.Context(), http.MethodPut, withQuery(c.path("releases", args[0], "review"), "etag", reviewEtag),
				&pb.ReleaseReview{Outcome: outcome, LessonsLearned: lessons}, &out)
			if err != nil {
				return err
			}
			return c.print(raw, func(w io.Writer) {
				fmt.Fprintf(w, "review of release %s: %s, by %s\n", out.GetId(), out.GetReview().GetOutcome(), out.GetReview().GetAuthor())
			})
		},
	}
	fl = review.Flags()
	fl.StringVar(&outcome, "outcome", "", "success, partial or failure")
	fl.StringVar(&lessons, "lessons", "", "the lessons learned")
	fl.StringVar(&reviewEtag, "etag", "", "only if the release still has this etag")
	return []*cobra.Command{incident, review}
}
