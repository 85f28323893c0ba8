package sdk

import (
	"time"

	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
)

// ReleaseEvent says that a release of the client's environment moved: it
// started, entered a stage, paused, resumed, completed, was rolled back or
// was cancelled. An application can use it to show what is new.
type ReleaseEvent struct {
	// ID is the release's id in its project.
	ID          string
	Title       string
	Environment string
	// Action is the step taken: schedule, start, advance, pause, resume,
	// complete, roll_back or cancel.
	Action string
	// From and To are the release's state before and after the step:
	// DRAFT, SCHEDULED, IN_PROGRESS, PAUSED, COMPLETED, ROLLED_BACK or
	// CANCELLED.
	From, To string
	// Stage is the stage after the step, from 1 (0 before the start).
	Stage int
	// Revision is the environment revision the step made; the client has
	// applied it (or a later one) when the event is delivered.
	Revision uint64
	// Time is when the step was taken.
	Time         time.Time
	ReleaseNotes string
}

// OnRelease calls fn for every step of a release of the client's
// environment taken while the client is connected (steps taken while it is
// disconnected are not replayed). Calls come one at a time from the
// client's sync goroutine, after the ruleset of the step's revision has
// been applied and announced to OnChange: fn should return quickly and
// must not call Close. The returned function removes fn.
func (c *Client) OnRelease(fn func(ReleaseEvent)) (remove func()) {
	return c.releases.add(fn)
}

// announceRelease calls the OnRelease functions with the event of n.
func (c *Client) announceRelease(n *sdkpb.ReleaseNotice) {
	ev := ReleaseEvent{
		ID:           n.GetReleaseId(),
		Title:        n.GetTitle(),
		Environment:  n.GetEnvironment(),
		Action:       n.GetAction(),
		From:         n.GetFromState(),
		To:           n.GetToState(),
		Stage:        int(n.GetStage()),
		Revision:     n.GetRevision(),
		Time:         n.GetTime().AsTime(),
		ReleaseNotes: n.GetReleaseNotes(),
	}
	c.log.Info("release", "release", ev.ID, "action", ev.Action, "to", ev.To, "stage", ev.Stage)
	c.releases.each(func(fn func(ReleaseEvent)) { fn(ev) })
}
