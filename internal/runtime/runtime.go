// Package runtime runs a primary's background work beside its servers: the
// release scheduler, the experiment consumer and guardrails, the release
// verifier, the webhook dispatcher and the event log's writer. Package
// primary builds a Runtime, hands it to server.New (whose handlers read
// from its workers) and runs both in one errgroup.
//
// The singletons — scheduler, consumer, guardrails, verifier, webhooks —
// run only while this process leads (Options.Elector; a lone process always
// leads). The context they run with is the leadership's: it ends when
// leadership is lost, and it carries the conditions that fence their
// writes (domain.WithConds), so a deposed leader's late write fails.
package runtime

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/errgroup"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/eventlog"
	"github.com/switchyard/switchyard/internal/experiment"
	"github.com/switchyard/switchyard/internal/release"
	"github.com/switchyard/switchyard/internal/snapshot"
	"github.com/switchyard/switchyard/internal/syncer"
	"github.com/switchyard/switchyard/internal/webhook"
)

// Elector elects the one process of a deployment that runs the singletons.
type Elector interface {
	// Campaign blocks until this process leads or ctx ends. It returns a
	// context that ends when the leadership is lost (or ctx ends), and
	// whose writes are fenced by the leadership.
	Campaign(ctx context.Context) (context.Context, error)
}

// Alone is the Elector of a process that runs by itself: it always leads.
type Alone struct{}

// Campaign returns ctx.
func (Alone) Campaign(ctx context.Context) (context.Context, error) { return ctx, ctx.Err() }

// Options configures New. The zero value is ready to use.
type Options struct {
	// Sync configures the sync hub (stream lifetime, restart grace); its
	// Side is the store.
	Sync syncer.Options
	// Releases configures the release scheduler.
	Releases release.SchedulerOptions
	// Webhooks configures the deliveries; Observe is set by New (the
	// runtime's metrics).
	Webhooks webhook.Options
	// Guard configures the guardrails.
	Guard experiment.GuardOptions
	// Consumer configures the experiment consumer (on etcd, MaxWrites).
	Consumer experiment.ConsumerOptions
	// Elector elects the process that runs the singletons; nil is Alone.
	Elector Elector
	// Tracing, if set, traces webhook delivery attempts.
	Tracing trace.TracerProvider
	// Events is the event log (required): the servers write SDK events to
	// it, the experiment consumer reads them.
	Events eventlog.Log
	// Maintenance, if set, is the storage engine's upkeep that one process
	// of a deployment runs (etcd's compaction): it runs with the
	// singletons, until its ctx ends.
	Maintenance func(ctx context.Context)
	// AuditRetention, if positive, is how long audit events are kept: the
	// leader deletes older ones (domain.Store.PruneAudit, fenced by its
	// leadership) when it starts leading and every AuditPruneEvery.
	AuditRetention time.Duration
	// AuditPruneEvery is how often the audit log is pruned; default
	// DefaultAuditPruneEvery.
	AuditPruneEvery time.Duration
	// StagedEvery is how often the leader looks for key lists a writer
	// staged and never switched to (it stopped in between), and deletes
	// those staged over an hour ago (domain.Store.CollectStaged); 0 is
	// every 5 minutes.
	StagedEvery time.Duration
}

// DefaultAuditPruneEvery is how often the leader prunes the audit log
// when Options.AuditPruneEvery is unset.
const DefaultAuditPruneEvery = time.Hour

// Runtime is a primary's background work. Its exported workers are for
// the handlers to read from; Run runs them.
type Runtime struct {
	log         *slog.Logger
	store       *domain.Store
	elector     Elector
	maintenance func(context.Context)
	retention   time.Duration
	pruneEvery  time.Duration
	stagedEvery time.Duration

	// Hub fans revisions out to the sync streams; the server serves it
	// and runs it (a relay has one too, without a runtime).
	Hub *syncer.Hub
	// Releases takes the releases' timed steps.
	Releases *release.Scheduler
	// Experiments counts stored events for experiments and guarded stages.
	Experiments *experiment.Consumer
	// Guard stops experiments and pauses or rolls back releases whose
	// guardrails trip.
	Guard *experiment.Guard
	// Verifier checks resolutions after release transitions.
	Verifier *release.Verifier
	// Webhooks delivers events to webhooks.
	Webhooks *webhook.Dispatcher
	// Events is the event log the servers write SDK events into.
	Events eventlog.Log

	metrics *metrics
	leading atomic.Bool
}

