package auth_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/auth"
)

// BenchmarkThrottleCheck is the cost the throttle adds to every
// authenticated call while no address has failed lately.
func BenchmarkThrottleCheck(b *testing.B) {
	th := auth.NewThrottle(auth.DefaultThrottle(), nil)
	b.ReportAllocs()
	for b.Loop() {
		if err := th.Check("192.0.2.1"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkThrottleCheckUnderAttack is that cost while other addresses
// are being throttled.
func BenchmarkThrottleCheckUnderAttack(b *testing.B) {
	th := auth.NewThrottle(auth.DefaultThrottle(), nil)
	for i := range 10_000 {
		th.Fail(fmt.Sprintf("10.%d.%d.%d", i>>16, (i>>8)&255, i&255))
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := th.Check("192.0.2.1"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkThrottleMemory reports the heap a full throttle (10,000
// addresses) holds, per address.
func BenchmarkThrottleMemory(b *testing.B) {
	addrs := make([]string, 10_000)
	for i := range addrs {
		addrs[i] = fmt.Sprintf("10.%d.%d.%d", i>>16, (i>>8)&255, i&255)
	}
	var perAddr float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		th := auth.NewThrottle(auth.ThrottleConfig{Failures: 20, Window: time.Minute, MaxAddresses: len(addrs)}, nil)
		for _, a := range addrs {
			th.Fail(a)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perAddr = float64(after.HeapAlloc-before.HeapAlloc) / float64(th.Tracked())
		runtime.KeepAlive(th)
	}
	b.ReportMetric(perAddr, "B/address")
}
