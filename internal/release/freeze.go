package release

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/model"
)

// Freezes (model.Freeze) hold releases. While an occurrence of a freeze
// that covers a release is in effect, and no approved emergency override
// of it lets the release through:
//
//   - Start refuses to enter the first stage now, and Advance refuses any
//     step, with a *FrozenError (HTTP 409) naming the freeze. Start may
//     still schedule the release for later.
//   - The Scheduler holds a due timed step instead of taking it: a "hold"
//     event records the freeze and until when, and the step is taken when
//     the window ends, its event carrying the freeze and HeldSeconds.
//     The hold lives in the release's timeline, so a restart changes
//     nothing.
//
// Pause, Resume, Approve, RollBack and Cancel are never held.

// FrozenError refuses a manual step of a release while a freeze holds it.
type FrozenError struct {
	Project string
	Release string
	// Step is what was refused: "start" or "advance".
	Step   string
	Freeze string
	Reason string
	// Until is the end of the freeze's occurrence in effect.
	Until time.Time
}

func (e *FrozenError) Error() string {
	return fmt.Sprintf("%s: the %s is held by freeze %q (%s) until %s; pausing and rolling back stay allowed, and an emergency override needs the approval of another person",
		domain.ReleaseName(e.Project, e.Release), e.Step, e.Freeze, e.Reason, e.Until.Format(time.RFC3339))
}

// hold is a freeze occurrence holding a release.
type hold struct {
	freeze *model.Freeze
	window model.Window
}

// frozen returns the freeze occurrence that holds r at now, if any: of
// several, the one that ends last.
func frozen(ps *domain.ProjectState, r *model.Release, now time.Time) (hold, bool) {
	var h hold
	for _, f := range ps.Freezes() {
		if !f.Covers(r.Environment, r.Items) {
			continue
		}
		w, ok := f.At(now)
		if !ok || overridden(r, f.Key, now) {
			continue
		}
		if h.freeze == nil || w.End.After(h.window.End) {
			h = hold{f, w}
		}
	}
	return h, h.freeze != nil
}

// overridden reports whether r has an approved override of the freeze
// whose window contains now.
func overridden(r *model.Release, freeze string, now time.Time) bool {
	for _, o := range r.FreezeOverrides {
		if o.Freeze == freeze && o.ApproveTime != nil && o.Window.Contains(now) {
			return true
		}
	}
	return false
}

// refuseFrozen returns a *FrozenError when a freeze holds r at tx.Now().
func refuseFrozen(tx *domain.Tx, ps *domain.ProjectState, req Request, r *model.Release, step string) error {
	h, ok := frozen(ps, r, tx.Now())
	if !ok {
		return nil
	}
	return &FrozenError{Project: req.Project, Release: req.ID, Step: step, Freeze: h.freeze.Key, Reason: h.freeze.Reason, Until: h.window.End}
}

// holdFor records that h holds r's due step, unless the latest hold since
// r last changed stage or state says so already. It reports whether it
// wrote.
func holdFor(tx *domain.Tx, project string, r *model.Release, etag string, due *time.Time, h hold) (bool, error) {
	if HeldBy(r) == h.freeze.Key {
		return false, nil
	}
	ev := newEvent(tx, r, "hold", fmt.Sprintf("held by freeze %q (%s) until %s", h.freeze.Key, h.freeze.Reason, h.window.End.Format(time.RFC3339)))
	ev.Freeze, ev.PlannedTime = h.freeze.Key, due
	return true, put(tx, project, r, etag, ev)
}

// HeldBy returns the freeze that holds r's next step as its timeline
// records it: that of the latest hold event since r last changed stage or
// state, or "" when none holds it.
func HeldBy(r *model.Release) string {
	for i := len(r.Timeline) - 1; i >= 0; i-- {
		ev := r.Timeline[i]
		if ev.Stage != r.Stage || ev.To != r.State {
			break
		}
		if ev.Action == "hold" {
			return ev.Freeze
		}
	}
	return ""
}

// heldSince returns when freezes began to hold r's current step and the
// freezes that held it, from the hold events since the release last
// changed stage or state.
func heldSince(r *model.Release) (time.Time, []string) {
	var since time.Time
	var freezes []string
	for i := len(r.Timeline) - 1; i >= 0; i-- {
		ev := r.Timeline[i]
		if ev.Stage != r.Stage || ev.To != r.State {
			break
		}
		if ev.Action == "hold" {
			since = ev.Time
			if !slices.Contains(freezes, ev.Freeze) {
				freezes = append([]string{ev.Freeze}, freezes...)
			}
		}
	}
	return since, freezes
}

