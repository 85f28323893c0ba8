package eval

// This file holds the engine that flags and components share: segments and
// the targets, rules, default and rollouts of DESIGN §3 steps 4–6.

import "github.com/switchyard/switchyard/internal/model"

// segment is a compiled model.Segment.
type segment struct {
	src     *model.Segment
	include *keySet
	exclude *keySet
	any     bool
	conds   []condition
	deps    []*segment // segments its conditions name, in order
}

// contains reports segment membership (DESIGN §3 "Segment membership").
func (s *segment) contains(ctx *Context) bool {
	if ctx.keyKind == keyString && (s.exclude != nil || s.include != nil) {
		if s.exclude.has(ctx.key.s) {
			return false
		}
		if s.include.has(ctx.key.s) {
			return true
		}
	}
	if len(s.conds) == 0 {
		return false
	}
	for i := range s.conds {
		if s.conds[i].holds(ctx) == s.any {
			return s.any
		}
	}
	return !s.any
}

// noOutcome marks a match that serves nothing.
const noOutcome = -1

// slice is one entry of a compiled rollout: units whose bucket is below
// upper (and not below the previous entry's upper) get outcome.
type slice struct {
	upper   uint32
	outcome int32
}

// serve is a compiled model.Serve: a fixed outcome (an index into the
// flag's variants or the component's versions), or a rollout when rollout
// is not nil.
type serve struct {
	outcome int32
	rollout []slice
}

// rule is a compiled model.Rule.
type rule struct {
	id       string
	segments []*segment
	conds    []condition
	serve    serve
}

// matches reports whether every segment and every condition holds.
func (r *rule) matches(ctx *Context) bool {
	for _, s := range r.segments {
		if !s.contains(ctx) {
			return false
		}
	}
	for i := range r.conds {
		if !r.conds[i].holds(ctx) {
			return false
		}
	}
	return true
}

// targeting is the compiled targets, rules and default of one flag or
// component in one environment.
type targeting struct {
	targets     map[string]int32 // targeting key → outcome; the first target listing a key wins
	rules       []rule
	def         serve
	hasDefault  bool // false: no default (components only)
	static      bool // no targets and no rules: a fixed default is STATIC
	salt        string
	saltHash    murmur32 // saltPrefix(salt)
	bucketBy    attrRef
	missingUnit detail // the TARGETING_KEY_MISSING error
	// release, when set, serves a release's outcome to its audience after
	// the targets and before the rules.
	release *release
}

// match is the outcome of evaluation steps: an outcome index (or
// noOutcome), the reason, the rule id, and the rare rest in x. It is six
// words, so that the calls of the evaluation return it in registers.
type match struct {
	outcome int32
	reason  Reason
	rule    string
	// x, when not nil, is the error or the experiment of the match.
	x *detail
}

// detail holds what a match rarely has: an error code and message, or the
// key of the experiment that assigned the outcome. The compiled ruleset
// holds each one a match can name, so that matches do not allocate.
type detail struct {
	code       ErrorCode
	msg        string
	experiment string
}

// code returns the match's error code, or "".
func (m *match) code() ErrorCode {
	if m.x == nil {
		return ""
	}
	return m.x.code
}

// fixed reports whether evaluate yields the same match for every context.
func (t *targeting) fixed() bool {
	return len(t.targets) == 0 && len(t.rules) == 0 && t.def.rollout == nil && t.release == nil
}

// evaluate runs DESIGN §3 flag steps 4–6. Without a default and without a
// match the reason is DISABLED, which only components can meet.
func (t *targeting) evaluate(ctx *Context) match {
	if ctx.keyKind == keyString && len(t.targets) > 0 {
		if o, ok := t.targets[ctx.key.s]; ok {
			return match{outcome: o, reason: ReasonTargetingMatch, rule: RuleTargets}
		}
	}
	if t.release != nil && t.release.aud.contains(ctx) {
		if t.release.alloc == nil {
			return match{outcome: t.release.outcome, reason: ReasonTargetingMatch, rule: t.release.aud.rule}
		}
		if m, ok := t.release.assign(ctx); ok {
			return m
		}
	}
	for i := range t.rules {
		r := &t.rules[i]
		if r.matches(ctx) {
			if r.serve.rollout == nil {
				return match{outcome: r.serve.outcome, reason: ReasonTargetingMatch, rule: r.id}
			}
			return t.serve(&r.serve, ctx, ReasonTargetingMatch, r.id)
		}
	}
	if !t.hasDefault {
		return match{outcome: noOutcome, reason: ReasonDisabled}
	}
	reason := ReasonDefault
	if t.static {
		reason = ReasonStatic
	}
	return t.serve(&t.def, ctx, reason, RuleDefault)
}

// serve resolves s for ctx: a fixed outcome with reason, or a rollout slice
// with reason SPLIT; a rollout without a bucketing unit is an error.
func (t *targeting) serve(s *serve, ctx *Context, reason Reason, rule string) match {
	if s.rollout == nil {
		return match{outcome: s.outcome, reason: reason, rule: rule}
	}
	b, ok := prefixBucket(t.saltHash, &t.bucketBy, ctx)
	if !ok {
		return match{outcome: noOutcome, reason: ReasonError, x: &t.missingUnit}
	}
	for _, sl := range s.rollout {
		if b < sl.upper {
			return match{outcome: sl.outcome, reason: ReasonSplit, rule: rule}
		}
	}
	// Unreachable (compiled rollouts end at RolloutTotal), so that the
	// detail may allocate.
	return match{outcome: noOutcome, reason: ReasonError, x: &detail{code: ErrorGeneral, msg: "rollout does not cover the bucket"}}
}
