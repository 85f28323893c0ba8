// Package section is the unit of the sync protocol (proto SyncService): one
// segment, flag or component of one environment, or the overlay of one
// release or experiment running there, encoded as the JSON of its model value, with a
// flag or component carrying only that environment's targeting, and
// identified by the SHA-256 of that encoding. The server and
// the SDK share this package, so both compute the same hash for the same
// content: a section whose hash the SDK holds is never sent again.
package section

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/switchyard/switchyard/internal/model"
)

// Kind is what a section holds. The values are those of the protocol's
// SectionKind.
type Kind int32

// The kinds of section.
const (
	KindSegment   Kind = 1
	KindFlag      Kind = 2
	KindComponent Kind = 3
	KindOverlay   Kind = 4
)

// String names the kind for error messages.
func (k Kind) String() string {
	switch k {
	case KindSegment:
		return "segment"
	case KindFlag:
		return "flag"
	case KindComponent:
		return "component"
	case KindOverlay:
		return "overlay"
	case KindSegmentChunk:
		return "segment chunk"
	}
	return fmt.Sprintf("kind(%d)", int32(k))
}

// HashSize is the length of a section hash.
const HashSize = sha256.Size

// Hash is the SHA-256 of a section's payload.
type Hash [HashSize]byte

// HashOf returns the hash of a payload.
func HashOf(payload []byte) Hash { return sha256.Sum256(payload) }

// HashFromBytes converts a hash received on the wire; ok is false when b is
// not HashSize bytes long.
func HashFromBytes(b []byte) (h Hash, ok bool) {
	if len(b) != HashSize {
		return h, false
	}
	return Hash(b), true
}

// Section is one encoded section. Payload must not be modified.
type Section struct {
	Kind    Kind
	Key     string
	Hash    Hash
	Payload []byte
}

// Segment encodes a segment.
func Segment(s *model.Segment) (Section, error) {
	if s == nil {
		return Section{}, errors.New("encode segment: nil segment")
	}
	return encode(KindSegment, s.Key, s)
}

// Flag encodes a flag for environment env: its Environments hold env's
// targeting only, or nothing when the flag has none there.
func Flag(f *model.Flag, env string) (Section, error) {
	if f == nil {
		return Section{}, errors.New("encode flag: nil flag")
	}
	cp := *f
	cp.Environments = only(f.Environments, env)
	return encode(KindFlag, f.Key, &cp)
}

// Component encodes a component for environment env, as Flag does.
func Component(c *model.Component, env string) (Section, error) {
	if c == nil {
		return Section{}, errors.New("encode component: nil component")
	}
	cp := *c
	cp.Environments = only(c.Environments, env)
	return encode(KindComponent, c.Key, &cp)
}

// Overlay encodes the overlay of a release or an experiment; its key is
// the overlay's (model.Overlay.Key).
func Overlay(o *model.Overlay) (Section, error) {
	if o == nil {
		return Section{}, errors.New("encode overlay: nil overlay")
	}
	return encode(KindOverlay, o.Key(), o)
}

// only returns the map holding env's targeting alone, or nil.
func only(envs map[string]*model.Targeting, env string) map[string]*model.Targeting {
	if tg := envs[env]; tg != nil {
		return map[string]*model.Targeting{env: tg}
	}
	return nil
}

func encode(kind Kind, key string, v any) (Section, error) {
	payload, err := json.Marshal(v)
	if err != nil {
		return Section{}, fmt.Errorf("encode %s %q: %w", kind, key, err)
	}
	return Section{Kind: kind, Key: key, Hash: HashOf(payload), Payload: payload}, nil
}

// Decoded is a decoded section: exactly one of Segment, Flag, Component,
// Overlay and Chunk is set, per Kind.
type Decoded struct {
	Kind      Kind
	Segment   *model.Segment
	Flag      *model.Flag
	Component *model.Component
	Overlay   *model.Overlay
	Chunk     *Chunk
}

// Key returns the key of the decoded segment, flag, component or overlay.
func (d Decoded) Key() string {
	switch {
	case d.Segment != nil:
		return d.Segment.Key
	case d.Flag != nil:
		return d.Flag.Key
	case d.Component != nil:
		return d.Component.Key
	case d.Overlay != nil:
		return d.Overlay.Key()
	case d.Chunk != nil:
		return ChunkKey(d.Chunk.Segment, d.Chunk.List, d.Chunk.Shard)
	}
	return ""
}

// Decode decodes a payload of the given kind and checks that it holds the
// key the manifest names. Unknown JSON fields are ignored, so an older SDK
// reads what a newer server adds.
func Decode(kind Kind, key string, payload []byte) (Decoded, error) {
	d := Decoded{Kind: kind}
	var err error
	switch kind {
	case KindSegment:
		d.Segment = new(model.Segment)
		err = json.Unmarshal(payload, d.Segment)
	case KindFlag:
		d.Flag = new(model.Flag)
		err = json.Unmarshal(payload, d.Flag)
	case KindComponent:
		d.Component = new(model.Component)
		err = json.Unmarshal(payload, d.Component)
	case KindOverlay:
		d.Overlay = new(model.Overlay)
		err = json.Unmarshal(payload, d.Overlay)
	case KindSegmentChunk:
		d.Chunk, err = decodeChunk(key, payload)
		if err != nil {
			return Decoded{}, err
		}
	default:
		return Decoded{}, fmt.Errorf("decode section %q: unknown %s", key, kind)
	}
	if err != nil {
		return Decoded{}, fmt.Errorf("decode %s %q: %w", kind, key, err)
	}
	if got := d.Key(); got != key {
		return Decoded{}, fmt.Errorf("decode %s %q: payload holds key %q", kind, key, got)
	}
	return d, nil
}
