package release

import (
	"time"

	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/model"
)

// Start starts a DRAFT release. It checks that the release has notes,
// items and stages, that its items and segments exist, that its flags are
// enabled in the environment and that no item is in another active
// release there. The caller becomes the requester. The release enters its
// first stage at once when that stage's gate is manual and no start time
// is given (or it has passed) — unless a freeze holds it (a *FrozenError);
// otherwise it is SCHEDULED and the Scheduler (a timed gate or start time)
// or Advance (after an approval) starts it.
func Start(tx *domain.Tx, req Request, startTime time.Time) error {
	ps, r, etag, err := load(tx, req)
	if err != nil {
		return err
	}
	if r.State != model.StateDraft {
		return failed(req.Project, req.ID, "the release is %s; only a draft can be started", r.State)
	}
	if err := model.CheckStartable(r); err != nil {
		return refused(req.Project, req.ID, "the release is not ready to start", err)
	}
	if err := checkReady(ps, r); err != nil {
		return err
	}
	now := tx.Now()
	setRequester(tx, r)
	r.State, r.StageTime = model.StateScheduled, &now
	if !startTime.IsZero() {
		t := startTime.UTC()
		r.StartTime = &t
	}
	step, _ := Next(r)
	if step.Due == nil && step.approved() || step.dueBy(now) {
		if err := refuseFrozen(tx, ps, req, r, "start"); err != nil {
			return err
		}
		ev := newEvent(tx, r, "start", req.Note)
		ev.From, ev.PlannedTime = model.StateDraft, step.Due
		enter(ps, r, now)
		return put(tx, req.Project, r, etag, ev)
	}
	ev := newEvent(tx, r, "schedule", req.Note)
	ev.From, ev.PlannedTime = model.StateDraft, step.Due
	if !step.approved() {
		addNote(ev, "waiting for approval")
	}
	return put(tx, req.Project, r, etag, ev)
}

// checkReady runs the checks every step that widens the audience needs.
func checkReady(ps *domain.ProjectState, r *model.Release) error {
	if err := checkItems(ps, r); err != nil {
		return err
	}
	if r.Stage == 0 {
		if err := checkEnabled(ps, r); err != nil {
			return err
		}
	}
	return checkConflicts(ps, r)
}

// enter moves r into its next stage at now. Entering the first stage
// records the items' targeting as the drift baseline.
func enter(ps *domain.ProjectState, r *model.Release, now time.Time) {
	if r.Stage == 0 {
		r.Baseline = baseline(ps, r)
	}
	r.Stage++
	r.State = model.StateInProgress
	r.StageTime = &now
	r.Approvals = nil
}

// Advance takes r's next step by hand: it enters the next stage, or
// completes the release at its last stage. The step's gate must be manual,
// or an approval gate with its approvals given; timed gates (wait, at, a
// start time) are the Scheduler's. A drifted release needs
// req.AcknowledgeDrift; a release a freeze holds is refused with a
// *FrozenError. The caller becomes the requester of the next gate.
func Advance(tx *domain.Tx, req Request) error {
	ps, r, etag, err := load(tx, req)
	if err != nil {
		return err
	}
	step, ok := Next(r)
	if !ok {
		if r.State == model.StatePaused {
			return failed(req.Project, req.ID, "the release is paused; resume it first")
		}
		return failed(req.Project, req.ID, "the release is %s; it has no next step", r.State)
	}
	switch {
	case step.Due != nil:
		return failed(req.Project, req.ID, "%s opens at %s (%s gate); the scheduler takes the step then",
			stageName(r, step.Stage), step.Due.Format(time.RFC3339), step.Gate)
	case !step.approved():
		return failed(req.Project, req.ID, "%s needs %d approval(s) by a release manager other than the requester; it has %d",
			stageName(r, step.Stage), step.Approvals, step.Approved)
	}
	if err := refuseFrozen(tx, ps, req, r, "advance"); err != nil {
		return err
	}
	ev := newEvent(tx, r, "advance", req.Note)
	if wait, _, err := verifyStep(req, r, tx.Now(), ev); err != nil {
		return err
	} else if wait != "" {
		return failed(req.Project, req.ID, "%s", wait)
	}
	if err := checkDrift(ps, r, req.AcknowledgeDrift, ev); err != nil {
		return err
	}
	if err := checkReady(ps, r); err != nil {
		return err
	}
	setRequester(tx, r)
	if step.Completes() {
		ev.Action = "complete"
		if err := complete(tx, ps, r, ev); err != nil {
			return err
		}
		return put(tx, req.Project, r, etag, ev)
	}
	if r.Stage == 0 {
		ev.Action = "start"
	}
	enter(ps, r, tx.Now())
	return put(tx, req.Project, r, etag, ev)
}

