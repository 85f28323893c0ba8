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
// build keeps only what the current document still has.
type encoder struct {
	segments   map[*model.Segment]*pb.Section
	flags      map[string]map[*model.Flag]*pb.Section      // by environment
	components map[string]map[*model.Component]*pb.Section // by environment
}

func newEncoder() *encoder {
	return &encoder{
		segments:   map[*model.Segment]*pb.Section{},
		flags:      map[string]map[*model.Flag]*pb.Section{},
		components: map[string]map[*model.Component]*pb.Section{},
	}
}

// build encodes environment env of doc as revision number.
func (e *encoder) build(doc *model.Document, env string, number uint64) (*Revision, error) {
	out := make([]*pb.Section, 0, len(doc.Segments)+len(doc.Flags)+len(doc.Components))

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

	e.segments, e.flags[env], e.components[env] = segments, flags, components
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
	return &pb.Section{
		Ref:     &pb.SectionRef{Kind: pb.SectionKind(s.Kind), Key: s.Key, Hash: s.Hash[:]},
		Payload: s.Payload,
	}, nil
}
