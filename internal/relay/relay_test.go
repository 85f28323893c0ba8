package relay_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/switchyard/switchyard/internal/conformance"
	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/internal/relay/relaytest"
	"github.com/switchyard/switchyard/sdk"
	"github.com/switchyard/switchyard/server/servertest"
)

// relayKey creates a relay key on the primary and returns its secret.
func relayKey(t *testing.T, primary *servertest.Server, project string, envs ...string) string {
	t.Helper()
	resp := primary.Admin(t, "POST", "/api/v1/keys", map[string]any{
		"name": "edge", "kind": "relay", "project": project, "environments": envs,
	})
	return resp["secret"].(string)
}

// eventually polls cond every 10 ms for up to 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10 s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// caughtUp waits until the relay serves the primary's revision of every
// environment.
func caughtUp(t *testing.T, primary *servertest.Server, r *relaytest.Relay, project string, envs ...string) {
	t.Helper()
	for _, env := range envs {
		eventually(t, "relay at the primary's revision of "+project+"/"+env, func() bool {
			want := primary.Rulesets.Get(project, env)
			return want != nil && r.Relay.Revision(project, env) == want.Revision
		})
	}
}

// accepts waits until the relay accepts key: its key set has arrived.
func accepts(t *testing.T, r *relaytest.Relay, key string) {
	t.Helper()
	eventually(t, "the relay accepts the key", func() bool {
		return ofrep(t, r.HTTPURL, key, "x", `{}`).Status != http.StatusUnauthorized
	})
}

// ofrep evaluates a flag over OFREP at base.
func ofrep(t *testing.T, base, key, flag, context string) servertest.Response {
	t.Helper()
	return servertest.Do(t, "POST", base+"/ofrep/v1/evaluate/flags/"+flag, `{"context":`+context+`}`, "X-API-Key", key)
}

// darkMode creates a bool flag, on in production for beta users.
func darkMode(t *testing.T, primary *servertest.Server) {
	t.Helper()
	primary.Admin(t, "POST", "/api/v1/projects/default/flags", map[string]any{"key": "dark-mode", "type": "bool"})
	setDarkMode(t, primary, true)
}

// setDarkMode turns dark-mode on or off in production.
func setDarkMode(t *testing.T, primary *servertest.Server, on bool) {
	t.Helper()
	primary.Admin(t, "PATCH", "/api/v1/projects/default/flags/dark-mode/environments/production",
		map[string]any{"enabled": on, "default": map[string]any{"variant": "on"}})
}

