package section

import (
	"fmt"

	"github.com/switchyard/switchyard/internal/keylist"

	"github.com/switchyard/switchyard/internal/model"
)

// Encode encodes every section of environment env of doc and of the
// overlays of env's releases in progress, in manifest order: segments, then
// flags, then components, each in document order, then overlays in the
// order given. A segment's list longer than keylist.ChunkThreshold follows
// it as keylist.Shards chunks (SegmentHead, SegmentChunk), include before
// exclude.
func Encode(doc *model.Document, env string, overlays []*model.Overlay) ([]Section, error) {
	if doc == nil {
		return nil, fmt.Errorf("encode sections: no document")
	}
	out := make([]Section, 0, len(doc.Segments)+len(doc.Flags)+len(doc.Components)+len(overlays))
	for _, s := range doc.Segments {
		sec, err := SegmentHead(s)
		if err != nil {
			return nil, err
		}
		out = append(out, sec)
		for _, l := range []struct {
			list keylist.List
			keys []string
		}{{keylist.Include, s.Include}, {keylist.Exclude, s.Exclude}} {
			if !Chunked(l.keys) {
				continue
			}
			_ = keylist.Chunks(keylist.Arrange(l.keys), func(shard int, keys []string) error {
				out = append(out, SegmentChunk(s.Key, l.list, shard, keys))
				return nil
			})
		}
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
// eval.CompileWith can reuse what it compiled for an unchanged section;
// only a segment followed by chunks is a new value, its lists assembled
// from them (their keys share the chunks' memory). It fails when a chunk
// does not follow its segment, or a list comes both whole and in chunks.
func Document(project, env string, sections []Decoded) (*model.Document, []*model.Overlay, error) {
	doc := &model.Document{Version: model.DocumentVersion, Project: project, Environments: []string{env}}
	var overlays []*model.Overlay
	for i := 0; i < len(sections); i++ {
		d := sections[i]
		switch {
		case d.Segment != nil:
			n := i + 1
			for n < len(sections) && sections[n].Chunk != nil {
				n++
			}
			seg := d.Segment
			if n > i+1 {
				var err error
				if seg, err = assemble(d.Segment, sections[i+1:n]); err != nil {
					return nil, nil, err
				}
				i = n - 1
			}
			doc.Segments = append(doc.Segments, seg)
		case d.Chunk != nil:
			return nil, nil, fmt.Errorf("segment chunk %q does not follow its segment", d.Key())
		case d.Flag != nil:
			doc.Flags = append(doc.Flags, d.Flag)
		case d.Component != nil:
			doc.Components = append(doc.Components, d.Component)
		case d.Overlay != nil:
			overlays = append(overlays, d.Overlay)
		}
	}
	return doc, overlays, nil
}

// assemble returns a copy of head with the lists that chunks carry.
func assemble(head *model.Segment, chunks []Decoded) (*model.Segment, error) {
	var counts [2]int
	for _, d := range chunks {
		c := d.Chunk
		if c.Segment != head.Key {
			return nil, fmt.Errorf("segment chunk %q follows segment %q", d.Key(), head.Key)
		}
		counts[listIndex(c.List)] += c.Len()
	}
	seg := *head
	for li, l := range []keylist.List{keylist.Include, keylist.Exclude} {
		if counts[li] == 0 {
			continue
		}
		whole := seg.Include
		if l == keylist.Exclude {
			whole = seg.Exclude
		}
		if len(whole) > 0 {
			return nil, fmt.Errorf("segment %q: its %s list comes both whole and in chunks", head.Key, l)
		}
		keys := make([]string, 0, counts[li])
		for _, d := range chunks {
			if d.Chunk.List == l {
				keys = d.Chunk.AppendKeys(keys)
			}
		}
		if l == keylist.Include {
			seg.Include = keys
		} else {
			seg.Exclude = keys
		}
	}
	return &seg, nil
}

func listIndex(l keylist.List) int {
	if l == keylist.Exclude {
		return 1
	}
	return 0
}
