package server_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/internal/relay/relaytest"
	workers "github.com/switchyard/switchyard/internal/runtime"
	"github.com/switchyard/switchyard/internal/syncer"
	"github.com/switchyard/switchyard/sdk"
	"github.com/switchyard/switchyard/server/servertest"
)

// syncStream opens a raw sync stream with key and says hello.
func syncStream(t *testing.T, srv *servertest.Server, key string, hello *sdkpb.Hello) sdkpb.SyncService_SyncClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	if key != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+key)
	}
	s, err := sdkpb.NewSyncServiceClient(srv.Conn).Sync(ctx)
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if hello != nil {
		// io.EOF: the server ended the stream already; Recv says why.
		if err := s.Send(&sdkpb.SyncRequest{Message: &sdkpb.SyncRequest_Hello{Hello: hello}}); err != nil && !errors.Is(err, io.EOF) {
			t.Fatalf("send hello: %v", err)
		}
	}
	return s
}

// recvRuleset receives the next ruleset, failing the test on an error.
func recvRuleset(t *testing.T, s sdkpb.SyncService_SyncClient) *sdkpb.Ruleset {
	t.Helper()
	for {
		resp, err := s.Recv()
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		if resp.GetKeys() == nil { // a relay's stream sends key sets too
			return resp.GetRuleset()
		}
	}
}

func ack(t *testing.T, s sdkpb.SyncService_SyncClient, revision uint64) {
	t.Helper()
	if err := s.Send(&sdkpb.SyncRequest{Message: &sdkpb.SyncRequest_Ack{Ack: &sdkpb.Ack{Revision: revision}}}); err != nil {
		t.Fatalf("send ack: %v", err)
	}
}

// keyOf creates an API key and returns its secret.
func keyOf(t *testing.T, srv *servertest.Server, kind, env string) string {
	t.Helper()
	body := map[string]any{"name": kind + "-" + env, "kind": kind, "project": "default", "environment": env}
	if kind == "admin" {
		body = map[string]any{"name": "viewer", "kind": "admin", "role": "viewer"}
	}
	return srv.Admin(t, "POST", "/api/v1/keys", body)["secret"].(string)
}

func TestSyncNeedsAnSDKKey(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	tests := []struct {
		name string
		key  string
		want codes.Code
	}{
		{"no key", "", codes.Unauthenticated},
		{"unknown key", "sys_unknown", codes.Unauthenticated},
		{"client key", keyOf(t, srv, "client", "production"), codes.PermissionDenied},
		{"admin token", srv.Creds.AdminToken, codes.PermissionDenied},
		{"viewer token", keyOf(t, srv, "admin", ""), codes.PermissionDenied},
		{"sdk key", srv.Creds.SDKKey, codes.OK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := syncStream(t, srv, tc.key, &sdkpb.Hello{SdkName: "test"})
			_, err := s.Recv()
			if got := status.Code(err); got != tc.want {
				t.Errorf("Recv = %v, want code %v", err, tc.want)
			}
		})
	}
}

func TestSyncProtocolErrors(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	tests := []struct {
		name  string
		first *sdkpb.SyncRequest
	}{
		{"ack before hello", &sdkpb.SyncRequest{Message: &sdkpb.SyncRequest_Ack{Ack: &sdkpb.Ack{Revision: 1}}}},
		{"empty message", &sdkpb.SyncRequest{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := syncStream(t, srv, srv.Creds.SDKKey, nil)
			if err := s.Send(tc.first); err != nil && !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			if _, err := s.Recv(); status.Code(err) != codes.InvalidArgument {
				t.Errorf("Recv = %v, want InvalidArgument", err)
			}
		})
	}
}

