package sdk

import (
	"math"

	"github.com/switchyard/switchyard/internal/eval"
	"github.com/switchyard/switchyard/internal/model"
)

// The getters are not inlined into the caller's package: there, the
// compiler cannot see that the generic code does not keep ctx, and would
// move a context on the caller's stack to the heap.

// Bool returns the value of the bool flag key for ctx, or def.
//
//go:noinline
func (c *Client) Bool(key string, ctx *Context, def bool) bool {
	return value(c, key, ctx, def, model.TypeBool, asBool)
}

// BoolDetail is Bool with the details of the evaluation.
//
//go:noinline
func (c *Client) BoolDetail(key string, ctx *Context, def bool) Detail[bool] {
	return evaluate(c, key, ctx, def, model.TypeBool, asBool)
}

// String returns the value of the string flag key for ctx, or def.
//
//go:noinline
func (c *Client) String(key string, ctx *Context, def string) string {
	return value(c, key, ctx, def, model.TypeString, asString)
}

// StringDetail is String with the details of the evaluation.
//
//go:noinline
func (c *Client) StringDetail(key string, ctx *Context, def string) Detail[string] {
	return evaluate(c, key, ctx, def, model.TypeString, asString)
}

// Float64 returns the value of the number flag key for ctx, or def.
//
//go:noinline
func (c *Client) Float64(key string, ctx *Context, def float64) float64 {
	return value(c, key, ctx, def, model.TypeNumber, asFloat64)
}

// Float64Detail is Float64 with the details of the evaluation.
//
//go:noinline
func (c *Client) Float64Detail(key string, ctx *Context, def float64) Detail[float64] {
	return evaluate(c, key, ctx, def, model.TypeNumber, asFloat64)
}

// Int returns the value of the number flag key for ctx, or def. A value
// that is not an integer in the range of int64 is a TYPE_MISMATCH.
//
//go:noinline
func (c *Client) Int(key string, ctx *Context, def int64) int64 {
	return value(c, key, ctx, def, model.TypeNumber, asInt64)
}

// IntDetail is Int with the details of the evaluation.
//
//go:noinline
func (c *Client) IntDetail(key string, ctx *Context, def int64) Detail[int64] {
	return evaluate(c, key, ctx, def, model.TypeNumber, asInt64)
}

// JSON returns the value of the json flag key for ctx, or def: a JSON
// value as encoding/json decodes it into an any (map[string]any, []any,
// string, float64, bool or nil). The value is the caller's own copy.
//
//go:noinline
func (c *Client) JSON(key string, ctx *Context, def any) any {
	return value(c, key, ctx, def, model.TypeJSON, asJSON)
}

// JSONDetail is JSON with the details of the evaluation.
//
//go:noinline
func (c *Client) JSONDetail(key string, ctx *Context, def any) Detail[any] {
	return evaluate(c, key, ctx, def, model.TypeJSON, asJSON)
}

// value is every plain getter: evaluate's Value, without building the
// Detail (the hot path). With events on, it is evaluate.
func value[T any](c *Client, key string, ctx *Context, def T, typ model.FlagType, conv func(any) (T, bool)) T {
	rs := c.ruleset.Load()
	if rs == nil || c.events != nil {
		return evaluate(c, key, ctx, def, typ, conv).Value
	}
	res := rs.Evaluate(key, ctx)
	if res.Variant == "" || res.Type != typ {
		return def // an error, no variant served, or another type
	}
	if v, ok := conv(res.Value); ok {
		return v
	}
	return def
}

// evaluate is every Detail getter: evaluate on the current ruleset, check
// the flag's type (eval.Result.Type: no second lookup), convert the value,
// fall back to def on any error, and record the exposure.
func evaluate[T any](c *Client, key string, ctx *Context, def T, typ model.FlagType, conv func(any) (T, bool)) Detail[T] {
	rs := c.ruleset.Load()
	if rs == nil {
		return Detail[T]{Value: def, Reason: ReasonError, ErrorCode: ErrorProviderNotReady, ErrorMessage: msgNotReady}
	}
	var (
		res     eval.Result
		unit    string // the bucketing unit for the exposure
		hasUnit bool   // events are on and ctx has a unit
	)
	if c.events != nil {
		res, unit, hasUnit = rs.EvaluateUnit(key, ctx)
	} else {
		res = rs.Evaluate(key, ctx)
	}
	d := Detail[T]{
		Value:        def,
		Reason:       Reason(res.Reason),
		Rule:         res.Rule,
		Revision:     rs.Revision,
		ErrorCode:    ErrorCode(res.ErrorCode),
		ErrorMessage: res.ErrorMessage,
	}
	switch {
	case res.ErrorCode != "":
	case res.Type != typ:
		d = mismatch(d)
	case res.Variant != "":
		v, ok := conv(res.Value)
		if !ok {
			d = mismatch(d)
			break
		}
		d.Value, d.Variant = v, res.Variant
	}
	if hasUnit && res.ErrorCode != eval.ErrorFlagNotFound {
		c.expose(rs, key, unit, d.Variant, d.Rule, res.Experiment)
	}
	return d
}

// mismatch turns d into a TYPE_MISMATCH error with the default value.
func mismatch[T any](d Detail[T]) Detail[T] {
	d.Reason, d.Rule = ReasonError, ""
	d.ErrorCode, d.ErrorMessage = ErrorTypeMismatch, msgTypeMismatch
	return d
}

func asBool(v any) (bool, bool) {
	b, ok := v.(bool)
	return b, ok
}

func asString(v any) (string, bool) {
	s, ok := v.(string)
	return s, ok
}

func asFloat64(v any) (float64, bool) {
	f, ok := v.(float64)
	return f, ok
}

// asInt64 accepts a float64 holding an integer in the range of int64.
func asInt64(v any) (int64, bool) {
	f, ok := v.(float64)
	if !ok || f != math.Trunc(f) || f < -(1<<63) || f >= 1<<63 {
		return 0, false
	}
	return int64(f), true
}

// asJSON copies a JSON value, so that the caller may change it without
// touching the ruleset.
func asJSON(v any) (any, bool) {
	return copyJSON(v), true
}

func copyJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = copyJSON(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = copyJSON(e)
		}
		return l
	}
	return v
}
