package domain

import (
	"github.com/switchyard/switchyard/internal/model"
)

// Release models are kept beside the document, like releases: export never
// shows them and writing one changes no environment's state. They share
// the create, update and delete operations of segments, flags and
// components (etags, audit), and are validated on their own with
// model.ValidateReleaseModel.

// ReleaseModelName returns the resource name of a release model:
// projects/{p}/release_models/{m}.
func ReleaseModelName(project, key string) string {
	return ProjectName(project) + "/" + collReleaseModels + "/" + key
}

// ReleaseModels returns the project's release models in creation order.
// The slice and the models are shared and must not be modified.
func (ps *ProjectState) ReleaseModels() []*model.ReleaseModel { return ps.models.items }

// ReleaseModel returns the release model with the given key and its Meta.
func (ps *ProjectState) ReleaseModel(key string) (*model.ReleaseModel, Meta, bool) {
	v, e, ok := ps.models.get(key)
	return v, e.meta, ok
}

// CreateReleaseModel adds a release model. An invalid model fails with an
// error matching ErrInvalid, its model.Errors paths relative to the model.
func (tx *Tx) CreateReleaseModel(project string, m *model.ReleaseModel) error {
	return createOp(tx, releaseModelKind(), project, m)
}

// UpdateReleaseModel replaces the release model with m's key. Releases
// created from it keep their plan and the etag the model had then.
func (tx *Tx) UpdateReleaseModel(project string, m *model.ReleaseModel, etag string) error {
	return updateOp(tx, releaseModelKind(), project, m, etag)
}

// DeleteReleaseModel deletes a release model. Releases created from it
// keep its name.
func (tx *Tx) DeleteReleaseModel(project, key, etag string) error {
	return deleteOp(tx, releaseModelKind(), project, key, etag)
}

func releaseModelKind() itemKind[*model.ReleaseModel] {
	return itemKind[*model.ReleaseModel]{
		kind:    kindReleaseModel,
		noun:    "release_model",
		coll:    func(ps *ProjectState) *coll[*model.ReleaseModel] { return &ps.models },
		key:     func(m *model.ReleaseModel) string { return m.Key },
		outside: true,
		check:   model.ValidateReleaseModel,
	}
}
