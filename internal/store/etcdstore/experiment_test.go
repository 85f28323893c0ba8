package etcdstore_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
	"github.com/switchyard/switchyard/internal/eventlog"
	"github.com/switchyard/switchyard/internal/eventlog/boltlog"
	"github.com/switchyard/switchyard/internal/experiment"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/store/boltstore"
	"github.com/switchyard/switchyard/internal/store/etcdstore"
)

// TestExperimentConsumerOnEtcd: the experiment consumer on etcd, its
// writes limited to what one transaction takes (as serve sets it), counts
// a batch of 300 exposures of new units and 300 purchases, more than one
// transaction can write, every event once.
func TestExperimentConsumerOnEtcd(t *testing.T) {
	t.Parallel()
	engine := open(t, etcdstore.Options{})
	st, err := domain.Open(t.Context(), engine, domain.Options{SecretKeys: domaintest.SecretKeys(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Update(t.Context(), actor, func(tx *domain.Tx) error {
		return errors.Join(
			tx.CreateProject(domain.Project{Key: "shop"}),
			tx.CreateEnvironment("shop", domain.Environment{Key: "production"}),
			tx.CreateFlag("shop", &model.Flag{Key: "checkout", Type: model.TypeBool, Environments: map[string]*model.Targeting{
				"production": {Enabled: true, Default: &model.Serve{Variant: "off"}},
			}}),
			tx.CreateMetric("shop", &model.Metric{Key: "purchase", Kind: model.MetricConversion}),
			experiment.Create(tx, "shop", &model.Experiment{
				ID: "ab", Environment: "production", Flag: "checkout", TrafficShare: model.RolloutTotal, PrimaryMetric: "purchase",
				Control: model.ExperimentArm{Variant: "off", Weight: 50000}, Treatments: []model.ExperimentArm{{Variant: "on", Weight: 50000}},
			}),
			experiment.Start(tx, experiment.Request{Project: "shop", ID: "ab"}),
		)
	}); err != nil {
		t.Fatal(err)
	}
	file, err := boltstore.Open(filepath.Join(t.TempDir(), "events.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	l := boltlog.New(file, eventlog.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	defer func() { cancel(); <-done }()
	now := time.Now()
	var evs []eventlog.Event
	for i := range 300 {
		evs = append(evs, eventlog.Event{Kind: eventlog.Exposure, Time: now, Unit: fmt.Sprintf("u%d", i), Flag: "checkout",
			Variant: []string{"off", "on"}[i%2], Experiment: "ab"})
	}
	for i := range 300 {
		evs = append(evs, eventlog.Event{Kind: eventlog.Track, Time: now, Unit: fmt.Sprintf("u%d", i), Key: "purchase"})
	}
	if err := l.Append(ctx, &eventlog.Batch{Project: "shop", Environment: "production", Received: now, Events: evs}, nil); err != nil {
		t.Fatal(err)
	}
	c := experiment.NewConsumer(slog.New(slog.NewTextHandler(io.Discard, nil)), st, l, experiment.ConsumerOptions{MaxWrites: engine.MaxOps()})
	if err := c.CatchUp(t.Context()); err != nil {
		t.Fatalf("CatchUp = %v", err)
	}
	ps, _ := st.State().Project("shop")
	res, err := c.Results(t.Context(), ps, "ab")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range res.Arms {
		if a.Units != 150 {
			t.Errorf("units of %s = %d, want 150", a.Variant, a.Units)
		}
	}
	for _, m := range res.Metrics {
		for _, v := range m.Variants {
			if v.Conversions != 150 {
				t.Errorf("%s conversions of %s = %d, want 150", m.Metric.Key, v.Variant, v.Conversions)
			}
		}
	}
}

// TestExperimentCollectOnEtcd: the state of 80 deleted experiments, more
// than one etcd transaction can drop, is dropped whole by one Collect.
func TestExperimentCollectOnEtcd(t *testing.T) {
	t.Parallel()
	const n = 80
	engine := open(t, etcdstore.Options{})
	st, err := domain.Open(t.Context(), engine, domain.Options{SecretKeys: domaintest.SecretKeys(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	update := func(fn func(tx *domain.Tx) error) {
		t.Helper()
		if _, err := st.Update(t.Context(), actor, fn); err != nil {
			t.Fatal(err)
		}
	}
	update(func(tx *domain.Tx) error {
		return errors.Join(
			tx.CreateProject(domain.Project{Key: "shop"}),
			tx.CreateEnvironment("shop", domain.Environment{Key: "production"}),
			tx.CreateMetric("shop", &model.Metric{Key: "purchase", Kind: model.MetricConversion}))
	})
	for i := range n { // one write each: n at once are more than a transaction takes
		update(func(tx *domain.Tx) error {
			flag, id := fmt.Sprintf("f%d", i), fmt.Sprintf("ab%d", i)
			return errors.Join(
				tx.CreateFlag("shop", &model.Flag{Key: flag, Type: model.TypeBool, Environments: map[string]*model.Targeting{
					"production": {Enabled: true, Default: &model.Serve{Variant: "off"}},
				}}),
				experiment.Create(tx, "shop", &model.Experiment{
					ID: id, Environment: "production", Flag: flag, TrafficShare: model.RolloutTotal, PrimaryMetric: "purchase",
					Control: model.ExperimentArm{Variant: "off", Weight: 50000}, Treatments: []model.ExperimentArm{{Variant: "on", Weight: 50000}},
				}),
				experiment.Start(tx, experiment.Request{Project: "shop", ID: id}))
		})
	}
	file, err := boltstore.Open(filepath.Join(t.TempDir(), "events.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	l := boltlog.New(file, eventlog.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	defer func() { cancel(); <-done }()
	now := time.Now()
	var evs []eventlog.Event
	for i := range n {
		evs = append(evs, eventlog.Event{Kind: eventlog.Exposure, Time: now, Unit: "u1", Flag: fmt.Sprintf("f%d", i),
			Variant: "on", Experiment: fmt.Sprintf("ab%d", i)})
	}
	if err := l.Append(ctx, &eventlog.Batch{Project: "shop", Environment: "production", Received: now, Events: evs}, nil); err != nil {
		t.Fatal(err)
	}
	c := experiment.NewConsumer(slog.New(slog.NewTextHandler(io.Discard, nil)), st, l,
		experiment.ConsumerOptions{MaxWrites: engine.MaxOps(), GCInterval: time.Nanosecond})
	if err := c.CatchUp(t.Context()); err != nil {
		t.Fatalf("CatchUp = %v", err)
	}
	state := func() int {
		var recs int
		if err := engine.Range(t.Context(), domain.Path{"experiments", "aggs"}, "", 0, false, func(domain.Record) error { recs++; return nil }); err != nil {
			t.Fatal(err)
		}
		return recs
	}
	units := func() int {
		var recs int
		if _, err := engine.Load(t.Context(), domain.Path{"experiments", "units"}, func(domain.Record) error { recs++; return nil }); err != nil {
			t.Fatal(err)
		}
		return recs
	}
	if got := state(); got != n {
		t.Fatalf("%d experiments' aggregates after counting %d experiments, want %d", got, n, n)
	}
	if got := units(); got != n {
		t.Fatalf("%d unit records after counting one unit in each of %d experiments, want %d", got, n, n)
	}
	for i := range n {
		update(func(tx *domain.Tx) error {
			req := experiment.Request{Project: "shop", ID: fmt.Sprintf("ab%d", i)}
			return errors.Join(experiment.Stop(tx, req, model.Decision{Action: model.DecisionRevert}), experiment.Delete(tx, req))
		})
	}
	if err := c.Collect(t.Context()); err != nil {
		t.Fatalf("Collect = %v", err)
	}
	if got := state(); got != 0 {
		t.Errorf("%d experiments' aggregates after dropping all %d, want 0", got, n)
	}
	if got := units(); got != 0 {
		t.Errorf("%d unit records left after dropping all %d experiments, want 0", got, n)
	}
}
