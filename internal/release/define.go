package release

import (
	"fmt"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/eval"
	"github.com/switchyard/switchyard/internal/model"
)

// Create adds r to the project as a DRAFT. Lifecycle fields in r are
// ignored; the salt defaults to the id, bucket_by to targetingKey and the
// mode to pull. The items and segments need not exist yet: Start checks
// them.
//
// When r names a release model (r.Model), the release is created from it:
// an empty plan is filled in from the model's stage template
// (model.ReleaseModel.Plan), an empty mode is the model's, the model's
// resolution check is required, and the release records the model's etag.
// The plan stays adjustable while the release is a draft. An unknown model
// is a model.Errors at "model".
func Create(tx *domain.Tx, project string, r *model.Release) error {
	d := definition(r)
	if err := fromModel(tx, project, d, r); err != nil {
		return err
	}
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
func Update(tx *domain.Tx, project string, r *model.Release, etag string) error {
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
	if r.Model != "" && r.Model != cur.Model {
		return failed(project, r.ID, "the model of a release cannot change; create another release from model %q", r.Model)
	}
	d := definition(r)
	d.Environment = cur.Environment
	d.State, d.Timeline = cur.State, cur.Timeline
	d.Model, d.ModelEtag = cur.Model, cur.ModelEtag
	d.Incidents, d.Review = cur.Incidents, cur.Review
	d.FreezeOverrides = cur.FreezeOverrides
	return tx.PutRelease(project, d, curEtag, nil)
}

// Delete deletes a DRAFT release.
func Delete(tx *domain.Tx, project, id, etag string) error {
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

		ResolutionCheck:        r.ResolutionCheck,
		ReleaseNotesByLanguage: r.ReleaseNotesByLanguage,
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

// fromModel fills in d, the definition of r, from the release model r
// names, if any: the plan when r has none, the mode when r gave none, the
// resolution check, and the model's name and etag.
func fromModel(tx *domain.Tx, project string, d, r *model.Release) error {
	name := r.Model
	if name == "" {
		return nil
	}
	ps, ok := tx.Project(project)
	if !ok {
		return fmt.Errorf("%s: %w", domain.ProjectName(project), domain.ErrNotFound)
	}
	m, meta, ok := ps.ReleaseModel(name)
	if !ok {
		return model.Errors{model.NewFieldError("model", "project %q has no release model %q", project, name)}
	}
	d.Model, d.ModelEtag = m.Key, meta.Etag
	if len(d.Plan) == 0 {
		d.Plan = m.Plan()
	}
	if r.Mode == "" && m.Mode != "" {
		d.Mode = m.Mode
	}
	if m.Verification != nil && m.Verification.ResolutionCheck {
		d.ResolutionCheck = true
	}
	return nil
}
