package syncer

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/internal/keylist"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/section"
)

func testDoc() *model.Document {
	return &model.Document{
		Version: 1, Project: "shop", Environments: []string{"production", "staging"},
		Segments: []*model.Segment{{Key: "big", Include: []string{"u1", "u2"}}},
		Flags: []*model.Flag{
			{Key: "a", Type: model.TypeBool, Environments: map[string]*model.Targeting{"production": {Enabled: true}}},
			{Key: "b", Type: model.TypeBool},
		},
	}
}

// withFlag returns a copy of doc whose flag i is replaced; the other model
// values are shared, as the store shares unchanged values between states.
func withFlag(doc *model.Document, i int, f *model.Flag) *model.Document {
	next := *doc
	next.Flags = append([]*model.Flag(nil), doc.Flags...)
	next.Flags[i] = f
	return &next
}

func keys(secs []*sdkpb.Section) []string {
	var out []string
	for _, s := range secs {
		out = append(out, s.GetRef().GetKey())
	}
	return out
}

func TestEncoderReusesUnchangedSectionsByPointer(t *testing.T) {
	enc := newEncoder()
	doc1 := testDoc()
	r1, err := enc.build(doc1, nil, "production", 1)
	if err != nil {
		t.Fatal(err)
	}
	doc2 := withFlag(doc1, 1, &model.Flag{Key: "b", Type: model.TypeBool, Description: "changed"})
	r2, err := enc.build(doc2, nil, "production", 2)
	if err != nil {
		t.Fatal(err)
	}
	if r1.sections[0] != r2.sections[0] {
		t.Error("the unchanged segment was encoded again")
	}
	if r1.sections[1] != r2.sections[1] {
		t.Error("the unchanged flag a was encoded again")
	}
	if r1.sections[2] == r2.sections[2] {
		t.Error("the changed flag b was not encoded again")
	}
	// Another environment shares the project's segment sections.
	r3, err := enc.build(doc2, nil, "staging", 2)
	if err != nil {
		t.Fatal(err)
	}
	if r3.sections[0] != r2.sections[0] {
		t.Error("the segment was encoded again for another environment")
	}
}

func TestRevisionMessages(t *testing.T) {
	enc := newEncoder()
	doc1 := testDoc()
	r1, _ := enc.build(doc1, nil, "production", 1)
	r2, _ := enc.build(withFlag(doc1, 0, &model.Flag{Key: "a", Type: model.TypeBool}), nil, "production", 2)
	h := func(i int) section.Hash {
		hash, _ := section.HashFromBytes(r2.manifest[i].GetHash())
		return hash
	}
	tests := []struct {
		name string
		msg  *sdkpb.SyncResponse
		want []string
	}{
		{"from nothing", r2.MessageFrom(nil, section.ProtocolSections), []string{"big", "a", "b"}},
		{"from itself", r2.MessageFrom(r2, section.ProtocolSections), nil},
		{"from the previous revision", r2.MessageFrom(r1, section.ProtocolSections), []string{"a"}},
		{"holding nothing", r2.MessageHolding(0, nil, section.ProtocolSections), []string{"big", "a", "b"}},
		{"holding the segment", r2.MessageHolding(0, refs(h(0)), section.ProtocolSections), []string{"a", "b"}},
		{"holding everything", r2.MessageHolding(0, refs(h(0), h(1), h(2)), section.ProtocolSections), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs := tc.msg.GetRuleset()
			if got := keys(rs.GetSections()); !slices.Equal(got, tc.want) {
				t.Errorf("sections %v, want %v", got, tc.want)
			}
			if len(rs.GetManifest()) != 3 || rs.GetRevision() != 2 || rs.GetProject() != "shop" || rs.GetEnvironment() != "production" {
				t.Errorf("ruleset %s/%s@%d with %d refs, want shop/production@2 with 3", rs.GetProject(), rs.GetEnvironment(), rs.GetRevision(), len(rs.GetManifest()))
			}
		})
	}
	delta1, delta2 := r2.MessageFrom(r1, section.ProtocolSections), r2.MessageFrom(r1, section.ProtocolSections)
	full1, full2 := r2.MessageFrom(nil, section.ProtocolSections), r2.MessageFrom(nil, section.ProtocolSections)
	if delta1 != delta2 || full1 != full2 {
		t.Error("messages between the same revisions are built twice, want them shared")
	}
}

