package sdk

import (
	"errors"
	"fmt"
	"slices"

	"github.com/switchyard/switchyard/internal/eval"
	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/section"
)

// holdings is the ruleset a client holds, as sections: what it tells the
// server in its Hello, what it writes to the cache file, and what it
// compares a new ruleset with to find the flags that changed. It is
// immutable once built.
type holdings struct {
	project  string
	env      string
	revision uint64
	manifest []*sdkpb.SectionRef
	sections map[section.Hash]*held
	doc      *model.Document  // the one-environment document of the sections
	overlays []*model.Overlay // the overlays among the sections: releases in progress
}

// held is one section held.
type held struct {
	dec section.Decoded
	// payload is kept only when the client writes a cache file.
	payload []byte
}

// refs returns the hashes of the held sections, for a Hello.
func (h *holdings) refs() []*sdkpb.SectionRef {
	if h == nil {
		return nil
	}
	out := make([]*sdkpb.SectionRef, 0, len(h.manifest))
	for _, r := range h.manifest {
		out = append(out, &sdkpb.SectionRef{Hash: r.GetHash()})
	}
	return out
}

// errBadRuleset means a ruleset cannot be applied: a section is missing,
// does not match its hash, or does not decode or compile.
var errBadRuleset = errors.New("bad ruleset")

// apply builds what the client holds after msg, reusing the sections of cur
// (which may be nil) that msg does not resend, and compiles it reusing
// prev. keepPayloads keeps section payloads for the cache file.
func apply(cur *holdings, prev *eval.Ruleset, msg *sdkpb.Ruleset, keepPayloads bool) (*holdings, *eval.Ruleset, error) {
	incoming := make(map[section.Hash]*sdkpb.Section, len(msg.GetSections()))
	for _, s := range msg.GetSections() {
		h, ok := section.HashFromBytes(s.GetRef().GetHash())
		if !ok || section.HashOf(s.GetPayload()) != h {
			return nil, nil, fmt.Errorf("%w: revision %d: %s %q does not match its hash",
				errBadRuleset, msg.GetRevision(), section.Kind(s.GetRef().GetKind()), s.GetRef().GetKey())
		}
		incoming[h] = s
	}
	manifest := msg.GetManifest()
	if base := msg.GetManifestBase(); base != 0 {
		var err error
		if manifest, err = patchManifest(cur, base, manifest); err != nil {
			return nil, nil, fmt.Errorf("%w: revision %d: %w", errBadRuleset, msg.GetRevision(), err)
		}
	}
	next := &holdings{
		project:  msg.GetProject(),
		env:      msg.GetEnvironment(),
		revision: msg.GetRevision(),
		manifest: manifest,
		sections: make(map[section.Hash]*held, len(manifest)),
	}
	decoded := make([]section.Decoded, 0, len(manifest))
	for _, ref := range manifest {
		kind := section.Kind(ref.GetKind())
		h, ok := section.HashFromBytes(ref.GetHash())
		if !ok {
			return nil, nil, fmt.Errorf("%w: revision %d: %s %q has no valid hash", errBadRuleset, msg.GetRevision(), kind, ref.GetKey())
		}
		hd, err := lookup(cur, incoming, h, kind, ref.GetKey(), keepPayloads)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: revision %d: %w", errBadRuleset, msg.GetRevision(), err)
		}
		next.sections[h] = hd
		decoded = append(decoded, hd.dec)
	}
	var err error
	if next.doc, next.overlays, err = section.Document(next.project, next.env, decoded); err != nil {
		return nil, nil, fmt.Errorf("%w: revision %d: %w", errBadRuleset, msg.GetRevision(), err)
	}
	if prev != nil && (prev.Project() != next.project || prev.Environment() != next.env) {
		prev = nil
	}
	rs, err := eval.CompileWith(next.doc, next.env, prev, next.overlays)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: revision %d: %w", errBadRuleset, msg.GetRevision(), err)
	}
	rs.Revision = next.revision
	return next, rs, nil
}

// patchManifest returns the manifest of a Ruleset given as a change to the
// manifest of revision base (Ruleset.manifest_base), which cur must hold:
// cur's manifest with each ref replaced by the change's ref of the same kind
// and key.
func patchManifest(cur *holdings, base uint64, change []*sdkpb.SectionRef) ([]*sdkpb.SectionRef, error) {
	if cur == nil || cur.revision != base {
		var held uint64
		if cur != nil {
			held = cur.revision
		}
		return nil, fmt.Errorf("the manifest is a change to revision %d, the client holds %d", base, held)
	}
	out := slices.Clone(cur.manifest)
	at := make(map[sectionID]int, len(out))
	for i, r := range out {
		at[sectionID{section.Kind(r.GetKind()), r.GetKey()}] = i
	}
	for _, r := range change {
		i, ok := at[sectionID{section.Kind(r.GetKind()), r.GetKey()}]
		if !ok {
			return nil, fmt.Errorf("the manifest change names %s %q, which revision %d does not have", section.Kind(r.GetKind()), r.GetKey(), base)
		}
		out[i] = r
	}
	return out, nil
}

// lookup finds the section with hash h: held already, or sent.
func lookup(cur *holdings, incoming map[section.Hash]*sdkpb.Section, h section.Hash, kind section.Kind, key string, keepPayloads bool) (*held, error) {
	if cur != nil {
		if hd := cur.sections[h]; hd != nil {
			if hd.dec.Kind != kind || hd.dec.Key() != key {
				return nil, fmt.Errorf("the manifest names %s %q, the section with its hash holds %s %q", kind, key, hd.dec.Kind, hd.dec.Key())
			}
			return hd, nil
		}
	}
	s := incoming[h]
	if s == nil {
		return nil, fmt.Errorf("%s %q is neither held nor sent", kind, key)
	}
	dec, err := section.Decode(kind, key, s.GetPayload())
	if err != nil {
		return nil, err
	}
	hd := &held{dec: dec}
	if keepPayloads {
		hd.payload = s.GetPayload()
	}
	return hd, nil
}
