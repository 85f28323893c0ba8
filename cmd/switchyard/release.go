package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/model"
)

// newReleaseCmd is "switchyard release": staged releases.
func newReleaseCmd(c *cli) *cobra.Command {
	cmd := groupCmd("release", "Create, run and inspect staged releases",
		newReleaseCreateCmd(c), newReleaseListCmd(c))
	cmd.Long = `Create, run and inspect staged releases: a set of flag variants and component
versions that reaches its audience stage by stage, each stage behind a gate.`
	for _, v := range releaseVerbs() {
		cmd.AddCommand(v.command(c))
	}
	cmd.AddCommand(newReleaseStatusCmd(c), newReleaseReportCmd(c))
	cmd.AddCommand(newReleaseRecordCmds(c)...)
	return cmd
}

// releaseVerb is a lifecycle call: POST .../releases/{id}:{name} with a
// free text field and, for some, acknowledge_drift or start_time.
type releaseVerb struct {
	name, summary string
	// text is the request field the --note flag fills ("note", "comment"
	// or "reason"); drift and at say whether the call takes
	// --acknowledge-drift and --at.
	text      string
	drift, at bool
}

// releaseVerbs returns the lifecycle calls, in lifecycle order.
func releaseVerbs() []releaseVerb {
	return []releaseVerb{
		{name: "start", summary: "Start a draft, now or --at a time", text: "note", at: true},
		{name: "advance", summary: "Enter the next stage (or complete at the last)", text: "note", drift: true},
		{name: "approve", summary: "Approve the next gate (not as its requester)", text: "comment"},
		{name: "pause", summary: "Hold a running or scheduled release", text: "reason"},
		{name: "resume", summary: "Resume a paused release", text: "note", drift: true},
		{name: "rollback", summary: "End a started release and remove its audience", text: "reason"},
		{name: "cancel", summary: "End a release that has not started", text: "reason"},
	}
}

// command is the verb's command, "release start" and so on.
func (v releaseVerb) command(c *cli) *cobra.Command {
	var text, etag, at string
	var drift bool
	cmd := &cobra.Command{
		Use:               v.name + " ID",
		Short:             v.summary,
		Example:           fmt.Sprintf("  switchyard release %s ios-240-de --%s \"…\"", v.name, v.text),
		Args:              argsNamed("ID"),
		ValidArgsFunction: c.completeArgs(kindReleases),
		RunE: func(cmd *cobra.Command, args []string) error {
			body := map[string]any{v.text: text, "etag": etag}
			if drift {
				body["acknowledge_drift"] = true
			}
			if at != "" {
				t, err := time.Parse(time.RFC3339, at)
				if err != nil {
					return usageError{fmt.Errorf("--at %q: want an RFC 3339 time such as 2030-03-01T09:00:00Z", at)}
				}
				body["start_time"] = t.UTC().Format(time.RFC3339Nano)
			}
			var r pb.Release
			raw, err := c.call(cmd.Context(), http.MethodPost, c.path("releases", args[0])+":"+v.name, body, &r)
			if err != nil {
				return err
			}
			return c.print(raw, func(w io.Writer) { fmt.Fprintln(w, releaseSummary(&r)) })
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&text, v.text, "", "the "+v.text+" recorded on the release's timeline")
	fs.StringVar(&etag, "etag", "", "refuse the call unless the release's etag is this")
	if v.drift {
		fs.BoolVar(&drift, "acknowledge-drift", false, "go on although an item's targeting changed outside the release")
	}
	if v.at {
		fs.StringVar(&at, "at", "", "start at this RFC 3339 time instead of now")
	}
	return cmd
}

func newReleaseListCmd(c *cli) *cobra.Command {
	var env, state string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the project's releases",
		Args:  argsNamed(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{"page_size": {"1000"}}
			if env != "" {
				q.Set("environment", env)
			}
			if state != "" {
				q.Set("state", strings.ToUpper(state))
			}
			var resp pb.ListReleasesResponse
			raw, err := c.call(cmd.Context(), http.MethodGet, c.path("releases")+"?"+q.Encode(), nil, &resp)
			if err != nil {
				return err
			}
			return c.print(raw, func(w io.Writer) {
				fmt.Fprintln(w, "ID\tENVIRONMENT\tSTATE\tSTAGE\tNEXT\tTITLE")
				for _, r := range resp.GetReleases() {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", r.GetId(), r.GetEnvironment(), r.GetState(),
						stageProgress(r), nextStep(r), r.GetTitle())
				}
			})
		},
	}
	cmd.Flags().StringVar(&env, "environment", "", "only releases of this environment")
	cmd.Flags().StringVar(&state, "state", "", "only releases in this state, e.g. IN_PROGRESS")
	c.completeFlag(cmd, "environment", kindEnvironments)
	return cmd
}

// releaseSummary is a release in one line: id, state, stage and next step.
func releaseSummary(r *pb.Release) string {
	s := fmt.Sprintf("release %s (%s): %s, stage %s", r.GetId(), r.GetEnvironment(), r.GetState(), stageProgress(r))
	if n := nextStep(r); n != "-" {
		s += "; next: " + n
	}
	if d := driftOf(r); len(d) > 0 {
		s += "; changed outside the release: " + strings.Join(d, ", ")
	}
	return s
}

// driftOf is the items whose targeting changed outside a running or
// paused release: once it ended, what it wrote or removed is no drift.
func driftOf(r *pb.Release) []string {
	switch r.GetState() {
	case string(model.StateInProgress), string(model.StatePaused), string(model.StateScheduled):
		return r.GetDrifted()
	}
	return nil
}

// stageProgress is "2/4 (eu-10)": the current stage of the plan, with its
// name.
func stageProgress(r *pb.Release) string {
	s := fmt.Sprintf("%d/%d", r.GetStage(), len(r.GetPlan()))
	if i := int(r.GetStage()) - 1; i >= 0 && i < len(r.GetPlan()) && r.GetPlan()[i].GetName() != "" {
		s += " (" + r.GetPlan()[i].GetName() + ")"
	}
	return s
}

// nextStep describes what a release waits for, "-" for nothing: "stage 2
// (de-5) once approved (0 of 1 approvals)", "stage 3 (de) at …",
// "completion on 'release advance'".
func nextStep(r *pb.Release) string {
	n := r.GetNext()
	if n == nil {
		return "-"
	}
	target := "completion"
	if i := int(n.GetStage()) - 1; n.GetGate() != "complete" && i < len(r.GetPlan()) {
		target = fmt.Sprintf("stage %d", n.GetStage())
		if name := r.GetPlan()[i].GetName(); name != "" {
			target += " (" + name + ")"
		}
	}
	switch {
	case n.GetDueTime() != nil:
		return fmt.Sprintf("%s at %s (%s gate)", target, formatTime(n.GetDueTime()), n.GetGate())
	case n.GetGate() == "approval":
		return fmt.Sprintf("%s once approved (%d of %d approvals)", target, n.GetApprovalsGiven(), n.GetApprovalsNeeded())
	}
	return target + " on 'release advance'"
}

// formatTime prints a timestamp in UTC to the second, "-" when absent.
func formatTime(t *timestamppb.Timestamp) string {
	if t == nil {
		return "-"
	}
	return t.AsTime().UTC().Format("2006-01-02 15:04:05Z")
}
