package openfeature

import (
	"context"
	"maps"
	"slices"
	"time"

	of "github.com/open-feature/go-sdk/openfeature"

	"github.com/switchyard/switchyard/sdk"
)

// BooleanEvaluation evaluates a bool flag.
func (p *Provider) BooleanEvaluation(_ context.Context, flag string, def bool, flat of.FlattenedContext) of.BoolResolutionDetail {
	c := p.client.Load()
	if c == nil {
		return notReady(def)
	}
	ctx := contextOf(flat)
	return resolution(c.BoolDetail(flag, &ctx, def))
}

// StringEvaluation evaluates a string flag.
func (p *Provider) StringEvaluation(_ context.Context, flag string, def string, flat of.FlattenedContext) of.StringResolutionDetail {
	c := p.client.Load()
	if c == nil {
		return notReady(def)
	}
	ctx := contextOf(flat)
	return resolution(c.StringDetail(flag, &ctx, def))
}

// FloatEvaluation evaluates a number flag.
func (p *Provider) FloatEvaluation(_ context.Context, flag string, def float64, flat of.FlattenedContext) of.FloatResolutionDetail {
	c := p.client.Load()
	if c == nil {
		return notReady(def)
	}
	ctx := contextOf(flat)
	return resolution(c.Float64Detail(flag, &ctx, def))
}

// IntEvaluation evaluates a number flag whose value is an integer; another
// value is a TYPE_MISMATCH.
func (p *Provider) IntEvaluation(_ context.Context, flag string, def int64, flat of.FlattenedContext) of.IntResolutionDetail {
	c := p.client.Load()
	if c == nil {
		return notReady(def)
	}
	ctx := contextOf(flat)
	return resolution(c.IntDetail(flag, &ctx, def))
}

// ObjectEvaluation evaluates a json flag: the value is any JSON value as
// encoding/json decodes it, the caller's own copy.
func (p *Provider) ObjectEvaluation(_ context.Context, flag string, def any, flat of.FlattenedContext) of.InterfaceResolutionDetail {
	c := p.client.Load()
	if c == nil {
		return notReady(def)
	}
	ctx := contextOf(flat)
	return resolution(c.JSONDetail(flag, &ctx, def))
}

// notReady is the resolution before Init created the client.
func notReady[T any](def T) of.GenericResolutionDetail[T] {
	return of.GenericResolutionDetail[T]{Value: def, ProviderResolutionDetail: of.ProviderResolutionDetail{
		ResolutionError: of.NewProviderNotReadyResolutionError("the provider is not initialized"),
		Reason:          of.ErrorReason,
	}}
}

// resolution maps an SDK result to OpenFeature's: reasons pass through
// (PREREQUISITE_FAILED included), error codes become resolution errors,
// and the rule and revision are flag metadata.
func resolution[T any](d sdk.Detail[T]) of.GenericResolutionDetail[T] {
	out := of.GenericResolutionDetail[T]{Value: d.Value, ProviderResolutionDetail: of.ProviderResolutionDetail{
		Reason:  of.Reason(d.Reason),
		Variant: d.Variant,
	}}
	if d.ErrorCode != "" {
		out.ResolutionError = resolutionError(d.ErrorCode, d.ErrorMessage)
	}
	if d.Rule != "" || d.Revision != 0 {
		out.FlagMetadata = of.FlagMetadata{"revision": int64(d.Revision)}
		if d.Rule != "" {
			out.FlagMetadata["rule"] = d.Rule
		}
	}
	return out
}

// resolutionError maps an SDK error code to OpenFeature's.
func resolutionError(code sdk.ErrorCode, msg string) of.ResolutionError {
	switch code {
	case sdk.ErrorProviderNotReady:
		return of.NewProviderNotReadyResolutionError(msg)
	case sdk.ErrorFlagNotFound:
		return of.NewFlagNotFoundResolutionError(msg)
	case sdk.ErrorTypeMismatch:
		return of.NewTypeMismatchResolutionError(msg)
	case sdk.ErrorTargetingKeyMissing:
		return of.NewTargetingKeyMissingResolutionError(msg)
	case sdk.ErrorInvalidContext:
		return of.NewInvalidContextResolutionError(msg)
	case sdk.ErrorParse:
		return of.NewParseErrorResolutionError(msg)
	}
	return of.NewGeneralResolutionError(msg)
}

// contextOf converts OpenFeature's flattened context: "targetingKey" is
// the targeting key and every other entry an attribute, as
// sdk.ContextFromMap reads them, nested maps and slices included; a
// time.Time, at any depth, becomes an RFC 3339 instant. Values Switchyard
// cannot evaluate on (other Go types, nesting deeper than sdk.MaxDepth)
// make the evaluation INVALID_CONTEXT.
func contextOf(flat of.FlattenedContext) sdk.Context {
	var ctx sdk.Context
	for name, v := range flat {
		v, _ = attribute(v, 2)
		ctx.Set(name, v)
	}
	return ctx
}

// attribute returns v, nesting at depth (the context is level 1), with
// every time.Time in it formatted as an RFC 3339 instant, and whether it
// changed anything; maps and slices holding a time.Time are copied, others
// are left as they are. Below sdk.MaxDepth it stops: the context refuses
// what nests that deep anyway.
func attribute(v any, depth int) (any, bool) {
	if depth > sdk.MaxDepth {
		return v, false
	}
	switch x := v.(type) {
	case time.Time:
		return x.Format(time.RFC3339Nano), true
	case map[string]any:
		var out map[string]any
		for k, e := range x {
			if c, changed := attribute(e, depth+1); changed {
				if out == nil {
					out = maps.Clone(x)
				}
				out[k] = c
			}
		}
		if out != nil {
			return out, true
		}
	case []any:
		var out []any
		for i, e := range x {
			if c, changed := attribute(e, depth+1); changed {
				if out == nil {
					out = slices.Clone(x)
				}
				out[i] = c
			}
		}
		if out != nil {
			return out, true
		}
	}
	return v, false
}

// Track records an event of the context's targeting key with the
// details' value (OpenFeature cannot tell a value of 0 from none, so the
// value is always sent). Without a targeting key nothing is recorded.
func (p *Provider) Track(_ context.Context, eventName string, evalCtx of.EvaluationContext, details of.TrackingEventDetails) {
	c := p.client.Load()
	key := evalCtx.TargetingKey()
	if c == nil || key == "" {
		return
	}
	c.Track(eventName, sdk.NewContext(key), details.Value())
}
