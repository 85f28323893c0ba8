package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/webhook"
)

const secret = "test-secret-0123456789"

// received is one request a receiver got.
type received struct {
	header http.Header
	body   []byte
}

// receiver is a webhook receiver on 127.0.0.1 that answers with the
// statuses given, in turn (the last one from then on), after hold.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	statuses []int
	got      []received
	hold     chan struct{} // when not nil, requests wait for it to close
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	t.Helper()
	r := &receiver{statuses: statuses}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, received{header: req.Header.Clone(), body: body})
		status := r.statuses[min(len(r.got), len(r.statuses))-1]
		hold := r.hold
		r.mu.Unlock()
		if hold != nil {
			select {
			case <-hold:
			case <-req.Context().Done():
				return
			}
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, "status %d", status)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// fixture is a store with project shop, one webhook and a running
// dispatcher.
type fixture struct {
	t     *testing.T
	store *domain.Store
	d     *webhook.Dispatcher // the running one
	stop  func()
}

// start runs a dispatcher on a new store; it allows private targets (the
// receivers are on loopback).
func start(t *testing.T, w *model.Webhook, opts webhook.Options) *fixture {
	t.Helper()
	opts.AllowPrivate = true
	return startStrict(t, w, opts)
}

// startStrict is start with opts as given.
func startStrict(t *testing.T, w *model.Webhook, opts webhook.Options) *fixture {
	t.Helper()
	st := domaintest.New(t)
	f := &fixture{t: t, store: st}
	f.update(func(tx *domain.Tx) error {
		if err := tx.CreateProject(domain.Project{Key: "shop"}); err != nil {
			return err
		}
		return tx.CreateEnvironment("shop", domain.Environment{Key: "production"})
	})
	f.run(opts)
	if w != nil {
		f.update(func(tx *domain.Tx) error { return tx.CreateWebhook("shop", w) })
	}
	return f
}

// run starts a dispatcher on the fixture's store; f.stop stops it.
func (f *fixture) run(opts webhook.Options) *webhook.Dispatcher {
	if opts.InitialBackoff == 0 {
		opts.InitialBackoff, opts.MaxBackoff = 10*time.Millisecond, 40*time.Millisecond
	}
	d := webhook.New(slog.New(slog.NewTextHandler(io.Discard, nil)), f.store, opts)
	remove := f.store.Subscribe(d.Observe)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	stopped := false
	f.stop = func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
			remove()
		}
	}
	f.t.Cleanup(f.stop)
	f.d = d
	return d
}

