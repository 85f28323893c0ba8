package openfeature_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	of "github.com/open-feature/go-sdk/openfeature"

	"github.com/switchyard/switchyard/internal/eval"
	"github.com/switchyard/switchyard/sdk"
	swof "github.com/switchyard/switchyard/sdk/openfeature"
	"github.com/switchyard/switchyard/server/servertest"
)

// project has a flag of every type, a rollout, a prerequisite and a
// disabled flag in production.
const project = `{"document": {
  "version": 1, "project": "default", "environments": ["production", "staging"],
  "flags": [
    {"key": "new-checkout", "type": "bool", "environments": {"production": {"enabled": true,
      "rules": [{"id": "de", "conditions": [{"attribute": "country", "op": "in", "values": ["DE"]}], "serve": {"variant": "on"}}],
      "default": {"variant": "off"}}}},
    {"key": "banner", "type": "string", "variants": [{"key": "old", "value": "o"}, {"key": "new", "value": "n"}],
      "environments": {"production": {"enabled": true, "off_variant": "old", "default": {"variant": "new"}}}},
    {"key": "limit", "type": "number", "variants": [{"key": "ten", "value": 10}, {"key": "half", "value": 0.5}],
      "environments": {"production": {"enabled": true, "off_variant": "ten", "default": {"variant": "ten"}}}},
    {"key": "ratio", "type": "number", "variants": [{"key": "half", "value": 0.5}],
      "environments": {"production": {"enabled": true, "off_variant": "half", "default": {"variant": "half"}}}},
    {"key": "theme", "type": "json", "variants": [{"key": "blue", "value": {"color": "blue", "sizes": [1, 2]}}],
      "environments": {"production": {"enabled": true, "off_variant": "blue", "default": {"variant": "blue"}}}},
    {"key": "split", "type": "bool", "environments": {"production": {"enabled": true,
      "default": {"rollout": [{"variant": "on", "weight": 50000}, {"variant": "off", "weight": 50000}]}}}},
    {"key": "needs-checkout", "type": "bool", "environments": {"production": {"enabled": true,
      "prerequisites": [{"flag": "new-checkout", "variant": "on"}], "default": {"variant": "on"}}}},
    {"key": "dormant", "type": "bool", "environments": {"production": {"enabled": false}}},
    {"key": "pro-plan", "type": "bool", "environments": {"production": {"enabled": true,
      "rules": [{"id": "pro", "conditions": [{"attribute": "/user/plan", "op": "in", "values": ["pro"]},
        {"attribute": "/user/since", "op": "before", "values": ["2100-01-01T00:00:00Z"]}], "serve": {"variant": "on"}}],
      "default": {"variant": "off"}}}}
  ]
}}`

// start serves project and returns the server.
func start(t testing.TB) *servertest.Server {
	t.Helper()
	srv := servertest.Start(t, servertest.Options{})
	srv.Admin(t, "POST", "/api/v1/documents:import", project)
	return srv
}

// config is an SDK configuration for srv's production environment.
func config(srv *servertest.Server) sdk.Config {
	return sdk.Config{
		Address: srv.GRPCAddr, SDKKey: srv.Creds.SDKKey,
		Backoff: sdk.Backoff{Initial: 20 * time.Millisecond, Max: 200 * time.Millisecond},
		Events:  sdk.EventsConfig{FlushInterval: time.Hour, CloseTimeout: time.Second},
	}
}

// register sets a provider for cfg as the test's domain, waits for it and
// returns an OpenFeature client of the domain. OpenFeature is shut down
// (closing the provider's SDK client) when the test ends, before the
// server stops.
func register(t testing.TB, cfg sdk.Config) *of.Client {
	t.Helper()
	t.Cleanup(of.Shutdown)
	if err := of.SetNamedProviderAndWait(t.Name(), swof.New(cfg)); err != nil {
		t.Fatalf("SetNamedProviderAndWait: %v", err)
	}
	return of.NewClient(t.Name())
}

func user(key string, attrs map[string]any) of.EvaluationContext {
	return of.NewEvaluationContext(key, attrs)
}

// outcome is what a test checks of an evaluation.
type outcome struct {
	Value   any
	Variant string
	Reason  of.Reason
	Code    of.ErrorCode
	Rule    string
}

