// Package events is the Go SDK's event pipeline: exposure events (which
// variant of which flag a unit was served) deduplicated per unit and flag,
// and track events (what a unit did, for experiment metrics), queued in a
// bounded buffer that drops the oldest event when full, and sent in
// batches in the background over EventService.SendEvents, with retries.
//
// Nothing on the caller's side waits or grows without limit: Expose and
// Track only touch memory, and an exposure already recorded costs a hash,
// a map lookup under one of 16 locks and no allocation.
package events

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
)

// Sender sends one batch of events. A sdkpb.EventServiceClient is one; it is
// expected to authenticate the calls (per-RPC credentials of its
// connection).
type Sender interface {
	SendEvents(ctx context.Context, in *sdkpb.SendEventsRequest, opts ...grpc.CallOption) (*sdkpb.SendEventsResponse, error)
}

// Exposure says a unit was served a flag's variant.
type Exposure struct {
	Flag    string
	Variant string // "" when the caller's default applied
	// Unit is the bucketing unit, usually the targeting key.
	Unit       string
	Rule       string
	Revision   uint64
	Experiment string // "" unless the result was attributed to one
}

// Track records something a unit did.
type Track struct {
	// Key is the event key, e.g. "checkout-completed".
	Key  string
	Unit string
	// Value is sent when HasValue is set (mean metrics); it must be finite.
	Value    float64
	HasValue bool
}

// Config configures a Pipeline. Zero fields take the defaults of
// DefaultConfig, except Sender, which is required.
type Config struct {
	// Sender sends the batches.
	Sender Sender
	// SDKName and SDKVersion are sent with every batch.
	SDKName    string
	SDKVersion string
	// QueueSize caps the events waiting to be sent; when it is full the
	// oldest is dropped and counted (Stats.Dropped).
	QueueSize int
	// BatchSize caps the events of one SendEvents call; a full batch is
	// sent at once.
	BatchSize int
	// FlushInterval is how often queued events are sent when no batch
	// fills up.
	FlushInterval time.Duration
	// DedupSize caps the (unit, flag) pairs remembered for deduplication.
	DedupSize int
	// SendTimeout bounds one SendEvents attempt.
	SendTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait before a retry: exponential
	// from MinBackoff, capped at MaxBackoff, with full jitter.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// MaxAttempts is how often one batch is tried before it is given up
	// and counted (Stats.Failed).
	MaxAttempts int
	// Log receives what goes wrong in the background; nil discards it.
	Log *slog.Logger
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		QueueSize:     10_000,
		BatchSize:     500,
		FlushInterval: 2 * time.Second,
		DedupSize:     50_000,
		SendTimeout:   10 * time.Second,
		MinBackoff:    200 * time.Millisecond,
		MaxBackoff:    30 * time.Second,
		MaxAttempts:   6,
	}
}

// withDefaults fills the zero fields of c from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.QueueSize <= 0 {
		c.QueueSize = d.QueueSize
	}
	if c.BatchSize <= 0 {
		c.BatchSize = d.BatchSize
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = d.FlushInterval
	}
	if c.DedupSize <= 0 {
		c.DedupSize = d.DedupSize
	}
	if c.SendTimeout <= 0 {
		c.SendTimeout = d.SendTimeout
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = d.MinBackoff
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = d.MaxBackoff
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = d.MaxAttempts
	}
	if c.Log == nil {
		c.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return c
}

// Validate reports a configuration New cannot use.
func (c *Config) Validate() error {
	switch {
	case c.Sender == nil:
		return errors.New("events: Config.Sender is required")
	case c.MinBackoff > c.MaxBackoff && c.MaxBackoff > 0:
		return fmt.Errorf("events: MinBackoff %v is above MaxBackoff %v", c.MinBackoff, c.MaxBackoff)
	}
	return nil
}

// Stats counts what a Pipeline did with the events it was given.
type Stats struct {
	// Queued events were put in the queue.
	Queued uint64
	// Deduplicated exposures were already recorded for their unit and flag.
	Deduplicated uint64
	// Invalid events lacked a unit, flag or key and were not queued.
	Invalid uint64
	// Dropped events were pushed out of the full queue (the oldest), or
	// given after Close.
	Dropped uint64
	// Sent events were accepted by the server.
	Sent uint64
	// Rejected events were refused by the server (EventRejection).
	Rejected uint64
	// Failed events were in batches given up after MaxAttempts or refused
	// as a whole (bad key, permission).
	Failed uint64
}

