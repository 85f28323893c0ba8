package domain

import (
	"fmt"

	"github.com/switchyard/switchyard/internal/model"
)

// Freezes are kept beside the document, like release models: export never
// shows them and writing one changes no environment's state. They share
// the create, update and delete operations of the other resources (etags,
// audit). A freeze is validated on its own with model.ValidateFreeze, and
// the environments and components it names must exist when it is written.
// What a freeze holds is the release package's.

// FreezeName returns the resource name of a freeze: projects/{p}/freezes/{f}.
func FreezeName(project, key string) string {
	return ProjectName(project) + "/" + collFreezes + "/" + key
}

// Freezes returns the project's freezes in creation order. The slice and
// the freezes are shared and must not be modified.
func (ps *ProjectState) Freezes() []*model.Freeze { return ps.freezes.items }

// Freeze returns the freeze with the given key and its Meta.
func (ps *ProjectState) Freeze(key string) (*model.Freeze, Meta, bool) {
	v, e, ok := ps.freezes.get(key)
	return v, e.meta, ok
}

// CreateFreeze adds a freeze. An invalid freeze fails with an error
// matching ErrInvalid, its model.Errors paths relative to the freeze.
func (tx *Tx) CreateFreeze(project string, f *model.Freeze) error {
	if err := tx.checkFreezeRefs(project, f); err != nil {
		return err
	}
	return createOp(tx, freezeKind(), project, f)
}

// UpdateFreeze replaces the freeze with f's key.
func (tx *Tx) UpdateFreeze(project string, f *model.Freeze, etag string) error {
	if err := tx.checkFreezeRefs(project, f); err != nil {
		return err
	}
	return updateOp(tx, freezeKind(), project, f, etag)
}

// DeleteFreeze deletes a freeze. Steps it held are taken when the
// scheduler next looks.
func (tx *Tx) DeleteFreeze(project, key, etag string) error {
	return deleteOp(tx, freezeKind(), project, key, etag)
}

// checkFreezeRefs refuses a freeze naming environments or components the
// project lacks, with the paths of the names.
func (tx *Tx) checkFreezeRefs(project string, f *model.Freeze) error {
	if f == nil {
		return nil // prepare refuses it
	}
	ps, ok := tx.Project(project)
	if !ok {
		return notFound(ProjectName(project))
	}
	var errs model.Errors
	for i, env := range f.Environments {
		if _, ok := ps.Environment(env); !ok {
			errs = append(errs, model.NewFieldError(fmt.Sprintf("environments[%d]", i), "project %s has no environment %q", project, env))
		}
	}
	for i, c := range f.Components {
		if _, _, ok := ps.Component(c); !ok {
			errs = append(errs, model.NewFieldError(fmt.Sprintf("components[%d]", i), "project %s has no component %q", project, c))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("freeze %s: %w: %w", f.Key, ErrInvalid, errs)
	}
	return nil
}

func freezeKind() itemKind[*model.Freeze] {
	return itemKind[*model.Freeze]{
		kind:    kindFreeze,
		noun:    "freeze",
		coll:    func(ps *ProjectState) *coll[*model.Freeze] { return &ps.freezes },
		key:     func(f *model.Freeze) string { return f.Key },
		outside: true,
		check:   model.ValidateFreeze,
	}
}
