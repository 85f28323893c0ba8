package server

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/snapshot"
)

// Tracing: with WithTracing the server makes spans for every gRPC call
// (otelgrpc; a REST call's gateway call is a child of its HTTP span), every
// HTTP request (otelhttp, named by route pattern), every store write
// transaction and ruleset compile (children of the call that wrote), and
// every webhook delivery attempt. Without it no tracing code runs.

// tracerName names the server's tracer (its instrumentation scope).
const tracerName = "github.com/switchyard/switchyard/server"

// WithTracing traces with tp and propagates trace context with prop (see
// internal/telemetry.Setup).
func WithTracing(tp trace.TracerProvider, prop propagation.TextMapPropagator) Option {
	return func(o *options) { o.tracing, o.propagator = tp, prop }
}

// tracing is the server's tracing state; nil tracer means off.
type tracing struct {
	tracer trace.Tracer
	// updating is the context of the store write being committed, so the
	// compiles its commit hook runs (under the store's writer lock) are its
	// children.
	updating atomic.Pointer[context.Context]
}

// grpcServerOptions are the gRPC server options of tracing.
func (o *options) grpcServerOptions() []grpc.ServerOption {
	if o.tracing == nil {
		return nil
	}
	return []grpc.ServerOption{grpc.StatsHandler(otelgrpc.NewServerHandler(
		otelgrpc.WithTracerProvider(o.tracing), otelgrpc.WithPropagators(o.propagator)))}
}

// gatewayDialOptions make the gateway's in-process calls children of the
// HTTP request's span.
func (o *options) gatewayDialOptions() []grpc.DialOption {
	if o.tracing == nil {
		return nil
	}
	return []grpc.DialOption{grpc.WithStatsHandler(otelgrpc.NewClientHandler(
		otelgrpc.WithTracerProvider(o.tracing), otelgrpc.WithPropagators(o.propagator)))}
}

// traceHTTP wraps the HTTP handler in otelhttp.
func (o *options) traceHTTP(h http.Handler) http.Handler {
	if o.tracing == nil {
		return h
	}
	return otelhttp.NewHandler(h, "http", otelhttp.WithTracerProvider(o.tracing), otelhttp.WithPropagators(o.propagator),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method }))
}

// nameHTTPSpan names the request's span by its route, once routing found it.
func nameHTTPSpan(ctx context.Context, method, route string) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	span.SetName(method + " " + route)
	span.SetAttributes(attribute.String("http.route", route))
}

// observeTx records a store write transaction: its duration in the
// metrics and, when tracing, a span under the writing call.
func (s *Server) observeTx(ctx context.Context, start time.Time, d time.Duration, err error) {
	s.metrics.storeTx.Observe(d.Seconds())
	if s.trace.tracer == nil {
		return
	}
	ctx, span := s.trace.tracer.Start(ctx, "store.Update", trace.WithTimestamp(start), trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(attribute.String("db.system.name", "bbolt")))
	endSpan(span, start.Add(d), err)
	if err == nil {
		s.trace.updating.Store(&ctx)
	}
}

// observeCompile records a ruleset compile as a span under the store write
// that caused it.
func (s *Server) observeCompile(env snapshot.Env, start time.Time, d time.Duration, err error) {
	ctx := context.Background()
	if p := s.trace.updating.Load(); p != nil {
		ctx = *p
	}
	_, span := s.trace.tracer.Start(ctx, "ruleset.Compile", trace.WithTimestamp(start),
		trace.WithAttributes(attribute.String("switchyard.project", env.Project), attribute.String("switchyard.environment", env.Environment)))
	endSpan(span, start.Add(d), err)
}

// committed ends the store write's scope for compiles (a commit hook).
func (s *Server) committed(*domain.State, *domain.Commit) { s.trace.updating.Store(nil) }

// endSpan ends span at t, recording err.
func endSpan(span trace.Span, t time.Time, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End(trace.WithTimestamp(t))
}
