// Package webhook delivers a project's events to its webhooks (issue 4,
// item 9; issue 8): each audit event of a commit whose type a webhook's
// filter matches is POSTed to the webhook's URL as a JSON Event, signed
// with HMAC-SHA256 (Signature), retried on network errors, 429 and 5xx
// with exponential backoff and full jitter until Options.RetryHorizon has
// passed, and logged per webhook in bbolt (domain.WebhookDelivery).
//
// Deliveries are durable: the commit that records an event writes its
// PENDING deliveries in the same bbolt transaction (the store's outbox),
// and the Dispatcher attempts them — at Run's start, every unfinished
// delivery is resumed, so that neither a clean stop nor a crash loses
// one. Delivery is at least once: an attempt cut short by a crash may be
// repeated with the same X-Switchyard-Delivery id, which receivers use to
// drop duplicates.
//
// The Dispatcher learns of new deliveries from the store's commits
// (Observe, a domain.Subscribe hook) and only schedules them there:
// deliveries run on a pool of workers, so a slow or dead receiver never
// holds up a write.
//
// Webhook targets on loopback, link-local, private, unspecified and
// multicast addresses are refused unless Options.AllowPrivate is set: at
// creation (CheckURL) and when dialing (so DNS rebinding cannot bypass
// the check).
package webhook

import (
	"container/heap"
	"context"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/switchyard/switchyard/internal/domain"
)

// Options configures a Dispatcher. Zero fields take the defaults.
type Options struct {
	// Workers is how many deliveries run at once; default 4.
	Workers int
	// InitialBackoff caps the wait before the second attempt; each further
	// cap doubles, up to MaxBackoff, and the wait is drawn uniformly from
	// zero to the cap (full jitter). Defaults 1 s and 1 h.
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	// RetryHorizon is how long after its creation a delivery is retried:
	// a retry that would fall after it is not made, and the delivery is
	// FAILED. Default 24 h.
	RetryHorizon time.Duration
	// Timeout bounds one attempt; default 10 s.
	Timeout time.Duration
	// Keep is how many finished deliveries each webhook's log keeps;
	// default 100. Unfinished ones are always kept.
	Keep int
	// MaxDataBytes bounds the before and after data of an event; beyond
	// it they are left out (Data.Truncated). Default 256 KiB.
	MaxDataBytes int
	// Drain is how long Run waits for the attempts in flight after its
	// context ends; default 10 s. An attempt it then cuts short stays
	// unfinished, and is made again by the next Run.
	Drain time.Duration
	// AllowPrivate lets webhooks reach loopback, link-local, private,
	// unspecified and multicast addresses (ErrPrivateTarget).
	AllowPrivate bool
	// Observe, if set, is called after every attempt with the state it
	// left the delivery in (delivered, retrying, failed or abandoned) and
	// how long the request took. It is for metrics and must return quickly.
	Observe func(state string, d time.Duration)
}

// The defaults of Options.
const (
	DefaultWorkers        = 4
	DefaultInitialBackoff = time.Second
	DefaultMaxBackoff     = time.Hour
	DefaultRetryHorizon   = 24 * time.Hour
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
	def(&o.Keep, DefaultKeep)
	def(&o.MaxDataBytes, DefaultMaxDataBytes)
	defDur(&o.InitialBackoff, DefaultInitialBackoff)
	defDur(&o.MaxBackoff, DefaultMaxBackoff)
	defDur(&o.RetryHorizon, DefaultRetryHorizon)
	defDur(&o.Timeout, DefaultTimeout)
	defDur(&o.Drain, DefaultDrain)
	return o
}

// Dispatcher delivers events to webhooks. Create it with New, subscribe
// Observe to the store and call Run.
type Dispatcher struct {
	log    *slog.Logger
	store  *domain.Store
	opts   Options
	client *http.Client

	mu    sync.Mutex
	due   dueHeap                     // scheduled attempts, earliest first
	known map[domain.DeliveryRef]bool // scheduled or in flight
	kick  chan struct{}               // wakes Run: something was scheduled
}

// New returns a Dispatcher delivering the deliveries st queues.
func New(log *slog.Logger, st *domain.Store, opts Options) *Dispatcher {
	opts = opts.withDefaults()
	return &Dispatcher{
		log:    log,
		store:  st,
		opts:   opts,
		client: newClient(opts.AllowPrivate),
		known:  map[domain.DeliveryRef]bool{},
		kick:   make(chan struct{}, 1),
	}
}

