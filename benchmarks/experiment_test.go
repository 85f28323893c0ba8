package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
	"github.com/switchyard/switchyard/internal/eventlog"
	"github.com/switchyard/switchyard/internal/eventlog/boltlog"
	"github.com/switchyard/switchyard/internal/experiment"
	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/server/servertest"
)

// experimentBatches returns n requests of size events each for the running
// experiment "ab" on flag-0: four exposures (new units, attributed to the
// experiment) to one purchase of a unit exposed just before.
func experimentBatches(n, size int) []*sdkpb.SendEventsRequest {
	now := timestamppb.Now()
	reqs := make([]*sdkpb.SendEventsRequest, n)
	unit := 0
	for i := range reqs {
		req := &sdkpb.SendEventsRequest{SdkName: "bench", SdkVersion: "1", Events: make([]*sdkpb.Event, size)}
		for j := range req.Events {
			if j%5 == 4 {
				req.Events[j] = &sdkpb.Event{Time: now, Kind: &sdkpb.Event_Track{Track: &sdkpb.TrackEvent{Key: "purchase", Unit: fmt.Sprintf("user-%d", unit)}}}
				continue
			}
			unit++
			variant := "on"
			if unit%2 == 0 {
				variant = "off"
			}
			req.Events[j] = &sdkpb.Event{Time: now, Kind: &sdkpb.Event_Exposure{Exposure: &sdkpb.ExposureEvent{
				Flag: "flag-0", Variant: variant, Unit: fmt.Sprintf("user-%d", unit), Rule: "experiment:ab", Revision: 1, Experiment: "ab",
			}}}
		}
		reqs[i] = req
	}
	return reqs
}

// BenchmarkExperimentIngest measures ingestion while an experiment runs:
// SendEvents over gRPC from many concurrent senders into a real server
// (fsync at every commit) whose consumer counts the events for the
// experiment in the background, in the same bbolt file. events/s is the
// ingestion rate (target: at least 50,000 on the 2-core reference
// machine); catch-up-s is how long the results then took to count what
// was still queued (GetExperimentResults counts every stored event first).
func BenchmarkExperimentIngest(b *testing.B) {
	srv := servertest.Start(b, servertest.Options{Path: filepath.Join(b.TempDir(), "switchyard.db")})
	srv.Admin(b, "POST", "/api/v1/projects/default/flags",
		`{"key":"flag-0","type":"bool","environments":{"production":{"enabled":true,"default":{"variant":"off"}}}}`)
	srv.Admin(b, "POST", "/api/v1/projects/default/metrics", `{"key":"purchase","kind":"conversion"}`)
	srv.Admin(b, "POST", "/api/v1/projects/default/experiments", `{"id":"ab","environment":"production","flag":"flag-0",
		"control":{"variant":"off","weight":50000},"treatments":[{"variant":"on","weight":50000}],"traffic_share":100000,"primary_metric":"purchase"}`)
	srv.Admin(b, "POST", "/api/v1/projects/default/experiments/ab:start", `{}`)
	client := sdkpb.NewEventServiceClient(srv.Conn)
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+srv.Creds.SDKKey)
	const size = 500
	reqs := experimentBatches(256, size)
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
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N*size)/elapsed.Seconds(), "events/s")
	start = time.Now()
	srv.Admin(b, "GET", "/api/v1/projects/default/experiments/ab/results", nil)
	b.ReportMetric(time.Since(start).Seconds(), "catch-up-s")
}

// BenchmarkExperimentConsumer measures the consumer alone: it counts a
// million exposures of distinct units (and 250,000 purchases) already in
// the event log for one experiment. One op is the whole million; events/s
// is the figure to read, bytes/unit the size of the experiment state.
func BenchmarkExperimentConsumer(b *testing.B) {
	const units, perBatch = 1_000_000, 10_000
	for range b.N {
		b.StopTimer()
		s, engine := domaintest.OpenBolt(b, filepath.Join(b.TempDir(), "switchyard.db"), domain.Options{})
		seedExperiment(b, s)
		l := boltlog.New(engine, eventlog.Options{})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- l.Run(ctx) }()
		now := time.Now()
		events := 0
		for batch := range units / perBatch {
			evs := make([]eventlog.Event, 0, perBatch+perBatch/4)
			for i := range perBatch {
				u := fmt.Sprintf("user-%d", batch*perBatch+i)
				variant := []string{"off", "on"}[i%2]
				evs = append(evs, eventlog.Event{Kind: eventlog.Exposure, Time: now, Unit: u, Flag: "flag-0", Variant: variant, Experiment: "ab"})
				if i%4 == 0 {
					evs = append(evs, eventlog.Event{Kind: eventlog.Track, Time: now, Unit: u, Key: "purchase"})
				}
			}
			events += len(evs)
			if err := l.Append(ctx, &eventlog.Batch{Project: "default", Environment: "production", Received: now, Events: evs}, nil); err != nil {
				b.Fatal(err)
			}
		}
		cancel()
		<-done
		c := experiment.NewConsumer(slog.New(slog.NewTextHandler(io.Discard, nil)), s, l, experiment.ConsumerOptions{})
		b.StartTimer()
		start := time.Now()
		if err := c.CatchUp(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(events)/time.Since(start).Seconds(), "events/s")
		b.StopTimer()
		var used int
		engine.DB().View(func(tx *bolt.Tx) error {
			st := tx.Bucket([]byte("experiments")).Stats()
			used = st.LeafInuse + st.BranchInuse
			return nil
		})
		b.ReportMetric(float64(used)/units, "bytes/unit")
		b.StartTimer()
	}
}

// seedExperiment creates project default (production) with flag-0, the
// metric purchase and the running experiment ab.
func seedExperiment(b *testing.B, s *domain.Store) {
	b.Helper()
	_, err := s.Update(context.Background(), domain.Actor{Name: "bench"}, func(tx *domain.Tx) error {
		return errors.Join(
			tx.CreateProject(domain.Project{Key: "default"}),
			tx.CreateEnvironment("default", domain.Environment{Key: "production"}),
			tx.CreateFlag("default", &model.Flag{Key: "flag-0", Type: model.TypeBool, Environments: map[string]*model.Targeting{
				"production": {Enabled: true, Default: &model.Serve{Variant: "off"}},
			}}),
			tx.CreateMetric("default", &model.Metric{Key: "purchase", Kind: model.MetricConversion}),
			experiment.Create(tx, "default", &model.Experiment{
				ID: "ab", Environment: "production", Flag: "flag-0", TrafficShare: model.RolloutTotal, PrimaryMetric: "purchase",
				Control: model.ExperimentArm{Variant: "off", Weight: 50000}, Treatments: []model.ExperimentArm{{Variant: "on", Weight: 50000}},
			}),
			experiment.Start(tx, experiment.Request{Project: "default", ID: "ab"}),
		)
	})
	if err != nil {
		b.Fatal(err)
	}
}
