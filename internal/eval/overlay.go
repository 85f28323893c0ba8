package eval

// This file holds release overlays: the audience of a release in progress,
// tested for each of its items after flag steps 1–4 and before the rules
// (see model.Overlay). A running experiment is an overlay of the same kind
// whose one item splits its audience among variants by a second bucket
// (model.Overlay.Allocation).

import (
	"fmt"
	"slices"

	"github.com/switchyard/switchyard/internal/model"
)

// audience is a compiled model.Overlay audience: the union of its stages.
type audience struct {
	src      *model.Overlay
	rule     string // "release:{id}" or "experiment:{id}"
	salt     string
	bucketBy attrRef
	stages   []audienceStage
	segDeps  []*segment // every segment the stages name, in order

	// experiment is the experiment's key for an experiment's overlay.
	experiment string
	// expDetail names the experiment in the matches it assigns.
	expDetail detail
	// push: a version served to the audience is a required update.
	push bool
}

// audienceStage is one compiled model.AudienceStage.
type audienceStage struct {
	segments []*segment // any of them; none: everyone
	weight   uint32     // 0 to RolloutTotal
}

// contains reports whether ctx is in the audience. It does not allocate.
func (a *audience) contains(ctx *Context) bool {
	bucketed, inBucket := false, uint32(0)
	for i := range a.stages {
		st := &a.stages[i]
		if st.weight == 0 || !st.inSegments(ctx) {
			continue
		}
		if st.weight >= model.RolloutTotal {
			return true
		}
		if !bucketed {
			b, ok := unitBucket(a.salt, &a.bucketBy, ctx)
			if !ok {
				// No unit: not in any partial stage; a later full stage
				// may still hold the context.
				b = model.RolloutTotal
			}
			bucketed, inBucket = true, b
		}
		if inBucket < st.weight {
			return true
		}
	}
	return false
}

// inSegments reports whether ctx is in any of the stage's segments, or the
// stage names none.
func (st *audienceStage) inSegments(ctx *Context) bool {
	if len(st.segments) == 0 {
		return true
	}
	for _, s := range st.segments {
		if s.contains(ctx) {
			return true
		}
	}
	return false
}

// release is what one item of an overlay serves: the outcome (an index
// into the flag's variants or the component's versions) for contexts in
// the audience.
type release struct {
	aud     *audience
	name    string // the variant or version, as the overlay names it
	outcome int32
	// alloc, for an experiment, splits the audience among the variants by
	// the bucket under allocSalt; outcome is then unused.
	alloc     []slice
	allocSalt string
}

// assign returns an experiment's match for a context in its audience: the
// allocation slice its bucket under the allocation salt falls in, with
// reason SPLIT. ok is false when the context has no bucketing unit: it is
// then not in the experiment. It does not allocate.
func (r *release) assign(ctx *Context) (m match, ok bool) {
	b, ok := unitBucket(r.allocSalt, &r.aud.bucketBy, ctx)
	if !ok {
		return match{}, false
	}
	for _, sl := range r.alloc {
		if b < sl.upper {
			return match{outcome: sl.outcome, reason: ReasonSplit, rule: r.aud.rule, x: &r.aud.expDetail}, true
		}
	}
	return match{}, false
}

// describe names an overlay's owner for error messages: release "id" or
// experiment "id".
func describe(o *model.Overlay) string {
	if o.Experiment != "" {
		return fmt.Sprintf("experiment %q", o.Experiment)
	}
	return fmt.Sprintf("release %q", o.Release)
}

// overlayItem is an overlay's claim on one flag or component, before the
// flag or component is compiled.
type overlayItem struct {
	aud  *audience
	name string // the variant or version
}

// compileOverlays compiles the overlays' audiences, reusing prev's where
// the overlay and its segments are unchanged, and records which flag and
// component each item claims. A flag or component claimed twice is an
// error.
func (c *compiler) compileOverlays(overlays []*model.Overlay) error {
	for _, o := range overlays {
		if o == nil {
			continue
		}
		if o.Completed {
			// A completed release's notes: no audience, no claim.
			for _, it := range o.Items {
				if it.Component != "" && o.Notes != nil {
					c.compNotes[it.Component] = append(c.compNotes[it.Component], noteSource{o.Release, it.Version, o.Notes})
				}
			}
			continue
		}
		a, err := c.audience(o)
		if err != nil {
			return fmt.Errorf("%s: %w", describe(o), err)
		}
		c.audiences = append(c.audiences, a)
		for i, it := range o.Items {
			claims, key, name := c.flagClaims, it.Flag, it.Variant
			if it.Component != "" {
				claims, key, name = c.compClaims, it.Component, it.Version
			}
			if prior, dup := claims[key]; dup {
				return fmt.Errorf("%s: items[%d]: %s is in %s too", describe(o), i, it.Ref(), describe(prior.aud.src))
			}
			claims[key] = overlayItem{aud: a, name: name}
		}
	}
	return nil
}

