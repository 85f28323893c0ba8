// Package server exposes Switchyard over gRPC, REST (grpc-gateway over an
// in-process connection, so REST passes the same interceptors) and OFREP.
// Handlers read compiled rulesets from a snapshot.Set and write through the
// store; every domain error becomes a status in one place (errors.go).
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/eventlog"
	"github.com/switchyard/switchyard/internal/experiment"
	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/internal/keylist"
	"github.com/switchyard/switchyard/internal/runtime"
	"github.com/switchyard/switchyard/internal/snapshot"
	"github.com/switchyard/switchyard/internal/syncer"
	"github.com/switchyard/switchyard/internal/webhook"
)

// MaxBodyBytes is the largest request body or gRPC message accepted.
const MaxBodyBytes = 4 << 20

// drainTimeout bounds the graceful shutdown: in-flight calls, and webhook
// deliveries, get this long to finish.
const drainTimeout = 10 * time.Second

// Server serves one store over gRPC and HTTP.
type Server struct {
	log         *slog.Logger
	store       *domain.Store // nil on a relay
	keys        func() Keyring
	rulesets    *snapshot.Set
	sync        *syncer.Hub
	permissions map[string]auth.Permission
	results     sync.Map // snapshot.Env → *resultCache of its current ruleset
	events      eventlog.Log
	changes     *changeHub           // revisions → OFREP event streams
	streamAds   *streamAds           // eventStreams members of bulk OFREP answers
	experiments *experiment.Consumer // events → experiment state
	webhooks    *webhook.Dispatcher  // events → webhooks
	metrics     *serverMetrics
	throttle    *auth.Throttle // failed authentications per client address
	streams     *streamSlots   // open sync and event streams per key
	bodyTimeout time.Duration  // how long a request body may take to arrive
	gwRequests  gatewayRequests
	started     time.Time // for the uptime in /healthz
	reflection  bool      // WithGRPCReflection
	noReflect   bool      // WithoutGRPCReflection
	trace       tracing
	keyLimits   keylist.Limits // of one key-list upload
	status      func() string  // the status /healthz reports; nil: "ok"

	grpc   *grpc.Server
	health *health.Server
	pipe   *pipeListener
	gwConn *grpc.ClientConn
	http   *http.Server
}

// Option changes a default of New.
type Option func(*options)

// options are what Options can change.
type options struct {
	throttle auth.ThrottleConfig
	// maxStreams is the most streams one key may hold open; 0: no limit.
	maxStreams int
	body       time.Duration
	// reflection serves gRPC reflection on any listener, not just loopback;
	// noReflection on none.
	reflection, noReflection bool
	// tracing and propagator: WithTracing; nil tracing is off.
	tracing    trace.TracerProvider
	propagator propagation.TextMapPropagator
	// keyLimits bound one key-list upload.
	keyLimits keylist.Limits
}

// WithGRPCReflection serves the gRPC server reflection service whatever
// address the gRPC listener has. Without it, reflection is served only when
// the listener is on a loopback address.
func WithGRPCReflection() Option {
	return func(o *options) { o.reflection = true }
}

// WithoutGRPCReflection serves no gRPC server reflection, not even on a
// loopback listener.
func WithoutGRPCReflection() Option {
	return func(o *options) { o.noReflection = true }
}

// WithAuthThrottle sets how many failed authentications a client address
// (the TCP peer) may make before its requests are refused with 429 /
// RESOURCE_EXHAUSTED (default auth.DefaultThrottle; Failures 0 turns it
// off).
func WithAuthThrottle(cfg auth.ThrottleConfig) Option {
	return func(o *options) { o.throttle = cfg }
}

// WithMaxStreamsPerKey sets how many streams — gRPC Sync streams and
// OFREP event streams together — one key may hold open (default
// DefaultMaxStreamsPerKey; 0 means no limit). One more is refused with 429
// / RESOURCE_EXHAUSTED.
func WithMaxStreamsPerKey(n int) Option {
	return func(o *options) { o.maxStreams = n }
}

// WithBodyReadTimeout sets how long an HTTP request body may take to
// arrive before the server answers 408 and closes the connection (default
// DefaultBodyReadTimeout).
func WithBodyReadTimeout(d time.Duration) Option {
	return func(o *options) { o.body = d }
}

