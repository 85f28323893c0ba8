// Package eval is Switchyard's evaluation core, shared by the server and the
// Go SDK: Compile turns one environment of a validated model.Document into an
// immutable Ruleset, and the Ruleset evaluates flags (DESIGN §3 "Flag
// evaluation") and component versions (DESIGN §3 "Component versions") for a
// Context. Evaluation does no I/O, takes no locks, never panics, and does not
// allocate; failures are reasons and error codes in the result.
package eval

import "github.com/switchyard/switchyard/internal/model"

// Reason says why an evaluation produced its result; the values are
// OpenFeature's, plus PREREQUISITE_FAILED.
type Reason string

// The evaluation reasons.
const (
	ReasonStatic             Reason = "STATIC"
	ReasonDefault            Reason = "DEFAULT"
	ReasonTargetingMatch     Reason = "TARGETING_MATCH"
	ReasonSplit              Reason = "SPLIT"
	ReasonDisabled           Reason = "DISABLED"
	ReasonError              Reason = "ERROR"
	ReasonPrerequisiteFailed Reason = "PREREQUISITE_FAILED"
)

// ErrorCode classifies an evaluation error; the values are OpenFeature's.
type ErrorCode string

// The evaluation error codes. Evaluation itself yields FLAG_NOT_FOUND,
// INVALID_CONTEXT and TARGETING_KEY_MISSING; TYPE_MISMATCH, PARSE_ERROR and
// GENERAL are for callers such as typed getters.
const (
	ErrorFlagNotFound        ErrorCode = "FLAG_NOT_FOUND"
	ErrorTargetingKeyMissing ErrorCode = "TARGETING_KEY_MISSING"
	ErrorTypeMismatch        ErrorCode = "TYPE_MISMATCH"
	ErrorParse               ErrorCode = "PARSE_ERROR"
	ErrorInvalidContext      ErrorCode = "INVALID_CONTEXT"
	ErrorGeneral             ErrorCode = "GENERAL"
)

// The rule ids a result names besides the ids of rules.
const (
	RuleTargets = "targets"
	RuleDefault = "default"
)

// Error messages; static so that results do not allocate.
const (
	msgFlagNotFound      = "flag not found"
	msgComponentNotFound = "component not found"
	msgKeyNotString      = "targetingKey must be a string"
	msgUnsupportedValue  = "the context holds an attribute value of an unsupported type, or nested more than 64 levels deep"
	msgBadCurrentVersion = "current_version is absent or not a semantic version"
)

// Result is the outcome of evaluating one flag. Value and ValueJSON are
// shared with the Ruleset and must not be modified.
type Result struct {
	// Variant is the served variant's key; "" when none is served (errors,
	// and a disabled flag without an off variant): the caller's default
	// value applies.
	Variant string
	// Value is the variant's value as encoding/json decodes it: bool,
	// float64, string, or for json flags any JSON value; nil with no variant.
	Value any
	// ValueJSON is the JSON encoding of Value; nil with no variant.
	ValueJSON []byte
	// Reason says why this variant was served.
	Reason Reason
	// Rule is RuleTargets, a rule id or RuleDefault; "" for DISABLED,
	// PREREQUISITE_FAILED and errors.
	Rule string
	// ErrorCode is set when Reason is ERROR.
	ErrorCode ErrorCode
	// ErrorMessage explains ErrorCode.
	ErrorMessage string
	// Type is the flag's type; "" when the flag is unknown. A typed getter
	// compares it with its own type (TYPE_MISMATCH) without looking the
	// flag up again.
	Type model.FlagType
	// Experiment is the key of the running experiment that assigned the
	// variant (rule "experiment:{key}"); "" otherwise. Exposures carry it,
	// so that they are attributed to the experiment.
	Experiment string
}

// variant is a flag variant with its value precomputed.
type variant struct {
	key   string
	value any
	json  []byte
}

// prereq is a compiled prerequisite: the flag and the index of the variant
// it must yield.
type prereq struct {
	flag    *flag
	variant int32
}

// flag is one flag compiled for one environment.
type flag struct {
	src      *model.Flag
	key      string
	typ      model.FlagType
	variants []variant
	enabled  bool  // has an entry for the environment, and it is enabled
	off      int32 // the off variant, or noOutcome
	prereqs  []prereq
	t        targeting
	segDeps  []*segment // every segment the targeting names, in order
	// fixed is the result for every valid context when it does not depend
	// on the context (disabled, or a plain default and nothing else).
	fixed *Result
}

// Ruleset is one environment of one project, compiled for evaluation. It is
// immutable once published; all methods are safe for concurrent use.
type Ruleset struct {
	// Revision is the environment revision the ruleset was compiled from.
	// The caller sets it after Compile, before sharing the ruleset.
	Revision uint64

	project    string
	env        string
	flags      map[string]*flag
	order      []*flag // document order
	segments   map[string]*segment
	components map[string]*component
	compOrder  []*component
	audiences  []*audience // of the release overlays, in the order given
}