func TestSyncExpectsAnAck(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	s := syncStream(t, srv, srv.Creds.SDKKey, &sdkpb.Hello{SdkName: "test"})
	recvRuleset(t, s)
	if err := s.Send(&sdkpb.SyncRequest{Message: &sdkpb.SyncRequest_Hello{Hello: &sdkpb.Hello{}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recv(); status.Code(err) != codes.InvalidArgument {
		t.Errorf("Recv after a second hello = %v, want InvalidArgument", err)
	}
}

// TestSyncSendsOnlyWhatIsMissing pins the section protocol: a first
// ruleset carries every section, a change carries the changed section
// only, and a hello naming every section gets none.
func TestSyncSendsOnlyWhatIsMissing(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	srv.Admin(t, "POST", "/api/v1/projects/default/segments", map[string]any{"key": "beta", "include": []any{"u1", "u2"}})
	for _, key := range []string{"a", "b", "c"} {
		srv.Admin(t, "POST", "/api/v1/projects/default/flags", []byte(`{"key": "`+key+`", "type": "bool"}`))
	}

	s := syncStream(t, srv, srv.Creds.SDKKey, &sdkpb.Hello{SdkName: "test"})
	first := recvRuleset(t, s)
	if len(first.GetManifest()) != 4 || len(first.GetSections()) != 4 {
		t.Fatalf("first ruleset has %d refs and %d sections, want 4 and 4", len(first.GetManifest()), len(first.GetSections()))
	}
	if first.GetProject() != "default" || first.GetEnvironment() != "production" || first.GetRevision() == 0 {
		t.Errorf("first ruleset is %s/%s at revision %d, want default/production at a revision", first.GetProject(), first.GetEnvironment(), first.GetRevision())
	}
	ack(t, s, first.GetRevision())

	srv.Admin(t, "PATCH", "/api/v1/projects/default/flags/b/environments/production", map[string]any{"enabled": true})
	next := recvRuleset(t, s)
	if len(next.GetManifest()) != 4 || len(next.GetSections()) != 1 || next.GetSections()[0].GetRef().GetKey() != "b" {
		t.Fatalf("ruleset after changing flag b has %d refs and sections %v, want 4 refs and flag b alone", len(next.GetManifest()), next.GetSections())
	}
	if next.GetRevision() <= first.GetRevision() {
		t.Errorf("revision %d after a change, want above %d", next.GetRevision(), first.GetRevision())
	}

	held := &sdkpb.Hello{SdkName: "test", Revision: next.GetRevision()}
	for _, ref := range next.GetManifest() {
		held.Sections = append(held.Sections, &sdkpb.SectionRef{Hash: ref.GetHash()})
	}
	resumed := recvRuleset(t, syncStream(t, srv, srv.Creds.SDKKey, held))
	if len(resumed.GetManifest()) != 4 || len(resumed.GetSections()) != 0 || resumed.GetRevision() != next.GetRevision() {
		t.Errorf("resumed ruleset has %d refs and %d sections at revision %d, want 4, 0, %d",
			len(resumed.GetManifest()), len(resumed.GetSections()), resumed.GetRevision(), next.GetRevision())
	}
}

func TestSyncMaxAge(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{Runtime: workers.Options{Sync: syncer.Options{MaxAge: 50 * time.Millisecond}}})
	s := syncStream(t, srv, srv.Creds.SDKKey, &sdkpb.Hello{SdkName: "test"})
	ack(t, s, recvRuleset(t, s).GetRevision())
	start := time.Now()
	if _, err := s.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("Recv after the maximum age = %v, want io.EOF (a clean end)", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("stream ended after %s, want about 50 ms", d)
	}
}

func TestSyncEndsWhenEnvironmentDeleted(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	s := syncStream(t, srv, keyOf(t, srv, "sdk", "staging"), &sdkpb.Hello{SdkName: "test"})
	ack(t, s, recvRuleset(t, s).GetRevision())
	srv.Admin(t, "DELETE", "/api/v1/projects/default/environments/staging", nil)
	for {
		_, err := s.Recv()
		if err == nil {
			continue
		}
		// Deleting the environment revokes its keys, or the hub notices the
		// environment is gone: either ends the stream.
		if c := status.Code(err); c != codes.NotFound && c != codes.Unauthenticated {
			t.Errorf("Recv after deleting the environment = %v, want NotFound or Unauthenticated", err)
		}
		return
	}
}

func TestConvergence(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	srv.Admin(t, "POST", "/api/v1/projects/default/flags", []byte(`{"key": "a", "type": "bool"}`))
	s := syncStream(t, srv, srv.Creds.SDKKey, &sdkpb.Hello{SdkName: "svc", SdkVersion: "1.2.3"})
	rs := recvRuleset(t, s)

	conv := sdkpb.NewSyncServiceClient(srv.Conn)
	admin := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+srv.Creds.AdminToken)
	req := &sdkpb.GetConvergenceRequest{Project: "default", Environment: "production"}
	got, err := conv.GetConvergence(admin, req)
	if err != nil {
		t.Fatalf("GetConvergence: %v", err)
	}
	if got.GetRevision() != rs.GetRevision() || got.GetConnected() != 1 || got.GetConverged() != 0 || len(got.GetStreams()) != 1 {
		t.Fatalf("GetConvergence before the ack = %v, want revision %d, 1 connected, 0 converged", got, rs.GetRevision())
	}
	st := got.GetStreams()[0]
	if st.GetSdkName() != "svc" || st.GetSdkVersion() != "1.2.3" || st.GetPeer() != "127.0.0.1" || st.GetId() == "" || st.GetKeyId() == "" || st.GetConnectedSince() == nil {
		t.Errorf("stream = %v, want svc 1.2.3 from 127.0.0.1 with an id, a key id and a time", st)
	}

	ack(t, s, rs.GetRevision())
	deadline := time.Now().Add(5 * time.Second)
	for got.GetConverged() != 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
		if got, err = conv.GetConvergence(admin, req); err != nil {
			t.Fatal(err)
		}
	}
	if got.GetConverged() != 1 || got.GetStreams()[0].GetAckedRevision() != rs.GetRevision() {
		t.Errorf("GetConvergence after the ack = %v, want 1 converged at %d", got, rs.GetRevision())
	}
	future := &sdkpb.GetConvergenceRequest{Project: "default", Environment: "production", Revision: rs.GetRevision() + 1}
	if got, err := conv.GetConvergence(admin, future); err != nil || got.GetConverged() != 0 || got.GetConnected() != 1 {
		t.Errorf("GetConvergence of a future revision = %v, %v; want 1 connected, 0 converged", got, err)
	}

	r := srv.Call(t, "GET", "/api/v1/projects/default/environments/production/convergence", srv.Creds.AdminToken, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("REST convergence = %d %s", r.Status, r.Body)
	}
	if m := r.JSON(t); m["connected"] != float64(1) || m["converged"] != float64(1) {
		t.Errorf("REST convergence = %s, want 1 connected and converged", r.Body)
	}

	errs := []struct {
		name string
		key  string
		req  *sdkpb.GetConvergenceRequest
		want codes.Code
	}{
		{"sdk key", srv.Creds.SDKKey, req, codes.PermissionDenied},
		{"unknown environment", srv.Creds.AdminToken, &sdkpb.GetConvergenceRequest{Project: "default", Environment: "nope"}, codes.NotFound},
		{"no environment", srv.Creds.AdminToken, &sdkpb.GetConvergenceRequest{Project: "default"}, codes.InvalidArgument},
		{"negative max", srv.Creds.AdminToken, &sdkpb.GetConvergenceRequest{Project: "default", Environment: "production", MaxStreams: -1}, codes.InvalidArgument},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tc.key)
			if _, err := conv.GetConvergence(ctx, tc.req); status.Code(err) != tc.want {
				t.Errorf("GetConvergence = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestSyncIdleStreamGoroutines pins what an idle SDK stream costs in
// goroutines, on the primary and on a relay (the same handlers): the SDKs
// run in a child process (TestSyncIdleClients), so that the change of
// runtime.NumGoroutine here is the servers' alone. Per stream the handler
// is the one goroutine of ours: no helper goroutine and no timer goroutine
// while idle (the hello's helper is gone once the hello is in, the maximum
// age is the hub's shared sweeper). With a connection per stream, as
// separate services connect, grpc-go adds its three per connection: the
// reader, the loopy writer and keepalive; so at most 4 per stream. With
// all streams over one connection, at most 1 per stream plus those three.
func TestSyncIdleStreamGoroutines(t *testing.T) {
	const streams = 40
	const slack = 10 // goroutines that come and go regardless of the streams (HTTP keep-alive, gRPC balancers)
	primary := servertest.Start(t, servertest.Options{})
	relayKey := primary.Admin(t, "POST", "/api/v1/keys", map[string]any{
		"name": "relay", "kind": "relay", "project": "default", "environments": []string{"production"},
	})["secret"].(string)
	relay := relaytest.Start(t, relaytest.Options{Upstream: primary.GRPCAddr, RelayKey: relayKey})
	waitFor(t, "the relay to accept the SDK key", func() bool {
		r := servertest.Do(t, "POST", relay.HTTPURL+"/ofrep/v1/evaluate/flags", `{"context":{"targetingKey":"u"}}`,
			"X-API-Key", primary.Creds.SDKKey)
		return r.Status == http.StatusOK
	})
	for _, tc := range []struct {
		name  string
		addr  string
		conns int // 0: one per stream
		max   int
	}{
		{"primary, a connection per stream", primary.GRPCAddr, 0, 4*streams + slack},
		{"primary, one connection", primary.GRPCAddr, 1, streams + 3 + slack},
		{"relay, a connection per stream", relay.GRPCAddr, 0, 4*streams + slack},
		{"relay, one connection", relay.GRPCAddr, 1, streams + 3 + slack},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := runtime.NumGoroutine()
			stop := idleClients(t, tc.addr, primary.Creds.SDKKey, streams, tc.conns)
			defer stop()
			// Goroutines of the connections' set-up end soon after; wait
			// for them, up to 10 s.
			added := runtime.NumGoroutine() - before
			for deadline := time.Now().Add(10 * time.Second); added > tc.max && time.Now().Before(deadline); {
				time.Sleep(10 * time.Millisecond)
				added = runtime.NumGoroutine() - before
			}
			if added > tc.max {
				t.Errorf("%d idle streams: %d goroutines more (%.2f per stream), want at most %d", streams, added, float64(added)/streams, tc.max)
			}
		})
	}
}

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// idleClientsEnv passes TestSyncIdleClients its address, key and counts.
const idleClientsEnv = "SWITCHYARD_TEST_IDLE_CLIENTS"

// idleClients runs, in a child process, n SDK clients streaming from addr
// with key over conns connections (0: one each), and returns once they
// are ready; stop ends the child.
func idleClients(t *testing.T, addr, key string, n, conns int) (stop func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSyncIdleClients$", "-test.count=1")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %s %d %d", idleClientsEnv, addr, key, n, conns))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stop = func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("clients process: %v", err)
		}
	}
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		if lines.Text() == "ready" {
			go io.Copy(io.Discard, stdout)
			return stop
		}
	}
	stop()
	t.Fatal("the clients process ended before its streams were ready")
	return nil
}

// TestSyncIdleClients is the child process of idleClients: it opens the
// streams, prints "ready" and keeps them idle until its stdin closes (or a
// minute has passed).
func TestSyncIdleClients(t *testing.T) {
	env := os.Getenv(idleClientsEnv)
	if env == "" {
		t.Skip("the child process of TestSyncIdleStreamGoroutines")
	}
	var addr, key string
	var n, conns int
	if _, err := fmt.Sscan(env, &addr, &key, &n, &conns); err != nil {
		t.Fatalf("%s=%q: %v", idleClientsEnv, env, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var shared []*grpc.ClientConn
	for range conns {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		shared = append(shared, conn)
	}
	for i := range n {
		cfg := sdk.Config{Address: addr, SDKKey: key, Name: "idle", Version: "1"}
		if len(shared) > 0 {
			cfg.Conn = shared[i%len(shared)]
		}
		cl, err := sdk.New(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		if err := cl.WaitReady(ctx); err != nil {
			t.Fatal(err)
		}
	}
	fmt.Println("ready")
	go func() { io.Copy(io.Discard, os.Stdin); cancel() }()
	<-ctx.Done()
}
