package syncer

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"weak"

	"google.golang.org/protobuf/proto"

	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/internal/keylist"
	"github.com/switchyard/switchyard/internal/section"
)

// Revision is one environment's sections at one revision, encoded once and
// shared by every stream of the environment. It is immutable; the messages
// it hands out are shared too and must not be modified (gRPC may marshal
// one message on many streams at once).
type Revision struct {
	Project     string
	Environment string
	Number      uint64

	manifest []*sdkpb.SectionRef
	sections []*sdkpb.Section // sections[i] is the payload of manifest[i]
	index    map[section.Hash]int
	chunked  bool // some section is a segment chunk
	// lists are the chunked lists whose chunks the sections carry without
	// their payloads (encoder), by segment and list: withPayloads.
	lists map[listKey]*encodedList

	mu     sync.Mutex
	full   *sdkpb.SyncResponse // every section
	bare   *sdkpb.SyncResponse // the manifest alone
	same   *sdkpb.SyncResponse // nothing changed: an empty change (protocol 2)
	deltas []delta             // most recent first, at most maxDeltas
	// encoded holds the messages above encoded for the wire, once per
	// message and encoding (Encoded).
	encoded map[encodedKey]weak.Pointer[Encoding]
	// parts holds the messages above in parts (Parts), when they have more
	// than one.
	parts map[*sdkpb.SyncResponse][]*sdkpb.SyncResponse
}

// delta is the message that brings a stream from one revision to another.
type delta struct {
	from    *Revision
	compact bool // the manifest is a change to from's (protocol 2)
	msg     *sdkpb.SyncResponse
}

type encodedKey struct {
	msg      *sdkpb.SyncResponse
	encoding string
}

// maxDeltas bounds the messages a revision keeps for streams coming from
// older revisions; nearly every stream comes from the one before.
const maxDeltas = 4

// newRevision builds a revision from its sections in manifest order.
func newRevision(project, env string, number uint64, sections []*sdkpb.Section) *Revision {
	r := &Revision{
		Project:     project,
		Environment: env,
		Number:      number,
		manifest:    make([]*sdkpb.SectionRef, len(sections)),
		sections:    sections,
		index:       make(map[section.Hash]int, len(sections)),
	}
	for i, s := range sections {
		r.manifest[i] = s.GetRef()
		if h, ok := section.HashFromBytes(s.GetRef().GetHash()); ok {
			r.index[h] = i
		}
		if section.Kind(s.GetRef().GetKind()) == section.KindSegmentChunk {
			r.chunked = true
		}
	}
	return r
}

// Sections returns the number of sections in the revision.
func (r *Revision) Sections() int { return len(r.manifest) }

// Chunked reports whether the revision holds a segment list in chunks,
// which only SDKs of protocol section.ProtocolChunks read.
func (r *Revision) Chunked() bool { return r.chunked }

// ErrUpgradeRequired means the SDK speaks a sync protocol older than the
// revision needs (Revision.Refuses).
var ErrUpgradeRequired = errors.New("the SDK's sync protocol is too old")

// Refuses returns an error matching ErrUpgradeRequired, telling the SDK to
// upgrade, when an SDK of the given protocol cannot read the revision: it
// holds a segment list in chunks and the SDK is older than
// section.ProtocolChunks. It returns nil otherwise.
func (r *Revision) Refuses(protocol uint32) error {
	if r.chunked && protocol < section.ProtocolChunks {
		return fmt.Errorf("%w: environment %s/%s holds a segment list of more than %d keys, which syncs in chunks (sync protocol %d); this SDK declares protocol %d: upgrade the SDK",
			ErrUpgradeRequired, r.Project, r.Environment, keylist.ChunkThreshold, section.ProtocolChunks, max(protocol, section.ProtocolSections))
	}
	return nil
}

// Has reports whether the revision holds a section with hash h.
func (r *Revision) Has(h section.Hash) bool {
	_, ok := r.index[h]
	return ok
}

