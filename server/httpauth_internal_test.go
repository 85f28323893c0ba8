package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"

	"golang.org/x/sync/errgroup"

	"github.com/switchyard/switchyard/internal/bootstrap"
	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
	"github.com/switchyard/switchyard/internal/eventlog"
	"github.com/switchyard/switchyard/internal/eventlog/boltlog"
	"github.com/switchyard/switchyard/internal/runtime"
	"github.com/switchyard/switchyard/internal/snapshot"
)

// countingKeyring counts the lookups of keys by their secret's hash.
type countingKeyring struct {
	Keyring
	lookups *atomic.Int64
}

func (k countingKeyring) KeyByHash(hash string) (*domain.APIKey, bool) {
	k.lookups.Add(1)
	return k.Keyring.KeyByHash(hash)
}

// serveCounting serves a bootstrapped store on loopback with a keyring
// that counts key lookups, until the test ends. It returns the HTTP base
// URL, the bootstrap credentials and the lookup counter. (An internal
// test: the keyring is the server's own seam.)
func serveCounting(t *testing.T) (string, bootstrap.Credentials, *atomic.Int64) {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	rulesets := snapshot.NewSet(log)
	st, file := domaintest.OpenBolt(t, filepath.Join(t.TempDir(), "switchyard.db"), domain.Options{OnCommit: rulesets.Apply})
	rulesets.Apply(st.State(), nil)
	creds, _, err := bootstrap.Run(context.Background(), st, bootstrap.Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := runtime.New(log, st, rulesets, runtime.Options{Events: boltlog.New(file, eventlog.Options{})})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(log, st, rulesets, rt)
	if err != nil {
		t.Fatal(err)
	}
	lookups := new(atomic.Int64)
	s.keys = func() Keyring { return countingKeyring{Keyring: st.State(), lookups: lookups} }
	grpcLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	httpLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	g, ctx := errgroup.WithContext(ctx)
	drained := make(chan struct{})
	g.Go(func() error { return rt.Run(ctx, drained) })
	g.Go(func() error {
		defer close(drained)
		return s.Serve(ctx, grpcLis, httpLis)
	})
	t.Cleanup(func() {
		cancel()
		if err := g.Wait(); err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return "http://" + httpLis.Addr().String(), creds, lookups
}

// call sends a JSON request with key as bearer token ("" for none) and
// returns the status and the decoded answer.
func call(t *testing.T, method, url, key, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(data, &m)
	return resp.StatusCode, m
}

// TestRESTCallLooksUpItsKeyOnce pins that a REST call through the gateway
// is authenticated once, at the edge, whatever its outcome: the gateway's
// gRPC call takes the principal the edge found.
func TestRESTCallLooksUpItsKeyOnce(t *testing.T) {
	base, creds, lookups := serveCounting(t)
	tests := []struct {
		name, method, path, key, body string
		wantStatus                    int
		wantLookups                   int64
	}{
		{"read", "GET", "/api/v1/projects", creds.AdminToken, "", http.StatusOK, 1},
		{"write", "POST", "/api/v1/projects/default/flags", creds.AdminToken, `{"key":"once","type":"bool"}`, http.StatusOK, 1},
		{"evaluate with an SDK key", "POST", "/api/v1/evaluate", creds.SDKKey, `{"flag":"once","context":{"targetingKey":"u"}}`, http.StatusOK, 1},
		{"unknown key", "GET", "/api/v1/projects", "sy_admin_unknown", "", http.StatusUnauthorized, 1},
		{"key without the role", "GET", "/api/v1/projects", creds.SDKKey, "", http.StatusForbidden, 1},
		{"no key", "GET", "/api/v1/projects", "", "", http.StatusUnauthorized, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lookups.Store(0)
			status, body := call(t, tc.method, base+tc.path, tc.key, tc.body)
			if status != tc.wantStatus {
				t.Errorf("%s %s = %d %v, want %d", tc.method, tc.path, status, body, tc.wantStatus)
			}
			if got := lookups.Load(); got != tc.wantLookups {
				t.Errorf("%s %s looked up %d keys, want %d", tc.method, tc.path, got, tc.wantLookups)
			}
		})
	}

	// The audit names the caller the edge authenticated.
	_, keys := call(t, "GET", base+"/api/v1/keys", creds.AdminToken, "")
	var adminID, adminName string
	for _, k := range keys["keys"].([]any) {
		if k := k.(map[string]any); k["kind"] == "admin" {
			adminID, adminName = k["id"].(string), k["name"].(string)
		}
	}
	_, audit := call(t, "GET", base+"/api/v1/audit-events?project=default&resource=projects/default/flags/once", creds.AdminToken, "")
	events, _ := audit["events"].([]any)
	if len(events) != 1 {
		t.Fatalf("audit events of flags/once = %v, want 1", audit)
	}
	ev := events[0].(map[string]any)
	who := []any{ev["actor"], ev["actor_key"], ev["actor_principal"], ev["role"], ev["peer"]}
	want := []any{adminName, adminID, "admin", "admin", "127.0.0.1"}
	for i := range who {
		if who[i] != want[i] {
			t.Errorf("audit actor, key, principal, role, peer = %v, want %v", who, want)
			break
		}
	}
}
