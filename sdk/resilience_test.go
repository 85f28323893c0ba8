package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/switchyard/switchyard/internal/runtime"
	"github.com/switchyard/switchyard/internal/syncer"
	"github.com/switchyard/switchyard/sdk"
	"github.com/switchyard/switchyard/server/servertest"
)

// statusLog records a client's status changes.
type statusLog struct {
	mu   sync.Mutex
	seen []sdk.Status
}

func watchStatus(c *sdk.Client) *statusLog {
	l := &statusLog{}
	c.OnStatusChange(func(s sdk.Status, _ error) {
		l.mu.Lock()
		l.seen = append(l.seen, s)
		l.mu.Unlock()
	})
	return l
}

func (l *statusLog) all() []sdk.Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]sdk.Status(nil), l.seen...)
}

// countSyncs is a dial option counting the sync streams a client opens.
func countSyncs(n *atomic.Int32) grpc.DialOption {
	return grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		n.Add(1)
		return streamer(ctx, desc, cc, method, opts...)
	})
}

func TestServerStopAndRestart(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	srv.Admin(t, "POST", "/api/v1/projects/default/flags", flagJSON("new-checkout"))
	setEnabled(t, srv, "new-checkout", true)
	c := connect(t, srv, srv.Creds.SDKKey)
	user := sdk.NewContext("user-1")
	before := c.Revision()

	srv.Stop()
	eventually(t, "status STALE", func() bool { return c.Status() == sdk.StatusStale })
	if got := c.BoolDetail("new-checkout", user, false); !got.Value || got.Revision != before {
		t.Errorf("BoolDetail while the server is down = %+v, want true at revision %d", got, before)
	}
	if c.Err() == nil {
		t.Error("Err() = nil while STALE, want the connection error")
	}

	srv = srv.Restart(t)
	setEnabled(t, srv, "new-checkout", false)
	eventually(t, "the change after the restart", func() bool {
		return !c.Bool("new-checkout", user, true) && c.Status() == sdk.StatusReady
	})
	if c.Revision() <= before {
		t.Errorf("Revision() = %d after the restart, want above %d", c.Revision(), before)
	}
}

func TestCacheFileWhenServerDown(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	srv.Admin(t, "POST", "/api/v1/projects/default/flags", flagJSON("new-checkout"))
	setEnabled(t, srv, "new-checkout", true)
	cache := filepath.Join(t.TempDir(), "switchyard.cache")
	first := newClient(t, sdk.Config{Address: srv.GRPCAddr, SDKKey: srv.Creds.SDKKey, CacheFile: cache})
	waitReady(t, first)
	revision := first.Revision()
	eventually(t, "the cache file", func() bool { _, err := os.Stat(cache); return err == nil })
	info, err := os.Stat(cache)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("cache file mode = %o, want 600", mode)
	}
	first.Close()
	srv.Stop()

	user := sdk.NewContext("user-1")
	tests := []struct {
		name     string
		key      string
		status   sdk.Status
		value    bool
		revision uint64
	}{
		{"same key serves the cache", srv.Creds.SDKKey, sdk.StatusStale, true, revision},
		{"other key ignores it", "sys_other", sdk.StatusNotReady, false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, sdk.Config{Address: srv.GRPCAddr, SDKKey: tc.key, CacheFile: cache})
			if st := c.Status(); st != tc.status {
				t.Errorf("Status() = %s, want %s", st, tc.status)
			}
			if got := c.BoolDetail("new-checkout", user, false); got.Value != tc.value || got.Revision != tc.revision {
				t.Errorf("BoolDetail = %+v, want value %v at revision %d", got, tc.value, tc.revision)
			}
		})
	}
}

