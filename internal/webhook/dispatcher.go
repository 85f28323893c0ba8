// Package webhook delivers a project's events to its webhooks (issue 4,
// item 9): each audit event of a commit whose type a webhook's filter
// matches is POSTed to the webhook's URL as a JSON Event, signed with
// HMAC-SHA256 (Signature), retried with exponential backoff and jitter on
// network errors, 429 and 5xx, and logged per webhook in bbolt
// (store.WebhookDelivery).
//
// The Dispatcher learns of events from the store's commits (Observe, a
// store.Subscribe hook) and only queues them there: deliveries run on a
// pool of workers, so a slow or dead receiver never holds up a write. A
// full queue drops the delivery (logged as ABANDONED), and so does the
// shutdown for what it cannot finish within Options.Drain.
package webhook

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/store"
)

// Options configures a Dispatcher. Zero fields take the defaults.
type Options struct {
	// Workers is how many deliveries run at once; default 4.
	Workers int
	// QueueSize bounds the deliveries waiting for a worker; default 1,000.
	QueueSize int
	// MaxAttempts bounds the attempts of one delivery; default 6.
	MaxAttempts int
	// InitialBackoff is the wait before the second attempt; each further
	// wait doubles, up to MaxBackoff, and is drawn at random from its upper
	// half. Defaults 1 s and 5 minutes.
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	// Timeout bounds one attempt; default 10 s.
	Timeout time.Duration
	// Keep is how many deliveries each webhook's log keeps; default 100.
	Keep int
	// MaxDataBytes bounds the before and after data of an event; beyond
	// it they are left out (Data.Truncated). Default 256 KiB.
	MaxDataBytes int
	// Drain is how long Run keeps delivering after its context ends;
	// default 10 s.
	Drain time.Duration
	// Client sends the requests; default a client that follows no
	// redirects.
	Client *http.Client
	// Observe, if set, is called after every attempt with the state it
	// left the delivery in (delivered, retrying, failed or abandoned) and
	// how long the request took. It is for metrics and must return quickly.
	Observe func(state string, d time.Duration)
}

// The defaults of Options.
const (
	DefaultWorkers        = 4
	DefaultQueueSize      = 1000
	DefaultMaxAttempts    = 6
	DefaultInitialBackoff = time.Second
	DefaultMaxBackoff     = 5 * time.Minute
	DefaultTimeout        = 10 * time.Second
	DefaultKeep           = 100
	DefaultMaxDataBytes   = 256 << 10
	DefaultDrain          = 10 * time.Second
)

func (o Options) withDefaults() Options {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.Workers, DefaultWorkers)
	def(&o.QueueSize, DefaultQueueSize)
	def(&o.MaxAttempts, DefaultMaxAttempts)
	def(&o.Keep, DefaultKeep)
	def(&o.MaxDataBytes, DefaultMaxDataBytes)
	defDur(&o.InitialBackoff, DefaultInitialBackoff)
	defDur(&o.MaxBackoff, DefaultMaxBackoff)
	defDur(&o.Timeout, DefaultTimeout)
	defDur(&o.Drain, DefaultDrain)
	if o.Client == nil {
		o.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	return o
}

// Dispatcher delivers events to webhooks. Create it with New, subscribe
// Observe to the store and call Run.
type Dispatcher struct {
	log   *slog.Logger
	store *store.Store
	opts  Options

	queue chan *job
	busy  atomic.Int64 // jobs queued, in flight or waiting to retry

	mu       sync.Mutex
	draining bool                 // Run's context ended: no more retries
	retries  map[*job]*time.Timer // scheduled retries
	dropped  []*job               // dropped by Observe, to be logged by Run
	closed   bool                 // Run returned
	kick     chan struct{}        // wakes Run to log dropped jobs
}

// job is one delivery of one event to one webhook.
type job struct {
	project, webhook string
	event            store.AuditEvent
	body             []byte // built at the first attempt
	rec              store.WebhookDelivery
}