// Leading reports whether this process runs the singletons now.
func (r *Runtime) Leading() bool { return r.leading.Load() }

// New builds the workers of st, whose rulesets rs compiles. Nothing runs
// until Run.
func New(log *slog.Logger, st *domain.Store, rs *snapshot.Set, o Options) (*Runtime, error) {
	if o.Events == nil {
		return nil, fmt.Errorf("runtime: no event log")
	}
	if o.Elector == nil {
		o.Elector = Alone{}
	}
	side, err := st.Side(syncer.RosterSide)
	if err != nil {
		return nil, err
	}
	o.Sync.Side = side // the roster of connected streams survives restarts
	hub, err := syncer.New(log, st, o.Sync)
	if err != nil {
		return nil, fmt.Errorf("sync: %w", err)
	}
	if o.AuditPruneEvery <= 0 {
		o.AuditPruneEvery = DefaultAuditPruneEvery
	}
	if o.StagedEvery <= 0 {
		o.StagedEvery = 5 * time.Minute
	}
	r := &Runtime{log: log, store: st, elector: o.Elector, maintenance: o.Maintenance, retention: o.AuditRetention, pruneEvery: o.AuditPruneEvery,
		stagedEvery: o.StagedEvery, Hub: hub, metrics: newMetrics()}
	r.metrics.leader = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "switchyard_leader",
		Help: "1 while this process runs the singletons (scheduler, experiments, guardrails, webhooks), else 0.",
	}, func() float64 {
		if r.Leading() {
			return 1
		}
		return 0
	})
	if o.Tracing != nil {
		r.metrics.tracer = o.Tracing.Tracer("github.com/switchyard/switchyard/internal/runtime")
	}
	o.Releases.Convergence = hub // stages wait for their min_convergence
	o.Webhooks.Observe = r.metrics.observeWebhook
	r.Releases = release.NewScheduler(log, st, o.Releases)
	r.Events = o.Events
	r.Experiments = experiment.NewConsumer(log, st, r.Events, o.Consumer)
	r.Guard = experiment.NewGuard(log, st, r.Experiments, o.Guard)
	r.Verifier = release.NewVerifier(log, st, rs)
	r.Webhooks = webhook.New(log, st, o.Webhooks)
	return r, nil
}

// Collector is the runtime's metrics, for the server's registry.
func (r *Runtime) Collector() prometheus.Collector { return r.metrics }

// Run runs the workers until ctx is done and they have stopped (webhook
// deliveries drain for up to their Drain). The event log's writer runs on
// until drained is closed — when the servers that write to it have stopped
// — so that calls in flight at shutdown still complete.
func (r *Runtime) Run(ctx context.Context, drained <-chan struct{}) error {
	g, gctx := errgroup.WithContext(ctx)
	eventsCtx, stopEvents := context.WithCancel(context.WithoutCancel(ctx))
	defer stopEvents()
	go func() {
		select {
		case <-drained:
		case <-eventsCtx.Done():
		}
		stopEvents()
	}()
	g.Go(func() error { return r.Events.Run(eventsCtx) })
	g.Go(func() error { return r.lead(gctx) })
	return g.Wait()
}

