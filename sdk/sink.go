package sdk

// evaluation is one getter call as an evaluation sink sees it: what the
// exposure events of the events pipeline are made of.
type evaluation struct {
	Flag         string
	TargetingKey string // "" when the context has none
	Variant      string // "" when the default was returned
	Rule         string
	Reason       Reason
	Revision     uint64
	ErrorCode    ErrorCode
}

// evaluationSink receives every evaluation a getter makes, on the caller's
// goroutine: it must be cheap and must not block. The events pipeline
// plugs in here (Client.sink); without one, getters pay a nil check.
type evaluationSink interface {
	evaluated(e evaluation)
}

// newEvaluation builds the record of one evaluation. It takes the context's
// targeting key rather than the context, so that the context does not
// escape to the heap.
func newEvaluation(flag string, ctx *Context, variant, rule string, reason Reason, revision uint64, code ErrorCode) evaluation {
	e := evaluation{Flag: flag, Variant: variant, Rule: rule, Reason: reason, Revision: revision, ErrorCode: code}
	if ctx != nil {
		e.TargetingKey, _ = ctx.TargetingKey()
	}
	return e
}