// audience compiles one overlay's audience.
func (c *compiler) audience(o *model.Overlay) (*audience, error) {
	var deps []*segment
	stages := make([]audienceStage, len(o.Audience))
	for i, st := range o.Audience {
		if st.Weight < 0 || st.Weight > model.RolloutTotal {
			return nil, fmt.Errorf("audience[%d]: weight %d out of range", i, st.Weight)
		}
		stages[i].weight = uint32(st.Weight)
		for j, key := range st.Segments {
			s, err := c.segment(key)
			if err != nil {
				return nil, fmt.Errorf("audience[%d].segments[%d]: %w", i, j, err)
			}
			stages[i].segments = append(stages[i].segments, s)
			deps = append(deps, s)
		}
	}
	if c.prev != nil {
		for _, old := range c.prev.audiences {
			if sameAudience(old.src, o) && slices.Equal(old.segDeps, deps) {
				return old, nil
			}
		}
	}
	by := o.BucketBy
	if by == "" {
		by = TargetingKeyAttribute
	}
	bucketBy, err := compileRef(by)
	if err != nil {
		return nil, fmt.Errorf("bucket_by: %w", err)
	}
	return &audience{
		src:        o,
		rule:       o.Rule(),
		experiment: o.Experiment,
		expDetail:  detail{experiment: o.Experiment},
		salt:       o.Salt,
		bucketBy:   bucketBy,
		stages:     stages,
		segDeps:    deps,
		push:       o.Push,
	}, nil
}

// sameAudience reports whether two overlays describe the same audience.
func sameAudience(a, b *model.Overlay) bool {
	if a.Release != b.Release || a.Experiment != b.Experiment || a.Salt != b.Salt || a.BucketBy != b.BucketBy || a.Push != b.Push ||
		len(a.Audience) != len(b.Audience) || !slices.Equal(a.Allocation, b.Allocation) {
		return false
	}
	for i := range a.Audience {
		if a.Audience[i].Weight != b.Audience[i].Weight || !slices.Equal(a.Audience[i].Segments, b.Audience[i].Segments) {
			return false
		}
	}
	return true
}

// sameRelease reports whether a compiled flag or component's release was
// built from the claim it has now.
func sameRelease(old *release, claim overlayItem) bool {
	if old == nil || claim.aud == nil {
		return old == nil && claim.aud == nil
	}
	return old.aud == claim.aud && old.name == claim.name
}

// withRelease adds the claim to t: contexts in the audience get the
// claimed outcome, and a plain default is no longer STATIC.
func withRelease(t *targeting, claim overlayItem, resolve outcomeFunc, variant bool) error {
	if claim.aud == nil {
		return nil
	}
	if o := claim.aud.src; o.Experiment != "" {
		if !variant {
			return fmt.Errorf("%s: an experiment needs a flag", describe(o))
		}
		alloc, err := compileServe(model.Serve{Rollout: o.Allocation}, resolve)
		if err != nil {
			return fmt.Errorf("%s: allocation: %w", describe(o), err)
		}
		t.release = &release{aud: claim.aud, outcome: noOutcome, alloc: alloc.rollout, allocSalt: o.Salt + ".alloc"}
		t.static = false
		return nil
	}
	var (
		o   int32
		err error
	)
	if variant {
		o, err = resolve(claim.name, "")
	} else {
		o, err = resolve("", claim.name)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", describe(claim.aud.src), err)
	}
	t.release = &release{aud: claim.aud, name: claim.name, outcome: o}
	t.static = false
	return nil
}

// Releases returns the ids of the releases whose audiences the ruleset
// holds, in the order given to CompileWith.
func (rs *Ruleset) Releases() []string {
	ids := make([]string, 0, len(rs.audiences))
	for _, a := range rs.audiences {
		if a.experiment == "" {
			ids = append(ids, a.src.Release)
		}
	}
	return ids
}

// Experiments returns the keys of the running experiments whose overlays
// the ruleset holds, in the order given to CompileWith.
func (rs *Ruleset) Experiments() []string {
	var ids []string
	for _, a := range rs.audiences {
		if a.experiment != "" {
			ids = append(ids, a.experiment)
		}
	}
	return ids
}
