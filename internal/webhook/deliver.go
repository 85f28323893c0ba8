package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/model"
)

// userAgent identifies the deliveries.
const userAgent = "Switchyard-Webhooks/1"

// maxErrorBody bounds what of a failed answer's body the log keeps.
const maxErrorBody = 200

// deliver makes the next attempt of a delivery: it POSTs the event to its
// webhook as the webhook is now (its URL and secret may have changed since
// the event), logs the attempt, and schedules the next one when the
// failure is worth retrying within the retry horizon. An attempt cut
// short by the end of Run is not logged: the delivery stays as it was.
func (d *Dispatcher) deliver(ctx context.Context, ref domain.DeliveryRef) {
	rec, ev, ok, err := d.store.WebhookDeliveryJob(ref)
	now := time.Now().UTC()
	switch {
	case ok && rec.Active() && errors.Is(err, domain.ErrNotFound):
		rec.State, rec.NextRetry, rec.UpdateTime = domain.DeliveryFailed, nil, now
		rec.LastError = "the event is missing from the audit log"
		d.write(ref, &rec)
		d.finish(ref)
		return
	case err != nil:
		d.log.Error("webhook delivery", "project", ref.Project, "webhook", ref.Webhook, "err", err)
		d.finish(ref)
		return
	case !ok || !rec.Active():
		d.finish(ref) // gone with its webhook, or finished
		return
	}
	w, ok := d.current(ref)
	if !ok {
		rec.State, rec.NextRetry, rec.UpdateTime = domain.DeliveryAbandoned, nil, now
		rec.LastError = "the webhook was disabled"
		d.write(ref, &rec)
		d.finish(ref)
		return
	}
	body, err := eventOf(ev, d.opts.MaxDataBytes)
	if err != nil {
		rec.State, rec.NextRetry, rec.UpdateTime = domain.DeliveryFailed, nil, now
		rec.LastError = fmt.Sprintf("encode the event: %v", err)
		d.write(ref, &rec)
		d.finish(ref)
		return
	}
	start := time.Now()
	code, err := d.post(ctx, w, &rec, body)
	if ctx.Err() != nil {
		return // cut short by the end of Run: the next Run makes it again
	}
	a := domain.WebhookAttempt{Time: start.UTC(), StatusCode: code, Duration: time.Since(start)}
	if err != nil {
		a.Error = err.Error()
	}
	rec.Attempts = append(rec.Attempts, a)
	rec.UpdateTime = time.Now().UTC()
	rec.NextRetry = nil
	var next time.Time
	switch {
	case err == nil:
		rec.State, rec.LastError = domain.DeliveryDelivered, ""
	case errors.Is(err, ErrPrivateTarget) || !retryable(code):
		rec.State, rec.LastError = domain.DeliveryFailed, a.Error
	default:
		next = rec.UpdateTime.Add(d.backoff(len(rec.Attempts)))
		if horizon := rec.CreateTime.Add(d.opts.RetryHorizon); next.After(horizon) {
			rec.State = domain.DeliveryFailed
			rec.LastError = fmt.Sprintf("%s; gave up after %d attempts: the retry horizon of %s has passed", a.Error, len(rec.Attempts), d.opts.RetryHorizon)
			next = time.Time{}
		} else {
			rec.State, rec.LastError, rec.NextRetry = domain.DeliveryRetrying, a.Error, &next
		}
	}
	d.observe(rec.State, a.Duration)
	// Logged before the retry is scheduled, so that the retry reads it.
	if !d.write(ref, &rec) || next.IsZero() {
		d.finish(ref)
		return
	}
	d.reschedule(ref, next)
}

// observe reports an attempt's outcome to Options.Observe.
func (d *Dispatcher) observe(state string, dur time.Duration) {
	if d.opts.Observe != nil {
		d.opts.Observe(state, dur)
	}
}

// current returns the webhook of a delivery as the store holds it now; ok
// is false when it was deleted or disabled.
func (d *Dispatcher) current(ref domain.DeliveryRef) (*model.Webhook, bool) {
	ps, ok := d.store.State().Project(ref.Project)
	if !ok {
		return nil, false
	}
	w, _, ok := ps.Webhook(ref.Webhook)
	if !ok || w.Disabled {
		return nil, false
	}
	return w, true
}

// write stores a delivery's record in its webhook's log; it reports false
// when the delivery is gone with its webhook (or on a write error, which
// it logs).
func (d *Dispatcher) write(ref domain.DeliveryRef, rec *domain.WebhookDelivery) bool {
	ok, err := d.store.PutWebhookDelivery(ref.Project, ref.Webhook, rec, d.opts.Keep)
	if err != nil {
		d.log.Error("webhook delivery log", "project", ref.Project, "webhook", ref.Webhook, "err", err)
	}
	return ok
}

// post sends one signed request and returns the answer's status. An
// answer other than 2xx is an error.
func (d *Dispatcher) post(ctx context.Context, w *model.Webhook, rec *domain.WebhookDelivery, body []byte) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, d.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("build request: %w", err)
	}
	ts := time.Now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set(HeaderEvent, rec.EventType)
	req.Header.Set(HeaderDelivery, rec.ID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Signature(w.Secret, ts, body))
	resp, err := d.client.Do(req)
	if err != nil {
		// Without the URL, which may carry a token.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return 0, err
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
	if resp.StatusCode/100 == 2 {
		return resp.StatusCode, nil
	}
	msg := fmt.Sprintf("HTTP %d", resp.StatusCode)
	if s := strings.TrimSpace(string(snippet)); s != "" {
		msg += ": " + s
	}
	return resp.StatusCode, errors.New(msg)
}

// retryable reports whether an attempt that got status code (0: no
// answer) is worth another: network errors, 429 and 5xx.
func retryable(code int) bool {
	return code == 0 || code == http.StatusTooManyRequests || code >= 500
}

// Redeliver starts a new delivery, with a new id and attempts of its own,
// of the event a finished delivery of a webhook delivered, and schedules
// it now. It fails as domain.RedeliverWebhookDelivery does.
func (d *Dispatcher) Redeliver(project, webhook, id string) (domain.WebhookDelivery, error) {
	rec, err := d.store.RedeliverWebhookDelivery(project, webhook, id)
	if err != nil {
		return domain.WebhookDelivery{}, err
	}
	d.schedule(domain.DeliveryRef{Project: project, Webhook: webhook, Seq: rec.Seq}, time.Now())
	return rec, nil
}
