package experiment_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/eventlog"
	"github.com/switchyard/switchyard/internal/experiment"
	"github.com/switchyard/switchyard/internal/model"
)

// units returns an experiment's exposed units by variant.
func units(res *experiment.Results) map[string]int64 {
	out := map[string]int64{}
	for _, a := range res.Arms {
		out[a.Variant] = a.Units
	}
	return out
}

// metricOf returns a metric's result by key.
func metricOf(t *testing.T, res *experiment.Results, key string) experiment.MetricResult {
	t.Helper()
	for _, m := range res.Metrics {
		if m.Metric.Key == key {
			return m
		}
	}
	t.Fatalf("no metric %s in the results", key)
	return experiment.MetricResult{}
}

func TestFirstExposureDecidesTheVariant(t *testing.T) {
	r := newRig(t)
	r.start(t, abTest("ab"))
	r.send(t, r.exposure("u1", "on", "ab"), r.exposure("u1", "on", "ab"), r.exposure("u2", "off", "ab"))
	r.send(t, r.exposure("u1", "off", "ab"))
	res := r.results(t, "ab")
	if got := units(res); got["on"] != 1 || got["off"] != 1 {
		t.Errorf("units = %v, want u1 in on (its first exposure) and u2 in off", got)
	}
	if res.Ignored["variant_changed"] != 1 {
		t.Errorf("ignored = %v, want the change of variant counted once", res.Ignored)
	}
}

func TestExposuresOutsideTheExperimentDoNotCount(t *testing.T) {
	r := newRig(t)
	r.start(t, abTest("ab"))
	plain := r.exposure("u1", "off", "")
	other := r.exposure("u2", "on", "another")
	r.send(t, plain, other)
	if got := units(r.results(t, "ab")); got["on"]+got["off"] != 0 {
		t.Errorf("units = %v, want none: the exposures name no experiment or another", got)
	}
}

func TestConversionCountsOncePerUnitAfterExposure(t *testing.T) {
	r := newRig(t)
	r.start(t, abTest("ab"))
	r.send(t, r.track("u1", "purchase", -1)) // before any exposure: not attributable
	r.send(t, r.exposure("u1", "on", "ab"), r.exposure("u2", "on", "ab"))
	r.send(t, r.track("u1", "purchase", -1), r.track("u1", "purchase", -1), r.track("u3", "purchase", -1))
	m := metricOf(t, r.results(t, "ab"), "purchase")
	if got := m.Variants[1].Conversions; got != 1 {
		t.Errorf("conversions of on = %d, want 1 (u1 once; u3 was never exposed)", got)
	}
	if rate := m.Variants[1].Value.Value; rate != 0.5 {
		t.Errorf("rate of on = %v, want 1/2", rate)
	}
}

func TestTrackDatedBeforeTheExposureIsIgnored(t *testing.T) {
	r := newRig(t)
	r.start(t, abTest("ab"))
	early := r.track("u1", "purchase", -1)
	r.clock.Add(time.Minute)
	r.send(t, r.exposure("u1", "on", "ab"))
	r.send(t, early)
	res := r.results(t, "ab")
	if got := metricOf(t, res, "purchase").Variants[1].Conversions; got != 0 {
		t.Errorf("conversions = %d, want 0: the purchase happened before the exposure", got)
	}
	if res.Ignored["before_exposure"] != 1 {
		t.Errorf("ignored = %v, want before_exposure 1", res.Ignored)
	}
}

func TestMeanSumsPerUnitThenPerVariant(t *testing.T) {
	r := newRig(t)
	r.start(t, abTest("ab", model.Guardrail{Metric: "revenue"}))
	r.send(t, r.exposure("u1", "on", "ab"), r.exposure("u2", "on", "ab"), r.exposure("u3", "on", "ab"))
	// u1 orders twice (10 + 20 = 30), u2 once (5), u3 never (0).
	r.send(t, r.track("u1", "order", 10), r.track("u2", "order", 5))
	r.send(t, r.track("u1", "order", 20))
	v := metricOf(t, r.results(t, "ab"), "revenue").Variants[1]
	if v.Units != 3 || v.Sum != 35 || v.SumSq != 30*30+5*5 {
		t.Errorf("revenue of on: units %d, sum %v, sum of squares %v; want 3, 35, %d", v.Units, v.Sum, v.SumSq, 30*30+5*5)
	}
	if math.Abs(v.Value.Value-35.0/3) > 1e-12 {
		t.Errorf("mean = %v, want 35/3", v.Value.Value)
	}
}

