package sdk_test

import (
	"context"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/switchyard/switchyard/sdk"
)

// offline returns a client evaluating testdata/getters.yaml without a
// server.
func offline(t testing.TB) *sdk.Client {
	t.Helper()
	doc, err := os.ReadFile("testdata/getters.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, sdk.Config{Bootstrap: doc, BootstrapEnvironment: "production"})
	if st := c.Status(); st != sdk.StatusReady {
		t.Fatalf("offline client status = %s, want READY", st)
	}
	return c
}

// result is a getter's answer, whatever its type.
type result struct {
	Value   any
	Variant string
	Reason  sdk.Reason
	Rule    string
	Error   sdk.ErrorCode
}

func resultOf[T any](d sdk.Detail[T]) result {
	return result{Value: d.Value, Variant: d.Variant, Reason: d.Reason, Rule: d.Rule, Error: d.ErrorCode}
}

func TestGetters(t *testing.T) {
	c := offline(t)
	user := sdk.NewContext("user-1")
	de := sdk.NewContext("user-2").String("country", "DE")
	badKey := sdk.ContextFromMap(map[string]any{"targetingKey": 42})
	tests := []struct {
		name string
		get  func() result
		want result
	}{
		{"bool default rule", func() result { return resultOf(c.BoolDetail("dark-mode", user, true)) },
			result{false, "off", sdk.ReasonDefault, "default", ""}},
		{"bool rule match", func() result { return resultOf(c.BoolDetail("dark-mode", de, false)) },
			result{true, "on", sdk.ReasonTargetingMatch, "eu", ""}},
		{"string", func() result { return resultOf(c.StringDetail("banner", user, "x")) },
			result{"Summer sale", "summer", sdk.ReasonStatic, "default", ""}},
		{"float64", func() result { return resultOf(c.Float64Detail("max-items", user, -1)) },
			result{10.0, "ten", sdk.ReasonDefault, "default", ""}},
		{"int", func() result { return resultOf(c.IntDetail("max-items", user, -1)) },
			result{int64(10), "ten", sdk.ReasonDefault, "default", ""}},
		{"int of a fraction", func() result { return resultOf(c.IntDetail("max-items", sdk.NewContext("user-half"), -1)) },
			result{int64(-1), "", sdk.ReasonError, "", sdk.ErrorTypeMismatch}},
		{"float64 of a fraction", func() result { return resultOf(c.Float64Detail("max-items", sdk.NewContext("user-half"), -1)) },
			result{1.5, "half", sdk.ReasonTargetingMatch, "targets", ""}},
		{"json", func() result { return resultOf(c.JSONDetail("theme", user, nil)) },
			result{map[string]any{"color": "blue", "sizes": []any{1.0, 2.0}}, "blue", sdk.ReasonStatic, "default", ""}},
		{"bool of a string flag", func() result { return resultOf(c.BoolDetail("banner", user, true)) },
			result{true, "", sdk.ReasonError, "", sdk.ErrorTypeMismatch}},
		{"string of a bool flag", func() result { return resultOf(c.StringDetail("dark-mode", user, "d")) },
			result{"d", "", sdk.ReasonError, "", sdk.ErrorTypeMismatch}},
		{"json of a number flag", func() result { return resultOf(c.JSONDetail("max-items", user, "d")) },
			result{"d", "", sdk.ReasonError, "", sdk.ErrorTypeMismatch}},
		{"unknown flag", func() result { return resultOf(c.BoolDetail("missing", user, true)) },
			result{true, "", sdk.ReasonError, "", sdk.ErrorFlagNotFound}},
		{"nil context", func() result { return resultOf(c.BoolDetail("dark-mode", nil, true)) },
			result{false, "off", sdk.ReasonDefault, "default", ""}},
		{"nil context and a rollout", func() result { return resultOf(c.BoolDetail("rollout", nil, true)) },
			result{true, "", sdk.ReasonError, "", sdk.ErrorTargetingKeyMissing}},
		{"invalid context", func() result { return resultOf(c.BoolDetail("dark-mode", &badKey, true)) },
			result{true, "", sdk.ReasonError, "", sdk.ErrorInvalidContext}},
		{"disabled without variant", func() result { return resultOf(c.StringDetail("nowhere", user, "fallback")) },
			result{"fallback", "", sdk.ReasonDisabled, "", ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.get(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestPlainGettersReturnDetailValues(t *testing.T) {
	c := offline(t)
	user := sdk.NewContext("user-1")
	if got := c.Bool("dark-mode", user, true); got {
		t.Errorf("Bool = %v, want false", got)
	}
	if got := c.String("banner", user, ""); got != "Summer sale" {
		t.Errorf("String = %q, want Summer sale", got)
	}
	if got := c.Float64("max-items", user, 0); got != 10 {
		t.Errorf("Float64 = %v, want 10", got)
	}
	if got := c.Int("max-items", user, 0); got != 10 {
		t.Errorf("Int = %v, want 10", got)
	}
	if got := c.JSON("theme", user, nil); !reflect.DeepEqual(got, map[string]any{"color": "blue", "sizes": []any{1.0, 2.0}}) {
		t.Errorf("JSON = %v", got)
	}
}

func TestJSONValueIsTheCallersCopy(t *testing.T) {
	c := offline(t)
	v := c.JSON("theme", nil, nil).(map[string]any)
	v["color"] = "red"
	v["sizes"].([]any)[0] = 99.0
	if got := c.JSON("theme", nil, nil).(map[string]any); got["color"] != "blue" || got["sizes"].([]any)[0] != 1.0 {
		t.Errorf("JSON after changing an earlier answer = %v, want the ruleset unchanged", got)
	}
}

func TestNotReady(t *testing.T) {
	// Nothing listens on port 1 of loopback; the client keeps trying.
	c := newClient(t, sdk.Config{Address: "127.0.0.1:1", SDKKey: "sys_x"})
	want := result{Value: true, Reason: sdk.ReasonError, Error: sdk.ErrorProviderNotReady}
	if got := resultOf(c.BoolDetail("dark-mode", sdk.NewContext("u"), true)); !reflect.DeepEqual(got, want) {
		t.Errorf("BoolDetail before any ruleset = %+v, want %+v", got, want)
	}
	if got := c.Status(); got != sdk.StatusNotReady {
		t.Errorf("Status() = %s, want NOT_READY", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := c.WaitReady(ctx); err == nil {
		t.Error("WaitReady without a server = nil, want an error")
	}
}

// TestPreparedContextDoesNotAllocate pins the hot path: a typed getter on a
// prepared context allocates nothing.
func TestPreparedContextDoesNotAllocate(t *testing.T) {
	c := offline(t)
	de := sdk.NewContext("user-2").String("country", "DE")
	tests := []struct {
		name string
		get  func()
	}{
		{"Bool", func() { c.Bool("dark-mode", de, false) }},
		{"BoolDetail", func() { c.BoolDetail("dark-mode", de, false) }},
		{"String", func() { c.String("banner", de, "") }},
		{"Float64", func() { c.Float64("max-items", de, 0) }},
		{"Int", func() { c.Int("max-items", de, 0) }},
		{"rollout", func() { c.Bool("rollout", de, false) }},
		{"unknown flag", func() { c.Bool("missing", de, false) }},
		{"nil context", func() { c.Bool("dark-mode", nil, false) }},
		{"context on the stack", func() {
			var ctx sdk.Context
			ctx.SetTargetingKey("user-3").String("country", "FR")
			c.BoolDetail("dark-mode", &ctx, false)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(100, tc.get); n != 0 {
				t.Errorf("%s allocates %v times per call, want 0", tc.name, n)
			}
		})
	}
}
