package server_test

import (
	"context"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	collectortracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/switchyard/switchyard/internal/telemetry"
	"github.com/switchyard/switchyard/server"
	"github.com/switchyard/switchyard/server/servertest"
)

// otlpReceiver is an OTLP/HTTP trace receiver on loopback that keeps the
// spans it is sent.
type otlpReceiver struct {
	URL   string
	mu    sync.Mutex
	spans []*tracepb.Span
}

func startOTLPReceiver(t *testing.T) *otlpReceiver {
	t.Helper()
	rcv := &otlpReceiver{}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		var req collectortracepb.ExportTraceServiceRequest
		if err != nil || r.URL.Path != "/v1/traces" || proto.Unmarshal(body, &req) != nil {
			t.Errorf("OTLP receiver: %s %s: cannot decode (%v)", r.Method, r.URL.Path, err)
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		rcv.mu.Lock()
		for _, rs := range req.GetResourceSpans() {
			for _, ss := range rs.GetScopeSpans() {
				rcv.spans = append(rcv.spans, ss.GetSpans()...)
			}
		}
		rcv.mu.Unlock()
		out, _ := proto.Marshal(&collectortracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(out)
	})}
	go srv.Serve(lis)
	t.Cleanup(func() { srv.Close() })
	rcv.URL = "http://" + lis.Addr().String()
	return rcv
}

// byName returns the received spans with the name.
func (r *otlpReceiver) byName(name string) []*tracepb.Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*tracepb.Span
	for _, s := range r.spans {
		if s.GetName() == name {
			out = append(out, s)
		}
	}
	return out
}

// parentOf returns the received span that is s's parent, or nil.
func (r *otlpReceiver) parentOf(s *tracepb.Span) *tracepb.Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.spans {
		if string(p.GetSpanId()) == string(s.GetParentSpanId()) && string(p.GetTraceId()) == string(s.GetTraceId()) {
			return p
		}
	}
	return nil
}

func TestTracingExportsARESTCallWithItsStoreWriteAndCompile(t *testing.T) {
	rcv := startOTLPReceiver(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rcv.URL)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	t.Setenv("OTEL_TRACES_EXPORTER", "")
	tr, err := telemetry.Setup(context.Background(), os.Getenv)
	if err != nil || !tr.Enabled {
		t.Fatalf("Setup = %+v, %v, want tracing on", tr, err)
	}
	var logs syncBuffer
	srv := servertest.Start(t, servertest.Options{
		Log:    slog.New(telemetry.LogHandler(slog.NewJSONHandler(&logs, nil))),
		Server: []server.Option{server.WithTracing(tr.Provider, tr.Propagator)},
	})
	ts := wrap(srv)
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/flags", demoFlag)
	// The gRPC server span ends just after its answer reached the gateway,
	// so it may end after the HTTP answer: flush until both ends of the
	// call are exported (spans ended after Shutdown would be lost).
	flusher := tr.Provider.(interface{ ForceFlush(context.Context) error })
	for deadline := time.Now().Add(10 * time.Second); len(rcv.byName("switchyard.v1.FlagService/CreateFlag")) < 2 && time.Now().Before(deadline); {
		if err := flusher.ForceFlush(context.Background()); err != nil {
			t.Fatalf("ForceFlush: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := tr.Shutdown(context.Background()); err != nil { // flushes
		t.Fatalf("Shutdown: %v", err)
	}

	const httpName = "POST /api/v1/projects/{project}/flags"
	roots := rcv.byName(httpName)
	if len(roots) != 1 {
		t.Fatalf("spans named %q = %d, want 1", httpName, len(roots))
	}
	root := roots[0]
	compiles := rcv.byName("ruleset.Compile")
	if len(compiles) == 0 {
		t.Fatal("no ruleset.Compile span")
	}
	// compile → domain.Update → gRPC server span → gateway client span → HTTP span
	want := []string{"ruleset.Compile", "domain.Update", "switchyard.v1.FlagService/CreateFlag", "switchyard.v1.FlagService/CreateFlag", httpName}
	var chain []string
	for s := compiles[0]; s != nil; s = rcv.parentOf(s) {
		chain = append(chain, s.GetName())
		if string(s.GetTraceId()) != string(root.GetTraceId()) {
			t.Errorf("span %s is in another trace", s.GetName())
		}
	}
	if len(chain) != len(want) {
		t.Fatalf("parents of a compile = %v, want %v", chain, want)
	}
	for i := range want {
		if chain[i] != want[i] {
			t.Errorf("parents of a compile = %v, want %v", chain, want)
			break
		}
	}
	if len(root.GetParentSpanId()) != 0 {
		t.Errorf("the HTTP span has a parent %x, want a root", root.GetParentSpanId())
	}
	// The request log names the trace.
	traceID := hex.EncodeToString(root.GetTraceId())
	found := false
	for _, rec := range requestLogs(t, logs.Bytes(), "http request") {
		if rec["route"] == "/api/v1/projects/{project}/flags" {
			found = rec["trace_id"] == traceID && rec["span_id"] == hex.EncodeToString(root.GetSpanId())
		}
	}
	if !found {
		t.Errorf("no request log with trace_id %s in\n%s", traceID, logs.Bytes())
	}
}

func TestTracingIsOffUnlessConfigured(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		on   bool
	}{
		{"nothing set", map[string]string{}, false},
		{"exporter none", map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}, false},
		{"sdk disabled", map[string]string{"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}, false},
		{"endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}, true},
		{"exporter otlp over grpc", map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := telemetry.Setup(context.Background(), func(k string) string { return tc.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Shutdown(context.Background())
			if tr.Enabled != tc.on {
				t.Errorf("Setup(%v).Enabled = %v, want %v", tc.env, tr.Enabled, tc.on)
			}
		})
	}
	for _, env := range []map[string]string{
		{"OTEL_TRACES_EXPORTER": "zipkin"},
		{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"},
	} {
		if _, err := telemetry.Setup(context.Background(), func(k string) string { return env[k] }); err == nil {
			t.Errorf("Setup(%v) = nil error, want a refusal", env)
		}
	}
}
