package sdk

import (
	"testing"
	"time"
)

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Initial: 100 * time.Millisecond, Max: time.Second}
	tests := []struct {
		attempt int
		ceiling time.Duration
	}{
		{0, 100 * time.Millisecond},
		{1, 200 * time.Millisecond},
		{3, 800 * time.Millisecond},
		{4, time.Second},
		{100, time.Second},
	}
	for _, tc := range tests {
		var longest time.Duration
		for range 1000 {
			d := b.delay(tc.attempt)
			if d < 0 || d >= tc.ceiling {
				t.Fatalf("delay(%d) = %s, want in [0, %s)", tc.attempt, d, tc.ceiling)
			}
			longest = max(longest, d)
		}
		// Full jitter spreads over the whole range.
		if longest < tc.ceiling/2 {
			t.Errorf("delay(%d): longest of 1000 draws %s, want above %s", tc.attempt, longest, tc.ceiling/2)
		}
	}
}

func TestAuthDelay(t *testing.T) {
	b := Backoff{AfterAuthError: 10 * time.Minute}
	for range 1000 {
		if d := b.authDelay(); d < 8*time.Minute || d > 12*time.Minute {
			t.Fatalf("authDelay() = %s, want 10 min ± 20 %%", d)
		}
	}
}