func (f *fixture) update(fn func(tx *domain.Tx) error) *domain.Commit {
	f.t.Helper()
	c, err := f.store.Update(context.Background(), domain.Actor{KeyID: "k1", Name: "alice"}, fn)
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

// flag creates a flag: one "flag.create" event.
func (f *fixture) flag(key string) *domain.Commit {
	return f.update(func(tx *domain.Tx) error { return tx.CreateFlag("shop", &model.Flag{Key: key, Type: model.TypeBool}) })
}

// deliveries polls the webhook's log until cond holds (5 s at most).
func (f *fixture) deliveries(id string, cond func([]domain.WebhookDelivery) bool) []domain.WebhookDelivery {
	f.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := f.store.WebhookDeliveries("shop", id, 0)
		if err != nil {
			f.t.Fatal(err)
		}
		if cond(got) {
			return got
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("timed out waiting for the delivery log of %s: %+v", id, got)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func hookTo(url string, events ...string) *model.Webhook {
	return &model.Webhook{ID: "ops", URL: url, Secret: secret, Events: events}
}

func settled(n int) func([]domain.WebhookDelivery) bool {
	return func(ds []domain.WebhookDelivery) bool {
		if len(ds) < n {
			return false
		}
		for _, d := range ds {
			if d.State == domain.DeliveryPending || d.State == domain.DeliveryRetrying {
				return false
			}
		}
		return true
	}
}

func TestDeliveryIsSignedAndTimestamped(t *testing.T) {
	rcv := newReceiver(t, http.StatusOK)
	f := start(t, hookTo(rcv.URL, "flag.*"), webhook.Options{})
	c := f.flag("new-checkout")
	ds := f.deliveries("ops", settled(1))
	reqs := rcv.requests()
	if len(reqs) != 1 || ds[0].State != domain.DeliveryDelivered {
		t.Fatalf("%d requests, log %+v; want one delivered", len(reqs), ds)
	}
	h, body := reqs[0].header, reqs[0].body

	ts, err := strconv.ParseInt(h.Get(webhook.HeaderTimestamp), 10, 64)
	if err != nil || time.Since(time.Unix(ts, 0)).Abs() > time.Minute {
		t.Errorf("timestamp %q, want the Unix time of the delivery", h.Get(webhook.HeaderTimestamp))
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(h.Get(webhook.HeaderTimestamp) + "." + string(body)))
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	if got := h.Get(webhook.HeaderSignature); !hmac.Equal([]byte(got), []byte(want)) {
		t.Errorf("signature %q, want %q", got, want)
	}
	if h.Get(webhook.HeaderEvent) != "flag.create" || h.Get(webhook.HeaderDelivery) != ds[0].ID || h.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v, want event flag.create, delivery %s, JSON", h, ds[0].ID)
	}

	var ev webhook.Event
	if err := json.Unmarshal(body, &ev); err != nil {
		t.Fatal(err)
	}
	audit := c.Events[0]
	if ev.ID != strconv.FormatUint(audit.Seq, 10) || ev.Type != "flag.create" || ev.Project != "shop" ||
		ev.Resource != "projects/shop/flags/new-checkout" || ev.Revision != c.Revision || ev.Actor.Name != "alice" ||
		ev.Actor.KeyID != "k1" || !ev.Time.Equal(audit.Time) || len(ev.Data.After) == 0 {
		t.Errorf("body %s, want the audit event %+v", body, audit)
	}
}

func TestDeliveryRetriesA500(t *testing.T) {
	rcv := newReceiver(t, http.StatusInternalServerError, http.StatusOK)
	f := start(t, hookTo(rcv.URL, "flag.*"), webhook.Options{})
	f.flag("a")
	d := f.deliveries("ops", settled(1))[0]
	reqs := rcv.requests()
	if d.State != domain.DeliveryDelivered || len(d.Attempts) != 2 || len(reqs) != 2 {
		t.Fatalf("delivery %+v after %d requests, want delivered at the second attempt", d, len(reqs))
	}
	first, second := d.Attempts[0], d.Attempts[1]
	if first.StatusCode != 500 || first.Error != "HTTP 500: status 500" || second.StatusCode != 200 || second.Error != "" ||
		first.Duration <= 0 || second.Time.Before(first.Time) || d.LastError != "" || d.NextRetry != nil {
		t.Errorf("attempts %+v, last error %q, next retry %v; want 500 then 200 with durations", d.Attempts, d.LastError, d.NextRetry)
	}
	if reqs[0].header.Get(webhook.HeaderDelivery) != reqs[1].header.Get(webhook.HeaderDelivery) {
		t.Error("the retry carries another delivery id")
	}
}

func TestDeliveryRetriesOnlyWhatMayPass(t *testing.T) {
	cases := []struct {
		name     string
		statuses []int
		state    string
		attempts int
	}{
		{"4xx is not retried", []int{http.StatusBadRequest}, domain.DeliveryFailed, 1},
		{"a redirect is not followed", []int{http.StatusFound}, domain.DeliveryFailed, 1},
		{"429 is retried", []int{http.StatusTooManyRequests, http.StatusNoContent}, domain.DeliveryDelivered, 2},
		{"5xx is retried", []int{http.StatusBadGateway, http.StatusBadGateway, http.StatusOK}, domain.DeliveryDelivered, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rcv := newReceiver(t, tc.statuses...)
			f := start(t, hookTo(rcv.URL, "flag.*"), webhook.Options{})
			f.flag("a")
			d := f.deliveries("ops", settled(1))[0]
			if d.State != tc.state || len(d.Attempts) != tc.attempts {
				t.Errorf("delivery %+v, want %s after %d attempts", d, tc.state, tc.attempts)
			}
		})
	}
}

func TestDeliveryFailsOnceTheRetryHorizonHasPassed(t *testing.T) {
	// The horizon leaves room for several 10–40 ms backoffs even on a
	// loaded machine, where the first attempt alone may take 100 ms.
	const horizon = time.Second
	rcv := newReceiver(t, http.StatusBadGateway)
	f := start(t, hookTo(rcv.URL, "flag.*"), webhook.Options{RetryHorizon: horizon})
	f.flag("a")
	d := f.deliveries("ops", settled(1))[0]
	if d.State != domain.DeliveryFailed || len(d.Attempts) < 2 || d.NextRetry != nil || !strings.Contains(d.LastError, "retry horizon") {
		t.Errorf("delivery %+v, want failed after retries, for the retry horizon", d)
	}
	// When the last attempt starts depends on the machine's load (a retry
	// due before the horizon may start after it); what the dispatcher
	// decides is pinned above: no retry is scheduled past the horizon.
}

func TestDeliveryRetriesANetworkError(t *testing.T) {
	rcv := newReceiver(t, http.StatusOK)
	url := rcv.URL
	rcv.Close() // nothing listens there any more
	f := start(t, hookTo(url, "flag.*"), webhook.Options{RetryHorizon: time.Second})
	f.flag("a")
	d := f.deliveries("ops", settled(1))[0]
	if d.State != domain.DeliveryFailed || len(d.Attempts) < 2 || d.Attempts[0].StatusCode != 0 || d.LastError == "" {
		t.Errorf("delivery %+v, want failed after retries without an answer", d)
	}
}

func TestDeliveryFilter(t *testing.T) {
	cases := []struct {
		name   string
		events []string
		want   []string // event types logged, sorted
	}{
		{"every event", nil, []string{"flag.create", "segment.create", "webhook.create"}},
		{"kinds", []string{"flag.*", "segment.*"}, []string{"flag.create", "segment.create"}},
		{"exact type", []string{"segment.create"}, []string{"segment.create"}},
		{"nothing matches", []string{"release.*"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rcv := newReceiver(t, http.StatusOK)
			f := start(t, hookTo(rcv.URL, tc.events...), webhook.Options{})
			f.update(func(tx *domain.Tx) error { return tx.CreateSegment("shop", &model.Segment{Key: "eu"}) })
			f.flag("a")
			ds := f.deliveries("ops", settled(len(tc.want)))
			var logged []string
			for _, d := range ds {
				logged = append(logged, d.EventType)
			}
			slices.Sort(logged) // workers run in parallel: the log is in order of first attempts
			if fmt.Sprint(logged) != fmt.Sprint(tc.want) || len(rcv.requests()) != len(tc.want) {
				t.Errorf("logged %v after %d requests, want %v", logged, len(rcv.requests()), tc.want)
			}
		})
	}
}

func TestSlowReceiverNeverBlocksWrites(t *testing.T) {
	rcv := newReceiver(t, http.StatusOK)
	rcv.hold = make(chan struct{})
	defer close(rcv.hold)
	f := start(t, hookTo(rcv.URL, "flag.*"), webhook.Options{Workers: 1, Drain: 50 * time.Millisecond})
	for i := range 20 {
		f.flag(fmt.Sprint("f", i))
	}
	f.stop()
	ds, err := f.store.WebhookDeliveries("shop", "ops", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.State != domain.DeliveryPending {
			t.Errorf("delivery %+v, want pending", d)
		}
	}
	if len(ds) != 20 {
		t.Errorf("%d deliveries logged, want 20", len(ds))
	}
}

func TestStopLeavesDeliveriesUnfinishedAndRunResumesThem(t *testing.T) {
	slow := newReceiver(t, http.StatusOK)
	slow.hold = make(chan struct{})
	failing := newReceiver(t, http.StatusServiceUnavailable, http.StatusOK)
	opts := webhook.Options{InitialBackoff: time.Hour, MaxBackoff: time.Hour, Drain: 100 * time.Millisecond}
	f := start(t, hookTo(slow.URL, "flag.*"), opts)
	retrying := hookTo(failing.URL, "flag.*")
	retrying.ID = "retrying"
	f.update(func(tx *domain.Tx) error { return tx.CreateWebhook("shop", retrying) })
	f.flag("a")
	f.deliveries("retrying", func(ds []domain.WebhookDelivery) bool { return len(ds) == 1 && ds[0].State == domain.DeliveryRetrying })
	for deadline := time.Now().Add(5 * time.Second); len(slow.requests()) == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the attempt to the slow receiver never came")
		}
	}
	f.stop()
	want := map[string]string{"ops": domain.DeliveryPending, "retrying": domain.DeliveryRetrying}
	for id, state := range want {
		ds, err := f.store.WebhookDeliveries("shop", id, 0)
		if err != nil || len(ds) != 1 || ds[0].State != state {
			t.Errorf("%s after the stop: log %+v (%v), want one delivery %s", id, ds, err, state)
		}
	}
	if ds, _ := f.store.WebhookDeliveries("shop", "retrying", 1); len(ds) == 1 && (ds[0].NextRetry == nil || len(ds[0].Attempts) != 1) {
		t.Errorf("retrying after the stop: %+v, want its next attempt due", ds[0])
	}

	// The next run makes them: the in-flight one again, the retry when
	// due (made due now, as after a long stop).
	close(slow.hold)
	ds, _ := f.store.WebhookDeliveries("shop", "retrying", 1)
	past := time.Now().Add(-time.Minute)
	ds[0].NextRetry = &past
	if _, err := f.store.PutWebhookDelivery("shop", "retrying", &ds[0], 100); err != nil {
		t.Fatal(err)
	}
	f.run(webhook.Options{AllowPrivate: true})
	for id := range want {
		got := f.deliveries(id, settled(1))
		if len(got) != 1 || got[0].State != domain.DeliveryDelivered {
			t.Errorf("%s after the restart: log %+v, want one delivery, delivered", id, got)
		}
	}
	if n := len(failing.requests()); n != 2 {
		t.Errorf("the retrying webhook got %d requests, want 2", n)
	}
}

