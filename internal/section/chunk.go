package section

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/switchyard/switchyard/internal/keylist"
	"github.com/switchyard/switchyard/internal/model"
)

// KindSegmentChunk is one shard of a segment's include or exclude list of
// more than keylist.ChunkThreshold keys (sync protocol ProtocolChunks).
const KindSegmentChunk Kind = 5

// The sync protocol versions an SDK declares in its Hello.
const (
	// ProtocolSections is the first protocol (a Hello that says nothing
	// means it): whole segments, full manifests.
	ProtocolSections = 1
	// ProtocolChunks adds segment chunks (KindSegmentChunk) and manifests
	// given as a change to the previous one (Ruleset.manifest_base).
	ProtocolChunks = 2
	// ProtocolParts adds rulesets sent in parts (Ruleset.continued).
	ProtocolParts = 3
)

// Chunked reports whether list travels in chunks: it is longer than
// keylist.ChunkThreshold, as the store keeps such a list.
func Chunked(list []string) bool { return len(list) > keylist.ChunkThreshold }

// SegmentHead encodes a segment whose lists may travel in chunks: the
// segment without its chunked lists. A segment with no chunked list
// encodes as Segment does.
func SegmentHead(s *model.Segment) (Section, error) {
	if s == nil {
		return Section{}, fmt.Errorf("encode segment: nil segment")
	}
	if !Chunked(s.Include) && !Chunked(s.Exclude) {
		return Segment(s)
	}
	head := *s
	if Chunked(s.Include) {
		head.Include = nil
	}
	if Chunked(s.Exclude) {
		head.Exclude = nil
	}
	return encode(KindSegment, s.Key, &head)
}

// ChunkKey is the key of the chunk holding shard of a segment's list:
// "{segment}/{list}/{shard}".
func ChunkKey(segment string, list keylist.List, shard int) string {
	return segment + "/" + string(list) + "/" + strconv.Itoa(shard)
}

// SegmentChunk encodes one shard of a segment's list, keys being the
// list's keys in that shard (payload: ChunkPayload).
func SegmentChunk(segment string, list keylist.List, shard int, keys []string) Section {
	b := AppendChunkPayload(nil, segment, list, shard, keys)
	return Section{Kind: KindSegmentChunk, Key: ChunkKey(segment, list, shard), Hash: HashOf(b), Payload: b}
}

// AppendChunkPayload appends to dst the payload of a segment chunk: the
// chunk's key (ChunkKey), a newline, then the keys newline-separated
// (targeting keys hold no control character, keylist.Check). The same keys
// always give the same payload, so a sender may keep a chunk's hash and
// build its payload again when it sends it.
func AppendChunkPayload(dst []byte, segment string, list keylist.List, shard int, keys []string) []byte {
	key := ChunkKey(segment, list, shard)
	n := len(key)
	for _, k := range keys {
		n += 1 + len(k)
	}
	dst = slices.Grow(dst, n)
	dst = append(dst, key...)
	for _, k := range keys {
		dst = append(dst, '\n')
		dst = append(dst, k...)
	}
	return dst
}

// Chunk is a decoded segment chunk.
type Chunk struct {
	Segment string
	List    keylist.List
	Shard   int
	// keys is the payload's keys, newline-separated; they are split when
	// the segment is assembled (AppendKeys), so that a held chunk costs
	// one string.
	keys string
}

// Len returns the number of keys in the chunk.
func (c *Chunk) Len() int {
	if c.keys == "" {
		return 0
	}
	return strings.Count(c.keys, "\n") + 1
}

// AppendKeys appends the chunk's keys to dst; they share the chunk's
// memory.
func (c *Chunk) AppendKeys(dst []string) []string {
	rest := c.keys
	for rest != "" {
		k, after, _ := strings.Cut(rest, "\n")
		dst = append(dst, k)
		rest = after
	}
	return dst
}

// decodeChunk decodes a chunk payload named key in the manifest.
func decodeChunk(key string, payload []byte) (*Chunk, error) {
	head, keys, _ := bytes.Cut(payload, []byte{'\n'})
	if string(head) != key {
		return nil, fmt.Errorf("decode %s %q: payload holds key %q", KindSegmentChunk, key, head)
	}
	c, ok := ParseChunkKey(key)
	if !ok {
		return nil, fmt.Errorf("decode %s %q: the key is not segment/list/shard", KindSegmentChunk, key)
	}
	c.keys = string(keys)
	return c, nil
}

// ParseChunkKey parses a chunk key (ChunkKey) into a Chunk without keys.
func ParseChunkKey(key string) (*Chunk, bool) {
	i := strings.LastIndexByte(key, '/')
	if i <= 0 {
		return nil, false
	}
	j := strings.LastIndexByte(key[:i], '/')
	if j <= 0 {
		return nil, false
	}
	shardText := key[i+1:]
	list, ok := keylist.ParseList(key[j+1 : i])
	shard, err := strconv.Atoi(shardText)
	if !ok || err != nil || shard < 0 || shard >= keylist.Shards || strconv.Itoa(shard) != shardText {
		return nil, false
	}
	return &Chunk{Segment: key[:j], List: list, Shard: shard}, true
}
