package otelhook_test

import (
	"context"
	"testing"
	"time"

	of "github.com/open-feature/go-sdk/openfeature"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/switchyard/switchyard/sdk"
	swof "github.com/switchyard/switchyard/sdk/openfeature"
	"github.com/switchyard/switchyard/sdk/openfeature/otelhook"
	"github.com/switchyard/switchyard/server/servertest"
)

const project = `{"document": {"version": 1, "project": "default", "environments": ["production", "staging"],
  "flags": [{"key": "checkout", "type": "bool", "environments": {"production": {"enabled": true,
    "targets": [{"variant": "on", "keys": ["qa-1"]}], "default": {"variant": "off"}}}}]}}`

func TestHookRecordsEvaluationsOnTheSpan(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	srv.Admin(t, "POST", "/api/v1/documents:import", project)
	t.Cleanup(of.Shutdown)
	cfg := sdk.Config{Address: srv.GRPCAddr, SDKKey: srv.Creds.SDKKey,
		Backoff: sdk.Backoff{Initial: 20 * time.Millisecond, Max: 200 * time.Millisecond},
		Events:  sdk.EventsConfig{FlushInterval: time.Hour, CloseTimeout: time.Second}}
	if err := of.SetNamedProviderAndWait(t.Name(), swof.New(cfg)); err != nil {
		t.Fatal(err)
	}
	client := of.NewClient(t.Name())
	client.AddHooks(otelhook.New(otelhook.WithValue()))

	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	ctx, span := tp.Tracer("test").Start(context.Background(), "request")
	client.BooleanValue(ctx, "checkout", false, of.NewEvaluationContext("qa-1", nil))
	client.BooleanValue(ctx, "nope", false, of.NewEvaluationContext("qa-1", nil))
	span.End()
	// Without a span nothing is recorded, and nothing breaks.
	client.BooleanValue(context.Background(), "checkout", false, of.NewEvaluationContext("u", nil))

	ended := spans.Ended()
	if len(ended) != 1 {
		t.Fatalf("spans = %d, want 1", len(ended))
	}
	events := ended[0].Events()
	if len(events) != 2 {
		t.Fatalf("events = %v, want 2", events)
	}
	want := []map[attribute.Key]string{
		{otelhook.KeyFlag: "checkout", otelhook.KeyProviderName: swof.Name, otelhook.KeyVariant: "on",
			otelhook.KeyReason: "targeting_match", otelhook.KeyContextID: "qa-1", otelhook.KeyValue: "true"},
		{otelhook.KeyFlag: "nope", otelhook.KeyProviderName: swof.Name, otelhook.KeyReason: "error",
			otelhook.KeyContextID: "qa-1", otelhook.KeyErrorType: "flag_not_found"},
	}
	for i, ev := range events {
		if ev.Name != otelhook.EventName {
			t.Errorf("event %d = %q, want %q", i, ev.Name, otelhook.EventName)
		}
		got := map[attribute.Key]string{}
		for _, a := range ev.Attributes {
			if a.Key != otelhook.KeyErrorMessage {
				got[a.Key] = a.Value.String()
			}
		}
		if len(got) != len(want[i]) {
			t.Errorf("event %d attributes = %v, want %v", i, got, want[i])
			continue
		}
		for k, v := range want[i] {
			if got[k] != v {
				t.Errorf("event %d %s = %q, want %q", i, k, got[k], v)
			}
		}
	}
}
