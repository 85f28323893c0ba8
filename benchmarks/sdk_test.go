package benchmarks

import (
	"context"
	"os"
	"testing"

	"github.com/switchyard/switchyard/sdk"
)

// newSDK returns an SDK client evaluating the bench flag set offline, from
// its bootstrap document: the same local evaluation as on a streamed
// ruleset, without a server.
func newSDK(b *testing.B) *sdk.Client {
	b.Helper()
	data, err := os.ReadFile(flagsetPath(b))
	if err != nil {
		b.Fatalf("read flag set: %v", err)
	}
	c, err := sdk.New(context.Background(), sdk.Config{Bootstrap: data, BootstrapEnvironment: "production"})
	if err != nil {
		b.Fatalf("sdk.New: %v", err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

// sdkContexts returns the bench contexts prepared as SDK contexts.
func sdkContexts() []sdk.Context {
	return benchContexts() // sdk.Context is eval.Context
}

// BenchmarkSDKNoAlloc measures the SDK's typed getters on prepared
// contexts (the application's hot path); it fails if a getter allocates or
// an evaluation fails. Compare with BenchmarkEvaluate (the evaluation core
// alone) for the SDK's own share.
func BenchmarkSDKNoAlloc(b *testing.B) {
	c := newSDK(b)
	ctxs := sdkContexts()
	for _, key := range []string{"new-checkout", "flag-050"} {
		b.Run("Bool/"+key, func(b *testing.B) {
			checkDetail(b, c.BoolDetail(key, &ctxs[0], false))
			benchGetter(b, func(i int) { c.Bool(key, &ctxs[i%numContexts], false) })
		})
		b.Run("BoolDetail/"+key, func(b *testing.B) {
			benchGetter(b, func(i int) { c.BoolDetail(key, &ctxs[i%numContexts], false) })
		})
	}
	b.Run("String/banner", func(b *testing.B) {
		checkDetail(b, c.StringDetail("banner", &ctxs[0], ""))
		benchGetter(b, func(i int) { c.String("banner", &ctxs[i%numContexts], "") })
	})
	b.Run("Bool/new-checkout/parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				c.Bool("new-checkout", &ctxs[i%numContexts], false)
				i++
			}
		})
	})
}

// checkDetail fails the benchmark if the evaluation it measures fails.
func checkDetail[T any](b *testing.B, d sdk.Detail[T]) {
	b.Helper()
	if d.ErrorCode != "" || d.Variant == "" {
		b.Fatalf("evaluation = %+v, want a variant", d)
	}
}

// benchGetter runs get in a loop and fails if it allocates.
func benchGetter(b *testing.B, get func(i int)) {
	b.Helper()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		get(i)
		i++
	}
	if n := testing.AllocsPerRun(100, func() { get(0) }); n != 0 {
		b.Fatalf("the getter allocates %v times per call, want 0", n)
	}
}
