package benchmarks

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
	"github.com/switchyard/switchyard/internal/eventlog"
	"github.com/switchyard/switchyard/internal/eventlog/boltlog"
	"github.com/switchyard/switchyard/internal/experiment"
	"github.com/switchyard/switchyard/internal/store/boltstore"
	"github.com/switchyard/switchyard/internal/store/etcdstore"
	"github.com/switchyard/switchyard/internal/store/etcdstore/etcdtest"
)

// etcdKVRequests is the KV requests (Range, Txn, Put, …) the etcd members
// running in this process have handled: each is one round trip of a
// client.
func etcdKVRequests(b *testing.B) float64 {
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		b.Fatal(err)
	}
	n := 0.0
	for _, mf := range mfs {
		if mf.GetName() != "grpc_server_handled_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "grpc_service" && l.GetValue() == "etcdserverpb.KV" {
					n += m.GetCounter().GetValue()
				}
			}
		}
	}
	return n
}

// BenchmarkExperimentStepEtcd measures the experiment consumer on etcd (a
// 3-member cluster on loopback, every member fsyncing its log): one op is
// one Step (the batch appended to the event log beforehand, untimed) over
// one event batch of 100 events for the running experiment
// "ab" — 60 exposures of new units and 40 purchases of units exposed in
// the op before — so the Step reads 100 unit records and writes them with
// the counts and the cursor in one transaction. round-trips/op is the KV
// requests the cluster served per op (reads of the unit records, the
// counts, the cursor, and the write).
//
// In fsync=false the members do not sync their logs (as the tests run
// them): the write costs less, and the reads' share of a Step shows.
func BenchmarkExperimentStepEtcd(b *testing.B) {
	for _, fsync := range []bool{true, false} {
		b.Run(fmt.Sprintf("fsync=%v", fsync), func(b *testing.B) { benchmarkExperimentStepEtcd(b, fsync) })
	}
}

func benchmarkExperimentStepEtcd(b *testing.B, fsync bool) {
	c, err := etcdtest.StartWith(3, etcdtest.Options{Fsync: fsync})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	engine, err := etcdstore.Open(context.Background(), etcdstore.Options{Endpoints: c.Endpoints()[:1]})
	if err != nil {
		b.Fatal(err)
	}
	st, err := domain.Open(context.Background(), engine, domain.Options{SecretKeys: domaintest.SecretKeys(b)})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	seedExperiment(b, st)
	// The event log stays in a local bbolt file, as beside etcd in serve.
	file, err := boltstore.Open(filepath.Join(b.TempDir(), "events.db"), boltstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer file.Close()
	l := boltlog.New(file, eventlog.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	consumer := experiment.NewConsumer(slog.New(slog.NewTextHandler(io.Discard, nil)), st, l, experiment.ConsumerOptions{MaxWrites: engine.MaxOps()})
	const exposures, purchases = 60, 40
	now := time.Now()
	batch := func(op int) *eventlog.Batch {
		evs := make([]eventlog.Event, 0, exposures+purchases)
		for i := range exposures {
			evs = append(evs, eventlog.Event{Kind: eventlog.Exposure, Time: now, Unit: fmt.Sprintf("user-%d-%d", op, i),
				Flag: "flag-0", Variant: []string{"off", "on"}[i%2], Experiment: "ab"})
		}
		for i := range purchases {
			evs = append(evs, eventlog.Event{Kind: eventlog.Track, Time: now, Unit: fmt.Sprintf("user-%d-%d", op-1, i), Key: "purchase"})
		}
		return &eventlog.Batch{Project: "default", Environment: "production", Received: now, Events: evs}
	}
	appendBatch := func(op int) {
		if err := l.Append(ctx, batch(op), nil); err != nil {
			b.Fatal(err)
		}
	}
	step := func() {
		if n, err := consumer.Step(ctx); n != 1 || err != nil {
			b.Fatalf("Step = %d, %v; want the batch consumed", n, err)
		}
	}
	appendBatch(0)
	step() // the first Step also moves the state of old layouts, once
	var requests float64
	b.ResetTimer()
	for op := 1; op <= b.N; op++ {
		b.StopTimer()
		appendBatch(op)
		before := etcdKVRequests(b)
		b.StartTimer()
		step()
		b.StopTimer()
		requests += etcdKVRequests(b) - before
		b.StartTimer()
	}
	b.ReportMetric(requests/float64(b.N), "round-trips/op")
}