// RequestFreezeOverride asks for an emergency override of a freeze for the
// release, with req.Note as the reason (required). The override covers the
// occurrence of the freeze in effect now, else the next one within a year;
// it takes effect once another person approves it
// (ApproveFreezeOverride). A request replaces an earlier one of the same
// freeze that was not approved yet.
func RequestFreezeOverride(tx *domain.Tx, req Request, freeze string) error {
	ps, r, etag, err := load(tx, req)
	if err != nil {
		return err
	}
	if r.State.Ended() {
		return failed(req.Project, req.ID, "the release is %s; a freeze no longer holds it", r.State)
	}
	if strings.TrimSpace(req.Note) == "" {
		return model.Errors{model.NewFieldError("reason", "is required: say why the release must move during the freeze")}
	}
	f, _, ok := ps.Freeze(freeze)
	if !ok {
		return model.Errors{model.NewFieldError("freeze", "project %s has no freeze %q", req.Project, freeze)}
	}
	if !f.Covers(r.Environment, r.Items) {
		return failed(req.Project, req.ID, "freeze %q does not cover the release (environment %s)", freeze, r.Environment)
	}
	now := tx.Now()
	ws := f.Windows(now, now.AddDate(1, 0, 0))
	if len(ws) == 0 {
		return failed(req.Project, req.ID, "freeze %q has no occurrence now or within a year", freeze)
	}
	a := tx.Actor()
	o := model.FreezeOverride{
		Freeze: freeze, Reason: req.Note, Window: ws[0],
		RequestedBy: a.KeyID, RequesterName: a.Name, RequesterPrincipal: actorPrincipal(tx), RequestTime: now,
	}
	kept := r.FreezeOverrides[:0:0]
	for _, old := range r.FreezeOverrides {
		if old.Freeze != freeze || old.ApproveTime != nil {
			kept = append(kept, old)
		}
	}
	r.FreezeOverrides = append(kept, o)
	ev := newEvent(tx, r, "request_override", overrideNote(o))
	ev.Freeze = freeze
	return put(tx, req.Project, r, etag, ev)
}

// ApproveFreezeOverride approves the pending override of a freeze for the
// release. The approver must be a person other than the one who asked for
// it, counted by principal and key lineage as for approval gates
// (checkApprover): the requester gets an error matching
// auth.ErrPermissionDenied. The approval is recorded on the release's
// timeline and, as every release write, in the audit log.
func ApproveFreezeOverride(tx *domain.Tx, req Request, freeze string) error {
	_, r, etag, err := load(tx, req)
	if err != nil {
		return err
	}
	i := -1
	for j, o := range r.FreezeOverrides {
		if o.Freeze == freeze && o.ApproveTime == nil {
			i = j
		}
	}
	if i < 0 {
		return failed(req.Project, req.ID, "no override of freeze %q waits for approval; request one first", freeze)
	}
	o := &r.FreezeOverrides[i]
	requester := party{requester: true, key: o.RequestedBy, principal: o.RequesterPrincipal}
	if requester.principal == "" {
		requester.principal = legacyPrincipal(tx, o.RequestedBy, o.RequesterName)
	}
	key, err := checkPerson(tx, req, []party{requester}, "their own freeze override", fmt.Sprintf("the override of freeze %q", freeze))
	if err != nil {
		return err
	}
	now := tx.Now()
	o.ApprovedBy, o.ApproverName, o.ApproverPrincipal, o.ApproveTime = key.ID, key.Name, key.Principal, &now
	note := overrideNote(*o)
	if req.Note != "" {
		note += "; " + req.Note
	}
	ev := newEvent(tx, r, "approve_override", note)
	ev.Freeze = freeze
	return put(tx, req.Project, r, etag, ev)
}

func overrideNote(o model.FreezeOverride) string {
	return fmt.Sprintf("emergency override of freeze %q from %s to %s, asked by %s: %s", o.Freeze,
		o.Window.Start.Format(time.RFC3339), o.Window.End.Format(time.RFC3339), o.RequesterPrincipal, o.Reason)
}
