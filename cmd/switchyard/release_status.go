package main

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/model"
)

func newReleaseStatusCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:               "status ID",
		Short:             "Show a release: its stages, verification and timeline",
		Example:           "  switchyard release status ios-240-de",
		Args:              argsNamed("ID"),
		ValidArgsFunction: c.completeArgs(kindReleases),
		RunE: func(cmd *cobra.Command, args []string) error {
			var r pb.Release
			raw, err := c.call(cmd.Context(), http.MethodGet, c.path("releases", args[0]), nil, &r)
			if err != nil {
				return err
			}
			return c.print(raw, func(w io.Writer) { writeReleaseStatus(w, &r) })
		},
	}
}

// writeReleaseStatus writes a release's header, its stages with their
// verification, its incidents and its timeline, in tab-separated columns
// for a tabwriter.
func writeReleaseStatus(w io.Writer, r *pb.Release) {
	writeReleaseHeader(w, r)
	writeStages(w, r)
	if len(r.GetIncidents()) > 0 {
		fmt.Fprintln(w, "\nINCIDENTS")
		fmt.Fprintln(w, "  #\tTIME\tSEVERITY\tSTAGE\tAUTHOR\tNOTE")
		for _, in := range r.GetIncidents() {
			fmt.Fprintf(w, "  %d\t%s\t%s\t%d\t%s\t%s\n", in.GetId(), formatTime(in.GetTime()), in.GetSeverity(),
				in.GetStage(), orDash(in.GetAuthor()), in.GetNote())
		}
	}
	fmt.Fprintln(w, "\nTIMELINE")
	fmt.Fprintln(w, "  TIME\tACTION\tSTATE\tSTAGE\tREVISION\tBY\tNOTE")
	for _, ev := range r.GetTimeline() {
		note := ev.GetNote()
		if ev.GetLate() {
			note = strings.TrimSpace(fmt.Sprintf("late by %s %s", seconds(ev.GetDelaySeconds()), note))
		}
		fmt.Fprintf(w, "  %s\t%s\t%s → %s\t%d\t%d\t%s\t%s\n", formatTime(ev.GetTime()), ev.GetAction(),
			orDash(ev.GetFromState()), ev.GetToState(), ev.GetStage(), ev.GetRevision(), byText(ev.GetActorName(), ev.GetActorPrincipal()), note)
	}
}

// byText names who took a step: the key's name, followed by the person or
// service it belongs to when that is another name ("alice-laptop
// (alice)").
func byText(keyName, principal string) string {
	if principal == "" || principal == keyName {
		return orDash(keyName)
	}
	return fmt.Sprintf("%s (%s)", orDash(keyName), principal)
}

// writeReleaseHeader writes what the release is and where it stands, a
// field a line.
func writeReleaseHeader(w io.Writer, r *pb.Release) {
	title := r.GetId()
	if r.GetTitle() != "" {
		title += " — " + r.GetTitle()
	}
	fmt.Fprintf(w, "release %s\n\n", title)
	field := func(name, value string) {
		if value != "" {
			fmt.Fprintf(w, "  %s\t%s\n", name, value)
		}
	}
	field("environment", r.GetEnvironment())
	field("state", r.GetState()+", stage "+stageProgress(r))
	if n := nextStep(r); n != "-" {
		field("next", n)
	}
	field("model", r.GetModel())
	field("mode", r.GetMode())
	field("owner", r.GetOwner())
	field("ticket", r.GetLinks().GetTicket())
	field("change record", r.GetLinks().GetChangeRecord())
	var items []string
	for _, it := range r.GetItems() {
		items = append(items, itemText(it))
	}
	field("items", strings.Join(items, ", "))
	field("notes", r.GetReleaseNotes())
	for _, ap := range r.GetApprovals() {
		field("approved", strings.TrimSpace(fmt.Sprintf("stage %d by %s at %s %s", ap.GetStage(), ap.GetByName(),
			formatTime(ap.GetTime()), quoteNote(ap.GetComment()))))
	}
	if d := driftOf(r); len(d) > 0 {
		field("drifted", strings.Join(d, ", ")+" (changed outside the release: advance or resume with --acknowledge-drift)")
	}
	if c := r.GetFinalCheck(); c != nil {
		field("final check", c.GetAction()+": "+checkText(c))
	}
	if rv := r.GetReview(); rv != nil {
		field("review", strings.TrimSpace(fmt.Sprintf("%s by %s at %s %s", rv.GetOutcome(), orDash(rv.GetAuthor()),
			formatTime(rv.GetTime()), quoteNote(rv.GetLessonsLearned()))))
	}
}

