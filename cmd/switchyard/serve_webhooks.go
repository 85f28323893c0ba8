package main

import (
	"flag"
	"fmt"
	"time"
)

// registerWebhookFlags registers the serve flags of the webhook
// deliveries on fs.
func (c *serveConfig) registerWebhookFlags(fs *flag.FlagSet) {
	w := &c.Webhooks
	fs.DurationVar(&w.RetryHorizon, "webhook-retry-horizon", w.RetryHorizon, "how long after its event a webhook delivery is retried before it is FAILED")
	fs.DurationVar(&w.InitialBackoff, "webhook-initial-backoff", w.InitialBackoff, "the longest wait before a delivery's second attempt; it doubles with each attempt (full jitter)")
	fs.DurationVar(&w.MaxBackoff, "webhook-max-backoff", w.MaxBackoff, "the longest wait between two attempts of a delivery")
	fs.BoolVar(&w.AllowPrivate, "webhook-allow-private", w.AllowPrivate, "let webhooks target loopback, link-local, private, unspecified and multicast addresses")
}

// validateWebhooks checks the webhook settings.
func (c serveConfig) validateWebhooks() error {
	w := c.Webhooks
	for _, f := range []struct {
		name string
		d    time.Duration
	}{{"--webhook-retry-horizon", w.RetryHorizon}, {"--webhook-initial-backoff", w.InitialBackoff}, {"--webhook-max-backoff", w.MaxBackoff}} {
		if f.d <= 0 {
			return fmt.Errorf("%s %s: must be positive", f.name, f.d)
		}
	}
	if w.InitialBackoff > w.MaxBackoff {
		return fmt.Errorf("--webhook-initial-backoff %s: must not exceed --webhook-max-backoff %s", w.InitialBackoff, w.MaxBackoff)
	}
	return nil
}
