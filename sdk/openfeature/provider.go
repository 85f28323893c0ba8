// Package openfeature is an OpenFeature provider (github.com/open-feature/go-sdk)
// for Switchyard: flags are evaluated locally by the Go SDK's client, on the
// ruleset the server streams, and the client's changes, status and tracking
// are mapped to OpenFeature's events and Tracker.
//
//	provider := swof.New(sdk.Config{Address: "127.0.0.1:9090", SDKKey: key})
//	err := openfeature.SetProviderAndWait(provider)
//	client := openfeature.NewClient("checkout")
//	on, _ := client.BooleanValue(ctx, "new-checkout", false, openfeature.NewEvaluationContext("user-1", nil))
package openfeature

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	of "github.com/open-feature/go-sdk/openfeature"

	"github.com/switchyard/switchyard/sdk"
)

// Name is the provider's name in OpenFeature's metadata.
const Name = "switchyard"

// DefaultInitTimeout bounds how long Init waits for the server's ruleset
// when the context it is given has no deadline (SetProviderAndWait gives
// none).
const DefaultInitTimeout = 10 * time.Second

// eventBuffer is how many provider events wait for OpenFeature's event
// executor, which reads them as they come; beyond it, events are dropped
// rather than holding up the SDK client.
const eventBuffer = 256

// Provider is an OpenFeature provider backed by a Switchyard SDK client. It
// implements of.FeatureProvider, of.ContextAwareStateHandler (Init waits
// for the server's ruleset), of.EventHandler (ready, configuration changed
// with the changed flag keys, stale, error) and of.Tracker.
type Provider struct {
	cfg   sdk.Config
	owned bool // the provider creates and closes its client

	client atomic.Pointer[sdk.Client] // set by Init (or FromClient)
	// announcing is set once Init has returned: from then on the client's
	// changes and status changes become events (before, OpenFeature's own
	// ready event covers them).
	announcing atomic.Bool
	events     chan of.Event

	mu      sync.Mutex // serializes Init and Shutdown; guards removes
	removes []func()
}

var (
	_ of.FeatureProvider          = (*Provider)(nil)
	_ of.ContextAwareStateHandler = (*Provider)(nil)
	_ of.EventHandler             = (*Provider)(nil)
	_ of.Tracker                  = (*Provider)(nil)
)

// New returns a provider that creates a client for cfg when OpenFeature
// initializes it and closes the client at shutdown.
func New(cfg sdk.Config) *Provider {
	return &Provider{cfg: cfg, owned: true, events: make(chan of.Event, eventBuffer)}
}

// FromClient returns a provider evaluating with an existing client, which
// the application keeps using directly and closes itself: shutdown leaves
// it open.
func FromClient(c *sdk.Client) *Provider {
	p := &Provider{events: make(chan of.Event, eventBuffer)}
	p.client.Store(c)
	return p
}

// Client returns the provider's SDK client, nil before Init (for a provider
// from New), e.g. for the typed getters that do not allocate.
func (p *Provider) Client() *sdk.Client { return p.client.Load() }

// Metadata names the provider.
func (p *Provider) Metadata() of.Metadata { return of.Metadata{Name: Name} }

// Hooks returns no hooks.
func (p *Provider) Hooks() []of.Hook { return nil }

// EventChannel returns the channel of the provider's events.
func (p *Provider) EventChannel() <-chan of.Event { return p.events }

// Init is InitWithContext without a deadline of the caller's.
func (p *Provider) Init(evalCtx of.EvaluationContext) error {
	return p.InitWithContext(context.Background(), evalCtx)
}

// InitWithContext creates the client (for a provider from New) and waits
// until it has the server's ruleset, until ctx ends or, when ctx has no
// deadline, for at most DefaultInitTimeout. A configuration the client
// refuses is fatal (PROVIDER_FATAL). Any other failure — the key refused,
// the server out of reach — leaves the provider in OpenFeature's ERROR
// state, in which flags are still evaluated on what the client has (a
// cache file, a bootstrap document, or nothing: PROVIDER_NOT_READY), and a
// ready event follows once the client gets the server's ruleset.
func (p *Provider) InitWithContext(ctx context.Context, _ of.EvaluationContext) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.client.Load()
	if c == nil {
		var err error
		if c, err = sdk.New(ctx, p.cfg); err != nil {
			return &of.ProviderInitError{ErrorCode: of.ProviderFatalCode, Message: err.Error()}
		}
		p.client.Store(c)
	}
	if p.removes == nil {
		p.removes = []func(){c.OnChange(p.changed), c.OnStatusChange(p.statusChanged)}
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultInitTimeout)
		defer cancel()
	}
	err := c.WaitReady(ctx)
	p.announcing.Store(true)
	if err != nil {
		return fmt.Errorf("switchyard: %w", err)
	}
	return nil
}

// Shutdown is ShutdownWithContext without a deadline of the caller's.
func (p *Provider) Shutdown() { _ = p.ShutdownWithContext(context.Background()) }

// ShutdownWithContext stops announcing events and, for a provider from
// New, closes the client (sending its queued events), waiting until ctx
// ends at most. The provider may be initialized again.
func (p *Provider) ShutdownWithContext(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.announcing.Store(false)
	for _, remove := range p.removes {
		remove()
	}
	p.removes = nil
	if !p.owned {
		return nil
	}
	c := p.client.Swap(nil)
	if c == nil {
		return nil
	}
	done := make(chan error, 1)
	go func() { done <- c.Close() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("switchyard: shutdown: %w", ctx.Err())
	}
}

// changed announces a new ruleset.
func (p *Provider) changed(ch sdk.Change) {
	if !p.announcing.Load() {
		return
	}
	p.emit(of.ProviderConfigChange, of.ProviderEventDetails{
		Message:       fmt.Sprintf("revision %d", ch.Revision),
		FlagChanges:   ch.Flags,
		EventMetadata: map[string]any{"revision": int64(ch.Revision)},
	})
}

// statusChanged announces the client's status as OpenFeature's: READY,
// STALE, or ERROR with the server's message. NOT_READY has no event: it
// only follows a failed start, already an error.
func (p *Provider) statusChanged(s sdk.Status, err error) {
	if !p.announcing.Load() {
		return
	}
	switch s {
	case sdk.StatusReady:
		p.emit(of.ProviderReady, of.ProviderEventDetails{Message: "connected"})
	case sdk.StatusStale:
		p.emit(of.ProviderStale, of.ProviderEventDetails{Message: message(err, "disconnected")})
	case sdk.StatusError:
		p.emit(of.ProviderError, of.ProviderEventDetails{Message: message(err, "the SDK key was refused"), ErrorCode: of.GeneralCode})
	}
}

// emit sends an event without waiting.
func (p *Provider) emit(t of.EventType, d of.ProviderEventDetails) {
	select {
	case p.events <- of.Event{ProviderName: Name, EventType: t, ProviderEventDetails: d}:
	default:
	}
}

// message returns err's message, or def.
func message(err error, def string) string {
	if err == nil || errors.Is(err, context.Canceled) {
		return def
	}
	return err.Error()
}