// Project returns the name of the ruleset's project.
func (rs *Ruleset) Project() string { return rs.project }

// Environment returns the name of the ruleset's environment.
func (rs *Ruleset) Environment() string { return rs.env }

// FlagCount returns the number of flags in the ruleset.
func (rs *Ruleset) FlagCount() int { return len(rs.order) }

// FlagKeys returns the keys of all flags in document order, in a new slice.
func (rs *Ruleset) FlagKeys() []string {
	keys := make([]string, len(rs.order))
	for i, f := range rs.order {
		keys[i] = f.key
	}
	return keys
}

// FlagType returns the type of the flag key and whether the flag exists.
func (rs *Ruleset) FlagType(key string) (model.FlagType, bool) {
	f := rs.flags[key]
	if f == nil {
		return "", false
	}
	return f.typ, true
}

// ComponentKeys returns the keys of all components in document order, in a
// new slice.
func (rs *Ruleset) ComponentKeys() []string {
	keys := make([]string, len(rs.compOrder))
	for i, c := range rs.compOrder {
		keys[i] = c.key
	}
	return keys
}

// Evaluate evaluates the flag key for ctx (DESIGN §3 "Flag evaluation"). A
// nil ctx is an empty context. It does not allocate.
func (rs *Ruleset) Evaluate(key string, ctx *Context) (r Result) {
	rs.flag(key).evaluateInto(ctx, &r)
	return r
}

// EvaluateUnit is Evaluate and Unit with one lookup of the flag, for a
// getter that records an exposure. It allocates only where Unit does.
func (rs *Ruleset) EvaluateUnit(key string, ctx *Context) (r Result, unit string, ok bool) {
	f := rs.flag(key)
	f.evaluateInto(ctx, &r)
	unit, ok = f.unit(ctx)
	return r, unit, ok
}

// flag returns the flag key, or nil.
func (rs *Ruleset) flag(key string) *flag {
	if rs == nil {
		return nil
	}
	return rs.flags[key]
}

// evaluateInto is Evaluate for the flag f, nil when unknown; it sets every
// field of r.
func (f *flag) evaluateInto(ctx *Context, r *Result) {
	switch {
	case f == nil:
		*r = Result{Reason: ReasonError, ErrorCode: ErrorFlagNotFound, ErrorMessage: msgFlagNotFound}
	case ctx == nil:
		var empty Context
		f.result(&empty, r)
	default:
		f.result(ctx, r)
	}
}

// EvaluateAll evaluates every flag for ctx in document order and calls fn
// with each key and result. A nil ctx is an empty context. It does not
// allocate. (The result is passed by value: a pointer handed to fn would
// have to live on the heap.)
func (rs *Ruleset) EvaluateAll(ctx *Context, fn func(key string, r Result)) {
	if rs == nil {
		return
	}
	if ctx == nil {
		ctx = new(Context)
	}
	var r Result
	for _, f := range rs.order {
		f.result(ctx, &r)
		fn(f.key, r)
	}
}

// contextError returns the INVALID_CONTEXT message for ctx, or "".
func contextError(ctx *Context) string {
	switch {
	case ctx.keyKind == keyInvalid:
		return msgKeyNotString
	case ctx.bad > 0:
		return msgUnsupportedValue
	}
	return ""
}

// result runs steps 1–6 for a known flag and sets every field of r.
func (f *flag) result(ctx *Context, r *Result) {
	if msg := contextError(ctx); msg != "" {
		*r = Result{Reason: ReasonError, ErrorCode: ErrorInvalidContext, ErrorMessage: msg, Type: f.typ}
		return
	}
	switch {
	case f.fixed != nil: // among others, every disabled flag
		*r = *f.fixed
	case len(f.prereqs) == 0:
		f.resultOf(f.t.evaluate(ctx), r)
	default:
		f.resultOf(f.evaluate(ctx), r)
	}
}

// resultOf turns a match into a Result, setting every field of r.
func (f *flag) resultOf(m match, r *Result) {
	*r = Result{Reason: m.reason, Rule: m.rule, Type: f.typ}
	if m.x != nil {
		r.ErrorCode, r.ErrorMessage, r.Experiment = m.x.code, m.x.msg, m.x.experiment
	}
	if m.outcome != noOutcome {
		v := &f.variants[m.outcome]
		r.Variant, r.Value, r.ValueJSON = v.key, v.value, v.json
	}
}

// evaluate runs steps 2–6 for a valid context.
func (f *flag) evaluate(ctx *Context) match {
	if !f.enabled {
		return match{outcome: f.off, reason: ReasonDisabled}
	}
	for _, p := range f.prereqs {
		if !p.flag.enabled {
			return match{outcome: f.off, reason: ReasonPrerequisiteFailed}
		}
		m := p.flag.evaluate(ctx)
		if m.reason == ReasonError || m.reason == ReasonPrerequisiteFailed || m.outcome != p.variant {
			return match{outcome: f.off, reason: ReasonPrerequisiteFailed}
		}
	}
	return f.t.evaluate(ctx)
}
