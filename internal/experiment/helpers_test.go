package experiment_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
	"github.com/switchyard/switchyard/internal/eventlog"
	"github.com/switchyard/switchyard/internal/eventlog/boltlog"
	"github.com/switchyard/switchyard/internal/experiment"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/store/boltstore"
)

// clock is a settable clock for a store.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2030, 5, 1, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// rig is a real store on a test clock with an event log running and a
// Consumer over it, seeded with project shop: environment production, a
// bool flag checkout (enabled, default off) and a string flag color
// (red, blue, green), a segment beta, and the metrics purchase
// (conversion), revenue (mean) and latency (mean, lower is better).
type rig struct {
	st       *domain.Store
	clock    *clock
	log      *boltlog.Log
	consumer *experiment.Consumer
	path     string
	bolt     *boltstore.Store // the engine under st
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{clock: newClock(), path: t.TempDir() + "/switchyard.db"}
	r.open(t)
	r.update(t, func(tx *domain.Tx) error {
		return errors.Join(
			tx.CreateProject(domain.Project{Key: "shop"}),
			tx.CreateEnvironment("shop", domain.Environment{Key: "production"}),
			tx.CreateSegment("shop", &model.Segment{Key: "beta", Include: []string{"b1"}}),
			tx.CreateFlag("shop", &model.Flag{Key: "checkout", Type: model.TypeBool, Environments: map[string]*model.Targeting{
				"production": {Enabled: true, Default: &model.Serve{Variant: "off"}},
			}}),
			tx.CreateFlag("shop", &model.Flag{Key: "color", Type: model.TypeString,
				Variants: []model.Variant{{Key: "red", Value: "red"}, {Key: "blue", Value: "blue"}, {Key: "green", Value: "green"}},
				Environments: map[string]*model.Targeting{
					"production": {Enabled: true, OffVariant: "red", Default: &model.Serve{Variant: "red"}},
				}}),
			tx.CreateMetric("shop", &model.Metric{Key: "purchase", Kind: model.MetricConversion}),
			tx.CreateMetric("shop", &model.Metric{Key: "revenue", Kind: model.MetricMean, EventKey: "order"}),
			tx.CreateMetric("shop", &model.Metric{Key: "latency", Kind: model.MetricMean, Direction: model.DirectionLower}),
		)
	})
	return r
}

// open opens the store at r.path with an event log and a consumer.
func (r *rig) open(t *testing.T) {
	t.Helper()
	r.st, r.bolt = domaintest.OpenBolt(t, r.path, domain.Options{Now: r.clock.Now})
	r.log = boltlog.New(r.bolt, eventlog.Options{Now: r.clock.Now})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.log.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	r.consumer = experiment.NewConsumer(quiet, r.st, r.log, experiment.ConsumerOptions{})
}

// reopen closes the store and opens it again, as a restart does.
func (r *rig) reopen(t *testing.T) {
	t.Helper()
	if err := r.st.Close(); err != nil {
		t.Fatal(err)
	}
	r.open(t)
}

func (r *rig) update(t *testing.T, fn func(tx *domain.Tx) error) *domain.Commit {
	t.Helper()
	c, err := r.st.Update(context.Background(), domain.Actor{Name: "test"}, fn)
	if err != nil {
		t.Fatalf("Update() = %v", err)
	}
	return c
}

// try runs fn in an update and returns its error.
func (r *rig) try(fn func(tx *domain.Tx) error) error {
	_, err := r.st.Update(context.Background(), domain.Actor{Name: "test"}, fn)
	return err
}

// abTest is a draft 50/50 experiment on checkout with primary metric
// purchase and the guardrails given.
func abTest(id string, guardrails ...model.Guardrail) *model.Experiment {
	return &model.Experiment{
		ID: id, Environment: "production", Flag: "checkout",
		Control: model.ExperimentArm{Variant: "off", Weight: 50000}, Treatments: []model.ExperimentArm{{Variant: "on", Weight: 50000}},
		TrafficShare: 100000, PrimaryMetric: "purchase", Guardrails: guardrails,
	}
}

// start creates and starts an experiment.
func (r *rig) start(t *testing.T, e *model.Experiment) {
	t.Helper()
	r.update(t, func(tx *domain.Tx) error { return experiment.Create(tx, "shop", e) })
	r.update(t, func(tx *domain.Tx) error { return experiment.Start(tx, experiment.Request{Project: "shop", ID: e.ID}) })
}

// send writes events to the event log as one batch of production.
func (r *rig) send(t *testing.T, events ...eventlog.Event) {
	t.Helper()
	b := &eventlog.Batch{Project: "shop", Environment: "production", Received: r.clock.Now(), Events: events}
	if err := r.log.Append(context.Background(), b, nil); err != nil {
		t.Fatal(err)
	}
}

// exposure is an exposure of unit to a variant of checkout, attributed to
// experiment, now.
func (r *rig) exposure(unit, variant, experiment string) eventlog.Event {
	return eventlog.Event{Kind: eventlog.Exposure, Time: r.clock.Now(), Unit: unit, Flag: "checkout", Variant: variant, Experiment: experiment}
}

// track is a track event of unit, now; value < 0 means none.
func (r *rig) track(unit, key string, value float64) eventlog.Event {
	e := eventlog.Event{Kind: eventlog.Track, Time: r.clock.Now(), Unit: unit, Key: key}
	if value >= 0 {
		e.Value, e.HasValue = value, true
	}
	return e
}

// results counts what was sent and returns an experiment's results.
func (r *rig) results(t *testing.T, id string) *experiment.Results {
	t.Helper()
	ctx := context.Background()
	if err := r.consumer.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	ps, _ := r.st.State().Project("shop")
	res, err := r.consumer.Results(ctx, ps, id)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// experiment returns the stored experiment.
func (r *rig) experiment(t *testing.T, id string) *model.Experiment {
	t.Helper()
	ps, _ := r.st.State().Project("shop")
	e, _, ok := ps.Experiment(id)
	if !ok {
		t.Fatalf("experiment %s not found", id)
	}
	return e
}
