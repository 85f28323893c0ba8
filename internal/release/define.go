package release

import (
	"github.com/switchyard/switchyard/internal/eval"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/store"
)

// Create adds r to the project as a DRAFT. Lifecycle fields in r are
// ignored; the salt defaults to the id, bucket_by to targetingKey and the
// mode to pull. The items and segments need not exist yet: Start checks
// them.
func Create(tx *store.Tx, project string, r *model.Release) error {
	d := definition(r)
	d.State = model.StateDraft
	ev := newEvent(tx, d, "create", "")
	ev.From, ev.To = "", model.StateDraft
	if ps, ok := tx.Project(project); ok {
		if env, ok := ps.Environment(d.Environment); ok {
			ev.Revision = env.Revision
		}
	}
	d.Timeline = []model.ReleaseEvent{*ev}
	return tx.CreateRelease(project, d)
}

// Update replaces the definition of a DRAFT release (id and environment
// excepted) with r's; etag, when not "", must be the release's etag.
func Update(tx *store.Tx, project string, r *model.Release, etag string) error {
	_, cur, curEtag, err := load(tx, Request{Project: project, ID: r.ID, Etag: etag})
	if err != nil {
		return err
	}
	if cur.State != model.StateDraft {
		return failed(project, r.ID, "the release is %s; only a draft can be edited", cur.State)
	}
	if r.Environment != "" && r.Environment != cur.Environment {
		return failed(project, r.ID, "the environment of a release cannot change; create another release")
	}
	d := definition(r)
	d.Environment = cur.Environment
	d.State, d.Timeline = cur.State, cur.Timeline
	return tx.PutRelease(project, d, curEtag, nil)
}

// Delete deletes a DRAFT release.
func Delete(tx *store.Tx, project, id, etag string) error {
	_, cur, curEtag, err := load(tx, Request{Project: project, ID: id, Etag: etag})
	if err != nil {
		return err
	}
	if cur.State != model.StateDraft {
		return failed(project, id, "the release is %s; only a draft can be deleted (cancel or roll it back instead)", cur.State)
	}
	return tx.DeleteRelease(project, id, curEtag)
}

// definition returns the definition fields of r, with defaults.
func definition(r *model.Release) *model.Release {
	d := &model.Release{
		ID:           r.ID,
		Title:        r.Title,
		Environment:  r.Environment,
		Items:        r.Items,
		ReleaseNotes: r.ReleaseNotes,
		Mode:         r.Mode,
		Owner:        r.Owner,
		Links:        r.Links,
		Salt:         r.Salt,
		BucketBy:     r.BucketBy,
		Plan:         r.Plan,
	}
	if d.Salt == "" {
		d.Salt = d.ID
	}
	if d.BucketBy == "" {
		d.BucketBy = eval.TargetingKeyAttribute
	}
	if d.Mode == "" {
		d.Mode = model.ModePull
	}
	return d
}