// Observe schedules the deliveries a commit queued. It is a store commit
// hook: it never blocks.
func (d *Dispatcher) Observe(_ *domain.State, c *domain.Commit) {
	now := time.Now()
	for _, ref := range c.Deliveries {
		d.schedule(ref, now)
	}
}

// schedule makes the delivery due at t, unless it is scheduled or in
// flight already.
func (d *Dispatcher) schedule(ref domain.DeliveryRef, t time.Time) {
	d.mu.Lock()
	if !d.known[ref] {
		d.known[ref] = true
		heap.Push(&d.due, dueItem{ref: ref, at: t})
	}
	d.mu.Unlock()
	d.wake()
}

// reschedule makes an in-flight delivery due again at t.
func (d *Dispatcher) reschedule(ref domain.DeliveryRef, t time.Time) {
	d.mu.Lock()
	heap.Push(&d.due, dueItem{ref: ref, at: t})
	d.mu.Unlock()
	d.wake()
}

// finish forgets a delivery that needs no further attempt.
func (d *Dispatcher) finish(ref domain.DeliveryRef) {
	d.mu.Lock()
	delete(d.known, ref)
	d.mu.Unlock()
}

func (d *Dispatcher) wake() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// next pops the earliest delivery due by now; otherwise it returns how
// long until the earliest is due (ok false, wait < 0 when none is).
func (d *Dispatcher) next(now time.Time) (ref domain.DeliveryRef, wait time.Duration, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.due) == 0 {
		return ref, -1, false
	}
	if first := d.due[0]; first.at.After(now) {
		return ref, first.at.Sub(now), false
	}
	return heap.Pop(&d.due).(dueItem).ref, 0, true
}

// Run resumes every unfinished delivery in the store, then runs the
// workers until ctx is done. It then waits up to Options.Drain for the
// attempts in flight, cuts the others short and returns once every worker
// has stopped. Deliveries not finished stay PENDING or RETRYING in the
// store, for the next Run.
func (d *Dispatcher) Run(ctx context.Context) {
	active, err := d.store.ActiveWebhookDeliveries()
	if err != nil {
		d.log.Error("resume webhook deliveries", "err", err)
	}
	for _, a := range active {
		d.schedule(a.DeliveryRef, a.Due)
	}
	if len(active) > 0 {
		d.log.Info("resumed webhook deliveries", "count", len(active))
	}

	attempts, cutShort := context.WithCancel(context.Background())
	defer cutShort()
	work := make(chan domain.DeliveryRef)
	var wg sync.WaitGroup
	for range d.opts.Workers {
		wg.Go(func() {
			for ref := range work {
				d.deliver(attempts, ref)
			}
		})
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
loop:
	for {
		ref, wait, ok := d.next(time.Now())
		if ok {
			select {
			case work <- ref:
				continue
			case <-ctx.Done():
				break loop
			}
		}
		var tick <-chan time.Time
		if wait >= 0 {
			timer.Reset(wait)
			tick = timer.C
		}
		select {
		case <-ctx.Done():
			break loop
		case <-d.kick:
		case <-tick:
		}
	}
	close(work)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	drain := time.NewTimer(d.opts.Drain)
	defer drain.Stop()
	select {
	case <-done:
	case <-drain.C:
		cutShort()
		<-done
	}
}

// backoff returns the wait before attempt n+1 (n ≥ 1): drawn uniformly
// from [0, InitialBackoff × 2^(n-1)], the cap at most MaxBackoff.
func (d *Dispatcher) backoff(n int) time.Duration {
	w := d.opts.InitialBackoff
	for i := 1; i < n && w < d.opts.MaxBackoff; i++ {
		w *= 2
	}
	w = min(w, d.opts.MaxBackoff)
	return time.Duration(mrand.Int64N(int64(w) + 1))
}

// eventID is the id of an audit event in a delivery body: its audit
// sequence number.
func eventID(ev domain.AuditEvent) string { return strconv.FormatUint(ev.Seq, 10) }

// dueItem is a scheduled attempt.
type dueItem struct {
	ref domain.DeliveryRef
	at  time.Time
}

// dueHeap orders scheduled attempts by time (container/heap).
type dueHeap []dueItem

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h dueHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)        { *h = append(*h, x.(dueItem)) }
func (h *dueHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
