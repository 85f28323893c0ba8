package section_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/keylist"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/section"
)

func longList(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

// TestChunkedSegmentRoundTrip: a segment with a long include list and a
// long exclude list encodes as its head and 2 × keylist.Shards chunks, and
// decodes back to the same keys (in shard order).
func TestChunkedSegmentRoundTrip(t *testing.T) {
	seg := &model.Segment{Key: "big", Match: model.MatchAny, Include: longList("in-", 5000), Exclude: longList("out-", 4097)}
	doc := &model.Document{Version: 1, Project: "p", Environments: []string{"prod"}, Segments: []*model.Segment{seg, {Key: "small", Include: []string{"a"}}}}
	secs, err := section.Encode(doc, "prod", nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := 1 + 2*keylist.Shards + 1; len(secs) != want {
		t.Fatalf("%d sections, want %d", len(secs), want)
	}
	if strings.Contains(string(secs[0].Payload), "in-1") {
		t.Error("the segment's head carries its chunked list")
	}
	var decoded []section.Decoded
	for _, s := range secs {
		d, err := section.Decode(s.Kind, s.Key, s.Payload)
		if err != nil {
			t.Fatalf("Decode(%s %q): %v", s.Kind, s.Key, err)
		}
		decoded = append(decoded, d)
	}
	got, _, err := section.Document("p", "prod", decoded)
	if err != nil {
		t.Fatal(err)
	}
	if g := got.Segments[0]; !slices.Equal(g.Include, keylist.Arrange(seg.Include)) || !slices.Equal(g.Exclude, keylist.Arrange(seg.Exclude)) || g.Match != model.MatchAny {
		t.Errorf("big decoded with %d included and %d excluded keys, match %q; want the original lists in shard order", len(g.Include), len(g.Exclude), g.Match)
	}
	if g := got.Segments[1]; !slices.Equal(g.Include, []string{"a"}) {
		t.Errorf("small decoded as %v", g.Include)
	}
}

// TestChunkHashes: a chunk's hash names its segment, list, shard and keys,
// so equal keys in two places are two sections.
func TestChunkHashes(t *testing.T) {
	keys := []string{"a", "b"}
	base := section.SegmentChunk("s", keylist.Include, 1, keys)
	for name, other := range map[string]section.Section{
		"other segment": section.SegmentChunk("t", keylist.Include, 1, keys),
		"other list":    section.SegmentChunk("s", keylist.Exclude, 1, keys),
		"other shard":   section.SegmentChunk("s", keylist.Include, 2, keys),
		"other keys":    section.SegmentChunk("s", keylist.Include, 1, []string{"a", "c"}),
	} {
		if other.Hash == base.Hash {
			t.Errorf("%s: same hash", name)
		}
	}
}

func TestChunkDecodeErrors(t *testing.T) {
	tests := []struct {
		name, key, payload, want string
	}{
		{"other key", "s/include/1", "s/include/2\na", `holds key "s/include/2"`},
		{"bad list", "s/both/1", "s/both/1\na", "not segment/list/shard"},
		{"shard out of range", "s/include/1024", "s/include/1024\na", "not segment/list/shard"},
		{"padded shard", "s/include/01", "s/include/01\na", "not segment/list/shard"},
		{"no segment", "/include/1", "/include/1\na", "not segment/list/shard"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := section.Decode(section.KindSegmentChunk, tc.key, []byte(tc.payload))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Decode = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestDocumentRefusesMisplacedChunks(t *testing.T) {
	chunk := func(seg string) section.Decoded {
		s := section.SegmentChunk(seg, keylist.Include, 0, []string{"k"})
		d, err := section.Decode(s.Kind, s.Key, s.Payload)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	seg := func(key string, include ...string) section.Decoded {
		return section.Decoded{Kind: section.KindSegment, Segment: &model.Segment{Key: key, Include: include}}
	}
	tests := []struct {
		name string
		secs []section.Decoded
		want string
	}{
		{"chunk first", []section.Decoded{chunk("a"), seg("a")}, "does not follow its segment"},
		{"chunk of another segment", []section.Decoded{seg("a"), chunk("b")}, `follows segment "a"`},
		{"whole and in chunks", []section.Decoded{seg("a", "x"), chunk("a")}, "both whole and in chunks"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := section.Document("p", "prod", tc.secs)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Document = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
