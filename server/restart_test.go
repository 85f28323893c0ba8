package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/server/servertest"
)

// sdkStreams opens n sync streams on a connection of their own (as SDKs
// have: stopping the test server closes only its own connection), acks the
// revision each receives and returns it.
func sdkStreams(t *testing.T, srv *servertest.Server, n int) uint64 {
	t.Helper()
	conn, err := grpc.NewClient(srv.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(func() { cancel(); conn.Close() })
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+srv.Creds.SDKKey)
	var rev uint64
	for range n {
		s, err := sdkpb.NewSyncServiceClient(conn).Sync(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Send(&sdkpb.SyncRequest{Message: &sdkpb.SyncRequest_Hello{Hello: &sdkpb.Hello{SdkName: "go"}}}); err != nil {
			t.Fatal(err)
		}
		rev = recvRuleset(t, s).GetRevision()
		ack(t, s, rev)
	}
	return rev
}

// waitConverged polls the production environment's convergence until n
// SDKs are connected and have acknowledged its revision (5 s at most).
func waitConverged(t *testing.T, srv *servertest.Server, n int) {
	t.Helper()
	want := fmt.Sprint(n, " ", n)
	deadline := time.Now().Add(5 * time.Second)
	for {
		env := srv.Admin(t, "GET", "/api/v1/projects/default/environments/production/convergence", nil)
		if fmt.Sprint(env["connected"], " ", env["converged"]) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("convergence %v, want %d connected and converged", env, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestConvergenceAfterARestartWaitsForTheSDKsConnectedBefore(t *testing.T) {
	first := servertest.Start(t, servertest.Options{})
	first.Admin(t, "POST", "/api/v1/documents:import", releaseDoc)
	first.Admin(t, "POST", "/api/v1/projects/default/releases", `{"id": "spring", "environment": "production", "release_notes": "n",
	  "items": [{"flag": "new-checkout", "variant": "on"}],
	  "plan": [{"weight": 10000, "min_convergence": 1}, {"weight": 100000}]}`)
	first.Admin(t, "POST", releasePath("spring", "start"), `{}`)
	sdkStreams(t, first, 3)
	waitConverged(t, first, 3)

	second := first.Restart(t)
	r := second.Call(t, "POST", releasePath("spring", "advance"), second.Creds.AdminToken, `{}`)
	if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "0 of 3 returned") {
		t.Fatalf("advance right after the restart = %d %s, want it refused while the 3 SDKs are awaited", r.Status, r.Body)
	}
	sdkStreams(t, second, 3)
	waitConverged(t, second, 3)
	got := second.Admin(t, "POST", releasePath("spring", "advance"), `{}`)
	c := got["verification"].([]any)[0].(map[string]any)["convergence"].(map[string]any)
	if got["stage"] != float64(2) || c["basis"] != "returned" || c["expected"] != float64(3) || c["connected"] != float64(3) {
		t.Errorf("after the SDKs returned: stage %v, convergence %v; want stage 2 recorded as waited for 3 returning SDKs", got["stage"], c)
	}
}
