package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/switchyard/switchyard/internal/domain"
)

// registerWebhookFlags registers the serve flags of the webhook
// deliveries and of the key that encrypts their secrets on fs.
func (c *serveConfig) registerWebhookFlags(fs *pflag.FlagSet) {
	w := &c.Webhooks
	fs.DurationVar(&w.RetryHorizon, "webhook-retry-horizon", w.RetryHorizon, "how long after its event a webhook delivery is retried before it is FAILED")
	fs.DurationVar(&w.InitialBackoff, "webhook-initial-backoff", w.InitialBackoff, "the longest wait before a delivery's second attempt; it doubles with each attempt (full jitter)")
	fs.DurationVar(&w.MaxBackoff, "webhook-max-backoff", w.MaxBackoff, "the longest wait between two attempts of a delivery")
	fs.StringVar(&c.SecretKeyFile, "secret-key-file", c.SecretKeyFile, "file of the keys that encrypt webhook secrets (default: the --db path + \".key\", created on first start)")
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

// secretKeys reads the secret key file. The default file (beside the
// database) is created, mode 0600, when it does not exist; then undo
// removes it again, for when the database cannot be opened with it (its
// secrets were encrypted with a key that is missing). A file named with
// --secret-key-file must exist.
func (c serveConfig) secretKeys(log *slog.Logger) (keys *domain.SecretKeys, undo func(), err error) {
	path, undo := c.SecretKeyFile, func() {}
	if path == "" {
		path = c.DB + ".key"
		if err := domain.CreateSecretKeyFile(path); err == nil {
			log.Info("created a secret key file: keep it with the database, and back it up apart from it", "path", path)
			undo = func() { os.Remove(path) }
		} else if !errors.Is(err, fs.ErrExist) {
			return nil, nil, err
		}
	}
	if keys, err = domain.ReadSecretKeyFile(path); err != nil {
		undo()
		return nil, nil, fmt.Errorf("--secret-key-file: %w", err)
	}
	return keys, undo, nil
}