func outcomeOf(d of.InterfaceEvaluationDetails) outcome {
	rule, _ := d.FlagMetadata.GetString("rule")
	return outcome{Value: d.Value, Variant: d.Variant, Reason: d.Reason, Code: d.ErrorCode, Rule: rule}
}

// details evaluates flag with the getter of typ.
func details(c *of.Client, typ, flag string, def any, ec of.EvaluationContext) (of.InterfaceEvaluationDetails, error) {
	ctx := context.Background()
	var d of.InterfaceEvaluationDetails
	var err error
	switch typ {
	case "bool":
		r, e := c.BooleanValueDetails(ctx, flag, def.(bool), ec)
		d, err = of.InterfaceEvaluationDetails{Value: r.Value, EvaluationDetails: r.EvaluationDetails}, e
	case "string":
		r, e := c.StringValueDetails(ctx, flag, def.(string), ec)
		d, err = of.InterfaceEvaluationDetails{Value: r.Value, EvaluationDetails: r.EvaluationDetails}, e
	case "float":
		r, e := c.FloatValueDetails(ctx, flag, def.(float64), ec)
		d, err = of.InterfaceEvaluationDetails{Value: r.Value, EvaluationDetails: r.EvaluationDetails}, e
	case "int":
		r, e := c.IntValueDetails(ctx, flag, def.(int64), ec)
		d, err = of.InterfaceEvaluationDetails{Value: r.Value, EvaluationDetails: r.EvaluationDetails}, e
	default:
		d, err = c.ObjectValueDetails(ctx, flag, def, ec)
	}
	return d, err
}

func TestEvaluationThroughOpenFeature(t *testing.T) {
	srv := start(t)
	c := register(t, config(srv))
	de := user("user-1", map[string]any{"country": "DE"})
	us := user("user-2", map[string]any{"country": "US", "since": time.Now()})
	tests := []struct {
		name string
		typ  string
		flag string
		def  any
		ctx  of.EvaluationContext
		want outcome
	}{
		{"bool rule", "bool", "new-checkout", false, de, outcome{true, "on", of.TargetingMatchReason, "", "de"}},
		{"bool default", "bool", "new-checkout", true, us, outcome{false, "off", of.DefaultReason, "", "default"}},
		{"string static", "string", "banner", "x", us, outcome{"n", "new", of.StaticReason, "", "default"}},
		{"float", "float", "ratio", 1.0, us, outcome{0.5, "half", of.StaticReason, "", "default"}},
		{"int", "int", "limit", int64(1), us, outcome{int64(10), "ten", of.StaticReason, "", "default"}},
		{"object", "object", "theme", nil, us, outcome{map[string]any{"color": "blue", "sizes": []any{1.0, 2.0}}, "blue", of.StaticReason, "", "default"}},
		{"split", "bool", "split", false, us, splitOf("user-2")},
		{"disabled", "bool", "dormant", true, us, outcome{false, "off", of.DisabledReason, "", ""}},
		{"prerequisite failed", "bool", "needs-checkout", true, us, outcome{false, "off", "PREREQUISITE_FAILED", "", ""}},
		{"prerequisite met", "bool", "needs-checkout", false, de, outcome{true, "on", of.StaticReason, "", "default"}},

		{"flag not found", "bool", "nope", true, us, outcome{true, "", of.ErrorReason, of.FlagNotFoundCode, ""}},
		{"type mismatch", "bool", "banner", true, us, outcome{true, "", of.ErrorReason, of.TypeMismatchCode, ""}},
		{"int of a fraction", "int", "ratio", int64(7), us, outcome{int64(7), "", of.ErrorReason, of.TypeMismatchCode, ""}},
		{"targeting key missing", "bool", "split", true, of.NewTargetlessEvaluationContext(nil), outcome{true, "", of.ErrorReason, of.TargetingKeyMissingCode, ""}},
		{"nested attributes", "bool", "pro-plan", false, user("u", map[string]any{"user": map[string]any{"plan": "pro", "since": time.Now(),
			"orgs": []any{map[string]any{"id": "o1"}, []any{"x"}}}}), outcome{true, "on", of.TargetingMatchReason, "", "pro"}},
		{"nested time in a slice", "bool", "pro-plan", true, user("u", map[string]any{"user": map[string]any{"plan": "pro", "since": []any{time.Now()}}}),
			outcome{true, "on", of.TargetingMatchReason, "", "pro"}},
		{"nested attribute not matching", "bool", "pro-plan", true, user("u", map[string]any{"user": map[string]any{"plan": "free"}}),
			outcome{false, "off", of.DefaultReason, "", "default"}},
		{"object attribute never matches", "bool", "pro-plan", true, user("u", map[string]any{"user": map[string]any{"plan": map[string]any{"name": "pro"}}}),
			outcome{false, "off", of.DefaultReason, "", "default"}},
		{"invalid context", "bool", "new-checkout", true, user("u", map[string]any{"address": map[string]any{"city": struct{}{}}}),
			outcome{true, "", of.ErrorReason, of.InvalidContextCode, ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := details(c, tc.typ, tc.flag, tc.def, tc.ctx)
			got := outcomeOf(d)
			if !equal(got, tc.want) {
				t.Errorf("%s(%q) = %+v, want %+v", tc.typ, tc.flag, got, tc.want)
			}
			if (err != nil) != (tc.want.Code != "") {
				t.Errorf("error = %v, want one exactly when the code is set", err)
			}
			if rev, _ := d.FlagMetadata.GetInt("revision"); tc.want.Code == "" && rev == 0 {
				t.Errorf("flag metadata %v has no revision", d.FlagMetadata)
			}
		})
	}
	if got := of.NamedProviderMetadata(t.Name()).Name; got != swof.Name {
		t.Errorf("provider name = %q, want %q", got, swof.Name)
	}
}