// New builds a server over st, reading compiled rulesets from rs, whose
// handlers read from rt's workers (rt runs apart: see package runtime).
// Call Serve to accept connections.
func New(log *slog.Logger, st *domain.Store, rs *snapshot.Set, rt *runtime.Runtime, opts ...Option) (*Server, error) {
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
	s := newReadPath(log, rs, rt.Hub, o)
	s.store = st
	s.keys = func() Keyring { return st.State() }
	s.experiments = rt.Experiments
	s.webhooks = rt.Webhooks
	s.events = rt.Events
	s.keyLimits = o.keyLimits
	s.metrics = newServerMetrics(s)
	s.metrics.reg.MustRegister(rt.Collector())
	if o.tracing != nil {
		rs.ObserveCompiles(s.observeCompile)
	}
	s.grpc = grpc.NewServer(s.grpcOptions(o)...)
	grpc_health_v1.RegisterHealthServer(s.grpc, s.health)

	pb.RegisterProjectServiceServer(s.grpc, &projectService{Server: s})
	pb.RegisterSegmentServiceServer(s.grpc, &segmentService{Server: s})
	pb.RegisterFlagServiceServer(s.grpc, &flagService{Server: s})
	pb.RegisterComponentServiceServer(s.grpc, &componentService{Server: s})
	pb.RegisterKeyServiceServer(s.grpc, &keyService{Server: s})
	pb.RegisterDocumentServiceServer(s.grpc, &documentService{Server: s})
	pb.RegisterAuditServiceServer(s.grpc, &auditService{Server: s})
	pb.RegisterReleaseServiceServer(s.grpc, &releaseService{Server: s})
	pb.RegisterReleaseModelServiceServer(s.grpc, &releaseModelService{Server: s})
	sdkpb.RegisterEventServiceServer(s.grpc, &eventService{Server: s})
	pb.RegisterExperimentServiceServer(s.grpc, &experimentService{Server: s})
	pb.RegisterWebhookServiceServer(s.grpc, &webhookService{Server: s})
	pb.RegisterFreezeServiceServer(s.grpc, &freezeService{Server: s})
	s.registerReadPath()
	if err := s.listen(o, gatewayServices); err != nil {
		return nil, err
	}
	return s, nil
}

// newReadPath returns a server with what the read path needs: compiled
// rulesets, the sync hub and the per-caller limits. New and NewRelay
// complete it.
func newReadPath(log *slog.Logger, rs *snapshot.Set, hub *syncer.Hub, o options) *Server {
	s := &Server{
		sync:        hub,
		log:         log,
		rulesets:    rs,
		permissions: methodPermissions(),
		health:      health.NewServer(),
		pipe:        newPipeListener(),
		changes:     newChangeHub(rs),
		streamAds:   newStreamAds(),
		throttle:    auth.NewThrottle(o.throttle, nil),
		streams:     newStreamSlots(o.maxStreams),
		bodyTimeout: o.body,
		started:     time.Now(),
		reflection:  o.reflection,
	}
	if o.tracing != nil {
		s.trace.tracer = o.tracing.Tracer(tracerName)
	}
	return s
}

// grpcOptions are the options of the server's gRPC server.
func (s *Server) grpcOptions(o options) []grpc.ServerOption {
	return append(o.grpcServerOptions(),
		grpc.MaxRecvMsgSize(MaxBodyBytes),
		grpc.ForceServerCodecV2(newContextCodec()),
		grpc.ChainUnaryInterceptor(s.unaryInterceptor),
		grpc.ChainStreamInterceptor(s.streamInterceptor),
	)
}

// registerReadPath registers the services of the read path, which a relay
// serves too: evaluation, sync and availability.
func (s *Server) registerReadPath() {
	sdkpb.RegisterEvaluationServiceServer(s.grpc, &evaluationService{Server: s})
	sdkpb.RegisterSyncServiceServer(s.grpc, &syncService{Server: s})
	sdkpb.RegisterAvailabilityServiceServer(s.grpc, &availabilityService{Server: s})
}

