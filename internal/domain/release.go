package domain

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/switchyard/switchyard/internal/model"
)

// Releases are kept beside the document, not in it: export never shows
// them. A release that is in progress or paused reaches evaluation as a
// model.Overlay (ProjectState.Overlays); the store bumps the environment's
// revision whenever a write changes an overlay, and refuses any commit
// that would leave an overlay naming a flag, variant, component, version,
// segment or environment that no longer exists, or two releases claiming
// one item. The lifecycle itself (which transitions are allowed) is the
// release package's.

// ReleaseName returns the resource name of a release:
// projects/{p}/releases/{id}.
func ReleaseName(project, id string) string {
	return ProjectName(project) + "/" + collReleases + "/" + id
}

// Now returns the store's current time (Options.Now), in UTC: the clock
// its commits record.
func (s *Store) Now() time.Time { return s.opts.Now().UTC().Round(0) }

// Now returns the time this transaction records as the time of its
// changes.
func (tx *Tx) Now() time.Time { return tx.now }

// Actor returns who makes this transaction's changes.
func (tx *Tx) Actor() Actor { return tx.actor }

// Releases returns the project's releases in creation order. The slice and
// the releases are shared and must not be modified.
func (ps *ProjectState) Releases() []*model.Release { return ps.rels.items }

// Release returns the release with the given id and its Meta.
func (ps *ProjectState) Release(id string) (*model.Release, Meta, bool) {
	v, e, ok := ps.rels.get(id)
	return v, e.meta, ok
}

// Overlays returns the overlays of the releases in progress or paused in
// environment env and the notes overlays of the completed ones
// (model.Release.NotesOverlay), in creation order, and then those of the
// experiments running there: what eval.CompileWith needs besides the
// document.
func (ps *ProjectState) Overlays(env string) []*model.Overlay {
	var out []*model.Overlay
	for _, r := range ps.rels.items {
		if r.Environment != env {
			continue
		}
		if o := r.Overlay(); o != nil {
			out = append(out, o)
		} else if o := r.NotesOverlay(); o != nil {
			out = append(out, o)
		}
	}
	return append(out, ps.experimentOverlays(env)...)
}

// releaseStamp names a release whose last timeline event is stamped with
// its environment's revision when the transaction commits.
type releaseStamp struct {
	project, id string
}

// CreateRelease adds a release. It checks the definition
// (model.ValidateRelease) and that the environment exists; the lifecycle
// fields are stored as given. It changes no environment's state.
func (tx *Tx) CreateRelease(project string, r *model.Release) error {
	if err := tx.usable(); err != nil {
		return err
	}
	if err := model.ValidateRelease(r); err != nil {
		return err
	}
	d, err := tx.live(project)
	if err != nil {
		return err
	}
	name := ReleaseName(project, r.ID)
	if _, ok := d.ps.rels.idx[r.ID]; ok {
		return fmt.Errorf("%s: %w", name, ErrAlreadyExists)
	}
	if _, ok := d.ps.envs.idx[r.Environment]; !ok {
		return notFound(EnvironmentName(project, r.Environment))
	}
	nr, raw, err := normalize("release "+r.ID, r)
	if err != nil {
		return err
	}
	d.writable()
	seq := tx.next()
	d.ps.rels.add(nr, entry{key: r.ID, order: seq, meta: tx.created(seq)})
	d.markDirty(kindRelease, r.ID)
	tx.record(AuditEvent{Action: "release.create", Resource: name, Project: project, Environment: r.Environment, After: raw}, false)
	return nil
}