func refs(hashes ...section.Hash) []*sdkpb.SectionRef {
	out := make([]*sdkpb.SectionRef, len(hashes))
	for i, h := range hashes {
		out[i] = &sdkpb.SectionRef{Hash: h[:]}
	}
	return out
}

// TestRevisionMessagesOfProtocol2 pins the manifest as a change to the
// previous one, and the messages shared with SDKs that resume what they
// held.
func TestRevisionMessagesOfProtocol2(t *testing.T) {
	enc := newEncoder()
	doc1 := testDoc()
	r1, _ := enc.build(doc1, nil, "production", 1)
	r2, _ := enc.build(withFlag(doc1, 0, &model.Flag{Key: "a", Type: model.TypeBool}), nil, "production", 2)
	r3, _ := enc.build(withFlag(doc1, 1, &model.Flag{Key: "b", Type: model.TypeBool, Description: "x"}), nil, "production", 3)
	p := uint32(section.ProtocolChunks)
	change := r2.MessageFrom(r1, p).GetRuleset()
	if change.GetManifestBase() != 1 || !slices.Equal(keys(change.GetSections()), []string{"a"}) || len(change.GetManifest()) != 1 {
		t.Errorf("change from r1: base %d, sections %v, %d refs; want base 1, [a], 1 ref", change.GetManifestBase(), keys(change.GetSections()), len(change.GetManifest()))
	}
	if same := r2.MessageFrom(r2, p).GetRuleset(); same.GetManifestBase() != 2 || len(same.GetManifest()) != 0 || len(same.GetSections()) != 0 {
		t.Errorf("change from itself = %v, want an empty change based on 2", same)
	}
	heldR1 := refs()
	for _, ref := range r1.manifest {
		h, _ := section.HashFromBytes(ref.GetHash())
		heldR1 = append(heldR1, refs(h)...)
	}
	if got := r2.MessageHolding(1, heldR1, p); got != r2.MessageFrom(r1, p) {
		t.Error("an SDK resuming revision 1, which r2 keeps a message from, did not get that message")
	}
	if got := r2.MessageHolding(1, heldR1[:2], p).GetRuleset(); got.GetManifestBase() != 0 || len(got.GetManifest()) != 3 {
		t.Errorf("an SDK holding part of revision 1 got base %d and %d refs, want a full manifest", got.GetManifestBase(), len(got.GetManifest()))
	}
	if got := r3.MessageFrom(r1, p).GetRuleset(); !slices.Equal(keys(got.GetSections()), []string{"b"}) {
		t.Errorf("change from r1 to r3 sends %v, want [b]", keys(got.GetSections()))
	}
}

func TestRevisionKeepsFewDeltas(t *testing.T) {
	enc := newEncoder()
	doc := testDoc()
	var olds []*Revision
	for i := range maxDeltas + 3 {
		doc = withFlag(doc, 1, &model.Flag{Key: "b", Type: model.TypeBool, Description: string(rune('a' + i))})
		r, _ := enc.build(doc, nil, "production", uint64(i+1))
		olds = append(olds, r)
	}
	last, _ := enc.build(withFlag(doc, 1, &model.Flag{Key: "b", Type: model.TypeBool}), nil, "production", 100)
	for _, old := range olds {
		last.MessageFrom(old, section.ProtocolSections)
	}
	if len(last.deltas) != maxDeltas {
		t.Errorf("%d deltas kept, want %d", len(last.deltas), maxDeltas)
	}
}

func TestEncoderOverlays(t *testing.T) {
	enc := newEncoder()
	doc := testDoc()
	overlay := func(weight int) []*model.Overlay {
		return []*model.Overlay{{Release: "r1", Salt: "r1", Audience: []model.AudienceStage{{Weight: weight}},
			Items: []model.ReleaseItem{{Flag: "b", Variant: "on"}}}}
	}
	r1, err := enc.build(doc, overlay(5000), "production", 1)
	if err != nil {
		t.Fatal(err)
	}
	last := r1.sections[len(r1.sections)-1]
	if ref := last.GetRef(); ref.GetKind() != sdkpb.SectionKind_SECTION_KIND_OVERLAY || ref.GetKey() != "r1" {
		t.Fatalf("last section = %v %q, want the overlay of r1", ref.GetKind(), ref.GetKey())
	}
	// Every state has new overlay values: an equal one is shared.
	r2, _ := enc.build(doc, overlay(5000), "production", 2)
	if r2.sections[len(r2.sections)-1] != last {
		t.Error("an unchanged overlay was not shared with the previous build")
	}
	r3, _ := enc.build(doc, overlay(10000), "production", 3)
	if got := keys(r3.MessageFrom(r2, section.ProtocolSections).GetRuleset().GetSections()); !slices.Equal(got, []string{"r1"}) {
		t.Errorf("sections sent after a stage change = %v, want [r1]", got)
	}
	r4, _ := enc.build(doc, nil, "production", 4)
	if r4.Sections() != 3 {
		t.Errorf("%d sections after the release ended, want 3", r4.Sections())
	}
}

