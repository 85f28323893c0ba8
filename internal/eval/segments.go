package eval

// InSegment reports whether ctx is in the segment key (DESIGN §3 "Segment
// membership"); ok is false when the ruleset has no such segment. A nil
// ctx is an empty context. It lets a caller reason about audiences — a
// release's stages — with the evaluator's own membership test.
func (rs *Ruleset) InSegment(key string, ctx *Context) (in, ok bool) {
	if rs == nil {
		return false, false
	}
	s := rs.segments[key]
	if s == nil {
		return false, false
	}
	if ctx == nil {
		ctx = new(Context)
	}
	return s.contains(ctx), true
}
