// Package relaytest runs real relays on loopback for tests and benchmarks:
// gRPC and HTTP on 127.0.0.1, a data directory in a test directory, and
// the upstream a servertest primary or another relay.
package relaytest

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/switchyard/switchyard/internal/relay"
	"github.com/switchyard/switchyard/sdk"
	"github.com/switchyard/switchyard/server"
)

// Options configures Start. Upstream and RelayKey are required.
type Options struct {
	// Upstream is the gRPC address to follow.
	Upstream string
	// RelayKey is the relay key to follow with.
	RelayKey string
	// DataDir is the relay's data directory; "" means a new t.TempDir().
	DataDir string
	// GRPCAddr and HTTPAddr are the listen addresses; "" means
	// 127.0.0.1:0.
	GRPCAddr, HTTPAddr string
	// Server are options of the relay's server.
	Server []server.Option
	// Log receives the relay's log; nil discards it.
	Log *slog.Logger
}

// Relay is a running relay.
type Relay struct {
	// HTTPURL is the base URL of OFREP and availability, e.g.
	// http://127.0.0.1:4321.
	HTTPURL string
	// GRPCAddr is the gRPC address.
	GRPCAddr string
	// Conn is a gRPC client connection to the relay.
	Conn *grpc.ClientConn
	// DataDir is the relay's data directory.
	DataDir string
	// Relay is the relay itself.
	Relay *relay.Relay

	opts    Options
	t       testing.TB
	stopped bool
	cancel  context.CancelFunc
	done    chan error
}

// Start starts a relay and serves until Stop or the end of the test. Its
// reconnection backoff is short (50 ms to 500 ms), for tests that stop and
// start upstreams.
func Start(t testing.TB, opts Options) *Relay {
	t.Helper()
	if opts.DataDir == "" {
		opts.DataDir = t.TempDir()
	}
	if opts.GRPCAddr == "" {
		opts.GRPCAddr = "127.0.0.1:0"
	}
	if opts.HTTPAddr == "" {
		opts.HTTPAddr = "127.0.0.1:0"
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r, err := relay.New(relay.Config{
		Upstream: opts.Upstream,
		RelayKey: opts.RelayKey,
		DataDir:  opts.DataDir,
		Backoff:  sdk.Backoff{Initial: 50 * time.Millisecond, Max: 500 * time.Millisecond},
		Server:   opts.Server,
		Log:      log,
	})
	if err != nil {
		t.Fatal(err)
	}
	grpcLis := listen(t, opts.GRPCAddr)
	httpLis := listen(t, opts.HTTPAddr)
	ctx, cancel := context.WithCancel(context.Background())
	rl := &Relay{
		HTTPURL:  "http://" + httpLis.Addr().String(),
		GRPCAddr: grpcLis.Addr().String(),
		DataDir:  opts.DataDir,
		Relay:    r,
		t:        t,
		cancel:   cancel,
		done:     make(chan error, 1),
	}
	rl.opts = opts
	rl.opts.GRPCAddr, rl.opts.HTTPAddr = rl.GRPCAddr, httpLis.Addr().String()
	go func() { rl.done <- r.Run(ctx, grpcLis, httpLis) }()
	rl.Conn, err = grpc.NewClient(rl.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rl.Stop)
	return rl
}

// Stop stops the relay and waits for it (up to 15 s). Stopping twice is
// fine.
func (r *Relay) Stop() {
	if r.stopped {
		return
	}
	r.stopped = true
	r.Conn.Close()
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			r.t.Errorf("relay Run: %v", err)
		}
	case <-time.After(15 * time.Second):
		r.t.Error("relay did not stop within 15 s")
	}
}

// Restart stops the relay and starts a new one on the same data directory
// and addresses.
func (r *Relay) Restart(t testing.TB) *Relay {
	t.Helper()
	r.Stop()
	// Kept-alive connections to the stopped relay are dead.
	http.DefaultClient.CloseIdleConnections()
	return Start(t, r.opts)
}

// listen listens on addr, retrying for a while when a restarted relay's
// port is not free yet.
func listen(t testing.TB, addr string) net.Listener {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		lis, err := net.Listen("tcp", addr)
		if err == nil {
			return lis
		}
		if time.Now().After(deadline) {
			t.Fatalf("listen %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
