// Package relay is Switchyard's read tier. A relay follows its upstream's
// sync streams (a primary's, or another relay's) with a relay key, one
// stream per environment of the key, through the Go SDK's sync client;
// keeps the compiled rulesets and the key hashes its upstream sends,
// persisted in its data directory so that it serves after a restart while
// the upstream is out of reach; and serves SDK sync streams (fan-out: one
// upstream stream feeds any number of downstream ones), OFREP, gRPC
// Evaluate and EvaluateBatch and version availability through the
// server's own read-path handlers (server.NewRelay). It authenticates keys
// itself, from the hashes.
package relay

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/switchyard/switchyard/internal/buildinfo"
	"github.com/switchyard/switchyard/internal/domain"
	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/internal/relay/spool"
	"github.com/switchyard/switchyard/internal/snapshot"
	"github.com/switchyard/switchyard/internal/syncer"
	"github.com/switchyard/switchyard/sdk"
	"github.com/switchyard/switchyard/server"
)

// SDKName is the name a relay announces on its upstream streams; the
// primary counts those streams as kind "relay" in its metrics.
const SDKName = "switchyard-relay"

// DefaultBackoff is a relay's reconnection policy unless Config.Backoff
// says otherwise: from 100 ms up to 1 s, with full jitter.
var DefaultBackoff = sdk.Backoff{Initial: 100 * time.Millisecond, Max: time.Second}

// Config configures a Relay. Upstream, RelayKey and DataDir are required.
type Config struct {
	// Upstream is the gRPC address, host:port, of the primary or of the
	// relay to follow.
	Upstream string
	// RelayKey is the relay key (kind relay) to follow with.
	RelayKey string
	// DataDir holds the relay's cache: the last ruleset of every
	// environment and the key hashes, each written atomically; and the
	// event spool (events.db).
	DataDir string
	// TLS configures TLS to the upstream; nil means plaintext.
	TLS *tls.Config
	// Backoff paces reconnection to the upstream, exponential with full
	// jitter; zero fields take DefaultBackoff's. A relay retries sooner
	// than an SDK (there are few relays), so that it catches up within
	// about a second of its upstream's return.
	Backoff sdk.Backoff
	// Sync configures the relay's own sync streams (maximum age); zero
	// fields take the defaults.
	Sync syncer.Options
	// Server are options of the relay's server (throttling, stream
	// limits, body timeout, TLS of its own listeners).
	Server []server.Option
	// Events bounds the event spool in DataDir; zero fields take the
	// defaults.
	Events spool.Options
	// Log receives the relay's log; nil discards it.
	Log *slog.Logger
}

// Validate checks the configuration.
func (c Config) Validate() error {
	var errs []error
	if c.Upstream == "" {
		errs = append(errs, errors.New("upstream: is required (host:port of the primary or of another relay)"))
	} else if _, _, err := net.SplitHostPort(c.Upstream); err != nil {
		errs = append(errs, fmt.Errorf("upstream %q: want host:port: %w", c.Upstream, err))
	}
	if c.RelayKey == "" {
		errs = append(errs, errors.New("relay key: is required"))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("data dir: is required"))
	}
	if err := c.Sync.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Relay follows an upstream and serves what it follows.
type Relay struct {
	cfg      Config
	log      *slog.Logger
	rulesets *snapshot.Set
	hub      *syncer.Hub
	srv      *server.Server
	keys     atomic.Pointer[keyring]
	spool    *spool.Spool // events waiting for the upstream

	mu        sync.Mutex // guards state and followers
	state     state
	followers map[string]*follower // by environment
	// discovered is closed once the relay knows its environments, ready
	// once it has the ruleset and the key set of each of them.
	discovered chan struct{}
	ready      chan struct{}
	// runCtx and conn are Run's, for followers started later; guarded by
	// mu.
	runCtx context.Context
	conn   *grpc.ClientConn
}

// New opens the data directory, loads what the relay persisted there (its
// environments, their rulesets and key hashes) so that it serves at once,
// and builds the server. Call Run to follow the upstream and serve.
func New(cfg Config) (*Relay, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("relay config: %w", err)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("relay data dir: %w", err)
	}
	if cfg.Backoff.Initial == 0 {
		cfg.Backoff.Initial = DefaultBackoff.Initial
	}
	if cfg.Backoff.Max == 0 {
		cfg.Backoff.Max = max(DefaultBackoff.Max, cfg.Backoff.Initial)
	}
	if cfg.Sync.MaxAge == 0 {
		cfg.Sync.MaxAge = syncer.DefaultMaxAge
	}
	hub, err := syncer.New(cfg.Log, nil, cfg.Sync)
	if err != nil {
		return nil, fmt.Errorf("relay sync: %w", err)
	}
	r := &Relay{
		cfg:        cfg,
		log:        cfg.Log,
		rulesets:   snapshot.NewSet(cfg.Log),
		hub:        hub,
		followers:  map[string]*follower{},
		discovered: make(chan struct{}),
		ready:      make(chan struct{}),
	}
	st, err := loadState(r.statePath(), cfg.RelayKey)
	if err != nil {
		r.log.Warn("relay state not used", "file", r.statePath(), "err", err)
	}
	r.state = st
	r.keys.Store(newKeyring(st.KeySets))
	for _, ks := range st.KeySets {
		r.hub.PublishKeys(ks)
	}
	if len(st.Environments) > 0 {
		close(r.discovered)
	}
	if r.spool, err = openSpool(cfg); err != nil {
		return nil, err
	}
	r.srv, err = server.NewRelay(cfg.Log, server.ReadPath{
		Rulesets:  r.rulesets,
		Hub:       r.hub,
		Keys:      func() server.Keyring { return r.keys.Load() },
		Collector: collectors{&collector{r: r}, r.spool.Metrics()},
		Status:    r.Status,
		Events:    r.eventService(),
	}, cfg.Server...)
	if err != nil {
		r.spool.Close()
		return nil, err
	}
	return r, nil
}