// TestEncoderChunksALongList: a long list is encoded as its segment's head
// and keylist.Shards chunks; after one key is added, only that key's chunk
// is encoded again, every other chunk is the same message.
func TestEncoderChunksALongList(t *testing.T) {
	enc := newEncoder()
	doc1 := testDoc()
	long := make([]string, 2*keylist.ChunkThreshold)
	for i := range long {
		long[i] = fmt.Sprintf("user-%d", i)
	}
	long = keylist.Arrange(long)
	doc1.Segments = []*model.Segment{{Key: "big", Include: long}}
	r1, err := enc.build(doc1, nil, "production", 1)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r1.Sections(), 1+keylist.Shards+2; got != want || !r1.Chunked() {
		t.Fatalf("%d sections (chunked %v), want %d, chunked", got, r1.Chunked(), want)
	}
	doc2 := *doc1
	doc2.Segments = []*model.Segment{{Key: "big", Include: keylist.Arrange(append(slices.Clip(long), "user-new"))}}
	r2, err := enc.build(&doc2, nil, "production", 2)
	if err != nil {
		t.Fatal(err)
	}
	var changed []string
	for i := range r2.sections {
		if r2.sections[i] != r1.sections[i] {
			changed = append(changed, r2.sections[i].GetRef().GetKey())
		}
	}
	want := section.ChunkKey("big", keylist.Include, keylist.Shard("user-new"))
	if !slices.Equal(changed, []string{want}) {
		t.Errorf("sections encoded again after adding a key: %v, want [%s]", changed, want)
	}
	if err := r2.Refuses(section.ProtocolSections); !errors.Is(err, ErrUpgradeRequired) {
		t.Errorf("Refuses(protocol 1) = %v, want ErrUpgradeRequired", err)
	}
	if err := r2.Refuses(section.ProtocolChunks); err != nil {
		t.Errorf("Refuses(protocol 2) = %v, want nil", err)
	}
}

// TestRevisionEncodesSharedMessagesOnce: a message the revision shares is
// encoded once per encoding; one built for a single stream every time.
func TestRevisionEncodesSharedMessagesOnce(t *testing.T) {
	enc := newEncoder()
	r, _ := enc.build(testDoc(), nil, "production", 1)
	calls := 0
	encode := func(*sdkpb.SyncResponse) (any, error) { calls++; return calls, nil }
	full := r.MessageFrom(nil, section.ProtocolChunks)
	var held []*Encoding
	for range 3 {
		e, err := r.Encoded(full, "gzip", encode)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, e)
	}
	other, _ := r.Encoded(full, "identity", encode)
	if calls != 2 || held[0] != held[2] || other == held[0] {
		t.Errorf("a shared message was encoded %d times for two encodings while held, want 2", calls)
	}
	h, _ := section.HashFromBytes(r.manifest[0].GetHash())
	own := r.MessageHolding(0, refs(h), section.ProtocolChunks)
	a, _ := r.Encoded(own, "gzip", encode)
	b, _ := r.Encoded(own, "gzip", encode)
	if calls != 4 || a == b {
		t.Errorf("a stream's own message was encoded %d times in two sends, want 2 (not kept)", calls-2)
	}
	runtime.KeepAlive(held)
	runtime.KeepAlive(other)
	// Once no caller holds it, the encoding goes.
	runtime.GC()
	runtime.GC()
	if _, err := r.Encoded(full, "gzip", encode); err != nil || calls != 5 {
		t.Errorf("after every holder let go: %d encodings, want 5 (encoded again)", calls)
	}
}