// TestRelayConformance evaluates every shared flag vector through a relay,
// over OFREP and with an SDK behind the relay: the relay answers exactly
// what the primary answers, byte for byte over OFREP, and the vectors'
// expectations through the SDK.
func TestRelayConformance(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(conformance.Dir(t), "evaluation-*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no evaluation vectors (%v)", err)
	}
	primary := servertest.Start(t, servertest.Options{})
	ran := 0
	for _, path := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".json"), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var vf conformance.FlagFile
			if err := json.Unmarshal(data, &vf); err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Project      string   `json:"project"`
				Environments []string `json:"environments"`
				Flags        []struct{ Key, Type string }
			}
			if err := json.Unmarshal(vf.Document, &doc); err != nil {
				t.Fatal(err)
			}
			primary.Admin(t, "POST", "/api/v1/documents:import", map[string]any{"document": vf.Document})
			r := relaytest.Start(t, relaytest.Options{Upstream: primary.GRPCAddr, RelayKey: relayKey(t, primary, doc.Project, doc.Environments...)})
			caughtUp(t, primary, r, doc.Project, doc.Environments...)
			types := map[string]string{}
			for _, f := range doc.Flags {
				types[f.Key] = f.Type
			}
			keys := map[string]string{}
			clients := map[string]*sdk.Client{}
			for _, env := range doc.Environments {
				keys[env] = primary.SDKKey(t, doc.Project, env)
			}
			// The new keys reach the relay in its key sets.
			for _, env := range doc.Environments {
				accepts(t, r, keys[env])
				clients[env] = connect(t, r.GRPCAddr, keys[env])
			}
			for i, tc := range vf.Cases {
				want := ofrep(t, primary.HTTPURL, keys[tc.Environment], tc.Flag, string(tc.Context))
				got := ofrep(t, r.HTTPURL, keys[tc.Environment], tc.Flag, string(tc.Context))
				if got.Status != want.Status || string(got.Body) != string(want.Body) {
					t.Errorf("case %d: OFREP %s/%s context %s at the relay = %d %s, at the primary %d %s",
						i, tc.Environment, tc.Flag, tc.Context, got.Status, got.Body, want.Status, want.Body)
				}
				var pctx structpb.Struct
				if err := protojson.Unmarshal(tc.Context, &pctx); err != nil {
					t.Fatal(err)
				}
				req := &sdkpb.EvaluateRequest{Flag: tc.Flag, Context: &pctx}
				wantRes, wantErr := sdkpb.NewEvaluationServiceClient(primary.Conn).Evaluate(withKey(keys[tc.Environment]), req)
				gotRes, gotErr := sdkpb.NewEvaluationServiceClient(r.Conn).Evaluate(withKey(keys[tc.Environment]), req)
				if !proto.Equal(gotRes, wantRes) || status.Code(gotErr) != status.Code(wantErr) {
					t.Errorf("case %d: gRPC Evaluate %s/%s context %s at the relay = %v %v, at the primary %v %v",
						i, tc.Environment, tc.Flag, tc.Context, gotRes, gotErr, wantRes, wantErr)
				}
				batch := &sdkpb.EvaluateBatchRequest{Context: &pctx}
				wantBatch, wantErr := sdkpb.NewEvaluationServiceClient(primary.Conn).EvaluateBatch(withKey(keys[tc.Environment]), batch)
				gotBatch, gotErr := sdkpb.NewEvaluationServiceClient(r.Conn).EvaluateBatch(withKey(keys[tc.Environment]), batch)
				if !proto.Equal(gotBatch, wantBatch) || status.Code(gotErr) != status.Code(wantErr) {
					t.Errorf("case %d: gRPC EvaluateBatch %s context %s at the relay = %v %v, at the primary %v %v",
						i, tc.Environment, tc.Context, gotBatch, gotErr, wantBatch, wantErr)
				}
				expect := outcome{Variant: tc.Expect.Variant, Reason: tc.Expect.Reason, Rule: tc.Expect.Rule, Error: tc.Expect.Error}
				if len(tc.Expect.Value) > 0 {
					if err := json.Unmarshal(tc.Expect.Value, &expect.Value); err != nil {
						t.Fatal(err)
					}
				}
				ctx, err := sdk.ContextFromJSON(tc.Context)
				if err != nil {
					t.Fatal(err)
				}
				if got := evaluate(clients[tc.Environment], types[tc.Flag], tc.Flag, &ctx); !reflect.DeepEqual(got, expect) {
					t.Errorf("case %d: SDK behind the relay %s/%s context %s = %+v, want %+v", i, tc.Environment, tc.Flag, tc.Context, got, expect)
				}
				ran++
			}
		})
	}
	if ran == 0 {
		t.Fatal("no conformance cases ran")
	}
}

// withKey is a context that sends key.
func withKey(key string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+key)
}