// New returns a Dispatcher writing its delivery log to st.
func New(log *slog.Logger, st *store.Store, opts Options) *Dispatcher {
	opts = opts.withDefaults()
	return &Dispatcher{
		log:     log,
		store:   st,
		opts:    opts,
		queue:   make(chan *job, opts.QueueSize),
		retries: map[*job]*time.Timer{},
		kick:    make(chan struct{}, 1),
	}
}

// Observe queues a delivery of each event of c to each webhook of the
// event's project (in state) whose filter matches, and the removal of the
// delivery logs of deleted webhooks and projects. It is a store commit
// hook: it never blocks.
func (d *Dispatcher) Observe(state *store.State, c *store.Commit) {
	for _, ev := range c.Events {
		if ev.Project == "" {
			continue
		}
		switch ev.Action {
		case "project.delete", "webhook.delete":
			d.forget(ev)
		}
		ps, ok := state.Project(ev.Project)
		if !ok {
			continue
		}
		for _, w := range ps.Webhooks() {
			if w.Matches(ev.Action) {
				d.enqueue(newJob(ev.Project, w, ev))
			}
		}
	}
}

// newJob starts the delivery of ev to w.
func newJob(project string, w *model.Webhook, ev store.AuditEvent) *job {
	var b [12]byte
	rand.Read(b[:])
	return &job{
		project: project,
		webhook: w.ID,
		event:   ev,
		rec: store.WebhookDelivery{
			ID:         hex.EncodeToString(b[:]),
			EventID:    eventID(ev),
			EventType:  ev.Action,
			Resource:   ev.Resource,
			Revision:   ev.Revision,
			State:      store.DeliveryPending,
			CreateTime: ev.Time,
			UpdateTime: ev.Time,
		},
	}
}

// enqueue hands a new job to the workers, or drops it when the queue is
// full or Run has returned.
func (d *Dispatcher) enqueue(j *job) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	select {
	case d.queue <- j:
		d.busy.Add(1)
	default:
		d.log.Warn("webhook queue is full: delivery dropped", "project", j.project, "webhook", j.webhook, "event", j.rec.EventType)
		// Dropped jobs wait for Run to log them as ABANDONED. Bounded by
		// what one webhook's log keeps (and at least the queue size): more
		// could not all stand in a log anyway.
		if len(d.dropped) < max(d.opts.Keep, d.opts.QueueSize) {
			d.dropped = append(d.dropped, j)
		}
		select {
		case d.kick <- struct{}{}:
		default:
		}
	}
}

// forget queues the removal of a deleted webhook's (or project's)
// delivery log, as a job the workers run.
func (d *Dispatcher) forget(ev store.AuditEvent) {
	webhook := ""
	if ev.Action == "webhook.delete" {
		id, ok := strings.CutPrefix(ev.Resource, store.WebhookName(ev.Project, ""))
		if !ok || id == "" {
			return
		}
		webhook = id
	}
	d.enqueue(&job{project: ev.Project, webhook: webhook, rec: store.WebhookDelivery{State: forgetState}})
}

// forgetState marks a job that deletes a delivery log.
const forgetState = "forget"

// Run runs the workers until ctx is done, then keeps delivering what is
// queued for up to Options.Drain, and logs what it could not deliver —
// queued, in flight or waiting to retry — as ABANDONED. It returns once
// every worker has stopped.
func (d *Dispatcher) Run(ctx context.Context) {
	work, cancelWork := context.WithCancel(context.Background())
	defer cancelWork()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range d.opts.Workers {
		wg.Go(func() {
			for {
				select {
				case j := <-d.queue:
					d.run(work, j)
				case <-stop:
					return
				}
			}
		})
	}
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-d.kick:
		}
		d.logDropped()
	}

	d.abandonRetries()
	deadline := time.Now().Add(d.opts.Drain)
	for d.busy.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancelWork() // in-flight attempts end, and are logged as abandoned
	close(stop)
	wg.Wait()
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	for {
		select {
		case j := <-d.queue:
			if j.rec.State == forgetState {
				d.forgetNow(j)
			} else {
				d.abandon(j, "the server stopped before the delivery was attempted")
			}
		default:
			d.logDropped()
			return
		}
	}
}

