package console

import (
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard/switchyard/internal/console/svg"
	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

// The release states (pb.Release.State).
const (
	releaseDraft      = "DRAFT"
	releaseScheduled  = "SCHEDULED"
	releaseInProgress = "IN_PROGRESS"
	releasePaused     = "PAUSED"
	releaseCompleted  = "COMPLETED"
	releaseRolledBack = "ROLLED_BACK"
	releaseCancelled  = "CANCELLED"
)

// releaseStates are the states in the order the list groups them.
var releaseStates = []string{releaseInProgress, releasePaused, releaseScheduled, releaseDraft, releaseCompleted, releaseRolledBack, releaseCancelled}

// StateBadge is a state shown with an icon and words, so that colour is
// never the only signal; Tone picks the badge's colour class.
type StateBadge struct {
	Icon, Label, Tone string
}

// releaseBadge is the badge of a release state.
func releaseBadge(state string) StateBadge {
	switch state {
	case releaseDraft:
		return StateBadge{"✎", "Draft", "neutral"}
	case releaseScheduled:
		return StateBadge{"◷", "Scheduled", "info"}
	case releaseInProgress:
		return StateBadge{"▶", "In progress", "active"}
	case releasePaused:
		return StateBadge{"❚❚", "Paused", "warn"}
	case releaseCompleted:
		return StateBadge{"✓", "Completed", "good"}
	case releaseRolledBack:
		return StateBadge{"↶", "Rolled back", "bad"}
	case releaseCancelled:
		return StateBadge{"✕", "Cancelled", "neutral"}
	}
	return StateBadge{"?", state, "neutral"}
}

// ReleaseRow is one release in the releases list.
type ReleaseRow struct {
	ID, Title, Environment, Owner string
	State                         StateBadge
	// Stage is e.g. "2 of 4 · EU 10 %"; empty before the release starts.
	Stage string
	// Audience is the current audience in words, e.g. "10 % of everyone".
	Audience string
	// Next is what the release waits for, e.g. "approval (0 of 1)".
	Next    string
	Updated string
}

// ReleaseGroup is the releases of one state.
type ReleaseGroup struct {
	State StateBadge
	Key   string
	Rows  []ReleaseRow
}

// releaseRows groups releases by state, in releaseStates order, keeping
// the order of releases within a state; empty groups are left out.
func releaseRows(releases []*pb.Release) []ReleaseGroup {
	by := map[string][]ReleaseRow{}
	for _, r := range releases {
		row := ReleaseRow{
			ID: r.GetId(), Title: r.GetTitle(), Environment: r.GetEnvironment(), Owner: r.GetOwner(),
			State: releaseBadge(r.GetState()), Next: nextWords(r), Updated: shownTime(r.GetUpdateTime().AsTime()),
		}
		if s := r.GetStage(); s > 0 && int(s) <= len(r.GetPlan()) {
			row.Stage = fmt.Sprintf("%d of %d · %s", s, len(r.GetPlan()), stageName(r, s))
			switch r.GetState() {
			case releaseInProgress, releasePaused, releaseCompleted:
				row.Audience = audienceWords(r.GetPlan()[:s])
			default: // rolled back or cancelled: nobody has it
				row.Stage = "ended at " + row.Stage
			}
		}
		by[r.GetState()] = append(by[r.GetState()], row)
	}
	var out []ReleaseGroup
	for _, st := range releaseStates {
		if rows := by[st]; len(rows) > 0 {
			out = append(out, ReleaseGroup{State: releaseBadge(st), Key: st, Rows: rows})
			delete(by, st)
		}
	}
	for st, rows := range by { // states this console does not know
		out = append(out, ReleaseGroup{State: releaseBadge(st), Key: st, Rows: rows})
	}
	return out
}

// stageName is stage n's name, or "stage n" when it has none.
func stageName(r *pb.Release, n int32) string {
	if n >= 1 && int(n) <= len(r.GetPlan()) {
		if name := r.GetPlan()[n-1].GetName(); name != "" {
			return name
		}
	}
	return "stage " + strconv.Itoa(int(n))
}

// audienceWords says who the union of stages is: the largest share of
// everyone, and the segments with their largest shares.
func audienceWords(stages []*pb.ReleaseStage) string {
	everyone := int32(-1)
	var segs []string
	segShare := map[string]int32{}
	for _, s := range stages {
		if len(s.GetSegments()) == 0 {
			everyone = max(everyone, s.GetWeight())
			continue
		}
		for _, seg := range s.GetSegments() {
			if _, ok := segShare[seg]; !ok {
				segs = append(segs, seg)
			}
			segShare[seg] = max(segShare[seg], s.GetWeight())
		}
	}
	var parts []string
	if everyone >= 0 {
		parts = append(parts, weightPercent(everyone)+" of everyone")
	}
	for _, seg := range segs {
		parts = append(parts, weightPercent(segShare[seg])+" of "+seg)
	}
	if len(parts) == 0 {
		return "nobody"
	}
	return strings.Join(parts, " + ")
}

// weightPercent formats a weight of 0 to 100000 as a percentage.
func weightPercent(w int32) string { return svg.Percent(float64(w) / 100000) }

// gateWords describes a stage's gate.
func gateWords(g *pb.ReleaseGate) string {
	switch {
	case g.GetWait() != nil:
		return "wait " + g.GetWait().GetDuration()
	case g.GetAt() != nil:
		return "at " + shownTime(g.GetAt().GetTime().AsTime())
	case g.GetApproval() != nil:
		n := g.GetApproval().GetCount()
		if n == 0 {
			n = 1
		}
		who := g.GetApproval().GetApprovers()
		if who == "" {
			who = "release-manager"
		}
		return fmt.Sprintf("approval (%d by %s)", n, who)
	}
	return "manual"
}

// nextWords says what a release waits for, e.g. "approval (0 of 1)".
func nextWords(r *pb.Release) string {
	n := r.GetNext()
	if n == nil {
		return ""
	}
	var s string
	switch n.GetGate() {
	case "complete":
		s = "the last step: complete"
	case "approval":
		s = fmt.Sprintf("approval of %s (%d of %d)", stageName(r, n.GetStage()), n.GetApprovalsGiven(), n.GetApprovalsNeeded())
	default:
		s = n.GetGate() + " → " + stageName(r, n.GetStage())
	}
	if n.GetDueTime() != nil {
		s += " at " + shownTime(n.GetDueTime().AsTime())
	}
	return s
}

// ReleaseStageView is one stage of a release page.
type ReleaseStageView struct {
	Number                 int32
	Name, Audience, Gate   string
	State                  string // pending, current, done, skipped
	Planned, Entered, Left string
	Late                   bool
	// Approvals are who approved entering the stage.
	Approvals []string
	// MinConvergence is the stage's requirement, e.g. "95 %"; empty when
	// none.
	MinConvergence string
	Guardrail      string
	Convergence    *ConvergenceView
}

// ConvergenceView is how far the environment's SDKs applied a stage.
type ConvergenceView struct {
	Revision             uint64
	Connected, Converged int32
	Share, Required      string
	// Percent is the share as a whole number, for a <meter>.
	Percent int
	Met     bool
	Note    string
	Time    string
}

// ReleaseEventView is one entry of a release's timeline, in words.
type ReleaseEventView struct {
	Time, Action, Actor, Note, Change string
	Revision                          uint64
	Late                              bool
}

// ReleaseAction is one action the viewer may take on a release, with the
// confirmation that names its consequence.
type ReleaseAction struct {
	// Name is the path segment of the action (start, approve, advance,
	// pause, resume, rollback, cancel).
	Name, Label, Confirm string
	// Danger marks actions that take an audience away.
	Danger bool
	// NoteLabel labels the free-text field sent with the action.
	NoteLabel string
	// Drift asks to acknowledge drifted items.
	Drift bool
}

// ReleaseView is everything a release page shows.
type ReleaseView struct {
	ID, Title, Environment, Owner, Mode, Notes, Etag string
	Ticket, ChangeRecord, Model                      string
	State                                            StateBadge
	StateKey                                         string
	// Stage is the current stage, from 1; 0 before the start.
	Stage     int32
	Items     []string
	Stages    []ReleaseStageView
	Next      string
	Drifted   []string
	Events    []ReleaseEventView
	Actions   []ReleaseAction
	Incidents []string
	// CanRecordIncident is whether the viewer may add an incident: a
	// release manager, on a release that has left the draft state.
	CanRecordIncident bool
	// Severities are the incident severities the form offers.
	Severities []string
	// CanReview is whether the viewer may write the review: a release
	// manager, on a release that has ended. Outcomes are the review's
	// outcomes, ReviewOutcome and ReviewNotes the review written so far.
	CanReview                  bool
	Outcomes                   []string
	ReviewOutcome, ReviewNotes string
	Review                     string
	FinalCheck                 string
	// Guardrail is the current stage's guardrail metric, live; nil when
	// the stage has none.
	Guardrail *MetricView
	// Live is set while the release may change on its own (scheduled,
	// running or paused): the page polls its fragment.
	Live bool
	// Timeline and Audience are the charts.
	Timeline, Audience template.HTML
	// AudienceDesc is the audience chart's text alternative.
	AudienceDesc string
}

// releaseView builds a release page at now for the signed-in viewer u
// (nil: no one), whose permissions and identity decide the buttons.
func releaseView(r *pb.Release, u *User, now time.Time) ReleaseView {
	canRelease := u != nil && u.CanRelease
	v := ReleaseView{
		ID: r.GetId(), Title: r.GetTitle(), Environment: r.GetEnvironment(), Owner: r.GetOwner(),
		Mode: r.GetMode(), Notes: r.GetReleaseNotes(), Etag: r.GetEtag(), Model: r.GetModel(),
		Ticket: r.GetLinks().GetTicket(), ChangeRecord: r.GetLinks().GetChangeRecord(),
		State: releaseBadge(r.GetState()), StateKey: r.GetState(), Stage: r.GetStage(), Next: nextWords(r), Drifted: r.GetDrifted(),
		CanRecordIncident: canRelease && r.GetState() != releaseDraft, Severities: incidentSeverities,
		Outcomes: reviewOutcomes, ReviewOutcome: r.GetReview().GetOutcome(), ReviewNotes: r.GetReview().GetLessonsLearned(),
	}
	switch r.GetState() {
	case releaseCompleted, releaseRolledBack, releaseCancelled:
		v.CanReview = canRelease
	}
	switch r.GetState() {
	case releaseScheduled, releaseInProgress, releasePaused:
		v.Live = true
	}
	if v.Mode == "" {
		v.Mode = "pull"
	}
	for _, it := range r.GetItems() {
		if it.GetFlag() != "" {
			v.Items = append(v.Items, "flag "+it.GetFlag()+" → "+it.GetVariant())
		} else {
			v.Items = append(v.Items, "component "+it.GetComponent()+" → "+it.GetVersion())
		}
	}
	conv := map[int32]*pb.ReleaseConvergence{}
	for _, sv := range r.GetVerification() {
		conv[sv.GetStage()] = sv.GetConvergence()
	}
	steps := map[int32]*pb.ReleaseStepRecord{}
	for _, st := range r.GetSteps() {
		steps[st.GetStage()] = st
	}
	var tl []svg.Stage
	for i, s := range r.GetPlan() {
		n := int32(i + 1)
		sv := ReleaseStageView{
			Number: n, Name: stageName(r, n), Audience: audienceWords(r.GetPlan()[i : i+1]),
			Gate: gateWords(s.GetGate()), State: stageState(r, n),
		}
		if s.GetMinConvergence() > 0 {
			sv.MinConvergence = svg.Percent(s.GetMinConvergence())
		}
		if g := s.GetGuardrail(); g != nil {
			action := g.GetAction()
			if action == "" {
				action = "pause"
			}
			sv.Guardrail = fmt.Sprintf("%s must not get worse than %s (%s)", g.GetMetric(), svg.Percent(g.GetThreshold()), action)
		}
		st := steps[n]
		var planned, entered, exited time.Time
		if st != nil {
			sv.State = st.GetState()
			sv.Late = st.GetLate()
			if st.GetPlannedTime() != nil {
				planned = st.GetPlannedTime().AsTime()
				sv.Planned = shownTime(planned)
			}
			if st.GetEnterTime() != nil {
				entered = st.GetEnterTime().AsTime()
				sv.Entered = shownTime(entered)
			}
			if st.GetExitTime() != nil {
				exited = st.GetExitTime().AsTime()
				sv.Left = shownTime(exited)
			}
		}
		sv.Approvals = approvalsOf(r, n)
		if c := conv[n]; c != nil {
			sv.Convergence = convergenceView(c)
		}
		note := ""
		if names := approverNames(r, n); len(names) > 0 {
			note = "approved by " + strings.Join(names, ", ")
		}
		tl = append(tl, svg.Stage{
			Label: fmt.Sprintf("%d · %s", n, sv.Name), Gate: sv.Gate, State: sv.State,
			Planned: planned, Entered: entered, Exited: exited, Late: sv.Late, Note: note,
		})
		v.Stages = append(v.Stages, sv)
	}
	for _, ev := range r.GetTimeline() {
		v.Events = append(v.Events, eventView(ev))
	}
	for _, inc := range r.GetIncidents() {
		v.Incidents = append(v.Incidents, fmt.Sprintf("#%d %s at stage %d, %s by %s: %s",
			inc.GetId(), inc.GetSeverity(), inc.GetStage(), shownTime(inc.GetTime().AsTime()), inc.GetAuthor(), inc.GetNote()))
	}
	if rv := r.GetReview(); rv != nil {
		v.Review = fmt.Sprintf("%s — %s (%s)", rv.GetOutcome(), rv.GetLessonsLearned(), rv.GetAuthor())
	}
	if fc := r.GetFinalCheck(); fc != nil {
		v.FinalCheck = checkWords(fc)
	}
	if g := r.GetGuardrailResult(); g != nil {
		mv := metricView(g)
		v.Guardrail = &mv
	}
	v.Actions = releaseActions(r, u)
	v.Timeline = svg.Timeline(svg.Meta{
		ID: "release-timeline", Title: "Stage timeline of " + r.GetId(),
		Desc: timelineDesc(v.Stages),
	}, tl, now)
	points := audiencePoints(r)
	v.AudienceDesc = audienceDesc(points)
	v.Audience = svg.TimeChart(svg.Meta{
		ID: "release-audience", Title: "Audience share of everyone over time", Desc: v.AudienceDesc,
	}, []svg.Series{{Name: "share of everyone", Step: true, Points: points}}, svg.Axis{Max: 1, Format: svg.Percent}, endOfChart(r, now))
	return v
}

// stageState is stage n's state when the release has no step records.
func stageState(r *pb.Release, n int32) string {
	switch {
	case n < r.GetStage():
		return "done"
	case n == r.GetStage() && (r.GetState() == releaseInProgress || r.GetState() == releasePaused):
		return "current"
	case n == r.GetStage():
		return "done"
	}
	return "pending"
}

// approvalsOf says who approved entering stage n: the approve events of
// the timeline taken while the release was at the stage before (once the
// release enters a stage its approvals leave Release.approvals), each
// with time and comment.
func approvalsOf(r *pb.Release, n int32) []string {
	var out []string
	for _, ev := range r.GetTimeline() {
		if ev.GetAction() == "approve" && ev.GetStage() == n-1 {
			s := cmpOr(ev.GetActorName(), ev.GetActor()) + " at " + shownTime(ev.GetTime().AsTime())
			if ev.GetNote() != "" {
				s += ": " + ev.GetNote()
			}
			out = append(out, s)
		}
	}
	return out
}

// approverNames are the names of who approved entering stage n.
func approverNames(r *pb.Release, n int32) []string {
	var out []string
	for _, ev := range r.GetTimeline() {
		if ev.GetAction() == "approve" && ev.GetStage() == n-1 {
			out = append(out, cmpOr(ev.GetActorName(), ev.GetActor()))
		}
	}
	return out
}

func convergenceView(c *pb.ReleaseConvergence) *ConvergenceView {
	cv := &ConvergenceView{
		Revision: c.GetRevision(), Connected: c.GetConnected(), Converged: c.GetConverged(),
		Share:   svg.Percent(c.GetShare()),
		Percent: int(c.GetShare()*100 + 0.5), Met: c.GetMet(), Note: c.GetNote(),
	}
	if c.GetRequired() > 0 {
		cv.Required = svg.Percent(c.GetRequired())
	}
	if c.GetTime() != nil {
		cv.Time = shownTime(c.GetTime().AsTime())
	}
	return cv
}

func checkWords(c *pb.ReleaseResolutionCheck) string {
	switch {
	case c.GetError() != "":
		return "✕ could not run: " + c.GetError()
	case c.GetPassed():
		return fmt.Sprintf("✓ passed: %d evaluations of %d contexts resolved as planned (revision %d)", c.GetEvaluations(), c.GetContexts(), c.GetRevision())
	}
	return fmt.Sprintf("✕ failed: %d of %d evaluations not resolved as planned (revision %d)", c.GetMismatches(), c.GetEvaluations(), c.GetRevision())
}

func eventView(ev *pb.ReleaseEvent) ReleaseEventView {
	e := ReleaseEventView{
		Time: shownTime(ev.GetTime().AsTime()), Action: strings.ReplaceAll(ev.GetAction(), "_", " "),
		Actor: ev.GetActorName(), Note: ev.GetNote(), Revision: ev.GetRevision(), Late: ev.GetLate(),
	}
	if e.Actor == "" {
		e.Actor = ev.GetActor()
	}
	if ev.GetFromState() != ev.GetToState() && ev.GetToState() != "" {
		e.Change = releaseBadge(ev.GetFromState()).Label + " → " + releaseBadge(ev.GetToState()).Label
	}
	if ev.GetStage() > 0 {
		if e.Change != "" {
			e.Change += ", "
		}
		e.Change += "stage " + strconv.Itoa(int(ev.GetStage()))
	}
	return e
}

// audiencePoints is the release's share of everyone over time: after each
// event that changed it, the largest weight of the stages without segments
// entered so far; none after a roll-back or cancellation.
func audiencePoints(r *pb.Release) []svg.Point {
	var pts []svg.Point
	last := -1.0
	for _, ev := range r.GetTimeline() {
		share := 0.0
		switch ev.GetToState() {
		case releaseInProgress, releasePaused, releaseCompleted:
			n := min(int(ev.GetStage()), len(r.GetPlan()))
			for _, s := range r.GetPlan()[:max(n, 0)] {
				if len(s.GetSegments()) == 0 {
					share = max(share, float64(s.GetWeight())/100000)
				}
			}
		case releaseDraft, releaseScheduled:
			if last < 0 {
				continue // nothing released yet
			}
		}
		if share == last {
			continue
		}
		pts = append(pts, svg.Point{T: ev.GetTime().AsTime(), V: share})
		last = share
	}
	return pts
}

// endOfChart is where the audience chart ends: now while the release may
// change, else its last event.
func endOfChart(r *pb.Release, now time.Time) time.Time {
	switch r.GetState() {
	case releaseInProgress, releasePaused, releaseScheduled:
		return now
	}
	if tl := r.GetTimeline(); len(tl) > 0 {
		return tl[len(tl)-1].GetTime().AsTime()
	}
	return time.Time{}
}

func audienceDesc(pts []svg.Point) string {
	if len(pts) == 0 {
		return "The release has not reached anyone yet."
	}
	var parts []string
	for _, p := range pts {
		parts = append(parts, svg.Percent(p.V)+" from "+shownTime(p.T))
	}
	return "Share of everyone: " + strings.Join(parts, "; ") + "."
}

func timelineDesc(stages []ReleaseStageView) string {
	var parts []string
	for _, s := range stages {
		p := fmt.Sprintf("Stage %d %s: %s, gate %s", s.Number, s.Name, s.State, s.Gate)
		if s.Planned != "" {
			p += ", planned " + s.Planned
		}
		if s.Entered != "" {
			p += ", entered " + s.Entered
		}
		if s.Left != "" {
			p += ", left " + s.Left
		}
		if s.Late {
			p += " (late)"
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return "No stages."
	}
	return strings.Join(parts, ". ") + "."
}

// releaseActions are the actions viewer u may take on r in its state
// (none without the release permission), each with a confirmation naming
// its consequence. Approve is left out for the requester and for whoever
// approved the next stage already (mayApprove). The server enforces all
// of them again; this only decides which buttons exist.
func releaseActions(r *pb.Release, u *User) []ReleaseAction {
	if u == nil || !u.CanRelease {
		return nil
	}
	env, items := r.GetEnvironment(), len(r.GetItems())
	drift := len(r.GetDrifted()) > 0
	var out []ReleaseAction
	next := r.GetNext()
	switch st := r.GetState(); st {
	case releaseDraft:
		first := "the first stage"
		if len(r.GetPlan()) > 0 {
			first = fmt.Sprintf("stage 1 (%s: %s)", stageName(r, 1), audienceWords(r.GetPlan()[:1]))
		}
		out = append(out, ReleaseAction{Name: "start", Label: "Start", NoteLabel: "Note",
			Confirm: fmt.Sprintf("Start %s in %s: %s gets %d item(s) as soon as its gate opens.", r.GetId(), env, first, items)})
	case releaseInProgress:
		if next != nil && next.GetGate() == "approval" && next.GetApprovalsGiven() < next.GetApprovalsNeeded() && mayApprove(r, u) {
			out = append(out, ReleaseAction{Name: "approve", Label: "Approve", NoteLabel: "Comment",
				Confirm: fmt.Sprintf("Approve entering %s (%s) in %s. The requester (%s) cannot approve their own release.",
					stageName(r, next.GetStage()), stageAudience(r, next.GetStage()), env, r.GetRequesterName())})
		}
		if next != nil && next.GetDueTime() == nil && (next.GetGate() != "approval" || next.GetApprovalsGiven() >= next.GetApprovalsNeeded()) {
			a := ReleaseAction{Name: "advance", Label: "Advance", NoteLabel: "Note", Drift: drift}
			if next.GetGate() == "complete" {
				a.Label = "Complete"
				a.Confirm = fmt.Sprintf("Complete %s: the final audience's targeting is written into the %d item(s)' own targeting in %s, and the release ends.", r.GetId(), items, env)
			} else {
				a.Confirm = fmt.Sprintf("Advance %s to %s: the audience in %s grows to %s.", r.GetId(), stageName(r, next.GetStage()), env, audienceWords(r.GetPlan()[:min(int(next.GetStage()), len(r.GetPlan()))]))
			}
			out = append(out, a)
		}
		out = append(out, ReleaseAction{Name: "pause", Label: "Pause", NoteLabel: "Reason",
			Confirm: fmt.Sprintf("Pause %s: its current audience in %s keeps the release; timed gates wait until it resumes.", r.GetId(), env)})
	case releaseScheduled:
		out = append(out, ReleaseAction{Name: "pause", Label: "Pause", NoteLabel: "Reason",
			Confirm: fmt.Sprintf("Pause %s: it does not start until it resumes.", r.GetId())})
	case releasePaused:
		out = append(out, ReleaseAction{Name: "resume", Label: "Resume", NoteLabel: "Note", Drift: drift,
			Confirm: fmt.Sprintf("Resume %s in %s: its timed gates run again.", r.GetId(), env)})
	}
	if (r.GetState() == releaseInProgress || r.GetState() == releasePaused) && r.GetStage() > 0 {
		out = append(out, ReleaseAction{Name: "rollback", Label: "Roll back", NoteLabel: "Reason", Danger: true,
			Confirm: fmt.Sprintf("Roll back %s: in one revision, everyone in %s (%s now) loses the release; its %d item(s) serve what their own targeting serves. This ends the release.",
				r.GetId(), env, audienceWords(r.GetPlan()[:min(int(r.GetStage()), len(r.GetPlan()))]), items)})
	}
	switch {
	case r.GetState() == releaseDraft, r.GetState() == releaseScheduled, r.GetState() == releasePaused && r.GetStage() == 0:
		out = append(out, ReleaseAction{Name: "cancel", Label: "Cancel", NoteLabel: "Reason", Danger: true,
			Confirm: fmt.Sprintf("Cancel %s: it ends without releasing anything and cannot be started again.", r.GetId())})
	}
	return out
}

// stageAudience is stage n's own audience in words.
func stageAudience(r *pb.Release, n int32) string {
	if n < 1 || int(n) > len(r.GetPlan()) {
		return "the final audience"
	}
	return audienceWords(r.GetPlan()[n-1 : n])
}

// mayApprove reports whether u may be offered to approve r's next gate:
// not with the requester's key or principal, and not when that key or
// principal approved the current stage already (approvals count people).
// Principals related to the requester by key creation are known only to
// the server, which refuses them with a reason the page shows.
func mayApprove(r *pb.Release, u *User) bool {
	same := func(key, principal string) bool {
		return (key != "" && key == u.KeyID) || (principal != "" && principal == u.Principal)
	}
	if same(r.GetRequester(), r.GetRequesterPrincipal()) {
		return false
	}
	for _, ev := range r.GetTimeline() {
		if ev.GetAction() == "approve" && ev.GetStage() == r.GetStage() && same(ev.GetActor(), ev.GetActorPrincipal()) {
			return false
		}
	}
	return true
}

// incidentSeverities are the severities of a release incident, worst
// first.
var incidentSeverities = []string{"critical", "high", "medium", "low"}

// reviewOutcomes are the outcomes of a release review.
var reviewOutcomes = []string{"success", "partial", "failure"}

// releaseActionNames are the actions a release page may post.
var releaseActionNames = map[string]bool{
	"start": true, "approve": true, "advance": true, "pause": true, "resume": true, "rollback": true, "cancel": true, "incident": true, "review": true,
}

// stamp formats a time for pages.
func shownTime(t time.Time) string {
	if t.IsZero() || t.Unix() == 0 {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}
