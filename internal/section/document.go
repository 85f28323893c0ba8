package section

import (
	"fmt"

	"github.com/switchyard/switchyard/internal/model"
)

// Encode encodes every section of environment env of doc and of the
// overlays of env's releases in progress, in manifest order: segments, then
// flags, then components, each in document order, then overlays in the
// order given.
func Encode(doc *model.Document, env string, overlays []*model.Overlay) ([]Section, error) {
	if doc == nil {
		return nil, fmt.Errorf("encode sections: no document")
	}
	out := make([]Section, 0, len(doc.Segments)+len(doc.Flags)+len(doc.Components)+len(overlays))
	for _, s := range doc.Segments {
		sec, err := Segment(s)
		if err != nil {
			return nil, err
		}
		out = append(out, sec)
	}
	for _, f := range doc.Flags {
		sec, err := Flag(f, env)
		if err != nil {
			return nil, err
		}
		out = append(out, sec)
	}
	for _, c := range doc.Components {
		sec, err := Component(c, env)
		if err != nil {
			return nil, err
		}
		out = append(out, sec)
	}
	for _, o := range overlays {
		sec, err := Overlay(o)
		if err != nil {
			return nil, err
		}
		out = append(out, sec)
	}
	return out, nil
}

// Document assembles the one-environment document that sections describe,
// and the overlays among them, in their order: what eval.CompileWith takes.
// The model values are those of sections, not copies, so that
// eval.CompileWith can reuse what it compiled for an unchanged section.
func Document(project, env string, sections []Decoded) (*model.Document, []*model.Overlay) {
	doc := &model.Document{Version: model.DocumentVersion, Project: project, Environments: []string{env}}
	var overlays []*model.Overlay
	for _, d := range sections {
		switch {
		case d.Segment != nil:
			doc.Segments = append(doc.Segments, d.Segment)
		case d.Flag != nil:
			doc.Flags = append(doc.Flags, d.Flag)
		case d.Component != nil:
			doc.Components = append(doc.Components, d.Component)
		case d.Overlay != nil:
			overlays = append(overlays, d.Overlay)
		}
	}
	return doc, overlays
}