func TestRedeliverMakesANewDelivery(t *testing.T) {
	rcv := newReceiver(t, http.StatusOK)
	f := start(t, hookTo(rcv.URL, "flag.*"), webhook.Options{})
	d := f.d
	f.flag("a")
	first := f.deliveries("ops", settled(1))[0]
	again, err := d.Redeliver("shop", "ops", first.ID)
	if err != nil {
		t.Fatal(err)
	}
	ds := f.deliveries("ops", settled(2))
	reqs := rcv.requests()
	if len(ds) != 2 || ds[0].ID != again.ID || ds[0].RedeliveryOf != first.ID || ds[0].State != domain.DeliveryDelivered ||
		ds[0].EventID != first.EventID || len(ds[0].Attempts) != 1 || ds[1].ID != first.ID || len(ds[1].Attempts) != 1 {
		t.Fatalf("log %+v, want the redelivery of %s, delivered, beside the first", ds, first.ID)
	}
	if len(reqs) != 2 || reqs[1].header.Get(webhook.HeaderDelivery) != again.ID || string(reqs[1].body) != string(reqs[0].body) {
		t.Errorf("requests %v, want the same event again with the new delivery id", reqs)
	}
	if _, err := d.Redeliver("shop", "ops", "nope"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("Redeliver(unknown) = %v, want ErrNotFound", err)
	}
}