func TestEventsOutsideTheRunningTimeAreIgnored(t *testing.T) {
	r := newRig(t)
	before := r.exposure("u0", "on", "ab")
	r.clock.Add(time.Second)
	r.start(t, abTest("ab"))
	r.send(t, before, r.exposure("u1", "on", "ab"))
	r.update(t, func(tx *domain.Tx) error {
		return experiment.Stop(tx, experiment.Request{Project: "shop", ID: "ab"}, model.Decision{Action: model.DecisionRevert})
	})
	r.clock.Add(time.Second)
	r.send(t, r.exposure("u2", "on", "ab"), r.track("u1", "purchase", -1))
	res := r.results(t, "ab")
	if got := units(res)["on"]; got != 1 {
		t.Errorf("units of on = %d, want 1 (u0 came before the start, u2 after the stop)", got)
	}
	if res.Ignored["before_start"] != 1 || res.Ignored["after_stop"] != 2 {
		t.Errorf("ignored = %v, want before_start 1 and after_stop 2", res.Ignored)
	}
}

func TestCursorSurvivesARestart(t *testing.T) {
	r := newRig(t)
	r.start(t, abTest("ab"))
	r.send(t, r.exposure("u1", "on", "ab"))
	r.results(t, "ab")
	r.reopen(t)
	r.send(t, r.exposure("u2", "on", "ab"))
	if got := units(r.results(t, "ab"))["on"]; got != 2 {
		t.Errorf("units of on after a restart = %d, want 2: every batch counted exactly once", got)
	}
}

