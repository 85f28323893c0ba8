package server

import (
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health/grpc_health_v1"

	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/domain"
	gatewaypb "github.com/switchyard/switchyard/internal/gen/gateway/switchyard/v1"
	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/internal/snapshot"
	"github.com/switchyard/switchyard/internal/syncer"
)

// Keyring finds API keys by the hash of their secret and by ID. A
// *domain.State is one; a relay keeps one built from the key hashes its
// upstream streams.
type Keyring interface {
	KeyByHash(hash string) (*domain.APIKey, bool)
	APIKey(id string) (*domain.APIKey, bool)
}

var _ Keyring = (*domain.State)(nil)

// ReadPath is what a relay serves from instead of a store: the rulesets it
// compiled from its upstream's stream, a sync hub without a source that it
// publishes the upstream's revisions and key sets to, and its keys.
type ReadPath struct {
	Rulesets *snapshot.Set
	Hub      *syncer.Hub
	// Keys returns the current keyring; it is called on every request
	// and must not block.
	Keys func() Keyring
	// Collector, if set, adds the relay's own metrics to /metrics.
	Collector prometheus.Collector
	// Status, if set, is the status /healthz reports ("ok", "stale").
	Status func() string
	// Events, if set, serves EventService (gRPC and POST /api/v1/events)
	// for the SDKs and apps behind the relay; nil leaves it unserved.
	Events sdkpb.EventServiceServer
}

// NewRelay builds the read path of a server over rp: the same handlers as
// New's for gRPC Evaluate, EvaluateBatch, Sync and GetAvailability, OFREP
// single and bulk evaluation with its event stream, version availability
// over HTTP, /healthz, /readyz and /metrics. It has no store, so no admin
// API, console or events; keys are those of rp.Keys. Call Serve to accept
// connections.
func NewRelay(log *slog.Logger, rp ReadPath, opts ...Option) (*Server, error) {
	o := options{throttle: auth.DefaultThrottle(), maxStreams: DefaultMaxStreamsPerKey, body: DefaultBodyReadTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	if err := o.throttle.Validate(); err != nil {
		return nil, err
	}
	if o.maxStreams < 0 {
		return nil, fmt.Errorf("max streams per key %d: must not be negative", o.maxStreams)
	}
	if rp.Rulesets == nil || rp.Hub == nil || rp.Keys == nil {
		return nil, fmt.Errorf("relay read path: rulesets, hub and keys are required")
	}
	s := newReadPath(log, rp.Rulesets, rp.Hub, o)
	s.keys = rp.Keys
	s.status = rp.Status
	s.metrics = newServerMetrics(s)
	if rp.Collector != nil {
		s.metrics.reg.MustRegister(rp.Collector)
	}
	s.grpc = grpc.NewServer(s.grpcOptions(o)...)
	grpc_health_v1.RegisterHealthServer(s.grpc, s.health)
	s.registerReadPath()
	services := []gatewayService{{sdkpb.EvaluationService_ServiceDesc.ServiceName, gatewaypb.RegisterEvaluationServiceHandler}}
	if rp.Events != nil {
		sdkpb.RegisterEventServiceServer(s.grpc, rp.Events)
		services = append(services, gatewayService{sdkpb.EventService_ServiceDesc.ServiceName, gatewaypb.RegisterEventServiceHandler})
	}
	if err := s.listen(o, services); err != nil {
		return nil, err
	}
	return s, nil
}