func TestRedeliverRefusesAnUnfinishedDelivery(t *testing.T) {
	rcv := newReceiver(t, http.StatusServiceUnavailable)
	f := start(t, hookTo(rcv.URL, "flag.*"), webhook.Options{InitialBackoff: time.Hour, MaxBackoff: time.Hour})
	f.stop()
	f.flag("a")
	d := f.run(webhook.Options{AllowPrivate: true, InitialBackoff: time.Hour, MaxBackoff: time.Hour})
	rec := f.deliveries("ops", func(ds []domain.WebhookDelivery) bool { return len(ds) == 1 && ds[0].State == domain.DeliveryRetrying })[0]
	if _, err := d.Redeliver("shop", "ops", rec.ID); !errors.Is(err, domain.ErrFailedPrecondition) {
		t.Errorf("Redeliver(retrying) = %v, want ErrFailedPrecondition", err)
	}
}

func TestDeletedWebhookLosesItsLog(t *testing.T) {
	rcv := newReceiver(t, http.StatusOK)
	f := start(t, hookTo(rcv.URL, "flag.*"), webhook.Options{})
	f.flag("a")
	f.deliveries("ops", settled(1))
	f.update(func(tx *domain.Tx) error { return tx.DeleteWebhook("shop", "ops", "") })
	f.deliveries("ops", func(ds []domain.WebhookDelivery) bool { return len(ds) == 0 })
}

func TestLargeDataIsLeftOut(t *testing.T) {
	rcv := newReceiver(t, http.StatusOK)
	f := start(t, hookTo(rcv.URL, "flag.*"), webhook.Options{MaxDataBytes: 10})
	f.flag("a")
	f.deliveries("ops", settled(1))
	var ev webhook.Event
	if err := json.Unmarshal(rcv.requests()[0].body, &ev); err != nil {
		t.Fatal(err)
	}
	if !ev.Data.Truncated || ev.Data.After != nil || ev.Type != "flag.create" {
		t.Errorf("event %+v, want its data left out and marked truncated", ev)
	}
}