// logDropped logs the deliveries Observe dropped, and removes the logs
// whose removal it dropped.
func (d *Dispatcher) logDropped() {
	d.mu.Lock()
	dropped := d.dropped
	d.dropped = nil
	d.mu.Unlock()
	for _, j := range dropped {
		if j.rec.State == forgetState {
			d.forgetNow(j)
		} else {
			d.abandon(j, "the delivery queue was full")
		}
	}
}

// forgetNow deletes the delivery log a forget job names.
func (d *Dispatcher) forgetNow(j *job) {
	if err := d.store.DeleteWebhookDeliveries(j.project, j.webhook); err != nil {
		d.log.Error("webhook delivery log", "project", j.project, "webhook", j.webhook, "err", err)
	}
}

// abandonRetries stops retrying: it cancels the scheduled retries and
// logs them as abandoned.
func (d *Dispatcher) abandonRetries() {
	d.mu.Lock()
	d.draining = true
	retries := d.retries
	d.retries = map[*job]*time.Timer{}
	d.mu.Unlock()
	// A timer that fired meanwhile finds its job gone from d.retries and
	// leaves it to this loop.
	for j, t := range retries {
		t.Stop()
		d.abandon(j, "the server stopped before the next attempt")
		d.busy.Add(-1)
	}
}

// abandon logs a job as ABANDONED with a reason.
func (d *Dispatcher) abandon(j *job, why string) {
	j.rec.State, j.rec.NextRetry, j.rec.LastError = store.DeliveryAbandoned, nil, why
	j.rec.UpdateTime = time.Now().UTC()
	d.write(j)
}

// write stores a job's record in its webhook's log, unless the webhook
// is gone.
func (d *Dispatcher) write(j *job) {
	if ps, ok := d.store.State().Project(j.project); !ok {
		return
	} else if _, _, ok := ps.Webhook(j.webhook); !ok {
		return
	}
	if err := d.store.PutWebhookDelivery(j.project, j.webhook, &j.rec, d.opts.Keep); err != nil {
		d.log.Error("webhook delivery log", "project", j.project, "webhook", j.webhook, "err", err)
	}
}

// run runs one job: a delivery attempt, or the removal of a log.
func (d *Dispatcher) run(ctx context.Context, j *job) {
	defer d.busy.Add(-1)
	if j.rec.State == forgetState {
		d.forgetNow(j)
		return
	}
	d.attempt(ctx, j)
}

// retry schedules the next attempt of j after its backoff; it reports
// false, scheduling nothing, once Run has begun to drain.
func (d *Dispatcher) retry(j *job, after time.Duration) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.draining {
		return false
	}
	d.busy.Add(1)
	var t *time.Timer
	t = time.AfterFunc(after, func() {
		d.mu.Lock()
		if d.retries[j] != t {
			d.mu.Unlock()
			return // abandonRetries took it
		}
		delete(d.retries, j)
		d.mu.Unlock()
		select {
		case d.queue <- j:
		default:
			d.abandon(j, "the delivery queue was full at the retry")
			d.busy.Add(-1)
		}
	})
	d.retries[j] = t
	return true
}

// backoff returns the wait before attempt n+1 (n ≥ 1): InitialBackoff ×
// 2^(n-1), at most MaxBackoff, drawn from its upper half.
func (d *Dispatcher) backoff(n int) time.Duration {
	w := d.opts.InitialBackoff
	for i := 1; i < n && w < d.opts.MaxBackoff; i++ {
		w *= 2
	}
	w = min(w, d.opts.MaxBackoff)
	return w/2 + time.Duration(mrand.Int64N(int64(w/2)+1))
}

// eventID is the id of an audit event in a delivery body: its audit
// sequence number.
func eventID(ev store.AuditEvent) string { return strconv.FormatUint(ev.Seq, 10) }