// connect starts an SDK client on addr and waits until it is ready.
func connect(t *testing.T, addr, key string) *sdk.Client {
	t.Helper()
	c, err := sdk.New(context.Background(), sdk.Config{Address: addr, SDKKey: key, Events: sdk.EventsConfig{Disabled: true},
		Backoff: sdk.Backoff{Initial: 50 * time.Millisecond, Max: 500 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		t.Fatalf("WaitReady behind %s: %v", addr, err)
	}
	return c
}

// outcome is what the SDK answered, in the vectors' terms.
type outcome struct {
	Variant string
	Value   any
	Reason  string
	Rule    string
	Error   string
}

// evaluate calls the Detail getter of the flag's type.
func evaluate(c *sdk.Client, typ, flag string, ctx *sdk.Context) outcome {
	switch typ {
	case "string":
		return outcomeOf(c.StringDetail(flag, ctx, "default"))
	case "number":
		return outcomeOf(c.Float64Detail(flag, ctx, -1))
	case "json":
		return outcomeOf(c.JSONDetail(flag, ctx, "default"))
	}
	return outcomeOf(c.BoolDetail(flag, ctx, false))
}

func outcomeOf[T any](d sdk.Detail[T]) outcome {
	o := outcome{Variant: d.Variant, Reason: string(d.Reason), Rule: d.Rule, Error: string(d.ErrorCode)}
	if d.Variant != "" {
		o.Value = d.Value
	}
	return o
}

// TestRelayRefusesRevokedKey revokes a key on the primary: the relay
// refuses it over OFREP and ends its SDK's stream.
func TestRelayRefusesRevokedKey(t *testing.T) {
	primary := servertest.Start(t, servertest.Options{})
	darkMode(t, primary)
	r := relaytest.Start(t, relaytest.Options{Upstream: primary.GRPCAddr, RelayKey: relayKey(t, primary, "default", "production")})
	caughtUp(t, primary, r, "default", "production")
	key := primary.SDKKey(t, "default", "production")
	accepts(t, r, key)
	c := connect(t, r.GRPCAddr, key)

	k, ok := primary.Store.State().KeyByHash(hashOf(key))
	if !ok {
		t.Fatal("the new key is not in the primary's store")
	}
	primary.Admin(t, "DELETE", "/api/v1/keys/"+k.ID, nil)
	eventually(t, "the relay refuses the revoked key", func() bool {
		return ofrep(t, r.HTTPURL, key, "dark-mode", `{"targetingKey":"u"}`).Status == http.StatusUnauthorized
	})
	eventually(t, "the SDK behind the relay is refused", func() bool { return c.Status() == sdk.StatusError })
	// The bootstrap key still works.
	if got := ofrep(t, r.HTTPURL, primary.Creds.SDKKey, "dark-mode", `{"targetingKey":"u"}`); got.Status != http.StatusOK {
		t.Errorf("OFREP with a valid key after another's revocation = %d %s, want 200", got.Status, got.Body)
	}
}

// TestRelayServesFromDiskWhilePrimaryDown kills the primary and restarts
// the relay: it serves the last ruleset from its data directory, reports
// STALE, and catches up once the primary is back.
func TestRelayServesFromDiskWhilePrimaryDown(t *testing.T) {
	primary := servertest.Start(t, servertest.Options{})
	darkMode(t, primary)
	r := relaytest.Start(t, relaytest.Options{Upstream: primary.GRPCAddr, RelayKey: relayKey(t, primary, "default", "production")})
	caughtUp(t, primary, r, "default", "production")
	key := primary.Creds.SDKKey
	accepts(t, r, key)
	want := ofrep(t, r.HTTPURL, key, "dark-mode", `{"targetingKey":"u"}`)
	if want.Status != http.StatusOK || !strings.Contains(string(want.Body), `"value":true`) {
		t.Fatalf("OFREP at the relay = %d %s, want 200 and true", want.Status, want.Body)
	}
	eventually(t, "the relay reports ok", func() bool { return health(t, r) == "ok" })

	primary.Stop()
	eventually(t, "the relay reports stale", func() bool { return health(t, r) == "stale" })
	r = r.Restart(t)
	if got := ofrep(t, r.HTTPURL, key, "dark-mode", `{"targetingKey":"u"}`); got.Status != want.Status || string(got.Body) != string(want.Body) {
		t.Errorf("OFREP at the restarted relay, primary down = %d %s, want %d %s", got.Status, got.Body, want.Status, want.Body)
	}
	if got := health(t, r); got != "stale" {
		t.Errorf("health of the restarted relay, primary down = %q, want stale", got)
	}
	metrics := servertest.Do(t, "GET", r.HTTPURL+"/metrics", nil)
	if line := `switchyard_relay_stale{environment="production",project="default"} 1`; !strings.Contains(string(metrics.Body), line) {
		t.Errorf("metrics lack %q", line)
	}
	c := connect(t, r.GRPCAddr, key) // an SDK behind the relay is served too
	if !c.Bool("dark-mode", sdk.NewContext("u"), false) {
		t.Error("SDK behind the relay, primary down: dark-mode = false, want true")
	}

	primary = primary.Restart(t)
	eventually(t, "the relay reports ok again", func() bool { return health(t, r) == "ok" })
	setDarkMode(t, primary, false)
	caughtUp(t, primary, r, "default", "production")
	eventually(t, "the SDK behind the relay sees the change", func() bool {
		return !c.Bool("dark-mode", sdk.NewContext("u"), true)
	})
}

// TestChainedRelay follows a relay with a relay: a write on the primary
// reaches an SDK behind the second relay, and OFREP answers there are the
// primary's.
func TestChainedRelay(t *testing.T) {
	primary := servertest.Start(t, servertest.Options{})
	darkMode(t, primary)
	region := relaytest.Start(t, relaytest.Options{Upstream: primary.GRPCAddr, RelayKey: relayKey(t, primary, "default", "production")})
	edge := relaytest.Start(t, relaytest.Options{Upstream: region.GRPCAddr, RelayKey: relayKey(t, primary, "default", "production")})
	leaf := relaytest.Start(t, relaytest.Options{Upstream: edge.GRPCAddr, RelayKey: relayKey(t, primary, "default", "production")})
	caughtUp(t, primary, leaf, "default", "production")
	key := primary.Creds.SDKKey
	accepts(t, leaf, key)
	c := connect(t, leaf.GRPCAddr, key)
	if !c.Bool("dark-mode", sdk.NewContext("u"), false) {
		t.Fatal("SDK behind the third relay: dark-mode = false, want true")
	}
	setDarkMode(t, primary, false)
	eventually(t, "the write reaches the SDK behind the third relay", func() bool {
		return !c.Bool("dark-mode", sdk.NewContext("u"), true)
	})
	for i, ctx := range []string{`{"targetingKey":"u"}`, `{}`, `{"targetingKey":7}`} {
		want := ofrep(t, primary.HTTPURL, key, "dark-mode", ctx)
		if got := ofrep(t, leaf.HTTPURL, key, "dark-mode", ctx); got.Status != want.Status || string(got.Body) != string(want.Body) {
			t.Errorf("case %d: OFREP at the third relay = %d %s, at the primary %d %s", i, got.Status, got.Body, want.Status, want.Body)
		}
	}
}

// health is the relay's /healthz answer, trimmed.
func health(t *testing.T, r *relaytest.Relay) string {
	t.Helper()
	return strings.TrimSpace(string(servertest.Do(t, "GET", r.HTTPURL+"/healthz", nil).Body))
}

// TestChainedRelayServesALongSegment follows a segment whose include list
// syncs in chunks (more than 4,096 keys) through two relays: the relays
// speak the chunked protocol upstream and downstream, answer as the
// primary does, and pass one added key on.
func TestChainedRelayServesALongSegment(t *testing.T) {
	primary := servertest.Start(t, servertest.Options{})
	primary.Admin(t, "POST", "/api/v1/projects/default/segments", map[string]any{"key": "cohort"})
	var keys strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&keys, "user-%d\n", i)
	}
	upload := func(method, path, body string) {
		t.Helper()
		r := servertest.Do(t, method, primary.HTTPURL+"/api/v1/projects/default/segments/cohort/keys/include"+path, body,
			"Authorization", "Bearer "+primary.Creds.AdminToken, "Content-Type", "text/plain")
		if r.Status != http.StatusOK {
			t.Fatalf("%s keys%s = %d %s", method, path, r.Status, r.Body)
		}
	}
	upload("PUT", "", keys.String())
	primary.Admin(t, "POST", "/api/v1/projects/default/flags", map[string]any{"key": "beta", "type": "bool"})
	primary.Admin(t, "PATCH", "/api/v1/projects/default/flags/beta/environments/production", map[string]any{
		"enabled": true, "default": map[string]any{"variant": "off"},
		"rules": []any{map[string]any{"id": "cohort", "segments": []string{"cohort"}, "serve": map[string]any{"variant": "on"}}},
	})
	region := relaytest.Start(t, relaytest.Options{Upstream: primary.GRPCAddr, RelayKey: relayKey(t, primary, "default", "production")})
	edge := relaytest.Start(t, relaytest.Options{Upstream: region.GRPCAddr, RelayKey: relayKey(t, primary, "default", "production")})
	caughtUp(t, primary, edge, "default", "production")
	key := primary.Creds.SDKKey
	accepts(t, edge, key)
	for _, ctx := range []string{`{"targetingKey":"user-42"}`, `{"targetingKey":"user-4999"}`, `{"targetingKey":"user-5000"}`} {
		want := ofrep(t, primary.HTTPURL, key, "beta", ctx)
		if got := ofrep(t, edge.HTTPURL, key, "beta", ctx); got.Status != want.Status || string(got.Body) != string(want.Body) {
			t.Errorf("%s: OFREP at the second relay = %d %s, at the primary %d %s", ctx, got.Status, got.Body, want.Status, want.Body)
		}
	}
	c := connect(t, edge.GRPCAddr, key)
	if !c.Bool("beta", sdk.NewContext("user-7"), false) || c.Bool("beta", sdk.NewContext("user-5000"), false) {
		t.Fatal("SDK behind the second relay: the cohort is not targeted")
	}
	upload("POST", "", "user-5000\n")
	eventually(t, "the added key reaches the SDK behind the second relay", func() bool {
		return c.Bool("beta", sdk.NewContext("user-5000"), false)
	})
}
