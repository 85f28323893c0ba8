package release

import (
	"fmt"
	"strings"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/model"
)

// AddIncident links an incident to a release that has left the draft
// state and returns its id. The incident's time defaults to now and its
// author to the caller's name; it records the release's current stage. An
// invalid incident is a model.Errors with paths relative to it. The
// timeline gets an "incident" event.
func AddIncident(tx *domain.Tx, req Request, in model.Incident) (int, error) {
	_, r, etag, err := load(tx, req)
	if err != nil {
		return 0, err
	}
	if err := model.ValidateIncident(&in); err != nil {
		return 0, err
	}
	if r.State == model.StateDraft {
		return 0, failed(req.Project, req.ID, "the release is a draft; incidents are linked to releases that were started or scheduled")
	}
	in.ID = 1
	for _, old := range r.Incidents {
		in.ID = max(in.ID, old.ID+1)
	}
	if in.Time.IsZero() {
		in.Time = tx.Now()
	}
	in.Time = in.Time.UTC()
	if in.Author == "" {
		in.Author = tx.Actor().Name
	}
	in.Stage = r.Stage
	r.Incidents = append(r.Incidents, in)
	ev := newEvent(tx, r, "incident", fmt.Sprintf("incident %d (%s): %s", in.ID, in.Severity, firstLine(in.Note)))
	return in.ID, put(tx, req.Project, r, etag, ev)
}

// SetReview writes (or rewrites) the review of a release that has ended:
// COMPLETED, ROLLED_BACK or CANCELLED. The author is the caller and the
// time now. An invalid review is a model.Errors with paths relative to it.
// The timeline gets a "review" event.
func SetReview(tx *domain.Tx, req Request, rv model.Review) error {
	_, r, etag, err := load(tx, req)
	if err != nil {
		return err
	}
	if err := model.ValidateReview(&rv); err != nil {
		return err
	}
	if !r.State.Ended() {
		return failed(req.Project, req.ID, "the release is %s; it is reviewed once it is COMPLETED, ROLLED_BACK or CANCELLED", r.State)
	}
	rv.Author, rv.Time = tx.Actor().Name, tx.Now()
	r.Review = &rv
	ev := newEvent(tx, r, "review", "outcome "+string(rv.Outcome))
	return put(tx, req.Project, r, etag, ev)
}

// firstLine is s up to its first line break, at most 200 bytes: enough
// for a timeline note.
func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = strings.ToValidUTF8(s[:200], "") + "…"
	}
	return s
}
