package auth_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/auth"
)

// fakeClock is the throttle's clock, moved by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestThrottleBucketPerAddress(t *testing.T) {
	clk := &fakeClock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	th := auth.NewThrottle(auth.ThrottleConfig{Failures: 20, Window: time.Minute, MaxAddresses: 100}, clk.now)
	for i := range 20 {
		if err := th.Check("10.0.0.1"); err != nil {
			t.Fatalf("Check after %d failures = %v, want nil", i, err)
		}
		th.Fail("10.0.0.1")
	}
	err := th.Check("10.0.0.1")
	var te *auth.ThrottledError
	if !errors.Is(err, auth.ErrThrottled) || !errors.As(err, &te) || te.RetryAfter != 3*time.Second || te.RetryAfterSeconds() != 3 {
		t.Fatalf("Check after 20 failures = %v, want throttled for 3 s (a minute / 20)", err)
	}
	if err := th.Check("10.0.0.2"); err != nil {
		t.Errorf("Check of another address = %v, want nil", err)
	}
	clk.t = clk.t.Add(3 * time.Second)
	if err := th.Check("10.0.0.1"); err != nil {
		t.Fatalf("Check 3 s later = %v, want one more try", err)
	}
	th.Fail("10.0.0.1")
	if err := th.Check("10.0.0.1"); !errors.Is(err, auth.ErrThrottled) {
		t.Errorf("Check after that try failed = %v, want throttled", err)
	}
	clk.t = clk.t.Add(time.Minute)
	if err := th.Check("10.0.0.1"); err != nil || th.Tracked() != 0 {
		t.Errorf("a minute later: Check = %v, %d addresses tracked; want nil and the full bucket forgotten", err, th.Tracked())
	}
}

func TestThrottleRemembersBoundedAddresses(t *testing.T) {
	clk := &fakeClock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	th := auth.NewThrottle(auth.ThrottleConfig{Failures: 1, Window: time.Hour, MaxAddresses: 3}, clk.now)
	for i := range 1000 {
		th.Fail(fmt.Sprintf("10.0.%d.%d", i/256, i%256))
	}
	if n := th.Tracked(); n != 3 {
		t.Fatalf("Tracked() = %d after 1000 addresses, want 3", n)
	}
	if err := th.Check("10.0.3.231"); !errors.Is(err, auth.ErrThrottled) {
		t.Errorf("the most recent address: Check = %v, want throttled", err)
	}
	if err := th.Check("10.0.0.0"); err != nil {
		t.Errorf("a forgotten address: Check = %v, want nil", err)
	}
}

func TestThrottleOff(t *testing.T) {
	th := auth.NewThrottle(auth.ThrottleConfig{}, nil)
	for range 100 {
		th.Fail("10.0.0.1")
	}
	if err := th.Check("10.0.0.1"); err != nil || th.Tracked() != 0 {
		t.Errorf("with Failures 0: Check = %v, tracked %d; want nil, 0", err, th.Tracked())
	}
}

func TestThrottleConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  auth.ThrottleConfig
		ok   bool
	}{
		{"default", auth.DefaultThrottle(), true},
		{"off", auth.ThrottleConfig{}, true},
		{"negative failures", auth.ThrottleConfig{Failures: -1, Window: time.Minute, MaxAddresses: 1}, false},
		{"no window", auth.ThrottleConfig{Failures: 5, MaxAddresses: 1}, false},
		{"no addresses", auth.ThrottleConfig{Failures: 5, Window: time.Minute}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); (err == nil) != tc.ok {
				t.Errorf("Validate(%+v) = %v, want ok %v", tc.cfg, err, tc.ok)
			}
		})
	}
}

func TestThrottleCountsAnIPv6NetworkAsOneClient(t *testing.T) {
	th := auth.NewThrottle(auth.ThrottleConfig{Failures: 2, Window: time.Hour, MaxAddresses: 10}, nil)
	th.Fail("2001:db8:1:2::1")
	th.Fail("2001:db8:1:2:ffff::9")
	if err := th.Check("2001:db8:1:2::77"); !errors.Is(err, auth.ErrThrottled) {
		t.Errorf("a third address of the /64: Check = %v, want throttled", err)
	}
	if err := th.Check("2001:db8:1:3::1"); err != nil {
		t.Errorf("another /64: Check = %v, want nil", err)
	}
	th.Fail("192.0.2.1")
	th.Fail("192.0.2.1")
	if err := th.Check("192.0.2.2"); err != nil {
		t.Errorf("another IPv4 address: Check = %v, want nil", err)
	}
}
