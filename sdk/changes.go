package sdk

import (
	"slices"

	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/section"
)

// sectionID names a section independently of its content.
type sectionID struct {
	kind section.Kind
	key  string
}

// hashes maps every section of h to its hash.
func (h *holdings) hashes() map[sectionID]string {
	if h == nil {
		return nil
	}
	out := make(map[sectionID]string, len(h.manifest))
	for _, r := range h.manifest {
		out[sectionID{section.Kind(r.GetKind()), r.GetKey()}] = string(r.GetHash())
	}
	return out
}

// changedFlags returns, sorted, the keys of the flags whose evaluation may
// differ between old (nil: nothing held) and next: flags added, removed or
// changed, flags whose targeting names a changed segment (directly or
// through segments naming segments), flags that a release's overlay which
// changed, began, ended or names a changed segment serves (releases and
// experiments alike), and flags whose prerequisites changed.
func changedFlags(old, next *holdings) []string {
	before, after := old.hashes(), next.hashes()
	differs := func(id sectionID) bool {
		b, inBefore := before[id]
		a, inAfter := after[id]
		return inBefore != inAfter || a != b
	}

	segs := map[string]bool{}
	for _, ids := range []map[sectionID]string{before, after} {
		for id := range ids {
			if !differs(id) {
				continue
			}
			switch id.kind {
			case section.KindSegment:
				segs[id.key] = true
			case section.KindSegmentChunk:
				if c, ok := section.ParseChunkKey(id.key); ok {
					segs[c.Segment] = true
				}
			}
		}
	}
	// Segments naming a changed segment changed too.
	for grew := true; grew; {
		grew = false
		for _, s := range next.doc.Segments {
			if !segs[s.Key] && namesSegment(s.Conditions, segs) {
				segs[s.Key], grew = true, true
			}
		}
	}

	flags := map[string]bool{}
	for id := range before {
		if id.kind == section.KindFlag && differs(id) {
			flags[id.key] = true
		}
	}
	for _, f := range next.doc.Flags {
		if differs(sectionID{section.KindFlag, f.Key}) || usesSegment(f.Environments[next.env], segs) {
			flags[f.Key] = true
		}
	}
	var oldOverlays []*model.Overlay
	if old != nil {
		oldOverlays = old.overlays
	}
	for _, list := range [][]*model.Overlay{oldOverlays, next.overlays} {
		for _, o := range list {
			if differs(sectionID{section.KindOverlay, o.Key()}) || audienceUses(o, segs) {
				for _, it := range o.Items {
					if it.Flag != "" {
						flags[it.Flag] = true
					}
				}
			}
		}
	}
	// Flags whose prerequisites changed changed too.
	for grew := true; grew; {
		grew = false
		for _, f := range next.doc.Flags {
			if flags[f.Key] {
				continue
			}
			if tg := f.Environments[next.env]; tg != nil && slices.ContainsFunc(tg.Prerequisites, func(p model.Prerequisite) bool { return flags[p.Flag] }) {
				flags[f.Key], grew = true, true
			}
		}
	}

	out := make([]string, 0, len(flags))
	for k := range flags {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// usesSegment reports whether a targeting names one of segs.
func usesSegment(tg *model.Targeting, segs map[string]bool) bool {
	if tg == nil || len(segs) == 0 {
		return false
	}
	for _, r := range tg.Rules {
		if slices.ContainsFunc(r.Segments, func(s string) bool { return segs[s] }) || namesSegment(r.Conditions, segs) {
			return true
		}
	}
	return false
}

// audienceUses reports whether an overlay's audience names one of segs.
func audienceUses(o *model.Overlay, segs map[string]bool) bool {
	for _, st := range o.Audience {
		if slices.ContainsFunc(st.Segments, func(s string) bool { return segs[s] }) {
			return true
		}
	}
	return false
}

// namesSegment reports whether a segment operator among conds names one of
// segs.
func namesSegment(conds []model.Condition, segs map[string]bool) bool {
	for _, c := range conds {
		if c.Op != model.OpInSegment && c.Op != model.OpNotInSegment {
			continue
		}
		for _, v := range c.Values {
			if k, ok := v.(string); ok && segs[k] {
				return true
			}
		}
	}
	return false
}