// TestSectionsAreNotResent pins the protocol's economy with a segment of
// 20,000 keys: a one-flag change does not resend it, and neither does a
// restart from the cache file.
func TestSectionsAreNotResent(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	keys := make([]string, 20000)
	for i := range keys {
		keys[i] = fmt.Sprintf("user-%d", i)
	}
	srv.Admin(t, "POST", "/api/v1/projects/default/segments", map[string]any{"key": "big", "include": keys})
	srv.Admin(t, "POST", "/api/v1/projects/default/flags", flagJSON("new-checkout"))
	cache := filepath.Join(t.TempDir(), "switchyard.cache")
	var wire wireCount
	cfg := sdk.Config{Address: srv.GRPCAddr, SDKKey: srv.Creds.SDKKey, CacheFile: cache, DialOptions: []grpc.DialOption{wire.dialer()}}

	first := newClient(t, cfg)
	changed := make(chan sdk.Change, 8)
	first.OnChange(func(ch sdk.Change) { changed <- ch })
	waitReady(t, first)
	if in := wire.in.Load(); in < 64<<10 {
		t.Fatalf("first sync received %d bytes, want the segment's 64 KiB or more (200 KiB of keys, gzip-compressed)", in)
	}
	eventually(t, "the cache file", func() bool { _, err := os.Stat(cache); return err == nil })
	before := first.Revision()
	wire.in.Store(0)
	setEnabled(t, srv, "new-checkout", true)
	// The first ruleset's change may come after WaitReady: wait for the
	// new revision's.
	for waiting := true; waiting; {
		select {
		case ch := <-changed:
			waiting = ch.Revision <= before
		case <-time.After(10 * time.Second):
			t.Fatal("the change did not reach the client")
		}
	}
	if in := wire.in.Load(); in > 4<<10 {
		t.Errorf("a one-flag change received %d bytes, want under 4 KiB", in)
	}
	first.Close()

	wire.in.Store(0)
	var changes atomic.Int32
	second := newClient(t, cfg)
	second.OnChange(func(sdk.Change) { changes.Add(1) })
	waitReady(t, second)
	if in := wire.in.Load(); in > 4<<10 {
		t.Errorf("resuming from the cache file received %d bytes, want under 4 KiB", in)
	}
	if n := changes.Load(); n != 0 {
		t.Errorf("OnChange called %d times on resuming the cached revision, want 0", n)
	}
}

func TestRefusedKey(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	client := newSecret(t, srv, map[string]any{"name": "c", "kind": "client", "project": "default", "environment": "production"})
	tests := []struct {
		name string
		key  string
	}{
		{"unknown key", "sys_unknown"},
		{"client key", client},
		{"admin token", srv.Creds.AdminToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var syncs atomic.Int32
			c := newClient(t, sdk.Config{
				Address: srv.GRPCAddr, SDKKey: tc.key,
				DialOptions: []grpc.DialOption{countSyncs(&syncs)},
				Backoff:     sdk.Backoff{Initial: time.Millisecond, Max: 10 * time.Millisecond},
			})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := c.WaitReady(ctx)
			if !errors.Is(err, sdk.ErrKeyRefused) || c.Status() != sdk.StatusError {
				t.Fatalf("WaitReady = %v with status %s, want ErrKeyRefused and ERROR", err, c.Status())
			}
			if !errors.Is(c.Err(), sdk.ErrKeyRefused) {
				t.Errorf("Err() = %v, want ErrKeyRefused", c.Err())
			}
			time.Sleep(300 * time.Millisecond) // 30 backoff ceilings
			if n := syncs.Load(); n != 1 {
				t.Errorf("%d sync streams opened, want 1 (no retry storm)", n)
			}
			if got := c.BoolDetail("anything", nil, true); !got.Value || got.ErrorCode != sdk.ErrorProviderNotReady {
				t.Errorf("BoolDetail = %+v, want the default with PROVIDER_NOT_READY", got)
			}
		})
	}
}

// newSecret creates an API key and returns its secret and id.
func newSecret(t *testing.T, srv *servertest.Server, key map[string]any) string {
	t.Helper()
	secret, _ := newKey(t, srv, key)
	return secret
}

func newKey(t *testing.T, srv *servertest.Server, key map[string]any) (secret, id string) {
	t.Helper()
	resp := srv.Admin(t, "POST", "/api/v1/keys", key)
	k, _ := resp["key"].(map[string]any)
	secret, _ = resp["secret"].(string)
	id, _ = k["id"].(string)
	if secret == "" || id == "" {
		t.Fatalf("POST /api/v1/keys = %v, want a secret and a key id", resp)
	}
	return secret, id
}

func TestKeyRevokedWhileStreaming(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	secret, id := newKey(t, srv, map[string]any{"name": "s", "kind": "sdk", "project": "default", "environment": "production"})
	c := connect(t, srv, secret)
	srv.Admin(t, "DELETE", "/api/v1/keys/"+id, nil)
	eventually(t, "status ERROR", func() bool { return c.Status() == sdk.StatusError })
	if !errors.Is(c.Err(), sdk.ErrKeyRefused) {
		t.Errorf("Err() = %v, want ErrKeyRefused", c.Err())
	}
}

