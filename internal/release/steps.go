package release

import (
	"time"

	"github.com/switchyard/switchyard/internal/model"
)

// The states of a StepRecord.
const (
	StepPending = "pending" // not entered yet
	StepCurrent = "current" // entered, not left
	StepDone    = "done"    // entered and left
	StepSkipped = "skipped" // never entered: the release ended before
)

// StepRecord is the record of one stage of a release, read from its
// timeline: when entering it was planned, when it was entered and left.
type StepRecord struct {
	Stage int    `json:"stage"`
	Name  string `json:"name,omitempty"`
	// Gate is the kind of gate that guards entering the stage: manual,
	// wait, at or approval.
	Gate string `json:"gate"`
	// State is StepPending, StepCurrent, StepDone or StepSkipped.
	State string `json:"state"`
	// PlannedTime is when a timed gate (or the start time asked for) made
	// the stage due: for an entered stage, as recorded when it was
	// entered; for the next stage of a running release, when it will be.
	PlannedTime *time.Time `json:"planned_time,omitempty"`
	EnterTime   *time.Time `json:"enter_time,omitempty"`
	// ExitTime is when the release entered the next stage, completed or
	// was rolled back.
	ExitTime *time.Time `json:"exit_time,omitempty"`
	// DelaySeconds is how much later than planned the stage was entered;
	// Late is set when that exceeded the scheduler's tolerance.
	DelaySeconds float64 `json:"delay_seconds,omitempty"`
	Late         bool    `json:"late,omitempty"`
	// LeadTimeSeconds is the time from entering to leaving the stage.
	LeadTimeSeconds float64 `json:"lead_time_seconds,omitempty"`
}

// Steps returns the record of every stage of r's plan, in order.
func Steps(r *model.Release) []StepRecord {
	out := make([]StepRecord, len(r.Plan))
	for i, s := range r.Plan {
		out[i] = StepRecord{Stage: i + 1, Name: s.Name, Gate: gateKind(s.Gate), State: StepPending}
	}
	cur := 0 // the stage the release is in, as the timeline goes
	for _, ev := range r.Timeline {
		t := ev.Time
		switch {
		case ev.Stage > cur && ev.Stage <= len(out):
			if cur > 0 {
				leave(&out[cur-1], t)
			}
			cur = ev.Stage
			st := &out[cur-1]
			st.State, st.EnterTime = StepCurrent, &t
			st.PlannedTime, st.DelaySeconds, st.Late = ev.PlannedTime, ev.DelaySeconds, ev.Late
		case cur > 0 && ev.To.Ended() && out[cur-1].ExitTime == nil:
			leave(&out[cur-1], t)
		}
	}
	if step, ok := Next(r); ok && !step.Completes() && step.Due != nil && out[step.Stage-1].State == StepPending {
		due := *step.Due
		out[step.Stage-1].PlannedTime = &due
	}
	if r.State.Ended() {
		for i := range out {
			if out[i].State == StepPending {
				out[i].State = StepSkipped
			}
		}
	}
	return out
}

// leave records that the release left stage st at t.
func leave(st *StepRecord, t time.Time) {
	st.State, st.ExitTime = StepDone, &t
	st.LeadTimeSeconds = t.Sub(*st.EnterTime).Seconds()
}

// gateKind names the kind of gate g.
func gateKind(g *model.Gate) string {
	switch {
	case g == nil || g.Manual != nil:
		return GateManual
	case g.Wait != nil:
		return GateWait
	case g.At != nil:
		return GateAt
	case g.Approval != nil:
		return GateApproval
	}
	return GateManual
}