// Pipeline queues events and sends them in the background. Its methods are
// safe for concurrent use.
type Pipeline struct {
	cfg   Config
	dedup *dedup
	queue *queue

	wake    chan struct{} // a full batch is queued; capacity 1
	flushes chan flushRequest
	quit    chan struct{}
	done    chan struct{} // closed when run returns
	ctx     context.Context
	cancel  context.CancelFunc // aborts sending when Close gives up
	close   sync.Once

	queued, invalid, dropped, sent, rejected, failed atomic.Uint64

	inflight []entry // the batch being sent; owned by run
	// inflightID is the batch id of the batch in flight, the same on
	// every attempt, so that the server counts a retried batch once; owned
	// by run.
	inflightID string
}

type flushRequest struct {
	ctx  context.Context
	done chan error
}

// New starts a pipeline. Call Close to flush it and stop it.
func New(cfg Config) (*Pipeline, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	p := &Pipeline{
		cfg:     cfg,
		dedup:   newDedup(cfg.DedupSize),
		queue:   newQueue(cfg.QueueSize),
		wake:    make(chan struct{}, 1),
		flushes: make(chan flushRequest),
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
		ctx:     ctx,
		cancel:  cancel,
	}
	go p.run()
	return p, nil
}

// Expose records an exposure, unless the same unit's exposure to the same
// flag, with the same variant, rule and experiment, is still remembered.
// It never blocks. An exposure without unit or flag is not recorded
// (Stats.Invalid).
func (p *Pipeline) Expose(e Exposure) {
	if e.Unit == "" || e.Flag == "" {
		p.invalid.Add(1)
		return
	}
	if p.dedup.seen(&e) {
		return
	}
	p.enqueue(&entry{
		at: time.Now().UnixNano(), unit: e.Unit, key: e.Flag, variant: e.Variant,
		rule: e.Rule, exp: e.Experiment, revision: e.Revision,
	})
}

// Track records a track event. It never blocks. An event without key or
// unit is not recorded (Stats.Invalid).
func (p *Pipeline) Track(t Track) {
	if t.Key == "" || t.Unit == "" {
		p.invalid.Add(1)
		return
	}
	p.enqueue(&entry{track: true, at: time.Now().UnixNano(), unit: t.Unit, key: t.Key, value: t.Value, hasValue: t.HasValue})
}

func (p *Pipeline) enqueue(e *entry) {
	n, dropped, closed := p.queue.push(e)
	if dropped {
		p.dropped.Add(1)
	}
	if closed {
		return
	}
	p.queued.Add(1)
	if n >= p.cfg.BatchSize {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}

// Stats returns the counters so far.
func (p *Pipeline) Stats() Stats {
	s := Stats{
		Queued: p.queued.Load(), Invalid: p.invalid.Load(), Dropped: p.dropped.Load(),
		Sent: p.sent.Load(), Rejected: p.rejected.Load(), Failed: p.failed.Load(),
	}
	for i := range p.dedup.shards {
		sh := &p.dedup.shards[i]
		sh.mu.Lock()
		s.Deduplicated += sh.hits
		sh.mu.Unlock()
	}
	return s
}

// ErrClosed means the pipeline is closed.
var ErrClosed = errors.New("events: pipeline closed")

// Flush sends every event queued when it is called and waits until the
// server has them, or ctx is done. It returns the first error of a batch
// it could not deliver (that batch is then counted in Stats.Failed, unless
// ctx ended first: then it is kept for the next attempt).
func (p *Pipeline) Flush(ctx context.Context) error {
	r := flushRequest{ctx: ctx, done: make(chan error, 1)}
	select {
	case p.flushes <- r:
	case <-p.done:
		return ErrClosed
	case <-ctx.Done():
		return fmt.Errorf("flush events: %w", ctx.Err())
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		// run sees ctx too and returns soon.
		return fmt.Errorf("flush events: %w", ctx.Err())
	}
}

// Close stops accepting events (later ones count as dropped), flushes the
// queue as Flush does and stops the background sender. If ctx ends first,
// sending is abandoned and the events left are lost. Closing twice is
// fine; the second call returns nil at once.
func (p *Pipeline) Close(ctx context.Context) error {
	var err error
	p.close.Do(func() { err = p.shutdown(ctx) })
	return err
}

func (p *Pipeline) shutdown(ctx context.Context) error {
	p.queue.close()
	err := p.Flush(ctx)
	if err != nil {
		p.cancel() // abandon a send in progress
	}
	close(p.quit)
	<-p.done
	p.cancel()
	if err != nil {
		return fmt.Errorf("close events: %w (%d events not sent)", err, p.queue.len()+len(p.inflight))
	}
	return nil
}

// run is the background sender.
func (p *Pipeline) run() {
	defer close(p.done)
	tick := time.NewTicker(p.cfg.FlushInterval)
	defer tick.Stop()
	for {
		select {
		case <-p.quit:
			return
		case <-p.wake:
			n := p.queue.len()
			if err := p.sendQueued(p.ctx, n-n%p.cfg.BatchSize); err != nil {
				p.cfg.Log.Warn("send events", "err", err)
			}
		case <-tick.C:
			if err := p.sendQueued(p.ctx, p.queue.len()); err != nil {
				p.cfg.Log.Warn("send events", "err", err)
			}
		case r := <-p.flushes:
			ctx, cancel := context.WithCancel(r.ctx)
			stop := context.AfterFunc(p.ctx, cancel)
			r.done <- p.sendQueued(ctx, p.queue.len())
			stop()
			cancel()
		}
	}
}

// sendQueued sends the batch in flight, if any, and then n queued events
// in batches. It stops at the first batch it cannot deliver.
func (p *Pipeline) sendQueued(ctx context.Context, n int) error {
	if len(p.inflight) > 0 {
		if err := p.send(ctx); err != nil {
			return err
		}
	}
	for n > 0 {
		p.inflight = p.queue.pop(p.inflight[:0], min(n, p.cfg.BatchSize))
		if len(p.inflight) == 0 {
			return nil
		}
		p.inflightID = newBatchID()
		n -= len(p.inflight)
		if err := p.send(ctx); err != nil {
			return err
		}
	}
	return nil
}

// send delivers the batch in flight, retrying with backoff. The batch is
// done with when it is delivered, refused for good or out of attempts;
// when ctx ends first it stays in flight.
func (p *Pipeline) send(ctx context.Context) error {
	req := p.request()
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, p.cfg.SendTimeout)
		resp, err := p.cfg.Sender.SendEvents(actx, req)
		cancel()
		if err == nil {
			p.sent.Add(uint64(resp.GetAccepted()))
			p.rejected.Add(uint64(resp.GetRejected()))
			if r := resp.GetRejections(); len(r) > 0 {
				p.cfg.Log.Warn("server rejected events", "rejected", resp.GetRejected(), "first", r[0].GetReason())
			}
			p.release()
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("send %d events: %w", len(req.GetEvents()), ctx.Err())
		}
		if !retryable(err) || attempt >= p.cfg.MaxAttempts {
			p.failed.Add(uint64(len(req.GetEvents())))
			p.release()
			return fmt.Errorf("send %d events (attempt %d): %w", len(req.GetEvents()), attempt, err)
		}
		t := time.NewTimer(p.backoff(attempt))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("send %d events: %w", len(req.GetEvents()), ctx.Err())
		}
	}
}

