package release

import (
	"fmt"
	"slices"
	"time"

	"github.com/switchyard/switchyard/internal/eval"
	"github.com/switchyard/switchyard/internal/model"
)

// The sampling of a resolution check.
const (
	// SampleKeys is how many synthetic targeting keys ("verify-0", …) a
	// check evaluates.
	SampleKeys = 200
	// segmentSamples bounds, per segment the audience names, the included
	// keys sampled and the contexts built from its conditions.
	segmentSamples = 20
	// MaxMismatches bounds the mismatches a check lists.
	MaxMismatches = 5
)

// probeVersion is the current version a check asks availability for: below
// every version, so that the resolved version is always reported.
const probeVersion = "0.0.0"

// sample is one context a check evaluates; key is also its bucketing unit.
type sample struct {
	key string
	ctx *eval.Context
}

// CheckResolution evaluates every item of r, as r stands in doc, for
// sampled contexts on published — the ruleset the server serves — and
// reports whether each resolved as planned:
//
//   - in the audience of the stages entered (all of them once completed),
//     a flag serves the item's variant and a component the item's version,
//     with reason TARGETING_MATCH and rule "release:{id}" while the release
//     runs, unless flag steps 1–4 (disabled, a failed prerequisite,
//     targets, an error) decide first, as they do without the release;
//   - outside it, and for everyone after a roll back, every item resolves
//     exactly as it does without the release: doc compiled with the other
//     releases' overlays, others, and not r's.
//
// The contexts are SampleKeys synthetic targeting keys and, for each
// segment the plan names, some of its included keys and contexts built
// from its "in" conditions; each context's bucketing unit is its key. A
// plain default counts as the same outcome whether STATIC or DEFAULT. The
// check's Revision is published's.
func CheckResolution(doc *model.Document, r *model.Release, others []*model.Overlay, published *eval.Ruleset, now time.Time) *model.ResolutionCheck {
	c := &model.ResolutionCheck{Action: finalAction(r), Stage: r.Stage, Time: now}
	if published == nil {
		c.Error = fmt.Sprintf("no ruleset is published for environment %s", r.Environment)
		return c
	}
	c.Revision = published.Revision
	without, err := eval.CompileWith(doc, r.Environment, nil, others)
	if err != nil {
		c.Error = fmt.Sprintf("compile the environment without the release: %v", err)
		return c
	}
	stages := audienceOf(r)
	salt := r.Salt
	if salt == "" {
		salt = r.ID
	}
	for _, s := range samples(doc, r) {
		in := inAudience(without, stages, salt, s)
		if in {
			c.InAudience++
		} else {
			c.OutOfAudience++
		}
		for _, it := range r.Items {
			want, got, ok := resolve(without, published, r, it, s.ctx, in)
			c.Evaluations++
			if ok {
				continue
			}
			c.Mismatches++
			if len(c.First) < MaxMismatches {
				c.First = append(c.First, model.ResolutionMismatch{Item: it.Ref(), TargetingKey: s.key, InAudience: in, Want: want, Got: got})
			}
		}
	}
	c.Contexts = c.InAudience + c.OutOfAudience
	c.Passed = c.Mismatches == 0
	return c
}

// finalAction names the transition that left r as it is.
func finalAction(r *model.Release) string {
	switch r.State {
	case model.StateCompleted:
		return "complete"
	case model.StateRolledBack:
		return "roll_back"
	}
	for i := len(r.Timeline) - 1; i >= 0; i-- {
		if ev := r.Timeline[i]; ev.Stage == r.Stage && (ev.Action == "start" || ev.Action == "advance") {
			return ev.Action
		}
	}
	return "start"
}

// audienceOf returns the stages whose union is r's planned audience now:
// those entered while r runs, every stage once it completed, none after a
// roll back.
func audienceOf(r *model.Release) []model.Stage {
	switch {
	case r.State == model.StateCompleted:
		return r.Plan
	case r.State.Serving() && r.Stage >= 1 && r.Stage <= len(r.Plan):
		return r.Plan[:r.Stage]
	}
	return nil
}

// samples builds the contexts a check evaluates, drawing from the
// segments of every stage of the plan: after a roll back, those who had
// the release are the ones to look at.
func samples(doc *model.Document, r *model.Release) []sample {
	out := make([]sample, 0, SampleKeys)
	add := func(key string, attrs map[string]any) {
		ctx := eval.NewContext(key)
		if r.BucketBy != "" && r.BucketBy != eval.TargetingKeyAttribute {
			setUnit(ctx, r.BucketBy, key)
		}
		for name, v := range attrs {
			ctx.Set(name, v)
		}
		out = append(out, sample{key: key, ctx: ctx})
	}
	for i := range SampleKeys {
		add(fmt.Sprintf("verify-%d", i), nil)
	}
	seen := map[string]bool{}
	for _, st := range r.Plan {
		for _, key := range st.Segments {
			if seen[key] {
				continue
			}
			seen[key] = true
			i := slices.IndexFunc(doc.Segments, func(s *model.Segment) bool { return s.Key == key })
			if i < 0 {
				continue
			}
			seg := doc.Segments[i]
			for _, k := range seg.Include[:min(len(seg.Include), segmentSamples)] {
				add(k, nil)
			}
			if attrs := inConditions(seg); len(attrs) > 0 {
				for j := range segmentSamples {
					add(fmt.Sprintf("verify-%s-%d", key, j), attrs)
				}
			}
		}
	}
	return out
}

