package relay_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/switchyard/switchyard/internal/conformance"
	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/internal/relay/relaytest"
	"github.com/switchyard/switchyard/server/servertest"
)

// TestRelayAvailabilityConformance asks every availability vector at a
// relay and at the primary, with a client key, over HTTP and gRPC: the
// answers, ETags included, are the same bytes, and the primary's ETag is
// answered 304 at the relay.
func TestRelayAvailabilityConformance(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(conformance.Dir(t, "availability"), "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no availability vectors (%v)", err)
	}
	primary := servertest.Start(t, servertest.Options{})
	for _, path := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".json"), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var vf struct {
				Document json.RawMessage `json:"document"`
				Cases    []struct {
					Environment    string          `json:"environment"`
					Component      string          `json:"component"`
					Context        json.RawMessage `json:"context"`
					CurrentVersion *string         `json:"current_version"`
				} `json:"cases"`
			}
			if err := json.Unmarshal(data, &vf); err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Project      string   `json:"project"`
				Environments []string `json:"environments"`
			}
			if err := json.Unmarshal(vf.Document, &doc); err != nil {
				t.Fatal(err)
			}
			primary.Admin(t, "POST", "/api/v1/documents:import", map[string]any{"document": vf.Document})
			keys := map[string]string{}
			for _, env := range doc.Environments {
				keys[env] = primary.Admin(t, "POST", "/api/v1/keys", map[string]any{
					"name": "app", "kind": "client", "project": doc.Project, "environment": env,
				})["secret"].(string)
			}
			r := relaytest.Start(t, relaytest.Options{Upstream: primary.GRPCAddr, RelayKey: relayKey(t, primary, doc.Project, doc.Environments...)})
			caughtUp(t, primary, r, doc.Project, doc.Environments...)
			for _, env := range doc.Environments {
				accepts(t, r, keys[env])
			}
			if len(vf.Cases) == 0 {
				t.Fatal("no cases")
			}
			for i, tc := range vf.Cases {
				body := map[string]any{}
				if len(tc.Context) > 0 {
					body["context"] = tc.Context
				}
				if tc.CurrentVersion != nil {
					body["current_version"] = *tc.CurrentVersion
				}
				path := "/api/v1/components/" + url.PathEscape(tc.Component) + "/availability"
				want := servertest.Do(t, "POST", primary.HTTPURL+path, body, "X-API-Key", keys[tc.Environment])
				got := servertest.Do(t, "POST", r.HTTPURL+path, body, "X-API-Key", keys[tc.Environment])
				if got.Status != want.Status || string(got.Body) != string(want.Body) || got.Header.Get("ETag") != want.Header.Get("ETag") {
					t.Errorf("case %d: availability %s/%s at the relay = %d %s (ETag %s), at the primary %d %s (ETag %s)",
						i, tc.Environment, tc.Component, got.Status, got.Body, got.Header.Get("ETag"), want.Status, want.Body, want.Header.Get("ETag"))
				}
				if etag := want.Header.Get("ETag"); etag != "" {
					h := []string{"X-API-Key", keys[tc.Environment], "If-None-Match", etag}
					if again := servertest.Do(t, "POST", r.HTTPURL+path, body, h...); again.Status != http.StatusNotModified {
						t.Errorf("case %d: availability at the relay with the primary's ETag = %d, want 304", i, again.Status)
					}
				}
				req := &sdkpb.GetAvailabilityRequest{Component: tc.Component}
				if tc.CurrentVersion != nil {
					req.CurrentVersion = *tc.CurrentVersion
				}
				if len(tc.Context) > 0 {
					req.Context = &structpb.Struct{}
					if err := protojson.Unmarshal(tc.Context, req.Context); err != nil {
						t.Fatal(err)
					}
				}
				wantRes, wantErr := sdkpb.NewAvailabilityServiceClient(primary.Conn).GetAvailability(withKey(keys[tc.Environment]), req)
				gotRes, gotErr := sdkpb.NewAvailabilityServiceClient(r.Conn).GetAvailability(withKey(keys[tc.Environment]), req)
				if !proto.Equal(gotRes, wantRes) || status.Code(gotErr) != status.Code(wantErr) {
					t.Errorf("case %d: gRPC GetAvailability %s/%s at the relay = %v %v, at the primary %v %v",
						i, tc.Environment, tc.Component, gotRes, gotErr, wantRes, wantErr)
				}
			}
		})
	}
}