// listen marks the gRPC services NOT_SERVING until the rulesets are
// loaded, and builds the in-process gateway connection and the HTTP
// server with the REST routes of services.
func (s *Server) listen(o options, services []gatewayService) error {
	// Health per service: NOT_SERVING until the rulesets are loaded.
	s.health.SetServingStatus("", grpc_health_v1.HealthCheckResponse_NOT_SERVING)
	for name := range s.grpc.GetServiceInfo() {
		s.health.SetServingStatus(name, grpc_health_v1.HealthCheckResponse_NOT_SERVING)
	}

	conn, err := grpc.NewClient("passthrough:///gateway", append(o.gatewayDialOptions(),
		grpc.WithContextDialer(s.pipe.DialContext),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)),
	)...)
	if err != nil {
		return fmt.Errorf("gateway connection: %w", err)
	}
	s.gwConn = conn
	s.reflection, s.noReflect = o.reflection, o.noReflection
	handler, err := s.httpHandler(context.Background(), conn, services)
	if err != nil {
		conn.Close()
		return err
	}
	s.http = &http.Server{
		Handler:           o.traceHTTP(handler),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	return nil
}

// Serve accepts gRPC connections on grpcLis and HTTP on httpLis until ctx
// is done, then stops accepting, drains in-flight calls (up to 10 s) and
// returns. It closes the listeners; it does not close the store.
func (s *Server) Serve(ctx context.Context, grpcLis, httpLis net.Listener) error {
	if !s.noReflect && (s.reflection || isLoopback(grpcLis.Addr())) {
		reflection.Register(s.grpc)
	}
	g, ctx := errgroup.WithContext(ctx)
	if s.store != nil {
		// Counts release steps while serving, whoever takes them.
		defer s.store.Subscribe(s.metrics.observeCommit)()
		s.store.ObserveTransactions(s.observeTx)
		defer s.store.ObserveTransactions(nil)
		defer s.store.Subscribe(s.committed)()
		g.Go(func() error {
			// Flushes the counts of the server's own evaluations into the
			// usage store; the last flush is at shutdown, below.
			s.metrics.flags.run(ctx, s.log, s.events, s.store.Now)
			return nil
		})
	}
	g.Go(func() error {
		// Ends OFREP event streams when ctx is done: http.Server.Shutdown
		// would wait for them.
		s.changes.run(ctx)
		return nil
	})
	g.Go(func() error { return serveGRPC(s.grpc, grpcLis) })
	g.Go(func() error { return serveGRPC(s.grpc, s.pipe) })
	g.Go(func() error {
		// Publishes revisions to sync streams; ends them when ctx is done,
		// so that the graceful stop below does not wait for them.
		s.sync.Run(ctx, s.rulesets.Changed)
		return nil
	})
	g.Go(func() error {
		if err := s.http.Serve(httpLis); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve http: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		s.serveHealth(ctx)
		return nil
	})
	s.log.Info("serving", "grpc", grpcLis.Addr().String(), "http", httpLis.Addr().String())
	g.Go(func() error {
		<-ctx.Done()
		defer func() {
			if s.store != nil {
				// No evaluation comes any more: the last counts go in
				// before the event log stops (after Serve returns).
				s.metrics.flags.flush(context.Background(), s.log, s.events, s.store.Now())
			}
		}()
		s.health.Shutdown()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), drainTimeout)
		defer cancel()
		err := s.http.Shutdown(shutdownCtx)
		stopped := make(chan struct{})
		go func() { s.grpc.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-shutdownCtx.Done():
			s.grpc.Stop()
		}
		s.gwConn.Close()
		return err
	})
	return g.Wait()
}

// serveHealth marks the server and every gRPC service SERVING once the
// rulesets are loaded (health.Server.Shutdown marks them NOT_SERVING at
// shutdown).
func (s *Server) serveHealth(ctx context.Context) {
	for !s.rulesets.Ready() {
		select {
		case <-s.rulesets.Changed():
		case <-ctx.Done():
			return
		}
	}
	for name := range s.grpc.GetServiceInfo() {
		s.health.SetServingStatus(name, grpc_health_v1.HealthCheckResponse_SERVING)
	}
	s.health.SetServingStatus("", grpc_health_v1.HealthCheckResponse_SERVING)
}

// isLoopback reports whether addr is a loopback TCP address.
func isLoopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

func serveGRPC(srv *grpc.Server, lis net.Listener) error {
	if err := srv.Serve(lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("serve grpc on %s: %w", lis.Addr(), err)
	}
	return nil
}