// message builds a Ruleset message carrying the manifest and the sections
// for which send returns true.
func (r *Revision) message(send func(i int) bool) *sdkpb.SyncResponse {
	rs := &sdkpb.Ruleset{Project: r.Project, Environment: r.Environment, Revision: r.Number, Manifest: r.manifest}
	for i, s := range r.sections {
		if send(i) {
			rs.Sections = append(rs.Sections, s)
		}
	}
	return &sdkpb.SyncResponse{Message: &sdkpb.SyncResponse_Ruleset{Ruleset: rs}}
}

// change builds the message of protocol 2 for a stream that holds exactly
// the sections of from, whose manifest has the same kinds and keys in the
// same order: the refs and sections that differ, as a change to from's
// manifest.
func (r *Revision) change(from *Revision) *sdkpb.SyncResponse {
	rs := &sdkpb.Ruleset{Project: r.Project, Environment: r.Environment, Revision: r.Number, ManifestBase: from.Number}
	for i, ref := range r.manifest {
		if !bytes.Equal(ref.GetHash(), from.manifest[i].GetHash()) {
			rs.Manifest = append(rs.Manifest, ref)
			rs.Sections = append(rs.Sections, r.sections[i])
		}
	}
	return &sdkpb.SyncResponse{Message: &sdkpb.SyncResponse_Ruleset{Ruleset: rs}}
}

// sameShape reports whether r and from list the same kinds and keys in the
// same order.
func (r *Revision) sameShape(from *Revision) bool {
	if len(r.manifest) != len(from.manifest) {
		return false
	}
	for i, ref := range r.manifest {
		old := from.manifest[i]
		if ref.GetKind() != old.GetKind() || ref.GetKey() != old.GetKey() {
			return false
		}
	}
	return true
}

// MessageFrom returns the message for a stream whose SDK holds exactly the
// sections of from (nil: none) and speaks the given sync protocol: the
// sections from lacks with the manifest, which for protocol
// section.ProtocolChunks is a change to from's when it can be (a one-key
// change to a list of a million keys then costs one chunk and one ref).
// Messages are built once per pair of revisions and protocol, and shared.
func (r *Revision) MessageFrom(from *Revision, protocol uint32) *sdkpb.SyncResponse {
	compact := protocol >= section.ProtocolChunks
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case from == nil:
		if r.full == nil {
			r.full = r.message(func(int) bool { return true })
		}
		return r.full
	case from == r && compact:
		if r.same == nil {
			r.same = r.change(r)
		}
		return r.same
	case from == r:
		if r.bare == nil {
			r.bare = r.message(func(int) bool { return false })
		}
		return r.bare
	}
	for _, d := range r.deltas {
		if d.from == from && d.compact == compact {
			return d.msg
		}
	}
	var msg *sdkpb.SyncResponse
	if compact && r.sameShape(from) {
		msg = r.change(from)
	} else {
		msg = r.message(func(i int) bool {
			h, _ := section.HashFromBytes(r.manifest[i].GetHash())
			return !from.Has(h)
		})
	}
	if len(r.deltas) == maxDeltas {
		evicted := r.deltas[maxDeltas-1].msg
		for _, m := range append([]*sdkpb.SyncResponse{evicted}, r.parts[evicted]...) {
			for k := range r.encoded {
				if k.msg == m {
					delete(r.encoded, k)
				}
			}
		}
		delete(r.parts, evicted)
		r.deltas = r.deltas[:maxDeltas-1]
	}
	r.deltas = append([]delta{{from: from, compact: compact, msg: msg}}, r.deltas...)
	return msg
}

// MessageHolding returns the message for an SDK of the given protocol
// that says in its Hello it holds revision number (0: none) and the
// sections whose hashes held lists, in the order of its manifest. When
// that is exactly this revision, or one this revision keeps a message from
// (a stream resuming after the server ended it, or from a cache file), it
// is MessageFrom that revision, shared; otherwise the manifest and the
// sections the SDK lacks, built for this one stream.
func (r *Revision) MessageHolding(number uint64, held []*sdkpb.SectionRef, protocol uint32) *sdkpb.SyncResponse {
	if len(held) == 0 {
		return r.MessageFrom(nil, protocol)
	}
	if from := r.known(number); from != nil && from.listsExactly(held) {
		return r.MessageFrom(from, protocol)
	}
	set := make(map[section.Hash]struct{}, len(held))
	for _, ref := range held {
		if h, ok := section.HashFromBytes(ref.GetHash()); ok {
			set[h] = struct{}{}
		}
	}
	return r.message(func(i int) bool {
		h, _ := section.HashFromBytes(r.manifest[i].GetHash())
		_, ok := set[h]
		return !ok
	})
}

