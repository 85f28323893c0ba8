// Package release runs the lifecycle of release units (DESIGN §1): drafts,
// Start, Advance, Approve, Pause, Resume, RollBack, Cancel and completion,
// and the Scheduler that takes timed steps. Every function that changes a
// release works inside one store transaction (a *domain.Tx), so a step that
// changes who gets what — the release's overlay and, on completion, the
// items' targeting — is one commit and one environment revision, with one
// timeline event.
//
// The lifecycle never edits an item's targeting while the release runs:
// evaluation sees the release as an overlay (model.Overlay). Rolling back
// removes the overlay; completing removes it and writes the targeting its
// final audience implies.
package release

import (
	"fmt"

	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/model"
)

// Request names a release and carries what a lifecycle call may add.
type Request struct {
	Project string
	ID      string
	// Etag, when not "", must be the release's current etag.
	Etag string
	// Note is recorded with the timeline event (a reason, a comment).
	Note string
	// AcknowledgeDrift lets Advance and Resume go on after an item's
	// targeting was changed outside the release: the current targeting
	// becomes the new baseline.
	AcknowledgeDrift bool
	// Convergence, when set, measures how far the environment's SDKs have
	// applied the current stage: Advance and TakeDue then hold the next
	// step until the stage's min_convergence is reached, and the
	// measurement is recorded in the stage's verification.
	Convergence ConvergenceSource
}

// SchedulerName is the actor name of the steps the Scheduler takes.
const SchedulerName = "scheduler"

// failed returns an error matching domain.ErrFailedPrecondition about the
// release.
func failed(project, id, format string, args ...any) error {
	return domain.FailedPrecondition(domain.ReleaseName(project, id), format, args...)
}

// refused turns a model.Errors about a release into a precondition
// failure that lists every problem.
func refused(project, id, what string, err error) error {
	return domain.Refused(domain.ReleaseName(project, id), what, err)
}

// load returns the project as tx sees it, a private copy of the release
// and its etag, after checking req.Etag.
func load(tx *domain.Tx, req Request) (*domain.ProjectState, *model.Release, string, error) {
	return domain.Editable(tx, req.Project, req.ID, req.Etag, (*domain.ProjectState).Release, domain.ReleaseName)
}

// newEvent starts the timeline event of a step taken now by tx's actor.
func newEvent(tx *domain.Tx, r *model.Release, action, note string) *model.ReleaseEvent {
	a := tx.Actor()
	ev := &model.ReleaseEvent{
		Action:    action,
		From:      r.State,
		Time:      tx.Now(),
		Actor:     a.KeyID,
		ActorName: a.Name,
		Note:      note,
	}
	ev.ActorPrincipal = actorPrincipal(tx)
	return ev
}

// put writes r with its event, which records the state and stage r ends
// in.
func put(tx *domain.Tx, project string, r *model.Release, etag string, ev *model.ReleaseEvent) error {
	ev.To, ev.Stage = r.State, r.Stage
	return tx.PutRelease(project, r, etag, ev)
}

// stageName names stage n (from 1) of r for messages.
func stageName(r *model.Release, n int) string {
	if n < 1 || n > len(r.Plan) || r.Plan[n-1].Name == "" {
		return fmt.Sprintf("stage %d", n)
	}
	return fmt.Sprintf("stage %d (%s)", n, r.Plan[n-1].Name)
}

// permissionDenied returns an error matching auth.ErrPermissionDenied
// about the release.
func permissionDenied(req Request, format string, args ...any) error {
	return fmt.Errorf("%s: %w: %s", domain.ReleaseName(req.Project, req.ID), auth.ErrPermissionDenied, fmt.Sprintf(format, args...))
}
