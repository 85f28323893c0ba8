package domain

import (
	"fmt"

	"github.com/switchyard/switchyard/internal/model"
)

// ImportCounts counts what an import did to one kind of resource.
type ImportCounts struct {
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Deleted   int `json:"deleted"`
	Unchanged int `json:"unchanged"`
}

func (c ImportCounts) changed() bool { return c.Created+c.Updated+c.Deleted > 0 }

// ImportSummary reports what Tx.Import did.
type ImportSummary struct {
	Project        string       `json:"project"`
	ProjectCreated bool         `json:"project_created,omitempty"`
	Environments   ImportCounts `json:"environments"`
	Segments       ImportCounts `json:"segments"`
	Flags          ImportCounts `json:"flags"`
	Components     ImportCounts `json:"components"`
}

// Changed reports whether the import changed anything.
func (s ImportSummary) Changed() bool {
	return s.ProjectCreated || s.Environments.changed() || s.Segments.changed() ||
		s.Flags.changed() || s.Components.changed()
}

// Import makes a project match a declarative document (DESIGN §2). It
// validates the document first (an error matching ErrInvalid, with the
// model.Validate error and its paths in the document, changes nothing).
// Then it creates the project and the environments that are missing,
// creates the segments, flags and components that are missing and updates
// those that differ; resources equal to the document's keep their pointers
// and etags. With prune it also deletes the segments, flags, components and
// environments the document does not list (deleting an environment deletes
// its API keys too). Environments keep their descriptions, and the order of
// those that exist already.
//
// Each change is recorded as its own operation ("flag.update", ...),
// followed by one "project.import" event with the summary. If Import fails
// after it began changing the Tx, the Update fails with that error.
func (tx *Tx) Import(doc *model.Document, prune bool) (ImportSummary, error) {
	var sum ImportSummary
	if err := tx.usable(); err != nil {
		return sum, err
	}
	if doc == nil {
		return sum, fmt.Errorf("import: nil document: %w", ErrInvalid)
	}
	sum.Project = doc.Project
	err := tx.validate(doc)
	if err == nil {
		err = model.DocumentSegmentKeys(doc)
	}
	if err != nil {
		return sum, fmt.Errorf("import %s: %w: %w", ProjectName(doc.Project), ErrInvalid, err)
	}
	if err := checkKey("project", doc.Project); err != nil {
		return sum, err
	}
	for _, env := range doc.Environments {
		if err := checkKey("environment", env); err != nil {
			return sum, err
		}
	}
	segs, err := prepareAll(tx, segmentKind(), doc.Segments)
	if err != nil {
		return sum, err
	}
	flags, err := prepareAll(tx, flagKind(), doc.Flags)
	if err != nil {
		return sum, err
	}
	comps, err := prepareAll(tx, componentKind(), doc.Components)
	if err != nil {
		return sum, err
	}
	if err := tx.apply(doc, prune, segs, flags, comps, &sum); err != nil {
		tx.err = err
		return sum, err
	}
	if sum.Changed() {
		tx.record(AuditEvent{
			Action:   "project.import",
			Resource: ProjectName(doc.Project),
			Project:  doc.Project,
			After:    encode(sum),
		}, false)
	}
	return sum, nil
}

type prepared[T any] struct {
	v   T
	raw []byte
}

func prepareAll[T comparable](tx *Tx, k itemKind[T], vs []T) ([]prepared[T], error) {
	out := make([]prepared[T], len(vs))
	for i, v := range vs {
		nv, raw, err := prepare(tx, k, v)
		if err != nil {
			return nil, err
		}
		out[i] = prepared[T]{nv, raw}
	}
	return out, nil
}

func (tx *Tx) apply(doc *model.Document, prune bool, segs []prepared[*model.Segment],
	flags []prepared[*model.Flag], comps []prepared[*model.Component], sum *ImportSummary,
) error {
	d := tx.draft(doc.Project)
	if d.ps == nil {
		tx.createProject(d, "")
		sum.ProjectCreated = true
	}
	for _, env := range doc.Environments {
		if _, ok := d.ps.envs.idx[env]; ok {
			sum.Environments.Unchanged++
			continue
		}
		if err := tx.createEnvironment(d, env, ""); err != nil {
			return err
		}
		sum.Environments.Created++
	}
	if err := upsertAll(tx, segmentKind(), d, segs, &sum.Segments); err != nil {
		return err
	}
	if err := upsertAll(tx, flagKind(), d, flags, &sum.Flags); err != nil {
		return err
	}
	if err := upsertAll(tx, componentKind(), d, comps, &sum.Components); err != nil {
		return err
	}
	if !prune {
		return nil
	}
	pruneAll(tx, componentKind(), d, comps, &sum.Components)
	pruneAll(tx, flagKind(), d, flags, &sum.Flags)
	pruneAll(tx, segmentKind(), d, segs, &sum.Segments)
	want := setOf(doc.Environments)
	d.writable()
	for i := range d.ps.envs.entries {
		if d.ps.envs.live(i) && !want[d.ps.envs.entries[i].key] {
			tx.deleteEnvironment(d, i)
			sum.Environments.Deleted++
		}
	}
	return nil
}

func upsertAll[T comparable](tx *Tx, k itemKind[T], d *draft, items []prepared[T], counts *ImportCounts) error {
	for _, it := range items {
		i, ok := k.coll(d.ps).idx[k.key(it.v)]
		if !ok {
			if err := createItem(tx, k, d, it.v, it.raw); err != nil {
				return err
			}
			counts.Created++
			continue
		}
		changed, err := updateItem(tx, k, d, i, it.v, it.raw)
		if err != nil {
			return err
		}
		if changed {
			counts.Updated++
		} else {
			counts.Unchanged++
		}
	}
	return nil
}

func pruneAll[T comparable](tx *Tx, k itemKind[T], d *draft, keep []prepared[T], counts *ImportCounts) {
	want := make(map[string]bool, len(keep))
	for _, it := range keep {
		want[k.key(it.v)] = true
	}
	d.writable()
	c := k.coll(d.ps)
	for i := range c.entries {
		if c.live(i) && !want[c.entries[i].key] {
			deleteItem(tx, k, d, i)
			counts.Deleted++
		}
	}
}