func TestStateOfADeletedExperimentIsDropped(t *testing.T) {
	r := newRig(t)
	r.start(t, abTest("ab"))
	r.send(t, r.exposure("u1", "on", "ab"))
	r.results(t, "ab")
	r.update(t, func(tx *domain.Tx) error {
		return experiment.Stop(tx, experiment.Request{Project: "shop", ID: "ab"}, model.Decision{Action: model.DecisionRevert})
	})
	r.update(t, func(tx *domain.Tx) error { return experiment.Delete(tx, experiment.Request{Project: "shop", ID: "ab"}) })
	if err := r.consumer.Collect(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.clock.Add(time.Second)
	r.start(t, abTest("ab"))
	if got := units(r.results(t, "ab")); got["on"] != 0 {
		t.Errorf("units of the new ab = %v, want none of the deleted one's", got)
	}
}

// TestConsumerKeepsAMillionUnitsInBoundedSpace counts a million units in
// one experiment (200,000 under the race detector, which is ten times
// slower) and checks that the state takes a few dozen bytes per unit.
func TestConsumerKeepsAMillionUnitsInBoundedSpace(t *testing.T) {
	n := 1_000_000
	if raceEnabled || testing.Short() {
		n = 200_000
	}
	r := newRig(t)
	r.start(t, abTest("ab"))
	const perBatch = 10_000
	for b := range n / perBatch {
		events := make([]eventlog.Event, perBatch)
		for i := range events {
			u := b*perBatch + i
			variant := "off"
			if u%2 == 1 {
				variant = "on"
			}
			events[i] = r.exposure(fmt.Sprintf("user-%d", u), variant, "ab")
		}
		r.send(t, events...)
	}
	res := r.results(t, "ab")
	if got := units(res); got["on"] != int64(n/2) || got["off"] != int64(n/2) {
		t.Errorf("units = %v, want %d each", got, n/2)
	}
	var used int
	err := r.bolt.DB().View(func(tx *bolt.Tx) error {
		st := tx.Bucket([]byte("experiments")).Stats()
		used = st.BranchInuse + st.LeafInuse
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d units: %.1f bytes per unit", n, float64(used)/float64(n))
	if perUnit := float64(used) / float64(n); perUnit > 40 {
		t.Errorf("experiment state takes %.1f bytes per unit, want at most 40", perUnit)
	}
}

func TestLagCountsTheBatchesNotConsumed(t *testing.T) {
	r := newRig(t)
	r.start(t, abTest("ab"))
	lag := func() uint64 {
		t.Helper()
		n, err := r.consumer.Lag(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if got := lag(); got != 0 {
		t.Errorf("Lag() before any event = %d, want 0", got)
	}
	r.send(t, r.exposure("u1", "on", "ab"))
	r.send(t, r.exposure("u2", "on", "ab"))
	if got := lag(); got != 2 {
		t.Errorf("Lag() after two batches = %d, want 2", got)
	}
	if _, err := r.consumer.Step(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := lag(); got != 0 {
		t.Errorf("Lag() after a step = %d, want 0", got)
	}
}

// conversions returns a conversion metric's converted units by variant.
func conversions(t *testing.T, res *experiment.Results, key string) map[string]int64 {
	out := map[string]int64{}
	for _, v := range metricOf(t, res, key).Variants {
		out[v.Variant] = v.Conversions
	}
	return out
}

// TestStepsWithinAnEngineLimit: with MaxWrites (an etcd transaction's
// limit), a batch that changes more unit records than one Change may
// write is counted over several Changes, each within the limit, the
// cursor recording how far into the batch it got; a consumer that
// restarts in the middle of the batch counts every event exactly once.
func TestStepsWithinAnEngineLimit(t *testing.T) {
	r := newRig(t)
	r.start(t, abTest("ab"))
	var evs []eventlog.Event
	for i := range 50 {
		evs = append(evs, r.exposure(fmt.Sprintf("u%d", i), []string{"off", "on"}[i%2], "ab"))
	}
	for i := range 50 {
		evs = append(evs, r.track(fmt.Sprintf("u%d", i), "purchase", -1))
	}
	r.send(t, evs...)
	r.send(t, r.exposure("late", "on", "ab"))
	const limit = 16
	limited := func() *experiment.Consumer {
		return experiment.NewConsumer(quiet, r.st, r.log, experiment.ConsumerOptions{MaxWrites: limit})
	}
	rev, err := r.bolt.Apply(context.Background(), domain.Change{})
	if err != nil {
		t.Fatal(err)
	}
	var most, changes int
	watched := make(chan error, 1)
	seen := errors.New("seen the marker")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	go func() {
		watched <- r.bolt.Watch(ctx, rev, func(a domain.Applied) error {
			if a.Ops[0].Path[0] != "experiments" {
				return seen
			}
			changes++
			most = max(most, len(a.Ops))
			return nil
		})
	}()
	c := limited()
	if n, err := c.Step(context.Background()); n != 1 || err != nil {
		t.Fatalf("Step = %d, %v; want part of the first batch", n, err)
	}
	c = limited() // a restart in the middle of the batch
	if err := c.CatchUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	ps, _ := r.st.State().Project("shop")
	res, err := c.Results(context.Background(), ps, "ab")
	if err != nil {
		t.Fatal(err)
	}
	if got := units(res); got["on"] != 26 || got["off"] != 25 {
		t.Errorf("units = %v, want on 26, off 25: every exposure counted once", got)
	}
	if got := conversions(t, res, "purchase"); got["on"] != 25 || got["off"] != 25 {
		t.Errorf("conversions = %v, want 25 each: every purchase counted once", got)
	}
	if lag, err := c.Lag(context.Background()); lag != 0 || err != nil {
		t.Errorf("Lag = %d, %v; want 0", lag, err)
	}
	r.update(t, func(tx *domain.Tx) error { return tx.CreateProject(domain.Project{Key: "marker"}) })
	if err := <-watched; !errors.Is(err, seen) {
		t.Fatalf("watching the consumer's Changes: %v", err)
	}
	if most > limit || changes < 100/limit {
		t.Errorf("the consumer wrote up to %d records a Change in %d Changes, want at most %d each", most, changes, limit)
	}
}
