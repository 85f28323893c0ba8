package server_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/internal/runtime"
	"github.com/switchyard/switchyard/internal/syncer"
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
	srv := servertest.Start(t, servertest.Options{Runtime: runtime.Options{Sync: syncer.Options{MaxAge: 50 * time.Millisecond}}})
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