// release lets go of the batch in flight.
func (p *Pipeline) release() {
	clear(p.inflight)
	p.inflight = p.inflight[:0]
}

// backoff is the wait before attempt+1: full jitter over an exponential
// ceiling.
func (p *Pipeline) backoff(attempt int) time.Duration {
	ceiling := p.cfg.MaxBackoff
	if attempt < 32 {
		ceiling = min(p.cfg.MaxBackoff, p.cfg.MinBackoff<<(attempt-1))
	}
	return rand.N(ceiling)
}

// retryable reports whether a failed call may succeed later.
func retryable(err error) bool {
	switch status.Code(err) {
	case codes.InvalidArgument, codes.Unauthenticated, codes.PermissionDenied, codes.NotFound,
		codes.Unimplemented, codes.FailedPrecondition, codes.OutOfRange:
		return false
	}
	return true
}

// request builds the SendEvents request of the batch in flight.
func (p *Pipeline) request() *sdkpb.SendEventsRequest {
	req := &sdkpb.SendEventsRequest{
		SdkName: p.cfg.SDKName, SdkVersion: p.cfg.SDKVersion, BatchId: p.inflightID,
		Events: make([]*sdkpb.Event, len(p.inflight)),
	}
	for i := range p.inflight {
		e := &p.inflight[i]
		ev := &sdkpb.Event{Time: timestamppb.New(time.Unix(0, e.at))}
		if e.track {
			t := &sdkpb.TrackEvent{Key: e.key, Unit: e.unit}
			if e.hasValue {
				v := e.value
				t.Value = &v
			}
			ev.Kind = &sdkpb.Event_Track{Track: t}
		} else {
			ev.Kind = &sdkpb.Event_Exposure{Exposure: &sdkpb.ExposureEvent{
				Flag: e.key, Variant: e.variant, Unit: e.unit, Rule: e.rule, Revision: e.revision, Experiment: e.exp,
			}}
		}
		req.Events[i] = ev
	}
	return req
}

// newBatchID returns a random batch id (SendEventsRequest.batch_id).
func newBatchID() string {
	var b [16]byte
	crand.Read(b[:])
	return "sdk:" + hex.EncodeToString(b[:])
}