// PutRelease replaces the release with r's id by r, checked like
// CreateRelease; its environment may not change. etag is the release's
// etag ("" for unconditional). If ev is not nil it is appended to the
// timeline and stamped, at commit, with the environment's revision; it also
// names the audit action ("release." + ev.Action, else "release.update").
// When the release's overlay changes, so does the environment's state: the
// commit bumps its revision.
func (tx *Tx) PutRelease(project string, r *model.Release, etag string, ev *model.ReleaseEvent) error {
	if err := tx.usable(); err != nil {
		return err
	}
	if err := model.ValidateRelease(r); err != nil {
		return err
	}
	d, err := tx.live(project)
	if err != nil {
		return err
	}
	name := ReleaseName(project, r.ID)
	i, ok := d.ps.rels.idx[r.ID]
	if !ok {
		return notFound(name)
	}
	old, e := d.ps.rels.items[i], d.ps.rels.entries[i]
	if err := checkEtag(name, e.meta, etag); err != nil {
		return err
	}
	if r.Environment != old.Environment {
		return fmt.Errorf("%s: the environment of a release cannot change: %w", name, ErrInvalid)
	}
	nr, raw, err := normalize("release "+r.ID, r)
	if err != nil {
		return err
	}
	action := "release.update"
	if ev != nil {
		nr.Timeline = append(nr.Timeline, *ev)
		action = "release." + ev.Action
		tx.stamps = append(tx.stamps, releaseStamp{project, r.ID})
	} else if reflect.DeepEqual(old, nr) {
		return nil
	}
	bumps := !reflect.DeepEqual(old.Overlay(), nr.Overlay())
	d.writable()
	e.meta = tx.touched(e.meta, tx.next())
	d.ps.rels.set(i, nr, e)
	d.markDirty(kindRelease, r.ID)
	if bumps {
		d.bumpEnv(r.Environment)
	}
	tx.record(AuditEvent{
		Action:      action,
		Resource:    name,
		Project:     project,
		Environment: r.Environment,
		Before:      encode(old),
		After:       raw,
	}, bumps)
	return nil
}

// DeleteRelease deletes a release. Deleting one that serves an audience
// changes the environment's state.
func (tx *Tx) DeleteRelease(project, id, etag string) error {
	d, err := tx.live(project)
	if err != nil {
		return err
	}
	name := ReleaseName(project, id)
	i, ok := d.ps.rels.idx[id]
	if !ok {
		return notFound(name)
	}
	old := d.ps.rels.items[i]
	if err := checkEtag(name, d.ps.rels.entries[i].meta, etag); err != nil {
		return err
	}
	d.writable()
	d.ps.rels.remove(i)
	d.markDirty(kindRelease, id)
	bumps := old.Overlay() != nil
	if bumps {
		d.bumpEnv(old.Environment)
	}
	tx.record(AuditEvent{Action: "release.delete", Resource: name, Project: project, Environment: old.Environment, Before: encode(old)}, bumps)
	return nil
}

// stampReleases gives the last timeline event of every release PutRelease
// appended one to the revision of the release's environment, once the
// commit's revisions are known. The releases are this Tx's own values.
func (tx *Tx) stampReleases() {
	for _, s := range tx.stamps {
		d := tx.drafts[s.project]
		if d == nil || d.ps == nil {
			continue
		}
		r, _, ok := d.ps.rels.get(s.id)
		if !ok || len(r.Timeline) == 0 {
			continue
		}
		if env, _, ok := d.ps.envs.get(r.Environment); ok {
			r.Timeline[len(r.Timeline)-1].Revision = env.Revision
		}
	}
}

// checkReleases refuses a project state in which a release that serves an
// audience names something the document lacks, or in which two active
// releases of one environment claim the same item: eval.CompileWith must
// always succeed on what the store publishes.
func checkReleases(ps *ProjectState) error {
	claims := map[string]string{} // environment + item ref → release id
	for _, r := range ps.rels.items {
		if !r.State.Active() {
			continue
		}
		for _, it := range r.Items {
			key := r.Environment + "\x00" + it.Ref()
			if other, dup := claims[key]; dup {
				return fmt.Errorf("%s: %w: %s is in releases %q and %q of environment %s",
					ReleaseName(ps.Key(), r.ID), ErrFailedPrecondition, it.Ref(), other, r.ID, r.Environment)
			}
			claims[key] = r.ID
		}
		if !r.State.Serving() {
			continue
		}
		if err := model.CheckReleaseRefs(ps.doc, r); err != nil {
			msg := strings.ReplaceAll(err.Error(), "\n", "; ")
			return fmt.Errorf("%s: %w: release %q is %s and needs what this change removes (%s); roll it back or complete it first",
				ReleaseName(ps.Key(), r.ID), ErrFailedPrecondition, r.ID, r.State, msg)
		}
	}
	return nil
}

func releaseKind() itemKind[*model.Release] {
	return itemKind[*model.Release]{
		kind: kindRelease,
		noun: "release",
		coll: func(ps *ProjectState) *coll[*model.Release] { return &ps.rels },
		key:  func(r *model.Release) string { return r.ID },
	}
}