// equal compares outcomes, JSON values included.
func equal(a, b outcome) bool {
	if m, ok := a.Value.(map[string]any); ok {
		w, ok := b.Value.(map[string]any)
		return ok && len(m) == len(w) && m["color"] == w["color"] && slices.Equal(m["sizes"].([]any), w["sizes"].([]any)) &&
			a.Variant == b.Variant && a.Reason == b.Reason && a.Code == b.Code && a.Rule == b.Rule
	}
	return a == b
}

// splitOf is the outcome of flag split for a targeting key, from the
// bucketing contract.
func splitOf(key string) outcome {
	if eval.Bucket("split", key) < 50000 {
		return outcome{true, "on", of.SplitReason, "", "default"}
	}
	return outcome{false, "off", of.SplitReason, "", "default"}
}

// TestNotReadyWithoutServer: a provider that cannot reach the server fails
// to initialize, and evaluations answer PROVIDER_NOT_READY from it.
func TestNotReadyWithoutServer(t *testing.T) {
	t.Cleanup(of.Shutdown)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	p := swof.New(sdk.Config{Address: "127.0.0.1:1", SDKKey: "k", Backoff: sdk.Backoff{Initial: 10 * time.Millisecond, Max: 50 * time.Millisecond}})
	if err := of.SetNamedProviderWithContextAndWait(ctx, t.Name(), p); err == nil {
		t.Fatal("SetNamedProviderWithContextAndWait = nil error without a server, want the init to fail")
	}
	c := of.NewClient(t.Name())
	waitState(t, c, of.ErrorState)
	d, _ := c.BooleanValueDetails(context.Background(), "new-checkout", true, user("u", nil))
	if d.Value != true || d.ErrorCode != of.ProviderNotReadyCode {
		t.Errorf("evaluation without ruleset = %v, %s, want the default and PROVIDER_NOT_READY", d.Value, d.ErrorCode)
	}
}

func TestBadConfigIsFatal(t *testing.T) {
	t.Cleanup(of.Shutdown)
	if err := of.SetNamedProviderAndWait(t.Name(), swof.New(sdk.Config{Address: "127.0.0.1:1"})); err == nil {
		t.Fatal("SetNamedProviderAndWait = nil error without an SDK key, want it refused")
	}
	waitState(t, of.NewClient(t.Name()), of.FatalState)
}

