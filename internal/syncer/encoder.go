package syncer

import (
	"fmt"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/section"
)

// encoder encodes one project's sections and caches them by model pointer:
// the store shares unchanged model values between states, so a segment of a
// million keys is encoded once when it changes, not at every revision. A
// build keeps only what the current document still has. Overlays are built
// anew for every state (store.ProjectState.Overlays), so they are cached by
// content instead: a few small values, encoded at every build and shared
// with the previous build when unchanged.
type encoder struct {
	segments   map[*model.Segment]*pb.Section
	flags      map[string]map[*model.Flag]*pb.Section      // by environment
	components map[string]map[*model.Component]*pb.Section // by environment
	overlays   map[string]map[section.Hash]*pb.Section     // by environment
}

func newEncoder() *encoder {
	return &encoder{
		segments:   map[*model.Segment]*pb.Section{},
		flags:      map[string]map[*model.Flag]*pb.Section{},
		components: map[string]map[*model.Component]*pb.Section{},
		overlays:   map[string]map[section.Hash]*pb.Section{},
	}
}

// build encodes environment env of doc, with the overlays of env's
// releases in progress, as revision number.
func (e *encoder) build(doc *model.Document, overlays []*model.Overlay, env string, number uint64) (*Revision, error) {
	out := make([]*pb.Section, 0, len(doc.Segments)+len(doc.Flags)+len(doc.Components)+len(overlays))

	segments := make(map[*model.Segment]*pb.Section, len(doc.Segments))
	for _, s := range doc.Segments {
		sec, err := cached(e.segments, s, func() (section.Section, error) { return section.Segment(s) })
		if err != nil {
			return nil, err
		}
		segments[s] = sec
		out = append(out, sec)
	}

	flags := make(map[*model.Flag]*pb.Section, len(doc.Flags))
	for _, f := range doc.Flags {
		sec, err := cached(e.flags[env], f, func() (section.Section, error) { return section.Flag(f, env) })
		if err != nil {
			return nil, err
		}
		flags[f] = sec
		out = append(out, sec)
	}

	components := make(map[*model.Component]*pb.Section, len(doc.Components))
	for _, c := range doc.Components {
		sec, err := cached(e.components[env], c, func() (section.Section, error) { return section.Component(c, env) })
		if err != nil {
			return nil, err
		}
		components[c] = sec
		out = append(out, sec)
	}

	byHash := make(map[section.Hash]*pb.Section, len(overlays))
	for _, o := range overlays {
		s, err := section.Overlay(o)
		if err != nil {
			return nil, fmt.Errorf("encode sections: %w", err)
		}
		sec := e.overlays[env][s.Hash]
		if sec == nil {
			sec = message(s)
		}
		byHash[s.Hash] = sec
		out = append(out, sec)
	}

	e.segments, e.flags[env], e.components[env], e.overlays[env] = segments, flags, components, byHash
	return newRevision(doc.Project, env, number, out), nil
}

// cached returns the section cached for key, or encodes it.
func cached[K comparable](cache map[K]*pb.Section, key K, encode func() (section.Section, error)) (*pb.Section, error) {
	if sec, ok := cache[key]; ok {
		return sec, nil
	}
	s, err := encode()
	if err != nil {
		return nil, fmt.Errorf("encode sections: %w", err)
	}
	return message(s), nil
}

// message converts an encoded section to its protocol message.
func message(s section.Section) *pb.Section {
	return &pb.Section{
		Ref:     &pb.SectionRef{Kind: pb.SectionKind(s.Kind), Key: s.Key, Hash: s.Hash[:]},
		Payload: s.Payload,
	}
}