// writeStages writes the table of stages: state, audience, gate, planned
// and actual times and, when the server verified any, convergence and
// the resolution check, followed by the checks' problems.
func writeStages(w io.Writer, r *pb.Release) {
	verified := map[int32]*pb.ReleaseStageVerification{}
	for _, v := range r.GetVerification() {
		verified[v.GetStage()] = v
	}
	steps := map[int32]*pb.ReleaseStepRecord{}
	for _, st := range r.GetSteps() {
		steps[st.GetStage()] = st
	}
	header := "  #\tNAME\tSTATE\tAUDIENCE\tGATE\tPLANNED\tACTUAL\tLEAD TIME"
	if len(verified) > 0 {
		header += "\tCONVERGENCE\tCHECK"
	}
	fmt.Fprintln(w, "\nSTAGES")
	fmt.Fprintln(w, header)
	for i, st := range r.GetPlan() {
		n := int32(i + 1)
		step := steps[n]
		state := orDash(step.GetState())
		if state == "current" && r.GetState() == string(model.StatePaused) {
			state += " (paused)"
		}
		planned, actual, lead := stepTimes(st, step)
		fmt.Fprintf(w, "  %d\t%s\t%s\t%s\t%s\t%s\t%s\t%s", n, orDash(st.GetName()), state, audienceText(st),
			gateText(r, int(n)), planned, actual, lead)
		if len(verified) > 0 {
			v := verified[n]
			check := "-"
			if v.GetResolution() != nil {
				check = checkText(v.GetResolution())
			}
			fmt.Fprintf(w, "\t%s\t%s", convergenceText(v.GetConvergence()), check)
		}
		fmt.Fprintln(w)
	}
	for i := range r.GetPlan() {
		writeCheckProblems(w, fmt.Sprintf("stage %d", i+1), verified[int32(i+1)].GetResolution())
	}
	writeCheckProblems(w, "final", r.GetFinalCheck())
}

// stepTimes are when a stage was planned to begin, when it began (with
// its delay) and how long it lasted, from the server's step record and,
// for a stage not yet due, its gate.
func stepTimes(st *pb.ReleaseStage, step *pb.ReleaseStepRecord) (planned, actual, lead string) {
	planned, actual, lead = formatTime(step.GetPlannedTime()), formatTime(step.GetEnterTime()), "-"
	if step.GetPlannedTime() == nil && step.GetEnterTime() == nil {
		switch g := st.GetGate(); {
		case g.GetAt() != nil:
			planned = formatTime(g.GetAt().GetTime())
		case g.GetWait() != nil:
			planned = "+" + g.GetWait().GetDuration()
		}
	}
	if d := step.GetDelaySeconds(); d > 0 && step.GetEnterTime() != nil {
		actual += " (+" + seconds(d)
		if step.GetLate() {
			actual += ", late"
		}
		actual += ")"
	}
	if step.GetExitTime() != nil {
		lead = seconds(step.GetLeadTimeSeconds())
	}
	return planned, actual, lead
}

// convergenceText is "3/4 (75%), need 95%: not met", or "-".
func convergenceText(c *pb.ReleaseConvergence) string {
	if c == nil {
		return "-"
	}
	s := fmt.Sprintf("%d/%d (%s)", c.GetConverged(), c.GetConnected(), ratio(c.GetShare()))
	if c.GetConnected() == 0 && c.GetNote() != "" {
		s = c.GetNote()
	}
	if c.GetRequired() > 0 {
		met := "met"
		if !c.GetMet() {
			met = "not met"
		}
		s += fmt.Sprintf(", need %s: %s", ratio(c.GetRequired()), met)
	}
	return s
}

