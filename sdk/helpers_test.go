package sdk_test

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/switchyard/switchyard/sdk"
	"github.com/switchyard/switchyard/server/servertest"
)

// newClient creates a client for cfg and closes it when the test ends.
func newClient(t testing.TB, cfg sdk.Config) *sdk.Client {
	t.Helper()
	if cfg.Backoff.Initial == 0 {
		cfg.Backoff = sdk.Backoff{Initial: 20 * time.Millisecond, Max: 200 * time.Millisecond}
	}
	if cfg.Events.CloseTimeout == 0 {
		// Tests that stop the server do not wait long for it at Close.
		cfg.Events.CloseTimeout = 500 * time.Millisecond
	}
	c, err := sdk.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("sdk.New: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return c
}

// connect creates a client of srv with key and waits until it is ready.
func connect(t testing.TB, srv *servertest.Server, key string) *sdk.Client {
	t.Helper()
	c := newClient(t, sdk.Config{Address: srv.GRPCAddr, SDKKey: key})
	waitReady(t, c)
	return c
}

// waitReady waits up to 10 s for c to be ready.
func waitReady(t testing.TB, c *sdk.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		t.Fatalf("WaitReady: %v", err)
	}
}

// eventually polls cond every 10 ms for up to 10 s.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	eventuallyWithin(t, 10*time.Second, what, cond)
}

// eventuallyWithin is eventually with a bound of its own, for a wait whose
// work grows with the test's size (the bound is for a hang, not a speed).
func eventuallyWithin(t testing.TB, bound time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// flagJSON is a bool flag with explicit variants.
func flagJSON(key string) string {
	return strings.ReplaceAll(`{"key": "KEY", "type": "bool",
		"variants": [{"key": "on", "value": true}, {"key": "off", "value": false}]}`, "KEY", key)
}

// setEnabled turns a flag of the default project's production on or off,
// serving on when on.
func setEnabled(t testing.TB, srv *servertest.Server, flag string, on bool) {
	t.Helper()
	srv.Admin(t, "PATCH", "/api/v1/projects/default/flags/"+flag+"/environments/production", map[string]any{
		"enabled": on, "off_variant": "off", "default": map[string]any{"variant": "on"},
	})
}

// wireCount counts the bytes clients' TCP connections receive.
type wireCount struct {
	in atomic.Int64
}

// dialer is a dial option whose connections count into w.
func (w *wireCount) dialer() grpc.DialOption {
	return grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		return countingConn{Conn: conn, in: &w.in}, nil
	})
}

// countingConn counts what it reads.
type countingConn struct {
	net.Conn
	in *atomic.Int64
}

// Read reads from the connection and counts the bytes.
func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.in.Add(int64(n))
	return n, err
}