// Run follows the upstream and serves gRPC on grpcLis and HTTP on httpLis
// until ctx is done, then stops following, drains the server and returns.
// It starts serving once it has the ruleset and the key hashes of every
// environment it follows (from its data directory or the upstream). It closes the
// listeners, and the event spool when it returns.
func (r *Relay) Run(ctx context.Context, grpcLis, httpLis net.Listener) error {
	defer r.spool.Close()
	conn, err := r.dial()
	if err != nil {
		grpcLis.Close()
		httpLis.Close()
		return err
	}
	defer conn.Close()
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return r.forwardEvents(ctx, conn) })
	g.Go(func() error {
		// Until the relay has the rulesets and key hashes of its
		// environments it would refuse every key (SDKs back off for
		// minutes after a refusal) or answer that the environment does
		// not exist: connections wait in the listen queue instead.
		select {
		case <-r.ready:
		case <-ctx.Done():
			grpcLis.Close()
			httpLis.Close()
			return nil
		}
		return r.srv.Serve(ctx, grpcLis, httpLis)
	})
	g.Go(func() error {
		r.follow(ctx, conn)
		return nil
	})
	return g.Wait()
}

// follow starts a follower for every environment of the relay key,
// discovering them from the upstream when the data directory names none,
// and closes them when ctx is done.
func (r *Relay) follow(ctx context.Context, conn *grpc.ClientConn) {
	defer r.closeFollowers()
	r.mu.Lock()
	st := r.state
	r.runCtx, r.conn = ctx, conn
	r.mu.Unlock()
	if len(st.Environments) == 0 {
		project, envs, err := discover(ctx, conn, r.cfg.RelayKey, r.cfg.Backoff, r.log)
		if err != nil {
			return // ctx is done
		}
		r.mu.Lock()
		r.state.Project, r.state.Environments = project, envs
		r.saveLocked()
		r.mu.Unlock()
		close(r.discovered)
	}
	r.mu.Lock()
	envs := r.state.Environments
	r.mu.Unlock()
	for _, env := range envs {
		r.startFollower(ctx, conn, env)
	}
	<-ctx.Done()
}

// dial creates the connection to the upstream that every follower shares.
func (r *Relay) dial() (*grpc.ClientConn, error) {
	creds := insecure.NewCredentials()
	if r.cfg.TLS != nil {
		creds = credentials.NewTLS(r.cfg.TLS)
	}
	cfg := backoff.DefaultConfig
	cfg.BaseDelay, cfg.MaxDelay = r.cfg.Backoff.Initial, r.cfg.Backoff.Max
	conn, err := grpc.NewClient(r.cfg.Upstream,
		grpc.WithTransportCredentials(creds),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: cfg}),
		grpc.WithUserAgent(SDKName+"/"+buildinfo.Get().Version),
	)
	if err != nil {
		return nil, fmt.Errorf("relay: connection to %s: %w", r.cfg.Upstream, err)
	}
	return conn, nil
}

// Status is "ok" while every environment follows its upstream stream, and
// "stale" while one does not (the relay serves its last ruleset then).
func (r *Relay) Status() string {
	select {
	case <-r.discovered:
	default:
		return "stale"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.followers) < len(r.state.Environments) {
		return "stale"
	}
	for _, f := range r.followers {
		if f.client == nil || f.client.Status() != sdk.StatusReady {
			return "stale"
		}
	}
	return "ok"
}

// keyHash is the hash of the relay's own key, as key sets list it.
func (r *Relay) keyHash() string { return domain.HashSecret(r.cfg.RelayKey) }

// Revision returns the revision of the environment's ruleset the relay
// serves, 0 when it has none.
func (r *Relay) Revision(project, env string) uint64 {
	if rs := r.rulesets.Get(project, env); rs != nil {
		return rs.Revision
	}
	return 0
}

// checkReadyLocked closes ready once the relay has a ruleset and a key
// set for every environment it follows; the caller holds r.mu.
func (r *Relay) checkReadyLocked() {
	select {
	case <-r.ready:
		return
	default:
	}
	if len(r.state.Environments) == 0 {
		return
	}
	for _, env := range r.state.Environments {
		if r.rulesets.Get(r.state.Project, env) == nil || !slices.ContainsFunc(r.state.KeySets, func(ks *sdkpb.KeySet) bool {
			return ks.GetProject() == r.state.Project && ks.GetEnvironment() == env
		}) {
			return
		}
	}
	close(r.ready)
}
