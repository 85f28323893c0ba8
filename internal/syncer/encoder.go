package syncer

import (
	"bytes"
	"fmt"
	"slices"

	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/internal/keylist"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/section"
)

// encoder encodes one project's sections and caches them by model pointer:
// the store shares unchanged model values between states, so a segment of a
// million keys is encoded once when it changes, not at every revision. A
// build keeps only what the current document still has. A segment list
// longer than keylist.ChunkThreshold is encoded in chunks (one per shard,
// section.SegmentChunk); when the segment changes, only the chunks whose
// keys changed are encoded again. A chunk is kept as its ref alone: its
// payload, a copy of the shard's keys, is built again from the list
// (which the store holds anyway) when a message carrying it is encoded
// for the wire (Revision.Encoded), and dropped once sent. Overlays are built
// anew for every state (store.ProjectState.Overlays), so they are cached by
// content instead: a few small values, encoded at every build and shared
// with the previous build when unchanged.
type encoder struct {
	segments   map[string]*encodedSegment                     // by segment key
	flags      map[string]map[*model.Flag]*sdkpb.Section      // by environment
	components map[string]map[*model.Component]*sdkpb.Section // by environment
	overlays   map[string]map[section.Hash]*sdkpb.Section     // by environment
}

// encodedSegment is a segment's sections: its own, then the chunks of its
// long lists.
type encodedSegment struct {
	src      *model.Segment
	head     *sdkpb.Section
	include  *encodedList // nil unless the list is chunked
	exclude  *encodedList
	sections []*sdkpb.Section // head, then the chunks, in manifest order
}

// encodedList is a chunked list: each shard's keys (sub-slices of the
// segment's list, which the store keeps in shard order) and chunk, a
// section without its payload (appendPayload builds it).
type encodedList struct {
	segment string
	list    keylist.List
	keys    [keylist.Shards][]string
	chunks  [keylist.Shards]*sdkpb.Section
	sizes   [keylist.Shards]int // of the payloads
}

// listKey names a segment's list.
type listKey struct {
	segment string
	list    keylist.List
}

// appendPayload appends to dst the payload of the list's chunk of shard.
func (el *encodedList) appendPayload(dst []byte, shard int) []byte {
	return section.AppendChunkPayload(dst, el.segment, el.list, shard, el.keys[shard])
}

func newEncoder() *encoder {
	return &encoder{
		segments:   map[string]*encodedSegment{},
		flags:      map[string]map[*model.Flag]*sdkpb.Section{},
		components: map[string]map[*model.Component]*sdkpb.Section{},
		overlays:   map[string]map[section.Hash]*sdkpb.Section{},
	}
}

// build encodes environment env of doc, with the overlays of env's
// releases in progress, as revision number.
func (e *encoder) build(doc *model.Document, overlays []*model.Overlay, env string, number uint64) (*Revision, error) {
	out := make([]*sdkpb.Section, 0, len(doc.Segments)+len(doc.Flags)+len(doc.Components)+len(overlays))

	segments := make(map[string]*encodedSegment, len(doc.Segments))
	var lists map[listKey]*encodedList
	for _, s := range doc.Segments {
		es, err := e.segment(s)
		if err != nil {
			return nil, err
		}
		segments[s.Key] = es
		out = append(out, es.sections...)
		for _, el := range []*encodedList{es.include, es.exclude} {
			if el != nil {
				if lists == nil {
					lists = map[listKey]*encodedList{}
				}
				lists[listKey{el.segment, el.list}] = el
			}
		}
	}

	flags := make(map[*model.Flag]*sdkpb.Section, len(doc.Flags))
	for _, f := range doc.Flags {
		sec, err := cached(e.flags[env], f, func() (section.Section, error) { return section.Flag(f, env) })
		if err != nil {
			return nil, err
		}
		flags[f] = sec
		out = append(out, sec)
	}

	components := make(map[*model.Component]*sdkpb.Section, len(doc.Components))
	for _, c := range doc.Components {
		sec, err := cached(e.components[env], c, func() (section.Section, error) { return section.Component(c, env) })
		if err != nil {
			return nil, err
		}
		components[c] = sec
		out = append(out, sec)
	}

	byHash := make(map[section.Hash]*sdkpb.Section, len(overlays))
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
	r := newRevision(doc.Project, env, number, out)
	r.lists = lists
	return r, nil
}

