package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	"github.com/switchyard/switchyard/internal/buildinfo"
	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
	"github.com/switchyard/switchyard/internal/eventlog"
	"github.com/switchyard/switchyard/internal/eventlog/boltlog"
	"github.com/switchyard/switchyard/internal/runtime"
	"github.com/switchyard/switchyard/internal/snapshot"
	"github.com/switchyard/switchyard/server"
	"github.com/switchyard/switchyard/server/servertest"
)

func TestHealthzStaysPlainForProbes(t *testing.T) {
	ts := startServer(t)
	r := ts.call(t, "GET", "/healthz", "", "", nil)
	if r.status != http.StatusOK || string(r.body) != "ok\n" {
		t.Errorf("GET /healthz = %d %q, want 200 ok", r.status, r.body)
	}
}

func TestHealthzVerboseNamesTheBuild(t *testing.T) {
	ts := startServer(t)
	for _, tc := range []struct {
		name, path string
		header     []string
	}{
		{"query", "/healthz?verbose", nil},
		{"accept", "/healthz", []string{"Accept", "application/json"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := servertest.Do(t, "GET", ts.httpURL+tc.path, nil, tc.header...)
			var got struct {
				Status        string `json:"status"`
				Version       string `json:"version"`
				Commit        string `json:"commit"`
				GoVersion     string `json:"go_version"`
				UptimeSeconds *int64 `json:"uptime_seconds"`
			}
			if err := json.Unmarshal(r.Body, &got); err != nil || r.Status != http.StatusOK {
				t.Fatalf("GET %s = %d %s (%v)", tc.path, r.Status, r.Body, err)
			}
			bi := buildinfo.Get()
			if got.Status != "ok" || got.Version != bi.Version || got.Commit != bi.Commit || got.GoVersion != bi.GoVersion || got.UptimeSeconds == nil {
				t.Errorf("GET %s = %s, want ok and %+v with an uptime", tc.path, r.Body, bi)
			}
		})
	}
}

// startUnready serves a store whose rulesets are not loaded yet.
func startUnready(t *testing.T) (*snapshot.Set, func() *grpc.ClientConn, context.CancelFunc) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, file := domaintest.OpenBolt(t, filepath.Join(t.TempDir(), "switchyard.db"), domain.Options{})
	rs := snapshot.NewSet(log)
	rt, err := runtime.New(log, st, rs, runtime.Options{Events: boltlog.New(file, eventlog.Options{})})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(log, st, rs, rt)
	if err != nil {
		t.Fatal(err)
	}
	grpcLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	httpLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, grpcLis, httpLis) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	conn, err := grpc.NewClient(grpcLis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return rs, func() *grpc.ClientConn { return conn }, cancel
}

// nextStatus receives the next status of a health Watch.
func nextStatus(t *testing.T, w grpc_health_v1.Health_WatchClient) grpc_health_v1.HealthCheckResponse_ServingStatus {
	t.Helper()
	resp, err := w.Recv()
	if err != nil {
		t.Fatalf("Watch.Recv: %v", err)
	}
	return resp.GetStatus()
}

func TestHealthPerServiceFollowsTheRulesets(t *testing.T) {
	rs, conn, stop := startUnready(t)
	health := grpc_health_v1.NewHealthClient(conn())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const flags = "switchyard.v1.FlagService"
	for _, service := range []string{"", flags} {
		resp, err := health.Check(ctx, &grpc_health_v1.HealthCheckRequest{Service: service})
		if err != nil || resp.GetStatus() != grpc_health_v1.HealthCheckResponse_NOT_SERVING {
			t.Errorf("Check(%q) before the rulesets = %v, %v, want NOT_SERVING", service, resp, err)
		}
	}
	if _, err := health.Check(ctx, &grpc_health_v1.HealthCheckRequest{Service: "no.such.Service"}); status.Code(err) != codes.NotFound {
		t.Errorf("Check(unknown service) = %v, want NotFound", err)
	}
	watch, err := health.Watch(ctx, &grpc_health_v1.HealthCheckRequest{Service: flags})
	if err != nil {
		t.Fatal(err)
	}
	if got := nextStatus(t, watch); got != grpc_health_v1.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("Watch(%s) = %v, want NOT_SERVING first", flags, got)
	}
	rs.Apply(domaintest.New(t).State(), nil)
	if got := nextStatus(t, watch); got != grpc_health_v1.HealthCheckResponse_SERVING {
		t.Fatalf("Watch(%s) after the rulesets = %v, want SERVING", flags, got)
	}
	stop()
	if got := nextStatus(t, watch); got != grpc_health_v1.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("Watch(%s) at shutdown = %v, want NOT_SERVING", flags, got)
	}
	cancel()
}

func TestReflectionOnLoopbackListsTheServices(t *testing.T) {
	ts := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := reflectionpb.NewServerReflectionClient(ts.conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{ListServices: "*"},
	}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatalf("reflection: %v", err)
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	for _, want := range []string{"switchyard.v1.FlagService", "switchyard.v1.EvaluationService", "grpc.health.v1.Health"} {
		if !slices.Contains(names, want) {
			t.Errorf("reflection lists %v, want %s among them", names, want)
		}
	}
}