// Approve approves r's next gate. The gate must be an approval gate; the
// caller must hold the role the gate names and be a person other than the
// requester (who started or last advanced the release) and other than
// every earlier approver of the gate (see checkApprover): approvals count
// distinct principals, not keys.
func Approve(tx *domain.Tx, req Request) error {
	_, r, etag, err := load(tx, req)
	if err != nil {
		return err
	}
	step, ok := Next(r)
	if !ok || step.Gate != GateApproval {
		return failed(req.Project, req.ID, "the release has no approval gate to approve (it is %s)", r.State)
	}
	a := tx.Actor()
	if g := r.Plan[step.Stage-1].Gate.Approval; g.Approvers == model.ApproverAdmin && auth.Role(a.Role) != auth.RoleAdmin {
		return permissionDenied(req, "%s must be approved by an admin", stageName(r, step.Stage))
	}
	key, err := checkApprover(tx, req, r, step.Stage)
	if err != nil {
		return err
	}
	now := tx.Now()
	r.Approvals = append(r.Approvals, model.Approval{
		Stage: step.Stage, By: key.ID, ByName: key.Name, Principal: key.Principal, Time: now, Comment: req.Note,
	})
	ev := newEvent(tx, r, "approve", req.Note)
	return put(tx, req.Project, r, etag, ev)
}

// Pause holds a release: one in progress keeps its audience and its timed
// gates wait; a scheduled one does not start. Resume goes on.
func Pause(tx *domain.Tx, req Request) error {
	_, r, etag, err := load(tx, req)
	if err != nil {
		return err
	}
	if r.State != model.StateInProgress && r.State != model.StateScheduled {
		return failed(req.Project, req.ID, "the release is %s; only a scheduled or running release can be paused", r.State)
	}
	ev := newEvent(tx, r, "pause", req.Note)
	r.State = model.StatePaused
	return put(tx, req.Project, r, etag, ev)
}

// Resume resumes a paused release: a wait gate counts again from now. A
// drifted release needs req.AcknowledgeDrift.
func Resume(tx *domain.Tx, req Request) error {
	ps, r, etag, err := load(tx, req)
	if err != nil {
		return err
	}
	if r.State != model.StatePaused {
		return failed(req.Project, req.ID, "the release is %s; only a paused release can be resumed", r.State)
	}
	ev := newEvent(tx, r, "resume", req.Note)
	if err := checkDrift(ps, r, req.AcknowledgeDrift, ev); err != nil {
		return err
	}
	if err := checkItems(ps, r); err != nil {
		return err
	}
	now := tx.Now()
	r.StageTime = &now
	r.State = model.StateInProgress
	if r.Stage == 0 {
		r.State = model.StateScheduled
	}
	return put(tx, req.Project, r, etag, ev)
}

// RollBack ends a release that has started: its overlay is removed, so
// every item serves exactly what its own targeting serves — the state
// before the release, plus any change made outside it. One revision.
func RollBack(tx *domain.Tx, req Request) error {
	_, r, etag, err := load(tx, req)
	if err != nil {
		return err
	}
	if !r.State.Serving() || r.Stage == 0 {
		if r.State.Active() {
			return failed(req.Project, req.ID, "the release has not started; cancel it instead")
		}
		return failed(req.Project, req.ID, "the release is %s; only a started release can be rolled back", r.State)
	}
	ev := newEvent(tx, r, "roll_back", req.Note)
	recordConvergence(req, r, tx.Now())
	r.State = model.StateRolledBack
	return put(tx, req.Project, r, etag, ev)
}

// Cancel ends a release that serves no audience yet: a draft, a scheduled
// release, or one paused before it started.
func Cancel(tx *domain.Tx, req Request) error {
	_, r, etag, err := load(tx, req)
	if err != nil {
		return err
	}
	switch {
	case r.State == model.StateDraft, r.State == model.StateScheduled, r.State == model.StatePaused && r.Stage == 0:
	case r.State.Serving():
		return failed(req.Project, req.ID, "the release serves %s; roll it back instead", stageName(r, r.Stage))
	default:
		return failed(req.Project, req.ID, "the release is %s already", r.State)
	}
	ev := newEvent(tx, r, "cancel", req.Note)
	r.State = model.StateCancelled
	return put(tx, req.Project, r, etag, ev)
}
