package sdk

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/switchyard/switchyard/internal/eval"
	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/sdk/internal/events"
)

// EventStats counts what the client did with its events: queued,
// deduplicated, dropped (the queue was full), sent, rejected by the server
// and failed (given up).
type EventStats = events.Stats

// startEvents starts the events pipeline of a connected client, unless
// events are disabled. Its batches go over cc with the client's SDK key.
func (c *Client) startEvents(cc grpc.ClientConnInterface) error {
	if c.cfg.Events.Disabled {
		return nil
	}
	p, err := events.New(events.Config{
		Sender:        keySender{api: sdkpb.NewEventServiceClient(cc), key: c.cfg.SDKKey},
		SDKName:       c.cfg.Name,
		SDKVersion:    c.cfg.Version,
		QueueSize:     c.cfg.Events.QueueSize,
		BatchSize:     c.cfg.Events.BatchSize,
		FlushInterval: c.cfg.Events.FlushInterval,
		DedupSize:     c.cfg.Events.DedupSize,
		Log:           c.log,
	})
	if err != nil {
		return fmt.Errorf("sdk: %w", err)
	}
	c.events = p
	return nil
}

// keySender sends event batches with an SDK key.
type keySender struct {
	api sdkpb.EventServiceClient
	key string
}

// SendEvents sends one batch.
func (s keySender) SendEvents(ctx context.Context, in *sdkpb.SendEventsRequest, opts ...grpc.CallOption) (*sdkpb.SendEventsResponse, error) {
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+s.key)
	return s.api.SendEvents(ctx, in, opts...)
}

// expose records the exposure of one getter call: the flag, the variant
// returned ("" when the default was), the unit (the value of the flag's
// bucketing attribute, see eval.Ruleset.Unit; the caller records nothing
// for a context without one), the rule, the revision and the experiment.
// It runs on the caller's goroutine and does not block; an exposure
// already recorded does not allocate.
func (c *Client) expose(rs *eval.Ruleset, key, unit, variant, rule, experiment string) {
	c.events.Expose(events.Exposure{
		Flag: key, Variant: variant, Unit: unit, Rule: rule, Revision: rs.Revision, Experiment: experiment,
	})
}

// Track records that the unit of ctx (its targeting key) did something,
// with a value (for mean metrics, e.g. an order's amount), for experiment
// metrics. It never blocks; the event is sent in the background. Without a
// targeting key, or with events disabled or no server, it does nothing.
func (c *Client) Track(eventKey string, ctx *Context, value float64) {
	c.track(eventKey, ctx, value, true)
}

// TrackEvent is Track without a value (for conversion metrics, e.g. a
// completed checkout).
func (c *Client) TrackEvent(eventKey string, ctx *Context) {
	c.track(eventKey, ctx, 0, false)
}

func (c *Client) track(eventKey string, ctx *Context, value float64, hasValue bool) {
	if c.events == nil || ctx == nil {
		return
	}
	unit, ok := ctx.TargetingKey()
	if !ok || unit == "" {
		return
	}
	c.events.Track(events.Track{Key: eventKey, Unit: unit, Value: value, HasValue: hasValue})
}

// Flush sends the events queued so far and waits until the server has
// them, or ctx ends. Close flushes too; Flush is for a caller that needs
// the events delivered at a point of its own.
func (c *Client) Flush(ctx context.Context) error {
	if c.events == nil {
		return nil
	}
	if err := c.events.Flush(ctx); err != nil {
		return fmt.Errorf("sdk: %w", err)
	}
	return nil
}

// EventStats returns the client's event counters; zero when events are
// disabled or the client has no server.
func (c *Client) EventStats() EventStats {
	if c.events == nil {
		return EventStats{}
	}
	return c.events.Stats()
}

// closeEvents stops the pipeline, sending what is queued within
// Events.CloseTimeout. Events that could not be sent are logged and
// counted, not returned: the server being down is no reason for Close to
// fail.
func (c *Client) closeEvents() {
	if c.events == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Events.CloseTimeout)
	defer cancel()
	if err := c.events.Close(ctx); err != nil {
		c.log.Warn("events not sent before close", "err", err)
	}
}
