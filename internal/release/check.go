package release

import (
	"strings"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/model"
)

// Drift returns the items (by model.ReleaseItem.Ref) whose targeting in
// the release's environment changed since the release recorded its
// baseline: changed outside the release while it runs. It is empty for a
// release that has not started.
func Drift(ps *domain.ProjectState, r *model.Release) []string {
	if r.Baseline == nil || !r.State.Active() {
		// An ended release has no drift: completing it wrote the items'
		// targeting itself, and a rolled-back one no longer touches them.
		return nil
	}
	var out []string
	for _, it := range r.Items {
		if etag, ok := r.Baseline[it.Ref()]; !ok || etag != targetingEtag(ps, r.Environment, it) {
			out = append(out, it.Ref())
		}
	}
	return out
}

// baseline records the etag of every item's targeting now.
func baseline(ps *domain.ProjectState, r *model.Release) map[string]string {
	b := make(map[string]string, len(r.Items))
	for _, it := range r.Items {
		b[it.Ref()] = targetingEtag(ps, r.Environment, it)
	}
	return b
}

// targetingEtag is the etag of an item's targeting in env; "" when it has
// none.
func targetingEtag(ps *domain.ProjectState, env string, it model.ReleaseItem) string {
	var meta domain.Meta
	if it.Component != "" {
		_, meta, _ = ps.ComponentTargeting(it.Component, env)
	} else {
		_, meta, _ = ps.FlagTargeting(it.Flag, env)
	}
	return meta.Etag
}

// checkDrift refuses to go on with a drifted release unless the caller
// acknowledges the drift; then it records the new baseline and says so in
// the event's note.
func checkDrift(ps *domain.ProjectState, r *model.Release, ack bool, ev *model.ReleaseEvent) error {
	drifted := Drift(ps, r)
	if len(drifted) == 0 {
		return nil
	}
	if !ack {
		return failed(ps.Key(), r.ID, "the targeting of %s changed outside the release since it started; "+
			"review it, then pass acknowledge_drift, or pause or roll back the release", strings.Join(drifted, ", "))
	}
	r.Baseline = baseline(ps, r)
	addNote(ev, "drift acknowledged: "+strings.Join(drifted, ", "))
	return nil
}

// checkItems refuses a release whose items, stages' segments or
// environment no longer exist.
func checkItems(ps *domain.ProjectState, r *model.Release) error {
	if err := model.CheckReleaseRefs(ps.Document(), r); err != nil {
		return refused(ps.Key(), r.ID, "the release names what the project does not have", err)
	}
	return nil
}

// checkEnabled refuses to start a release whose flag items are not
// enabled in its environment: a disabled flag serves its off variant to
// everyone, the release's audience included (the kill switch wins).
func checkEnabled(ps *domain.ProjectState, r *model.Release) error {
	var off []string
	for _, it := range r.Items {
		if it.Component != "" {
			continue
		}
		if t, _, ok := ps.FlagTargeting(it.Flag, r.Environment); !ok || t == nil || !t.Enabled {
			off = append(off, it.Flag)
		}
	}
	if len(off) > 0 {
		return failed(ps.Key(), r.ID, "flag %s is not enabled in environment %s; enable it (serving what it served so far) before releasing to an audience",
			strings.Join(off, ", "), r.Environment)
	}
	return nil
}

// checkConflicts refuses a release sharing an item with another active
// release of its environment.
func checkConflicts(ps *domain.ProjectState, r *model.Release) error {
	mine := map[string]bool{}
	for _, it := range r.Items {
		mine[it.Ref()] = true
	}
	var clashes []string
	for _, o := range ps.Releases() {
		if o.ID == r.ID || o.Environment != r.Environment || !o.State.Active() {
			continue
		}
		for _, it := range o.Items {
			if mine[it.Ref()] {
				clashes = append(clashes, it.Ref()+" is in release "+o.ID+" ("+string(o.State)+")")
			}
		}
	}
	if len(clashes) > 0 {
		return failed(ps.Key(), r.ID, "%s; an item may be in one active release of an environment at a time", strings.Join(clashes, "; "))
	}
	return nil
}

// addNote appends a sentence to an event's note.
func addNote(ev *model.ReleaseEvent, note string) {
	if ev.Note == "" {
		ev.Note = note
		return
	}
	ev.Note += "; " + note
}