// lead campaigns for leadership and runs the singletons while it lasts,
// again and again until ctx is done.
func (r *Runtime) lead(ctx context.Context) error {
	for {
		leading, err := r.elector.Campaign(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			r.log.Warn("campaign for leadership", "err", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
			continue
		}
		if _, alone := r.elector.(Alone); !alone {
			r.log.Info("leading: running the scheduler, experiments, guardrails and webhooks")
		}
		r.leading.Store(true)
		r.runSingletons(leading)
		r.leading.Store(false)
		if ctx.Err() != nil {
			return nil
		}
		r.log.Warn("leadership lost: singletons stopped")
	}
}

// runSingletons runs the workers one process of a deployment runs, until
// ctx ends.
func (r *Runtime) runSingletons(ctx context.Context) {
	stopVerifier := r.store.Subscribe(r.Verifier.Observe)
	stopWebhooks := r.store.Subscribe(r.Webhooks.Observe)
	defer stopWebhooks()
	defer stopVerifier()
	var wg sync.WaitGroup
	// Takes the releases' timed steps, catching up on those that fell due
	// while no process led.
	wg.Go(func() { r.Releases.Run(ctx) })
	// Counts stored events with a durable cursor.
	wg.Go(func() { r.Experiments.Run(ctx) })
	wg.Go(func() { r.Guard.Run(ctx) })
	wg.Go(func() { r.Verifier.Run(ctx) })
	// Deliveries drain for up to their Drain when ctx is done.
	wg.Go(func() { r.Webhooks.Run(ctx) })
	if r.maintenance != nil {
		wg.Go(func() { r.maintenance(ctx) })
	}
	if r.retention > 0 {
		wg.Go(func() { every(ctx, r.pruneEvery, true, r.pruneAudit) })
	}
	wg.Go(func() { every(ctx, r.stagedEvery, false, r.collectStaged) })
	wg.Wait()
}

// every runs fn every d (and once at the start when now) until ctx ends.
func every(ctx context.Context, d time.Duration, now bool, fn func(context.Context)) {
	t := time.NewTicker(d)
	defer t.Stop()
	if now {
		fn(ctx)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn(ctx)
		}
	}
}

// pruneAudit deletes the audit events older than the retention.
func (r *Runtime) pruneAudit(ctx context.Context) {
	n, err := r.store.PruneAudit(ctx, r.store.Now().Add(-r.retention))
	r.metrics.auditPruned.Add(float64(n))
	switch {
	case err != nil && ctx.Err() == nil:
		r.log.Error("audit retention", "deleted", n, "err", err)
	case n > 0:
		r.log.Info("audit retention: deleted old events", "deleted", n, "retention", r.retention)
	}
}

// stagedGrace is the age past which a staged key list no write switched to
// is deleted: far longer than any staging takes.
const stagedGrace = time.Hour

// collectStaged deletes the staged key lists a writer left behind.
func (r *Runtime) collectStaged(ctx context.Context) {
	n, err := r.store.CollectStaged(ctx, stagedGrace)
	switch {
	case err != nil && ctx.Err() == nil:
		r.log.Warn("collect staged key lists", "err", err)
	case n > 0:
		r.log.Info("collected staged key lists no write switched to", "stagings", n)
	}
}

// metrics are the runtime's own series.
type metrics struct {
	webhooks *prometheus.CounterVec   // outcome
	hookTime *prometheus.HistogramVec // outcome
	tracer   trace.Tracer             // nil: not traced
	leader   prometheus.GaugeFunc
	// auditPruned counts the audit events the retention deleted.
	auditPruned prometheus.Counter
}

func newMetrics() *metrics {
	return &metrics{
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchyard_webhook_deliveries_total",
			Help: "Webhook delivery attempts by the state they left the delivery in (delivered, retrying, failed, abandoned).",
		}, []string{"outcome"}),
		hookTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "switchyard_webhook_delivery_duration_seconds",
			Help:    "Duration of webhook delivery requests by outcome.",
			Buckets: prometheus.DefBuckets,
		}, []string{"outcome"}),
		auditPruned: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchyard_audit_pruned_total",
			Help: "Audit events deleted by the audit retention (--audit-retention) while this process led.",
		}),
	}
}

// observeWebhook counts, times and traces one webhook delivery attempt.
func (m *metrics) observeWebhook(state string, d time.Duration) {
	outcome := strings.ToLower(state)
	m.webhooks.WithLabelValues(outcome).Inc()
	if d > 0 {
		m.hookTime.WithLabelValues(outcome).Observe(d.Seconds())
	}
	if m.tracer == nil {
		return
	}
	end := time.Now()
	_, span := m.tracer.Start(context.Background(), "webhook.Deliver", trace.WithTimestamp(end.Add(-d)),
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attribute.String("switchyard.webhook.outcome", state)))
	if state != domain.DeliveryDelivered {
		span.SetStatus(codes.Error, state)
	}
	span.End(trace.WithTimestamp(end))
}

func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	m.webhooks.Describe(ch)
	m.hookTime.Describe(ch)
	m.leader.Describe(ch)
	m.auditPruned.Describe(ch)
}

func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	m.webhooks.Collect(ch)
	m.hookTime.Collect(ch)
	m.leader.Collect(ch)
	m.auditPruned.Collect(ch)
}
