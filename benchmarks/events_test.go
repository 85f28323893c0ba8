package benchmarks

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
	"github.com/switchyard/switchyard/internal/eventlog"
	"github.com/switchyard/switchyard/internal/eventlog/boltlog"
	"github.com/switchyard/switchyard/internal/eventlog/jetstream"
	"github.com/switchyard/switchyard/internal/eventlog/jetstream/natstest"
	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/server/servertest"
)

// ingestFlags is how many flags the ingested exposures spread over.
const ingestFlags = 10

// ingestBatches returns n requests of size events each: four exposures
// (to ingestFlags flags, two variants, distinct units) to one track event.
func ingestBatches(n, size int) []*sdkpb.SendEventsRequest {
	now := timestamppb.Now()
	reqs := make([]*sdkpb.SendEventsRequest, n)
	unit := 0
	for i := range reqs {
		req := &sdkpb.SendEventsRequest{SdkName: "bench", SdkVersion: "1", Events: make([]*sdkpb.Event, size)}
		for j := range req.Events {
			unit++
			u := fmt.Sprintf("user-%d", unit)
			if j%5 == 4 {
				v := float64(j)
				req.Events[j] = &sdkpb.Event{Time: now, Kind: &sdkpb.Event_Track{Track: &sdkpb.TrackEvent{Key: "purchase", Unit: u, Value: &v}}}
				continue
			}
			variant := "on"
			if unit%2 == 0 {
				variant = "off"
			}
			req.Events[j] = &sdkpb.Event{Time: now, Kind: &sdkpb.Event_Exposure{Exposure: &sdkpb.ExposureEvent{
				Flag: fmt.Sprintf("flag-%d", unit%ingestFlags), Variant: variant, Unit: u, Rule: "default", Revision: 1,
			}}}
		}
		reqs[i] = req
	}
	return reqs
}

// BenchmarkIngest measures event ingestion end to end: SendEvents over gRPC
// on loopback, from many concurrent senders (8 per CPU), into a real
// server whose bbolt file is fsynced at every commit (the call returns once
// its batch is durable). One op is one batch; events/s is the figure to
// read (target: at least 50,000 on the 2-core reference machine).
func BenchmarkIngest(b *testing.B) {
	for _, size := range []int{100, 500} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			srv := servertest.Start(b, servertest.Options{Path: filepath.Join(b.TempDir(), "switchyard.db")})
			for i := range ingestFlags {
				srv.Admin(b, "POST", "/api/v1/projects/default/flags", fmt.Sprintf(`{"key":"flag-%d","type":"bool"}`, i))
			}
			client := sdkpb.NewEventServiceClient(srv.Conn)
			ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+srv.Creds.SDKKey)
			reqs := ingestBatches(64, size)
			b.SetParallelism(8)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					resp, err := client.SendEvents(ctx, reqs[i%len(reqs)])
					if err != nil || int(resp.GetAccepted()) != size {
						b.Errorf("SendEvents() = %v, %v, want %d accepted", resp, err, size)
						return
					}
					i++
				}
			})
			b.ReportMetric(float64(b.N*size)/time.Since(start).Seconds(), "events/s")
		})
	}
}

// BenchmarkEventLogAppend measures the event log alone: concurrent
// Appends of 500-event batches, each acknowledged once durable — bbolt
// group-committed with fsync in one file, or JetStream on a 3-node
// cluster on loopback with the stream replicated three times.
func BenchmarkEventLogAppend(b *testing.B) {
	b.Run("bbolt", func(b *testing.B) {
		_, f := domaintest.OpenBolt(b, filepath.Join(b.TempDir(), "switchyard.db"), domain.Options{})
		benchAppend(b, boltlog.New(f, eventlog.Options{}))
	})
	b.Run("jetstream-R3", func(b *testing.B) {
		cluster, err := natstest.Start(b.TempDir(), 3)
		if err != nil {
			b.Fatal(err)
		}
		defer cluster.Shutdown()
		nc, err := nats.Connect(cluster.URL())
		if err != nil {
			b.Fatal(err)
		}
		defer nc.Close()
		l, err := jetstream.New(context.Background(), nc, jetstream.Config{Replicas: 3}, eventlog.Options{})
		if err != nil {
			b.Fatal(err)
		}
		benchAppend(b, l)
	})
}

// benchAppend appends 500-event batches to l from 8 goroutines per CPU.
func benchAppend(b *testing.B, l eventlog.Log) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	defer func() { cancel(); <-done }()

	const size = 500
	now := time.Now()
	batches := make([]eventlog.Batch, 64)
	for i := range batches {
		events := make([]eventlog.Event, size)
		for j := range events {
			events[j] = eventlog.Event{
				Kind: eventlog.Exposure, Time: now, Unit: fmt.Sprintf("user-%d-%d", i, j),
				Flag: fmt.Sprintf("flag-%d", j%ingestFlags), Variant: "on", Rule: "default", Revision: 1,
			}
		}
		batches[i] = eventlog.Batch{Project: "default", Environment: "production", Received: now, Events: events}
	}
	b.SetParallelism(8)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			batch := batches[i%len(batches)] // a copy: Append sets Seq
			if err := l.Append(context.Background(), &batch, nil); err != nil {
				b.Errorf("Append() = %v", err)
				return
			}
			i++
		}
	})
	b.ReportMetric(float64(b.N*size)/time.Since(start).Seconds(), "events/s")
}
