package server_test

import (
	"context"
	"testing"

	"github.com/open-feature/go-sdk-contrib/providers/ofrep"
	"github.com/open-feature/go-sdk/openfeature"
)

// TestOpenFeatureOFREPProvider evaluates through the OpenFeature Go SDK and
// its OFREP provider against the running server, with both ways of sending
// the key.
func TestOpenFeatureOFREPProvider(t *testing.T) {
	ts := startServer(t)
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/flags", `{"key":"new-checkout","type":"bool",
		"environments":{"production":{"enabled":true,
		  "rules":[{"id":"de","conditions":[{"attribute":"country","op":"in","values":["DE"]}],"serve":{"variant":"on"}}],
		  "default":{"variant":"off"}}}}`)
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/flags", `{"key":"banner","type":"string",
		"variants":[{"key":"a","value":"Free shipping"}],
		"environments":{"production":{"enabled":true,"off_variant":"a","default":{"variant":"a"}}}}`)
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/flags", `{"key":"max-items","type":"number",
		"variants":[{"key":"ten","value":10}],
		"environments":{"production":{"enabled":true,"off_variant":"ten","default":{"variant":"ten"}}}}`)
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/flags", `{"key":"theme","type":"json",
		"variants":[{"key":"dark","value":{"dark":true}}],
		"environments":{"production":{"enabled":true,"off_variant":"dark","default":{"variant":"dark"}}}}`)

	for _, auth := range []struct {
		name string
		opt  func(*ofrepConfig)
	}{
		{"bearer", func(c *ofrepConfig) { c.bearer = true }},
		{"x-api-key", func(c *ofrepConfig) {}},
	} {
		t.Run(auth.name, func(t *testing.T) {
			var cfg ofrepConfig
			auth.opt(&cfg)
			opt := ofrep.WithApiKeyAuth(ts.creds.SDKKey)
			if cfg.bearer {
				opt = ofrep.WithBearerToken(ts.creds.SDKKey)
			}
			domain := "switchyard-" + auth.name
			if err := openfeature.SetNamedProviderAndWait(domain, ofrep.NewProvider(ts.httpURL, opt)); err != nil {
				t.Fatal(err)
			}
			client := openfeature.NewClient(domain)
			ctx := context.Background()
			de := openfeature.NewEvaluationContext("user-1", map[string]any{"country": "DE"})
			us := openfeature.NewEvaluationContext("user-2", map[string]any{"country": "US"})

			d, err := client.BooleanValueDetails(ctx, "new-checkout", false, de)
			if err != nil || !d.Value || d.Variant != "on" || d.Reason != openfeature.TargetingMatchReason {
				t.Errorf("new-checkout for DE = %+v, %v; want on, TARGETING_MATCH", d, err)
			}
			d, err = client.BooleanValueDetails(ctx, "new-checkout", true, us)
			if err != nil || d.Value || d.Variant != "off" || d.Reason != openfeature.DefaultReason {
				t.Errorf("new-checkout for US = %+v, %v; want off, DEFAULT", d, err)
			}
			if s, err := client.StringValue(ctx, "banner", "none", us); err != nil || s != "Free shipping" {
				t.Errorf("banner = %q, %v", s, err)
			}
			if f, err := client.FloatValue(ctx, "max-items", 0, us); err != nil || f != 10 {
				t.Errorf("max-items = %v, %v", f, err)
			}
			if o, err := client.ObjectValue(ctx, "theme", nil, us); err != nil || o.(map[string]any)["dark"] != true {
				t.Errorf("theme = %v, %v", o, err)
			}
			nf, err := client.BooleanValueDetails(ctx, "missing", true, us)
			if err == nil || !nf.Value || nf.ErrorCode != openfeature.FlagNotFoundCode {
				t.Errorf("missing flag = %+v, %v; want the default with FLAG_NOT_FOUND", nf, err)
			}
			tm, err := client.StringValueDetails(ctx, "new-checkout", "dflt", us)
			if err == nil || tm.Value != "dflt" || tm.ErrorCode != openfeature.TypeMismatchCode {
				t.Errorf("wrong type = %+v, %v; want the default with TYPE_MISMATCH", tm, err)
			}
		})
	}
}

type ofrepConfig struct{ bearer bool }
