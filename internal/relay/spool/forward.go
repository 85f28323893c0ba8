package spool

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
)

// Sender sends a batch of events upstream; the upstream's
// sdkpb.EventServiceClient is one.
type Sender interface {
	SendEvents(ctx context.Context, in *sdkpb.SendEventsRequest, opts ...grpc.CallOption) (*sdkpb.SendEventsResponse, error)
}

var _ Sender = sdkpb.EventServiceClient(nil)

// ForwardOptions configures Forward. Zero fields take the defaults.
type ForwardOptions struct {
	// Timeout bounds one upstream call; default 10 s.
	Timeout time.Duration
	// MinBackoff and MaxBackoff bound the wait before a retry, which
	// doubles from MinBackoff up to MaxBackoff, with jitter; defaults
	// 100 ms and 30 s.
	MinBackoff, MaxBackoff time.Duration
}

func (o ForwardOptions) withDefaults() ForwardOptions {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 100 * time.Millisecond
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(30*time.Second, o.MinBackoff)
	}
	return o
}

// Forward sends the spooled batches to up, oldest first, until ctx is
// done; it returns nil then. A group the upstream accepts (its answer may
// reject single events: the upstream counts those) or refuses as a whole
// for good (INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION: the
// environment was deleted, say) is deleted from the file; on any other
// error the same group is sent again after a backoff, so the upstream
// counts it once. Run one Forward per Spool.
func (s *Spool) Forward(ctx context.Context, log *slog.Logger, up Sender, opts ForwardOptions) error {
	opts = opts.withDefaults()
	attempt := 0
	for {
		g, err := s.next()
		if err != nil {
			log.Error("event spool: read the next batch", "err", err)
			if !s.wait(ctx, nil, opts.MaxBackoff) {
				return nil
			}
			continue
		}
		if g == nil {
			if !s.wait(ctx, s.kick, 0) {
				return nil
			}
			continue
		}
		sendCtx, cancel := context.WithTimeout(ctx, opts.Timeout)
		_, err = up.SendEvents(sendCtx, g.req)
		cancel()
		switch code := status.Code(err); {
		case ctx.Err() != nil:
			return nil
		case err == nil:
			s.forwardedEvents.Add(uint64(g.events))
		case code == codes.InvalidArgument || code == codes.NotFound || code == codes.FailedPrecondition:
			log.Warn("event spool: the upstream refused a batch; it is dropped", "project", g.req.GetProject(),
				"environment", g.req.GetEnvironment(), "events", g.events, "err", err)
			s.refusedEvents.Add(uint64(g.events))
		default:
			if !s.upstreamDown.Swap(true) {
				log.Warn("event spool: the upstream is unreachable; events are kept until it returns", "err", err)
			}
			if !s.wait(ctx, nil, backoff(opts, attempt)) {
				return nil
			}
			attempt++
			continue
		}
		if s.upstreamDown.Swap(false) {
			log.Info("event spool: the upstream is back", "batches", s.batches.Load())
		}
		attempt = 0
		if err := s.done(g); err != nil {
			return fmt.Errorf("event spool: delete forwarded batches: %w", err)
		}
	}
}

// wait waits for kick (nil: none), d (0: none) or the end of ctx, and
// reports whether ctx is still live.
func (s *Spool) wait(ctx context.Context, kick <-chan struct{}, d time.Duration) bool {
	var timer <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-ctx.Done():
		return false
	case <-kick:
	case <-timer:
	}
	return true
}

// backoff is the wait before retry attempt+1: MinBackoff doubled per
// attempt up to MaxBackoff, of which a random half.
func backoff(o ForwardOptions, attempt int) time.Duration {
	d := o.MaxBackoff
	if attempt < 30 {
		d = min(o.MinBackoff<<attempt, o.MaxBackoff)
	}
	return d/2 + rand.N(d/2+1)
}
