package server

import (
	"context"
	"sync"

	"github.com/switchyard/switchyard/internal/webhook"
)

// WithWebhooks sets how webhook deliveries are made: workers, queue,
// attempts, backoff, timeout and log size (defaults: webhook package; the
// drain defaults to the server's drain timeout).
func WithWebhooks(opts webhook.Options) Option {
	return func(o *options) { o.webhooks = opts }
}

// runNotifications subscribes the release verifier and the webhook
// dispatcher to the store's commits and runs them until ctx is done (the
// dispatcher then drains within its Drain), then unsubscribes them.
func (s *Server) runNotifications(ctx context.Context) {
	stopVerifier := s.store.Subscribe(s.verifier.Observe)
	stopWebhooks := s.store.Subscribe(s.webhooks.Observe)
	defer stopWebhooks()
	defer stopVerifier()
	var wg sync.WaitGroup
	wg.Go(func() { s.verifier.Run(ctx) })
	wg.Go(func() { s.webhooks.Run(ctx) })
	wg.Wait()
}
