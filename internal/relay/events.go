package relay

import (
	"context"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/internal/relay/spool"
	"github.com/switchyard/switchyard/server"
)

// The relay takes in the exposure and track events of its SDKs and clients
// (EventService.SendEvents over gRPC, POST /api/v1/events) into a spool in
// its data directory, and forwards them upstream with its relay key: see
// package spool. A chained relay's upstream spools them in turn.

// spoolFile is the event spool's file in the data directory.
const spoolFile = "events.db"

// openSpool opens the event spool in the data directory.
func openSpool(cfg Config) (*spool.Spool, error) {
	return spool.Open(filepath.Join(cfg.DataDir, spoolFile), cfg.Events)
}

// eventService is the relay's EventService over its spool.
func (r *Relay) eventService() sdkpb.EventServiceServer {
	return &spool.Service{Spool: r.spool, Scope: server.CallerScope}
}

// forwardEvents forwards the spooled events over conn until ctx is done.
func (r *Relay) forwardEvents(ctx context.Context, conn *grpc.ClientConn) error {
	up := upstreamEvents{client: sdkpb.NewEventServiceClient(conn), key: r.cfg.RelayKey}
	return r.spool.Forward(ctx, r.log, up, spool.ForwardOptions{MinBackoff: r.cfg.Backoff.Initial, MaxBackoff: r.cfg.Backoff.Max})
}

// upstreamEvents sends events upstream with the relay key.
type upstreamEvents struct {
	client sdkpb.EventServiceClient
	key    string
}

func (u upstreamEvents) SendEvents(ctx context.Context, in *sdkpb.SendEventsRequest, opts ...grpc.CallOption) (*sdkpb.SendEventsResponse, error) {
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+u.key)
	return u.client.SendEvents(ctx, in, opts...)
}

// collectors is several collectors as one.
type collectors []prometheus.Collector

// Describe implements prometheus.Collector.
func (cs collectors) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range cs {
		c.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (cs collectors) Collect(ch chan<- prometheus.Metric) {
	for _, c := range cs {
		c.Collect(ch)
	}
}