// checkText is a resolution check's result in a few words.
func checkText(c *pb.ReleaseResolutionCheck) string {
	switch {
	case c.GetError() != "":
		return "error"
	case c.GetPassed():
		return fmt.Sprintf("passed (%d contexts, %d evaluations)", c.GetContexts(), c.GetEvaluations())
	}
	return fmt.Sprintf("FAILED (%d of %d evaluations)", c.GetMismatches(), c.GetEvaluations())
}

// writeCheckProblems writes why a resolution check failed: its error or
// its first mismatches.
func writeCheckProblems(w io.Writer, what string, c *pb.ReleaseResolutionCheck) {
	if c == nil || c.GetPassed() {
		return
	}
	if c.GetError() != "" {
		fmt.Fprintf(w, "  %s check at revision %d: %s\n", what, c.GetRevision(), c.GetError())
	}
	for _, m := range c.GetFirstMismatches() {
		side := "outside"
		if m.GetInAudience() {
			side = "inside"
		}
		fmt.Fprintf(w, "  %s check at revision %d: %s for %s (%s the audience): want %s, got %s\n",
			what, c.GetRevision(), m.GetItem(), m.GetTargetingKey(), side, m.GetWant(), m.GetGot())
	}
}

// itemText is "flag new-checkout → on" or "component ios-app → 2.4.0".
func itemText(it *pb.ReleaseItem) string {
	if it.GetComponent() != "" {
		return "component " + it.GetComponent() + " → " + it.GetVersion()
	}
	return "flag " + it.GetFlag() + " → " + it.GetVariant()
}

// audienceText is a stage's audience: its segments (everyone when none)
// and the percentage of them.
func audienceText(st *pb.ReleaseStage) string {
	who := "everyone"
	if len(st.GetSegments()) > 0 {
		who = strings.Join(st.GetSegments(), ",")
	}
	return who + " " + ratio(float64(st.GetWeight())/model.RolloutTotal)
}

// ratio prints a share (0 to 1) as a percentage without trailing zeros.
func ratio(share float64) string {
	return strconv.FormatFloat(math.Round(share*1e5)/1e3, 'f', -1, 64) + "%"
}

// gateOf is a gate in a few words: "manual", "wait 1h", "at …",
// "approval", "approval ×2 (admin)".
func gateOf(g *pb.ReleaseGate) string {
	switch {
	case g.GetWait() != nil:
		return "wait " + g.GetWait().GetDuration()
	case g.GetAt() != nil:
		return "at " + formatTime(g.GetAt().GetTime())
	case g.GetApproval() != nil:
		s := "approval"
		if n := g.GetApproval().GetCount(); n > 1 {
			s += fmt.Sprintf(" ×%d", n)
		}
		if who := g.GetApproval().GetApprovers(); who == model.ApproverAdmin {
			s += " (admin)"
		}
		return s
	}
	return "manual"
}

// gateText is the gate of stage n, with the approvals given when the
// release waits for them.
func gateText(r *pb.Release, n int) string {
	g := r.GetPlan()[n-1].GetGate()
	next := r.GetNext()
	if g.GetApproval() == nil || next == nil || int(next.GetStage()) != n {
		return gateOf(g)
	}
	return strings.Replace(gateOf(g), "approval", fmt.Sprintf("approval %d/%d", next.GetApprovalsGiven(), next.GetApprovalsNeeded()), 1)
}

// seconds prints a number of seconds as a Go duration rounded to the
// second ("3m12s").
func seconds(s float64) string {
	return (time.Duration(math.Round(s)) * time.Second).String()
}

// orDash is s, or "-" when it is empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// quoteNote quotes a non-empty note for a line of text.
func quoteNote(s string) string {
	if s == "" {
		return ""
	}
	return strconv.Quote(s)
}
