package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/server/servertest"
)

// openSync opens a sync stream with key and says hello.
func openSync(t *testing.T, srv *servertest.Server, key, sdkName string) sdkpb.SyncService_SyncClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+key)
	s, err := sdkpb.NewSyncServiceClient(srv.Conn).Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(&sdkpb.SyncRequest{Message: &sdkpb.SyncRequest_Hello{Hello: &sdkpb.Hello{SdkName: sdkName}}}); err != nil {
		t.Fatal(err)
	}
	return s
}

func sendReport(t *testing.T, s sdkpb.SyncService_SyncClient, r *sdkpb.RelayReport) {
	t.Helper()
	if err := s.Send(&sdkpb.SyncRequest{Message: &sdkpb.SyncRequest_RelayReport{RelayReport: r}}); err != nil {
		t.Fatalf("send report: %v", err)
	}
}

// convergenceOf polls the production environment's convergence at
// revision until it has connected streams (5 s at most).
func convergenceOf(t *testing.T, srv *servertest.Server, revision uint64, connected int) map[string]any {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c := srv.Admin(t, "GET", fmt.Sprintf("/api/v1/projects/default/environments/production/convergence?revision=%d", revision), nil)
		if fmt.Sprint(c["connected"]) == fmt.Sprint(connected) || time.Now().After(deadline) {
			return c
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestConvergenceCountsTheSDKsARelayReports(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	_, secret := relayKey(t, srv, "production")
	relay := openSync(t, srv, secret, "switchyard-relay")
	rev := recvRuleset(t, relay).GetRevision()
	// The report may come before the ack: a relay's stream is read all
	// the time.
	sendReport(t, relay, &sdkpb.RelayReport{
		Acked:   []*sdkpb.RevisionStreams{{Revision: 0, Streams: 1}, {Revision: rev, Streams: 2}},
		Streams: []*sdkpb.SdkStream{{Id: "s1", SdkName: "go", AckedRevision: 0}, {Id: "s2", SdkName: "go", AckedRevision: rev, Relay: "edge-paris"}},
	})
	ack(t, relay, rev)

	c := convergenceOf(t, srv, rev, 3)
	if c["connected"] != float64(3) || c["converged"] != float64(2) {
		t.Fatalf("convergence = %v, want the relay's 3 SDKs connected (not the relay), 2 converged", c)
	}
	streams := c["streams"].([]any)
	got := map[string]any{}
	for _, s := range streams {
		m := s.(map[string]any)
		got[fmt.Sprint(m["id"])] = m["relay"]
	}
	if want := map[string]any{"s1": "edge-eu", "s2": "edge-eu/edge-paris"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("listed streams' relays = %v, want %v", got, want)
	}

	// The report replaces the previous one.
	sendReport(t, relay, &sdkpb.RelayReport{Acked: []*sdkpb.RevisionStreams{{Revision: rev, Streams: 1}}})
	if c := convergenceOf(t, srv, rev, 1); c["connected"] != float64(1) || c["converged"] != float64(1) {
		t.Errorf("after a new report convergence = %v, want 1 of 1", c)
	}
}

func TestOnlyRelaysSendRelayReports(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	sdk := openSync(t, srv, srv.Creds.SDKKey, "go")
	recvRuleset(t, sdk)
	sendReport(t, sdk, &sdkpb.RelayReport{})
	if _, err := sdk.Recv(); status.Code(err) != codes.InvalidArgument {
		t.Errorf("Recv after an SDK's relay report = %v, want INVALID_ARGUMENT", err)
	}
	_, secret := relayKey(t, srv, "production")
	relay := openSync(t, srv, secret, "switchyard-relay")
	recvRuleset(t, relay)
	sendReport(t, relay, &sdkpb.RelayReport{Acked: []*sdkpb.RevisionStreams{{Revision: 1, Streams: -3}}})
	for {
		_, err := relay.Recv()
		if err != nil {
			if status.Code(err) != codes.InvalidArgument {
				t.Errorf("Recv after a bad relay report = %v, want INVALID_ARGUMENT", err)
			}
			break
		}
	}
}
