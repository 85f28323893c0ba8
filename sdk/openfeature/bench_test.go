package openfeature_test

import (
	"context"
	"testing"

	of "github.com/open-feature/go-sdk/openfeature"
)

// BenchmarkOpenFeature measures an evaluation through the OpenFeature
// client (context merging, hooks, flattening, the provider, the SDK's
// local evaluation and its exposure), against a real server.
func BenchmarkOpenFeature(b *testing.B) {
	srv := start(b)
	for _, events := range []bool{true, false} {
		name := "events"
		if !events {
			name = "no-events"
		}
		cfg := config(srv)
		cfg.Events.Disabled = !events
		b.Run(name, func(b *testing.B) {
			c := register(b, cfg)
			ctx := context.Background()
			ec := user("user-1", map[string]any{"country": "DE", "plan": "pro"})
			if !c.Boolean(ctx, "new-checkout", false, ec) {
				b.Fatal("new-checkout is off for user-1 in DE")
			}
			b.Run("Boolean", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					c.Boolean(ctx, "new-checkout", false, ec)
				}
			})
			b.Run("BooleanValueDetails", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := c.BooleanValueDetails(ctx, "new-checkout", false, ec); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("String", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					c.String(ctx, "banner", "", ec)
				}
			})
			of.Shutdown()
		})
	}
}