func TestMaxAgeReconnectIsInvisible(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{Runtime: runtime.Options{Sync: syncer.Options{MaxAge: 100 * time.Millisecond}}})
	srv.Admin(t, "POST", "/api/v1/projects/default/flags", flagJSON("new-checkout"))
	setEnabled(t, srv, "new-checkout", true)
	var syncs, changes atomic.Int32
	c := newClient(t, sdk.Config{
		Address: srv.GRPCAddr, SDKKey: srv.Creds.SDKKey, DialOptions: []grpc.DialOption{countSyncs(&syncs)},
	})
	waitReady(t, c)
	statuses := watchStatus(c)
	c.OnChange(func(sdk.Change) { changes.Add(1) })
	user := sdk.NewContext("user-1")
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		if got := c.BoolDetail("new-checkout", user, false); !got.Value || got.ErrorCode != "" {
			t.Fatalf("BoolDetail during stream rotation = %+v, want true", got)
		}
		time.Sleep(time.Millisecond)
	}
	if n := syncs.Load(); n < 4 {
		t.Errorf("%d sync streams in 1 s with a maximum age of 100 ms, want at least 4", n)
	}
	if seen := statuses.all(); len(seen) > 0 {
		t.Errorf("status changes %v during stream rotation, want none", seen)
	}
	if n := changes.Load(); n != 0 {
		t.Errorf("OnChange called %d times without a change, want 0", n)
	}
	setEnabled(t, srv, "new-checkout", false)
	eventually(t, "a change after rotations", func() bool { return !c.Bool("new-checkout", user, true) })
}

func TestBootstrapUntilServerAnswers(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	srv.Admin(t, "POST", "/api/v1/projects/default/flags", flagJSON("new-checkout"))
	setEnabled(t, srv, "new-checkout", true)
	doc := []byte(`{"version": 1, "project": "default", "environments": ["production"],
		"flags": [{"key": "new-checkout", "type": "bool", "environments": {"production": {"enabled": false}}}]}`)

	c := newClient(t, sdk.Config{Address: srv.GRPCAddr, SDKKey: srv.Creds.SDKKey, Bootstrap: doc})
	user := sdk.NewContext("user-1")
	// Revision 0 is the bootstrap document (unless the server was faster).
	if got := c.BoolDetail("new-checkout", user, true); got.Revision == 0 && (got.Value || got.Reason != sdk.ReasonDisabled) {
		t.Errorf("BoolDetail on the bootstrap document = %+v, want off/DISABLED", got)
	}
	waitReady(t, c)
	if got := c.BoolDetail("new-checkout", user, false); !got.Value || got.Revision == 0 {
		t.Errorf("BoolDetail after the server answered = %+v, want the server's on", got)
	}
}

func TestBootstrapWhileServerDown(t *testing.T) {
	doc := []byte(`{"version": 1, "project": "default", "environments": ["production"],
		"flags": [{"key": "new-checkout", "type": "bool", "environments": {"production": {"enabled": true, "default": {"variant": "on"}}}}]}`)
	c := newClient(t, sdk.Config{Address: "127.0.0.1:1", SDKKey: "sys_x", Bootstrap: doc})
	if st := c.Status(); st != sdk.StatusStale {
		t.Errorf("Status() = %s, want STALE", st)
	}
	if !c.Bool("new-checkout", sdk.NewContext("u"), false) {
		t.Error("Bool = false, want the bootstrap document's true")
	}
}

// TestListenersMayCallWaitReady: a listener told of READY (and of the
// change that came with it) may call WaitReady, which answers at once: the
// status is settled before listeners are told.
func TestListenersMayCallWaitReady(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	srv.Admin(t, "POST", "/api/v1/projects/default/flags", flagJSON("new-checkout"))
	c := connect(t, srv, srv.Creds.SDKKey)
	srv.Stop()
	eventually(t, "status STALE", func() bool { return c.Status() == sdk.StatusStale })

	waited := make(chan error, 2)
	wait := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		waited <- c.WaitReady(ctx)
	}
	c.OnStatusChange(func(s sdk.Status, _ error) {
		if s == sdk.StatusReady {
			wait()
		}
	})
	c.OnChange(func(sdk.Change) { wait() })
	srv = srv.Restart(t)
	setEnabled(t, srv, "new-checkout", true)
	for range 2 {
		select {
		case err := <-waited:
			if err != nil {
				t.Errorf("WaitReady in a listener = %v, want nil", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no listener was told of READY and a change within 10 s")
		}
	}
}
