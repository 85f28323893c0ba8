package auth

import (
	"container/list"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// ErrThrottled means the caller's address failed to authenticate too often
// lately; its requests are refused, without looking at their credential,
// until it may try again. Errors matching it are *ThrottledError.
var ErrThrottled = errors.New("too many failed authentications")

// ThrottledError says when a throttled address may try again.
type ThrottledError struct {
	Addr       string
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("%s from %s: retry in %s", ErrThrottled, e.Addr, e.RetryAfter.Round(time.Second))
}

// Is makes a *ThrottledError match ErrThrottled.
func (e *ThrottledError) Is(target error) bool { return target == ErrThrottled }

// RetryAfterSeconds is RetryAfter in whole seconds, rounded up, at least 1:
// the value of an HTTP Retry-After header.
func (e *ThrottledError) RetryAfterSeconds() int64 {
	return max(1, int64(math.Ceil(e.RetryAfter.Seconds())))
}

// ThrottleConfig configures a Throttle: every client address has a bucket
// of Failures failed authentications that refills completely in Window
// (a token bucket); an address whose bucket is empty is throttled.
type ThrottleConfig struct {
	// Failures is how many failed authentications an address may make in
	// a row before it is throttled; 0 turns throttling off.
	Failures int
	// Window is how long an empty bucket takes to refill: an address may
	// fail Failures times per Window in the long run.
	Window time.Duration
	// MaxAddresses bounds the addresses remembered; beyond it the address
	// that failed least recently is forgotten (its bucket starts full).
	MaxAddresses int
}

// DefaultThrottle allows 20 failed authentications per minute per address
// and remembers up to 10,000 addresses (some 140 bytes each: 1.4 MB).
func DefaultThrottle() ThrottleConfig {
	return ThrottleConfig{Failures: 20, Window: time.Minute, MaxAddresses: 10_000}
}

// Validate reports a configuration that cannot work.
func (c ThrottleConfig) Validate() error {
	switch {
	case c.Failures < 0:
		return fmt.Errorf("auth throttle: failures %d: must not be negative", c.Failures)
	case c.Failures > 0 && c.Window <= 0:
		return fmt.Errorf("auth throttle: window %s: must be positive", c.Window)
	case c.Failures > 0 && c.MaxAddresses < 1:
		return fmt.Errorf("auth throttle: max addresses %d: must be at least 1", c.MaxAddresses)
	}
	return nil
}

// Throttle counts failed authentications per client address (per /64
// network for IPv6). It is safe for concurrent use. Check before looking at a credential; Fail after one
// was refused. Successful authentications are never counted.
type Throttle struct {
	cfg  ThrottleConfig
	now  func() time.Time
	rate float64 // failures regained per second

	// tracked is len(byAddr): Check skips the lock while no address has
	// failed recently, which is the normal case.
	tracked atomic.Int64
	mu      sync.Mutex
	byAddr  map[string]*list.Element // of *bucket
	lru     *list.List               // front: the most recent failure
}

type bucket struct {
	addr   string
	tokens float64 // failures left
	at     time.Time
}

// NewThrottle returns a throttle with cfg (see ThrottleConfig.Validate),
// reading the time from now (nil: time.Now).
func NewThrottle(cfg ThrottleConfig, now func() time.Time) *Throttle {
	if now == nil {
		now = time.Now
	}
	t := &Throttle{cfg: cfg, now: now, byAddr: map[string]*list.Element{}, lru: list.New()}
	if cfg.Failures > 0 {
		t.rate = float64(cfg.Failures) / cfg.Window.Seconds()
	}
	return t
}

// refill brings b's tokens up to now.
func (t *Throttle) refill(b *bucket, now time.Time) {
	if d := now.Sub(b.at).Seconds(); d > 0 {
		b.tokens = min(float64(t.cfg.Failures), b.tokens+d*t.rate)
	}
	b.at = now
}

// clientOf is the client an address counts for: an IPv4 address, or the
// /64 network of an IPv6 address (one host usually holds a whole /64, so
// counting single IPv6 addresses would let it rotate past the throttle).
// Anything else counts as itself.
func clientOf(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil || a.Is4() || a.Is4In6() {
		return addr
	}
	p, err := a.Prefix(64)
	if err != nil {
		return addr
	}
	return p.String()
}

// Check returns a *ThrottledError when addr has no failed authentication
// left, nil otherwise. It does not count anything.
func (t *Throttle) Check(addr string) error {
	if t.cfg.Failures == 0 || t.tracked.Load() == 0 {
		return nil
	}
	addr = clientOf(addr)
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.byAddr[addr]
	if !ok {
		return nil
	}
	b := e.Value.(*bucket)
	t.refill(b, t.now())
	if b.tokens >= 1 {
		if b.tokens >= float64(t.cfg.Failures) {
			t.forget(e) // full again: as if it never failed
		}
		return nil
	}
	return &ThrottledError{Addr: addr, RetryAfter: time.Duration((1 - b.tokens) / t.rate * float64(time.Second))}
}

// Fail counts a failed authentication from addr.
func (t *Throttle) Fail(addr string) {
	if t.cfg.Failures == 0 {
		return
	}
	addr = clientOf(addr)
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.byAddr[addr]
	if !ok {
		for t.lru.Len() >= t.cfg.MaxAddresses {
			t.forget(t.lru.Back())
		}
		e = t.lru.PushFront(&bucket{addr: addr, tokens: float64(t.cfg.Failures), at: now})
		t.byAddr[addr] = e
		t.tracked.Store(int64(len(t.byAddr)))
	}
	t.lru.MoveToFront(e)
	b := e.Value.(*bucket)
	t.refill(b, now)
	b.tokens = max(0, b.tokens-1)
}

// forget drops e's address; the caller holds t.mu.
func (t *Throttle) forget(e *list.Element) {
	delete(t.byAddr, e.Value.(*bucket).addr)
	t.lru.Remove(e)
	t.tracked.Store(int64(len(t.byAddr)))
}

// Tracked is how many addresses the throttle remembers.
func (t *Throttle) Tracked() int { return int(t.tracked.Load()) }