// inConditions returns, for each "in" condition of a segment, its
// attribute with the condition's first value: a context likely in the
// segment.
func inConditions(s *model.Segment) map[string]any {
	attrs := map[string]any{}
	for _, c := range s.Conditions {
		if c.Op == model.OpIn && c.Attribute != "" && len(c.Values) > 0 {
			attrs[c.Attribute] = c.Values[0]
		}
	}
	return attrs
}

// inAudience reports whether a sample is in the union of stages: in any
// of a stage's segments (as rs decides membership; any context when it
// names none) with its key's bucket under salt below the stage's weight.
func inAudience(rs *eval.Ruleset, stages []model.Stage, salt string, s sample) bool {
	for _, st := range stages {
		if st.Weight == 0 {
			continue
		}
		inSegs := len(st.Segments) == 0
		for _, seg := range st.Segments {
			if in, _ := rs.InSegment(seg, s.ctx); in {
				inSegs = true
				break
			}
		}
		if inSegs && (st.Weight >= model.RolloutTotal || int(eval.Bucket(salt, s.key)) < st.Weight) {
			return true
		}
	}
	return false
}

// outcome is what one evaluation of an item resolved to.
type outcome struct {
	served string // variant or version; "" for none
	reason eval.Reason
	rule   string
	code   eval.ErrorCode
}

func (o outcome) String() string {
	served := o.served
	if served == "" {
		served = "nothing"
	}
	if o.code != "" {
		return fmt.Sprintf("%s (%s %s)", served, o.reason, o.code)
	}
	if o.rule == "" {
		return fmt.Sprintf("%s (%s)", served, o.reason)
	}
	return fmt.Sprintf("%s (%s, %s)", served, o.reason, o.rule)
}

// same reports whether two outcomes serve the same thing for the same
// reason. A plain default is STATIC without a release and DEFAULT with
// one (an overlay makes the flag depend on the context): the same
// outcome.
func (o outcome) same(p outcome) bool {
	if o.reason == eval.ReasonStatic {
		o.reason = eval.ReasonDefault
	}
	if p.reason == eval.ReasonStatic {
		p.reason = eval.ReasonDefault
	}
	return o == p
}

// decidedFirst reports whether flag steps 1–4 (or the component's
// equivalents) produced o: the release's audience never overrides them. A
// missing bucketing unit is not among them: it fails a rollout of steps 5
// and 6, after the audience.
func (o outcome) decidedFirst() bool {
	switch {
	case o.reason == eval.ReasonDisabled, o.reason == eval.ReasonPrerequisiteFailed,
		o.code == eval.ErrorFlagNotFound, o.code == eval.ErrorInvalidContext:
		return true
	}
	return o.rule == eval.RuleTargets
}

// evaluate resolves one item for ctx on rs.
func evaluate(rs *eval.Ruleset, it model.ReleaseItem, ctx *eval.Context) outcome {
	if it.Component != "" {
		a := rs.Availability(it.Component, ctx, probeVersion)
		return outcome{served: a.Version, reason: a.Reason, rule: a.Rule, code: a.ErrorCode}
	}
	res := rs.Evaluate(it.Flag, ctx)
	return outcome{served: res.Variant, reason: res.Reason, rule: res.Rule, code: res.ErrorCode}
}

// resolve evaluates one item for ctx on the published ruleset and on the
// ruleset without the release, and reports the planned and the published
// outcome and whether the published one is as planned.
func resolve(without, published *eval.Ruleset, r *model.Release, it model.ReleaseItem, ctx *eval.Context, in bool) (want, got string, ok bool) {
	base, pub := evaluate(without, it, ctx), evaluate(published, it, ctx)
	released := it.Variant
	if it.Component != "" {
		released = it.Version
	}
	switch {
	case !in || base.decidedFirst():
		// After completion the release is plain targeting: without and
		// published are the same ruleset, and outside the audience the
		// completion rule must not serve.
		if r.State == model.StateCompleted && !in && pub.rule == CompletionRuleID(r.ID) {
			return "not served by rule " + CompletionRuleID(r.ID), pub.String(), false
		}
		return base.String(), pub.String(), base.same(pub)
	case r.State == model.StateCompleted:
		ok := pub.served == released && pub.code == "" && pub.rule != model.OverlayRule(r.ID)
		return released + " (by plain targeting)", pub.String(), ok
	}
	plan := outcome{served: released, reason: eval.ReasonTargetingMatch, rule: model.OverlayRule(r.ID)}
	return plan.String(), pub.String(), pub == plan
}

// setUnit sets the attribute that bucketBy names (a top-level key, or a
// JSON Pointer into nested objects) to the bucketing unit key.
func setUnit(ctx *eval.Context, bucketBy, key string) {
	keys, err := model.AttributeKeys(bucketBy)
	if err != nil || len(keys) == 0 {
		return // validation refuses such a bucket_by before a release runs
	}
	var v any = key
	for i := len(keys) - 1; i >= 1; i-- {
		v = map[string]any{keys[i]: v}
	}
	ctx.Set(keys[0], v)
}