// TestRelayOFREPBulkETag: a relay's bulk answers carry an ETag, and the
// ETag sent back is answered 304 until the primary changes something.
func TestRelayOFREPBulkETag(t *testing.T) {
	primary := servertest.Start(t, servertest.Options{})
	darkMode(t, primary)
	r := relaytest.Start(t, relaytest.Options{Upstream: primary.GRPCAddr, RelayKey: relayKey(t, primary, "default", "production")})
	caughtUp(t, primary, r, "default", "production")
	key := primary.Creds.SDKKey
	accepts(t, r, key)
	bulk := func(etag string) servertest.Response {
		h := []string{"X-API-Key", key}
		if etag != "" {
			h = append(h, "If-None-Match", etag)
		}
		return servertest.Do(t, "POST", r.HTTPURL+"/ofrep/v1/evaluate/flags", `{"context":{"targetingKey":"u"}}`, h...)
	}
	first := bulk("")
	etag := first.Header.Get("ETag")
	if first.Status != http.StatusOK || etag == "" || !strings.Contains(string(first.Body), `"dark-mode"`) {
		t.Fatalf("bulk OFREP at the relay = %d %s (ETag %q), want 200 with dark-mode and an ETag", first.Status, first.Body, etag)
	}
	if again := bulk(etag); again.Status != http.StatusNotModified {
		t.Errorf("bulk OFREP with If-None-Match at the relay = %d, want 304", again.Status)
	}
	setDarkMode(t, primary, false)
	caughtUp(t, primary, r, "default", "production")
	if changed := bulk(etag); changed.Status != http.StatusOK || !strings.Contains(string(changed.Body), `"value":false`) {
		t.Errorf("bulk OFREP after a change on the primary = %d %s, want 200 with false", changed.Status, changed.Body)
	}
}

// TestRelayFansOut: many SDKs behind a relay are one stream on the primary.
func TestRelayFansOut(t *testing.T) {
	primary := servertest.Start(t, servertest.Options{})
	darkMode(t, primary)
	r := relaytest.Start(t, relaytest.Options{Upstream: primary.GRPCAddr, RelayKey: relayKey(t, primary, "default", "production")})
	caughtUp(t, primary, r, "default", "production")
	key := primary.Creds.SDKKey
	accepts(t, r, key)
	for range 5 {
		connect(t, r.GRPCAddr, key)
	}
	primaryMetrics := string(servertest.Do(t, "GET", primary.HTTPURL+"/metrics", nil).Body)
	for _, line := range []string{
		`switchyard_sync_streams{environment="production",kind="relay",project="default"} 1`,
		`switchyard_sync_streams{environment="production",kind="sdk",project="default"} 0`,
	} {
		if !strings.Contains(primaryMetrics, line) {
			t.Errorf("primary metrics lack %q: 5 SDKs behind one relay are one stream on the primary", line)
		}
	}
	// Convergence counts the SDKs behind the relay, as the relay reports
	// them.
	eventually(t, "the primary counts the 5 SDKs behind the relay", func() bool {
		conv := primary.Admin(t, "GET", "/api/v1/projects/default/environments/production/convergence", nil)
		return conv["connected"] == float64(5)
	})
	metrics := string(servertest.Do(t, "GET", r.HTTPURL+"/metrics", nil).Body)
	if line := `switchyard_relay_streams{environment="production",project="default"} 5`; !strings.Contains(metrics, line) {
		t.Errorf("relay metrics lack %q", line)
	}
}

// TestRelayOFREPEventStream: the event stream a relay's bulk answer
// advertises works at the relay and announces a change made on the
// primary.
func TestRelayOFREPEventStream(t *testing.T) {
	primary := servertest.Start(t, servertest.Options{})
	darkMode(t, primary)
	r := relaytest.Start(t, relaytest.Options{Upstream: primary.GRPCAddr, RelayKey: relayKey(t, primary, "default", "production")})
	caughtUp(t, primary, r, "default", "production")
	key := primary.Creds.SDKKey
	accepts(t, r, key)
	answer := servertest.Do(t, "POST", r.HTTPURL+"/ofrep/v1/evaluate/flags", `{"context":{"targetingKey":"u"}}`, "X-API-Key", key)
	var bulk struct {
		EventStreams []struct {
			Endpoint struct {
				RequestURI string `json:"requestUri"`
			} `json:"endpoint"`
		} `json:"eventStreams"`
	}
	if err := json.Unmarshal(answer.Body, &bulk); err != nil || len(bulk.EventStreams) == 0 {
		t.Fatalf("bulk answer at the relay advertises no event stream: %v %s", err, answer.Body)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", r.HTTPURL+bulk.EventStreams[0].Endpoint.RequestURI, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET the event stream at the relay = %d, want 200", resp.StatusCode)
	}
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	// The first event names the current revision; a change names the next.
	before := primary.Rulesets.Get("default", "production").Revision
	waitLine(t, lines, "id: "+strconv.FormatUint(before, 10))
	setDarkMode(t, primary, false)
	after := primary.Rulesets.Get("default", "production").Revision
	waitLine(t, lines, "id: "+strconv.FormatUint(after, 10))
}

// waitLine reads lines until want, for up to 10 s.
func waitLine(t *testing.T, lines <-chan string, want string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("stream ended before %q", want)
			}
			if line == want {
				return
			}
		case <-timeout:
			t.Fatalf("no %q within 10 s", want)
		}
	}
}

