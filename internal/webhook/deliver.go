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

	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/store"
)

// userAgent identifies the deliveries.
const userAgent = "Switchyard-Webhooks/1"

// maxErrorBody bounds what of a failed answer's body the log keeps.
const maxErrorBody = 200

// attempt POSTs j to its webhook as the webhook is now (its URL and
// secret may have changed since the event), logs the attempt, and
// schedules the next one when the failure is worth retrying.
func (d *Dispatcher) attempt(ctx context.Context, j *job) {
	w, ok := d.current(j)
	if !ok {
		return // deleted or disabled: nothing to log it in, or nothing wanted
	}
	if j.body == nil {
		body, err := eventOf(j.event, d.opts.MaxDataBytes)
		if err != nil {
			j.rec.State, j.rec.LastError = store.DeliveryFailed, fmt.Sprintf("encode the event: %v", err)
			d.write(j)
			return
		}
		j.body = body
	}
	start := time.Now()
	code, err := d.post(ctx, w, j)
	a := store.WebhookAttempt{Time: start.UTC(), StatusCode: code, Duration: time.Since(start)}
	if err != nil {
		a.Error = err.Error()
	}
	j.rec.Attempts = append(j.rec.Attempts, a)
	j.rec.UpdateTime = time.Now().UTC()
	j.rec.NextRetry = nil
	switch {
	case err == nil:
		j.rec.State, j.rec.LastError = store.DeliveryDelivered, ""
	case ctx.Err() != nil:
		j.rec.State, j.rec.LastError = store.DeliveryAbandoned, "the server stopped during the attempt: "+a.Error
	case !retryable(code) || len(j.rec.Attempts) >= d.opts.MaxAttempts:
		j.rec.State, j.rec.LastError = store.DeliveryFailed, a.Error
	default:
		d.observe(store.DeliveryRetrying, a.Duration)
		wait := d.backoff(len(j.rec.Attempts))
		next := j.rec.UpdateTime.Add(wait)
		j.rec.State, j.rec.LastError, j.rec.NextRetry = store.DeliveryRetrying, a.Error, &next
		// Logged before the timer starts, so that the retry's record
		// never comes first.
		d.write(j)
		if d.retry(j, wait) {
			return
		}
		j.rec.State, j.rec.NextRetry = store.DeliveryAbandoned, nil
		j.rec.LastError = a.Error + "; the server stopped before the next attempt"
		d.observe(j.rec.State, 0)
		d.write(j)
		return
	}
	d.observe(j.rec.State, a.Duration)
	d.write(j)
}

// observe reports an attempt's outcome to Options.Observe.
func (d *Dispatcher) observe(state string, dur time.Duration) {
	if d.opts.Observe != nil {
		d.opts.Observe(state, dur)
	}
}

// current returns the webhook of j as the store holds it now; ok is false
// when it was deleted or disabled.
func (d *Dispatcher) current(j *job) (*model.Webhook, bool) {
	ps, ok := d.store.State().Project(j.project)
	if !ok {
		return nil, false
	}
	w, _, ok := ps.Webhook(j.webhook)
	if !ok || w.Disabled {
		return nil, false
	}
	return w, true
}

// post sends one signed request and returns the answer's status. An
// answer other than 2xx is an error.
func (d *Dispatcher) post(ctx context.Context, w *model.Webhook, j *job) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, d.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(j.body))
	if err != nil {
		return 0, fmt.Errorf("build request: %w", err)
	}
	ts := time.Now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set(HeaderEvent, j.rec.EventType)
	req.Header.Set(HeaderDelivery, j.rec.ID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Signature(w.Secret, ts, j.body))
	resp, err := d.opts.Client.Do(req)
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
