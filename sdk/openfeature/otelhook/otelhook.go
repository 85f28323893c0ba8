// Package otelhook is an OpenFeature hook that records every flag
// evaluation as a "feature_flag.evaluation" event on the caller's current
// OpenTelemetry span, with the attributes of the OpenTelemetry semantic
// conventions for feature flags (feature_flag.key,
// feature_flag.provider.name, feature_flag.result.variant,
// feature_flag.result.reason, feature_flag.context.id, error.type, …). It
// works with any provider; it is a package of its own so that the Switchyard
// SDK does not link OpenTelemetry.
//
//	openfeature.AddHooks(otelhook.New())
package otelhook

import (
	"context"
	"fmt"
	"strings"

	of "github.com/open-feature/go-sdk/openfeature"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// EventName is the name of the span event the hook adds.
const EventName = "feature_flag.evaluation"

// The attribute keys of the feature-flag semantic conventions.
const (
	KeyFlag         = attribute.Key("feature_flag.key")
	KeyProviderName = attribute.Key("feature_flag.provider.name")
	KeyVariant      = attribute.Key("feature_flag.result.variant")
	KeyReason       = attribute.Key("feature_flag.result.reason")
	KeyValue        = attribute.Key("feature_flag.result.value")
	KeyContextID    = attribute.Key("feature_flag.context.id")
	KeyErrorType    = attribute.Key("error.type")
	KeyErrorMessage = attribute.Key("error.message")
)

// Hook adds an evaluation event to the current span of each evaluation's
// context. Without a recording span it does nothing.
type Hook struct {
	of.UnimplementedHook
	withValue bool
}

var _ of.Hook = (*Hook)(nil)

// Option changes a default of New.
type Option func(*Hook)

// WithValue also records the evaluated value (feature_flag.result.value,
// as text). Off by default: values may be sensitive.
func WithValue() Option { return func(h *Hook) { h.withValue = true } }

// New returns the hook.
func New(opts ...Option) *Hook {
	h := &Hook{}
	for _, o := range opts {
		o(h)
	}
	return h
}

// Finally records the evaluation, successful or not.
func (h *Hook) Finally(ctx context.Context, hc of.HookContext, d of.InterfaceEvaluationDetails, _ of.HookHints) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	attrs := []attribute.KeyValue{
		KeyFlag.String(hc.FlagKey()),
		KeyProviderName.String(hc.ProviderMetadata().Name),
	}
	if d.Reason != "" {
		attrs = append(attrs, KeyReason.String(strings.ToLower(string(d.Reason))))
	}
	if d.Variant != "" {
		attrs = append(attrs, KeyVariant.String(d.Variant))
	}
	if id := hc.EvaluationContext().TargetingKey(); id != "" {
		attrs = append(attrs, KeyContextID.String(id))
	}
	if d.ErrorCode != "" {
		attrs = append(attrs, KeyErrorType.String(strings.ToLower(string(d.ErrorCode))))
		if d.ErrorMessage != "" {
			attrs = append(attrs, KeyErrorMessage.String(d.ErrorMessage))
		}
	}
	if h.withValue && d.ErrorCode == "" {
		attrs = append(attrs, KeyValue.String(fmt.Sprint(d.Value)))
	}
	span.AddEvent(EventName, trace.WithAttributes(attrs...))
}