// lbDoc is a flag and a component in production, for the load balancer
// test.
const lbDoc = `{"document": {
  "version": 1, "project": "default", "environments": ["production", "staging"],
  "flags": [{"key": "dark-mode", "type": "bool", "environments": {"production": {"enabled": true,
    "rules": [{"id": "half", "serve": {"rollout": [{"variant": "on", "weight": 50000}, {"variant": "off", "weight": 50000}]}}],
    "default": {"variant": "off"}}}}],
  "components": [{"key": "ios-app", "versions": [{"version": "2.3.1", "notes": "Security fix", "required": true}, {"version": "2.4.0", "notes": "New checkout"}],
    "environments": {"production": {"default": {"version": "2.4.0"}}}}]
}}`

// TestRelaysBehindALoadBalancerAnswerAlike runs two relays of one primary,
// as behind a plain load balancer: for the same ruleset they give the
// same bytes and the same ETags as each other and as the primary, so a
// client's If-None-Match is answered 304 by whichever one it reaches.
// The second relay is asked in a later second than the first (signing
// times must not show in the answers).
func TestRelaysBehindALoadBalancerAnswerAlike(t *testing.T) {
	primary := servertest.Start(t, servertest.Options{})
	primary.Admin(t, "POST", "/api/v1/documents:import", lbDoc)
	a := relaytest.Start(t, relaytest.Options{Upstream: primary.GRPCAddr, RelayKey: relayKey(t, primary, "default", "production")})
	b := relaytest.Start(t, relaytest.Options{Upstream: primary.GRPCAddr, RelayKey: relayKey(t, primary, "default", "production")})
	key := primary.Creds.SDKKey
	for _, r := range []*relaytest.Relay{a, b} {
		caughtUp(t, primary, r, "default", "production")
		accepts(t, r, key)
	}
	requests := []struct {
		name, path, body string
	}{
		{"bulk OFREP", "/ofrep/v1/evaluate/flags", `{"context":{"targetingKey":"user-1"}}`},
		{"availability", "/api/v1/components/ios-app/availability", `{"context":{"targetingKey":"user-1"},"current_version":"2.3.0"}`},
	}
	ask := func(base, path, body, etag string) servertest.Response {
		h := []string{"X-API-Key", key}
		if etag != "" {
			h = append(h, "If-None-Match", etag)
		}
		return servertest.Do(t, "POST", base+path, body, h...)
	}
	for _, req := range requests {
		t.Run(req.name, func(t *testing.T) {
			first := ask(a.HTTPURL, req.path, req.body, "")
			etag := first.Header.Get("ETag")
			if first.Status != http.StatusOK || etag == "" {
				t.Fatalf("%s at relay a = %d %s (ETag %q), want 200 with an ETag", req.name, first.Status, first.Body, etag)
			}
			date, err := http.ParseTime(first.Header.Get("Date"))
			if err != nil {
				t.Fatal(err)
			}
			eventually(t, "a later second", func() bool { return time.Now().Truncate(time.Second).After(date) })
			for _, base := range []string{b.HTTPURL, primary.HTTPURL} {
				got := ask(base, req.path, req.body, "")
				if got.Status != first.Status || string(got.Body) != string(first.Body) || got.Header.Get("ETag") != etag {
					t.Errorf("%s at %s = %d %s (ETag %s), at relay a %d %s (ETag %s)",
						req.name, base, got.Status, got.Body, got.Header.Get("ETag"), first.Status, first.Body, etag)
				}
				if again := ask(base, req.path, req.body, etag); again.Status != http.StatusNotModified {
					t.Errorf("%s at %s with relay a's ETag = %d, want 304", req.name, base, again.Status)
				}
			}
		})
	}
	single := `{"context":{"targetingKey":"user-1"}}`
	if x, y := ofrep(t, a.HTTPURL, key, "dark-mode", single), ofrep(t, b.HTTPURL, key, "dark-mode", single); x.Status != y.Status || string(x.Body) != string(y.Body) {
		t.Errorf("OFREP at relay a = %d %s, at relay b %d %s", x.Status, x.Body, y.Status, y.Body)
	}

	// The event stream relay a advertises opens at relay b too.
	var bulk struct {
		EventStreams []struct {
			Endpoint struct {
				RequestURI string `json:"requestUri"`
			} `json:"endpoint"`
		} `json:"eventStreams"`
	}
	if err := json.Unmarshal(ask(a.HTTPURL, requests[0].path, requests[0].body, "").Body, &bulk); err != nil || len(bulk.EventStreams) == 0 {
		t.Fatalf("bulk answer at relay a advertises no event stream (%v)", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", b.HTTPURL+bulk.EventStreams[0].Endpoint.RequestURI, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET relay a's event stream at relay b = %d, want 200", resp.StatusCode)
	}
}
