package release

import (
	"time"

	"github.com/switchyard/switchyard/internal/model"
)

// The kinds of gate a next step waits for.
const (
	GateManual   = "manual"
	GateWait     = "wait"
	GateAt       = "at"
	GateApproval = "approval"
	// GateComplete: the release is at its last stage; Advance completes it.
	GateComplete = "complete"
)

// NextStep is the step a release waits for: entering Stage (from 1), or
// completing when Stage is past the plan.
//
// A stage's gate guards entering it. The first stage is entered by Start
// (at once, or when its gate and the start time asked for allow); a wait
// gate counts from when the previous stage was entered or the release was
// resumed (for the first stage, from Start).
type NextStep struct {
	Stage int
	// Gate is GateManual, GateWait, GateAt, GateApproval or GateComplete.
	Gate string
	// Due is when the Scheduler takes the step; nil when a call to Advance
	// takes it.
	Due *time.Time
	// Approvals is how many approvals the step needs; Approved how many it
	// has.
	Approvals, Approved int
}

// Completes reports whether the step completes the release.
func (s NextStep) Completes() bool { return s.Gate == GateComplete }

// approved reports whether the step has the approvals it needs.
func (s NextStep) approved() bool { return s.Approved >= s.Approvals }

// dueBy reports whether the Scheduler should take the step at now.
func (s NextStep) dueBy(now time.Time) bool {
	return s.Due != nil && !now.Before(*s.Due) && s.approved()
}

// Next returns the step r waits for; ok is false when it waits for none
// (a draft, a paused release, an ended one).
func Next(r *model.Release) (step NextStep, ok bool) {
	switch {
	case r.State == model.StateScheduled && r.Stage == 0:
	case r.State == model.StateInProgress && r.Stage >= 1:
	default:
		return NextStep{}, false
	}
	step.Stage = r.Stage + 1
	if step.Stage > len(r.Plan) {
		step.Gate = GateComplete
		return step, true
	}
	var since time.Time
	if r.StageTime != nil {
		since = *r.StageTime
	}
	if step.Stage == 1 && r.StartTime != nil {
		since = *r.StartTime
		step.Due = r.StartTime
	}
	g := r.Plan[step.Stage-1].Gate
	switch {
	case g == nil || g.Manual != nil:
		step.Gate = GateManual
	case g.Wait != nil:
		step.Gate = GateWait
		d, _ := time.ParseDuration(g.Wait.Duration) // ValidateRelease checked it
		due := since.Add(d)
		step.Due = &due
	case g.At != nil:
		step.Gate = GateAt
		due := g.At.Time
		if step.Due != nil && step.Due.After(due) {
			due = *step.Due
		}
		step.Due = &due
	case g.Approval != nil:
		step.Gate = GateApproval
		step.Approvals = max(g.Approval.Count, 1)
		for _, a := range r.Approvals {
			if a.Stage == step.Stage {
				step.Approved++
			}
		}
	}
	return step, true
}