// TestEncoderKeepsChunksWithoutPayloads: the sections of a long list's
// chunks are kept as refs alone (the list's keys are in memory already);
// a message is given their payloads only when it is encoded, each payload
// matching its ref's hash, and the shared message stays without them.
func TestEncoderKeepsChunksWithoutPayloads(t *testing.T) {
	enc := newEncoder()
	doc := testDoc()
	long := make([]string, 2*keylist.ChunkThreshold)
	for i := range long {
		long[i] = fmt.Sprintf("user-%d", i)
	}
	doc.Segments = []*model.Segment{{Key: "big", Include: keylist.Arrange(long)}}
	r, err := enc.build(doc, nil, "production", 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range r.sections {
		if section.Kind(s.GetRef().GetKind()) == section.KindSegmentChunk && s.GetPayload() != nil {
			t.Fatalf("chunk %s is kept with its payload (%d bytes)", s.GetRef().GetKey(), len(s.GetPayload()))
		}
	}
	full := r.MessageFrom(nil, section.ProtocolChunks)
	var sent *sdkpb.SyncResponse
	if _, err := r.Encoded(full, "gzip", func(m *sdkpb.SyncResponse) (any, error) { sent = proto.Clone(m).(*sdkpb.SyncResponse); return 1, nil }); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range sent.GetRuleset().GetSections() {
		if h, _ := section.HashFromBytes(s.GetRef().GetHash()); section.HashOf(s.GetPayload()) != h {
			t.Fatalf("section %s: the payload sent does not match its hash", s.GetRef().GetKey())
		}
		d, err := section.Decode(section.Kind(s.GetRef().GetKind()), s.GetRef().GetKey(), s.GetPayload())
		if err != nil {
			t.Fatal(err)
		}
		if d.Chunk != nil {
			got = d.Chunk.AppendKeys(got)
		}
	}
	if !slices.Equal(got, keylist.Arrange(long)) {
		t.Errorf("the chunks sent hold %d keys, want the list's %d in shard order", len(got), len(long))
	}
	for _, s := range full.GetRuleset().GetSections() {
		if section.Kind(s.GetRef().GetKind()) == section.KindSegmentChunk && s.GetPayload() != nil {
			t.Fatal("encoding gave the shared message payloads")
		}
	}
}

// TestRevisionPartsSplitALargeMessage: for an SDK of protocol 3 a large
// message goes in parts of about partBytes of payloads, the manifest in the
// first, each but the last marked continued, together its sections in
// order; a shared message's parts are shared. Older SDKs get it whole.
func TestRevisionPartsSplitALargeMessage(t *testing.T) {
	enc := newEncoder()
	doc := testDoc()
	long := make([]string, 100_000)
	for i := range long {
		long[i] = fmt.Sprintf("user-%07d", i)
	}
	doc.Segments = []*model.Segment{{Key: "big", Include: keylist.Arrange(long)}}
	r, err := enc.build(doc, nil, "production", 1)
	if err != nil {
		t.Fatal(err)
	}
	full := r.MessageFrom(nil, section.ProtocolParts)
	if got := r.Parts(full, section.ProtocolChunks); len(got) != 1 || got[0] != full {
		t.Fatalf("protocol 2: %d parts, want the message itself", len(got))
	}
	parts := r.Parts(full, section.ProtocolParts)
	if len(parts) < 2 {
		t.Fatalf("%d parts of a 1.3 MB ruleset, want several", len(parts))
	}
	var secs []*sdkpb.Section
	for i, p := range parts {
		rs := p.GetRuleset()
		if rs.GetContinued() != (i < len(parts)-1) || rs.GetRevision() != 1 || (len(rs.GetManifest()) > 0) != (i == 0) {
			t.Errorf("part %d: continued %v, revision %d, %d refs", i, rs.GetContinued(), rs.GetRevision(), len(rs.GetManifest()))
		}
		size := 0
		for _, s := range r.WithPayloads(p).GetRuleset().GetSections() {
			size += len(s.GetPayload())
		}
		if size > partBytes {
			t.Errorf("part %d carries %d bytes of payloads, want at most %d", i, size, partBytes)
		}
		secs = append(secs, rs.GetSections()...)
	}
	if !slices.Equal(secs, full.GetRuleset().GetSections()) || !slices.Equal(parts[0].GetRuleset().GetManifest(), full.GetRuleset().GetManifest()) {
		t.Error("the parts together are not the message")
	}
	if again := r.Parts(full, section.ProtocolParts); again[0] != parts[0] {
		t.Error("the parts of a shared message were built again")
	}
}
