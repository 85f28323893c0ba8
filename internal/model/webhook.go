package model

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// Webhook is a project's subscription to its events: the server POSTs each
// event whose type (an audit action such as "release.advance" or
// "flag.targeting.update") matches Events to URL, signed with Secret.
// Webhooks are not part of the declarative document.
type Webhook struct {
	ID  string `json:"id"`
	URL string `json:"url"`
	// Secret is the HMAC-SHA256 key of the deliveries' signatures. It is
	// stored to sign with and never shown again.
	Secret string `json:"secret,omitempty"`
	// Events are the event types delivered: "*" (every event), a kind
	// followed by ".*" ("release.*", "flag.*", "segment.*") or one exact
	// type ("release.roll_back"). Empty: every event.
	Events      []string `json:"events,omitempty"`
	Description string   `json:"description,omitempty"`
	// Disabled webhooks receive nothing.
	Disabled bool `json:"disabled,omitempty"`
}

// Webhook limits.
const (
	MaxWebhookURLLength = 2048
	MinWebhookSecret    = 16
	MaxWebhookSecret    = 256
	MaxWebhookEvents    = 50
)

// eventPattern is the syntax of a webhook's event filter entry.
var eventPattern = regexp.MustCompile(`^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?)$`)

// ValidateWebhook checks a webhook on its own: its id, an absolute http or
// https URL with a host, a secret of MinWebhookSecret to MaxWebhookSecret
// bytes and its event filter. It reports every problem with its path as an
// Errors value, and nil for a valid webhook.
func ValidateWebhook(w *Webhook) error {
	var errs Errors
	if w == nil {
		errs.add("", "a webhook is required")
		return errs
	}
	if !ValidKey(w.ID) {
		errs.add("id", "%q is not a valid key (pattern %s)", w.ID, KeyPattern)
	}
	if err := checkWebhookURL(w.URL); err != "" {
		errs.add("url", "%s", err)
	}
	if n := len(w.Secret); n < MinWebhookSecret || n > MaxWebhookSecret {
		errs.add("secret", "must be %d to %d bytes long, not %d", MinWebhookSecret, MaxWebhookSecret, n)
	}
	if len(w.Events) > MaxWebhookEvents {
		errs.add("events", "at most %d entries", MaxWebhookEvents)
	}
	for i, e := range w.Events {
		if !eventPattern.MatchString(e) {
			errs.add(fmt.Sprintf("events[%d]", i), "%q is not an event type, a kind followed by \".*\", or \"*\"", e)
		}
	}
	return errs.err()
}

// checkWebhookURL returns what is wrong with a webhook URL, or "".
func checkWebhookURL(raw string) string {
	if raw == "" {
		return "is required"
	}
	if len(raw) > MaxWebhookURLLength {
		return fmt.Sprintf("is longer than %d bytes", MaxWebhookURLLength)
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Sprintf("%q is not a URL", raw)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Sprintf("%q: only http and https URLs are allowed", raw)
	case u.Host == "" || u.Hostname() == "":
		return fmt.Sprintf("%q has no host", raw)
	case u.User != nil:
		return fmt.Sprintf("%q: credentials in the URL are not allowed; sign with the secret", raw)
	}
	return ""
}

// Matches reports whether the webhook receives events of type t: it is
// enabled and t matches an entry of Events (or Events is empty).
func (w *Webhook) Matches(t string) bool {
	if w.Disabled {
		return false
	}
	if len(w.Events) == 0 {
		return true
	}
	for _, e := range w.Events {
		if e == "*" || e == t {
			return true
		}
		if kind, ok := strings.CutSuffix(e, ".*"); ok && strings.HasPrefix(t, kind+".") {
			return true
		}
	}
	return false
}
