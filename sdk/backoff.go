package sdk

import (
	"context"
	"math/rand/v2"
	"time"
)

// delay returns the wait before reconnection attempt n (0 for the first
// retry): full jitter, a uniformly random duration in [0, min(Max,
// Initial·2^n)).
func (b Backoff) delay(n int) time.Duration {
	ceiling := b.Initial
	for i := 0; i < n && ceiling < b.Max; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, b.Max)
	if ceiling <= 0 {
		return 0
	}
	return rand.N(ceiling)
}

// authDelay returns the wait before trying a refused key again: the
// configured interval, give or take 20 %.
func (b Backoff) authDelay() time.Duration {
	d := b.AfterAuthError
	return d - d/5 + rand.N(d/5*2+1)
}

// sleep waits for d or until ctx is done; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