// known returns the revision numbered number if it is r or one r keeps a
// message from, else nil.
func (r *Revision) known(number uint64) *Revision {
	if number == 0 {
		return nil
	}
	if number == r.Number {
		return r
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, d := range r.deltas {
		if d.from.Number == number {
			return d.from
		}
	}
	return nil
}

// listsExactly reports whether held has the hashes of r's manifest, in
// order.
func (r *Revision) listsExactly(held []*sdkpb.SectionRef) bool {
	if len(held) != len(r.manifest) {
		return false
	}
	for i, ref := range held {
		if !bytes.Equal(ref.GetHash(), r.manifest[i].GetHash()) {
			return false
		}
	}
	return true
}

// Encoding is a message encoded for the wire (Revision.Encoded). The
// revision keeps it only while a caller holds it: streams sending a
// message at the same time share one encoding, and none is kept once they
// are done (a million-key first sync is 16 MiB encoded).
type Encoding struct {
	Value any
}

// Encoded returns msg, one of the shared messages of the revision
// (MessageFrom), as encode encodes it for the wire with the named
// encoding: encode runs once for all the callers that hold the result at
// the same time (the hundred SDKs of a deploy doing their first sync), and
// again for a caller that comes after the last of them let it go. A
// message the revision did not hand out is encoded every time. encode is
// given msg with its payloads (WithPayloads), built in a buffer reused
// once encode returns: encode must not keep that message. The caller keeps
// the result until it has sent it.
func (r *Revision) Encoded(msg *sdkpb.SyncResponse, encoding string, encode func(*sdkpb.SyncResponse) (any, error)) (*Encoding, error) {
	key := encodedKey{msg, encoding}
	r.mu.Lock()
	defer r.mu.Unlock()
	if e := r.encoded[key].Value(); e != nil {
		return e, nil
	}
	buf := scratch.Get().(*[]byte)
	v, err := encode(r.withPayloads(msg, buf))
	if cap(*buf) <= maxScratch {
		scratch.Put(buf)
	}
	if err != nil {
		return nil, err
	}
	e := &Encoding{Value: v}
	if r.owns(msg) {
		if r.encoded == nil {
			r.encoded = map[encodedKey]weak.Pointer[Encoding]{}
		}
		r.encoded[key] = weak.Make(e)
	}
	return e, nil
}

// owns reports whether msg is one of the revision's shared messages, or a
// part of one. The caller holds r.mu.
func (r *Revision) owns(msg *sdkpb.SyncResponse) bool {
	if msg == r.full || msg == r.bare || msg == r.same {
		return true
	}
	for _, d := range r.deltas {
		if d.msg == msg {
			return true
		}
	}
	for _, parts := range r.parts {
		if slices.Contains(parts, msg) {
			return true
		}
	}
	return false
}

// partBytes is about the most section payload bytes one part of a ruleset
// carries (Parts): a part is encoded in buffers of grpc's pool, and a
// ruleset of a million keys (16 MiB) goes in about 32 parts.
const partBytes = 512 << 10

// Parts returns msg, a message of the revision (MessageFrom,
// MessageHolding), as the messages a stream sends for it to an SDK of the
// given protocol: msg alone, unless the SDK speaks
// section.ProtocolParts and msg carries sections of more than partBytes;
// then msg in parts, each but the last marked Ruleset.continued, the
// first with the manifest, each with sections of about partBytes at most
// (and at least one section). The parts of a shared message are built
// once and shared too, so that streams sending them at the same time
// share their encodings (Encoded); each part is encoded only when sent,
// so that a first sync is never encoded whole.
func (r *Revision) Parts(msg *sdkpb.SyncResponse, protocol uint32) []*sdkpb.SyncResponse {
	rs := msg.GetRuleset()
	if rs == nil || protocol < section.ProtocolParts {
		return []*sdkpb.SyncResponse{msg}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if parts, ok := r.parts[msg]; ok {
		return parts
	}
	var parts []*sdkpb.SyncResponse
	secs, n, start := rs.GetSections(), 0, 0
	cut := func(end int) {
		part := &sdkpb.Ruleset{Project: rs.GetProject(), Environment: rs.GetEnvironment(), Revision: rs.GetRevision(), Sections: secs[start:end:end], Continued: true}
		if start == 0 {
			part.Manifest, part.ManifestBase = rs.GetManifest(), rs.GetManifestBase()
		}
		parts = append(parts, &sdkpb.SyncResponse{Message: &sdkpb.SyncResponse_Ruleset{Ruleset: part}})
		start, n = end, 0
	}
	for i, s := range secs {
		size := r.payloadSize(s)
		if n > 0 && n+size > partBytes {
			cut(i)
		}
		n += size
	}
	if start == 0 {
		return []*sdkpb.SyncResponse{msg}
	}
	cut(len(secs))
	parts[len(parts)-1].GetRuleset().Continued = false
	if r.owns(msg) {
		if r.parts == nil {
			r.parts = map[*sdkpb.SyncResponse][]*sdkpb.SyncResponse{}
		}
		r.parts[msg] = parts
	}
	return parts
}

// payloadSize returns the length of the payload of s, a section of the
// revision, as it is sent (WithPayloads).
func (r *Revision) payloadSize(s *sdkpb.Section) int {
	if p := s.GetPayload(); p != nil {
		return len(p)
	}
	if c, ok := section.ParseChunkKey(s.GetRef().GetKey()); ok {
		if el := r.lists[listKey{c.Segment, c.List}]; el != nil {
			return el.sizes[c.Shard]
		}
	}
	return 0
}

// WithPayloads returns msg, a message of the revision, as it goes on the
// wire: the messages the revision hands out carry the chunks of its long
// lists without their payloads, which are built from the list's keys
// here, into a copy of msg (msg itself is shared and never changes). It
// returns msg itself when it carries no such chunk. A sender calls it
// only for a message it does not encode through Encoded.
func (r *Revision) WithPayloads(msg *sdkpb.SyncResponse) *sdkpb.SyncResponse {
	return r.withPayloads(msg, new([]byte))
}

// scratch holds buffers for the payloads of the messages Encoded encodes,
// one part at a time (Parts): an encoding copies them, so that the next
// encoding reuses the buffer. Buffers over maxScratch are not kept.
var scratch = sync.Pool{New: func() any { return new([]byte) }}

const maxScratch = 2 * partBytes

// withPayloads is WithPayloads building the payloads in *buf, from its
// start: the result is valid until *buf is used again.
func (r *Revision) withPayloads(msg *sdkpb.SyncResponse, buf *[]byte) *sdkpb.SyncResponse {
	secs := msg.GetRuleset().GetSections()
	if len(r.lists) == 0 || !slices.ContainsFunc(secs, func(s *sdkpb.Section) bool { return s.GetPayload() == nil }) {
		return msg
	}
	n := 0
	for _, s := range secs {
		if s.GetPayload() == nil {
			n += r.payloadSize(s)
		}
	}
	b := slices.Grow((*buf)[:0], n)
	out := proto.Clone(msg).(*sdkpb.SyncResponse)
	for _, s := range out.GetRuleset().GetSections() {
		if s.GetPayload() != nil || section.Kind(s.GetRef().GetKind()) != section.KindSegmentChunk {
			continue
		}
		c, ok := section.ParseChunkKey(s.GetRef().GetKey())
		if !ok {
			continue
		}
		if el := r.lists[listKey{c.Segment, c.List}]; el != nil {
			start := len(b)
			b = el.appendPayload(b, c.Shard)
			s.Payload = b[start:len(b):len(b)]
		}
	}
	*buf = b
	return out
}