// waitState waits for the client's provider to reach a state (OpenFeature
// applies provider events asynchronously).
func waitState(t *testing.T, c *of.Client, want of.State) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for c.State() != want {
		if time.Now().After(deadline) {
			t.Fatalf("State() = %s, want %s", c.State(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// events collects the events of one type that a client sees.
type events struct {
	mu  sync.Mutex
	got []of.EventDetails
}

func (e *events) handler() of.EventCallback {
	fn := func(d of.EventDetails) {
		e.mu.Lock()
		e.got = append(e.got, d)
		e.mu.Unlock()
	}
	return &fn
}

func (e *events) wait(t *testing.T, what string, ok func(of.EventDetails) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		e.mu.Lock()
		found := slices.ContainsFunc(e.got, ok)
		e.mu.Unlock()
		if found {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no %s event", what)
}

func TestConfigurationChangedEvent(t *testing.T) {
	srv := start(t)
	c := register(t, config(srv))
	var changed events
	c.AddHandler(of.ProviderConfigChange, changed.handler())
	srv.Admin(t, "PATCH", "/api/v1/projects/default/flags/banner/environments/production", map[string]any{
		"enabled": true, "off_variant": "old", "default": map[string]any{"variant": "old"},
	})
	changed.wait(t, "configuration changed naming banner", func(d of.EventDetails) bool {
		return slices.Equal(d.FlagChanges, []string{"banner"}) && d.ProviderName == swof.Name
	})
	if got := c.String(context.Background(), "banner", "x", user("u", nil)); got != "o" {
		t.Errorf("banner after the change = %q, want o", got)
	}
}

func TestStaleAndReadyEvents(t *testing.T) {
	srv := start(t)
	c := register(t, config(srv))
	var stale, ready events
	c.AddHandler(of.ProviderStale, stale.handler())
	c.AddHandler(of.ProviderReady, ready.handler())
	ready.wait(t, "ready (on registration)", func(of.EventDetails) bool { return true })
	ready.mu.Lock()
	ready.got = nil
	ready.mu.Unlock()

	srv.Stop()
	stale.wait(t, "stale", func(of.EventDetails) bool { return true })
	waitState(t, c, of.StaleState)
	if got := c.Boolean(context.Background(), "new-checkout", false, user("u", map[string]any{"country": "DE"})); !got {
		t.Error("a stale provider did not serve the last ruleset")
	}
	srv.Restart(t)
	ready.wait(t, "ready after the restart", func(of.EventDetails) bool { return true })
	waitState(t, c, of.ReadyState)
}

func TestTrackingReachesServer(t *testing.T) {
	srv := start(t)
	c := register(t, config(srv))
	ctx := context.Background()
	c.Track(ctx, "purchase", user("user-1", nil), of.NewTrackingEventDetails(12.5))
	c.Track(ctx, "purchase", user("user-2", nil), of.NewTrackingEventDetails(7.5))
	c.Track(ctx, "purchase", of.NewTargetlessEvaluationContext(nil), of.NewTrackingEventDetails(1))
	of.Shutdown() // closes the SDK client, which sends its queued events
	batches, err := srv.Events.Batches(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var units []string
	var sum float64
	for _, b := range batches {
		for _, e := range b.Events {
			if e.Key == "purchase" {
				units = append(units, e.Unit)
				sum += e.Value
			}
		}
	}
	slices.Sort(units)
	if !slices.Equal(units, []string{"user-1", "user-2"}) || sum != 20 {
		t.Errorf("stored purchases of %v worth %v, want user-1 and user-2 worth 20", units, sum)
	}
}

// TestErrorEventWhenKeyRevoked: a refused key becomes OpenFeature's ERROR
// state with the server's message; flags keep their last values.
func TestErrorEventWhenKeyRevoked(t *testing.T) {
	srv := start(t)
	resp := srv.Admin(t, "POST", "/api/v1/keys", map[string]any{"name": "of", "kind": "sdk", "project": "default", "environment": "production"})
	cfg := config(srv)
	cfg.SDKKey = resp["secret"].(string)
	c := register(t, cfg)
	var failed events
	c.AddHandler(of.ProviderError, failed.handler())
	srv.Admin(t, "DELETE", "/api/v1/keys/"+resp["key"].(map[string]any)["id"].(string), nil)
	failed.wait(t, "error", func(d of.EventDetails) bool { return d.Message != "" })
	waitState(t, c, of.ErrorState)
	if got := c.String(context.Background(), "banner", "x", user("u", nil)); got != "n" {
		t.Errorf("banner after the key was revoked = %q, want the last value n", got)
	}
}