// segment returns the sections of s: cached when s is the value encoded
// last, else encoded, reusing the chunks of the last encoding of the same
// segment whose keys are unchanged.
func (e *encoder) segment(s *model.Segment) (*encodedSegment, error) {
	old := e.segments[s.Key]
	if old != nil && old.src == s {
		return old, nil
	}
	h, err := section.SegmentHead(s)
	if err != nil {
		return nil, fmt.Errorf("encode sections: %w", err)
	}
	es := &encodedSegment{src: s, head: message(h)}
	var oldInc, oldExc *encodedList
	if old != nil {
		oldInc, oldExc = old.include, old.exclude
		if bytes.Equal(old.head.GetRef().GetHash(), h.Hash[:]) {
			es.head = old.head
		}
	}
	es.sections = append(es.sections, es.head)
	if section.Chunked(s.Include) {
		es.include = encodeList(s.Key, keylist.Include, s.Include, oldInc)
		es.sections = append(es.sections, es.include.chunks[:]...)
	}
	if section.Chunked(s.Exclude) {
		es.exclude = encodeList(s.Key, keylist.Exclude, s.Exclude, oldExc)
		es.sections = append(es.sections, es.exclude.chunks[:]...)
	}
	return es, nil
}

// encodeList encodes a chunked list, reusing the chunks of old (which may
// be nil) whose shard holds the same keys. The store keeps such a list in
// shard order; a list that is not is arranged first.
func encodeList(segment string, list keylist.List, keys []string, old *encodedList) *encodedList {
	if el, ok := fillList(segment, list, keys, old, true); ok {
		return el
	}
	el, _ := fillList(segment, list, keylist.Arrange(keys), old, false)
	return el
}

// fillList encodes the shards of a list split by keylist.SearchRuns. With
// check, the keys of each shard encoded anew are checked to be of that
// shard (a reused shard's keys are those of old, which were), and ok is
// false at the first that is not: the list is not in shard order.
func fillList(segment string, list keylist.List, keys []string, old *encodedList, check bool) (el *encodedList, ok bool) {
	el = &encodedList{segment: segment, list: list}
	runs := keylist.SearchRuns(keys)
	var buf []byte // one shard's payload at a time: hashed, then dropped
	for shard := range keylist.Shards {
		in := keys[runs[shard]:runs[shard+1]]
		el.keys[shard] = in
		if old != nil && slices.Equal(old.keys[shard], in) {
			el.chunks[shard], el.sizes[shard] = old.chunks[shard], old.sizes[shard]
			continue
		}
		if check && slices.ContainsFunc(in, func(k string) bool { return keylist.Shard(k) != shard }) {
			return nil, false
		}
		buf = el.appendPayload(buf[:0], shard)
		h := section.HashOf(buf)
		el.sizes[shard] = len(buf)
		el.chunks[shard] = &sdkpb.Section{Ref: &sdkpb.SectionRef{Kind: sdkpb.SectionKind(section.KindSegmentChunk), Key: section.ChunkKey(segment, list, shard), Hash: h[:]}}
	}
	return el, true
}

// cached returns the section cached for key, or encodes it.
func cached[K comparable](cache map[K]*sdkpb.Section, key K, encode func() (section.Section, error)) (*sdkpb.Section, error) {
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
func message(s section.Section) *sdkpb.Section {
	return &sdkpb.Section{
		Ref:     &sdkpb.SectionRef{Kind: sdkpb.SectionKind(s.Kind), Key: s.Key, Hash: s.Hash[:]},
		Payload: s.Payload,
	}
}
