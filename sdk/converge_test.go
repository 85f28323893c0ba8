package sdk_test

import (
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/switchyard/switchyard/sdk"
	"github.com/switchyard/switchyard/server/servertest"
)

// TestManyStreamsConverge connects 1,000 clients (over 25 shared
// connections, to stay within the race detector's goroutine limit), makes
// one REST write and waits until the server's convergence report counts
// every stream as having applied it.
func TestManyStreamsConverge(t *testing.T) {
	const clients, conns = 1000, 25
	srv := servertest.Start(t, servertest.Options{})
	srv.Admin(t, "POST", "/api/v1/projects/default/flags", flagJSON("new-checkout"))
	setEnabled(t, srv, "new-checkout", false)

	shared := make([]*grpc.ClientConn, conns)
	for i := range shared {
		conn, err := grpc.NewClient(srv.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		shared[i] = conn
	}
	all := make([]*sdk.Client, clients)
	for i := range all {
		all[i] = newClient(t, sdk.Config{Conn: shared[i%conns], SDKKey: srv.Creds.SDKKey, Name: "converge", Version: strconv.Itoa(i)})
	}
	var wg sync.WaitGroup
	for _, c := range all {
		wg.Go(func() { waitReady(t, c) })
	}
	wg.Wait()

	setEnabled(t, srv, "new-checkout", true)
	p, _ := srv.Store.State().Project("default")
	env, _ := p.Environment("production")
	path := fmt.Sprintf("/api/v1/projects/default/environments/production/convergence?revision=%d", env.Revision)
	var last map[string]any
	eventuallyWithin(t, time.Minute, "every stream to converge", func() bool {
		last = srv.Admin(t, "GET", path, nil)
		return last["connected"] == float64(clients) && last["converged"] == float64(clients)
	})
	user := sdk.NewContext("user-1")
	for i, c := range all {
		if !c.Bool("new-checkout", user, false) || c.Revision() != env.Revision {
			t.Fatalf("client %d: Bool = false or revision %d, want true at revision %d", i, c.Revision(), env.Revision)
		}
	}
	if streams, _ := last["streams"].([]any); len(streams) != 100 {
		t.Errorf("convergence lists %d streams, want the default of 100", len(streams))
	}

	// Convergence counts only connected streams.
	for _, c := range all[:clients/2] {
		c.Close()
	}
	eventually(t, "closed streams to leave", func() bool {
		last = srv.Admin(t, "GET", path, nil)
		return last["connected"] == float64(clients/2) && last["converged"] == float64(clients/2)
	})
}
