package sdk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/switchyard/switchyard/internal/eval"
	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/sdk/internal/events"
)

// ErrClosed is returned by WaitReady once the client is closed.
var ErrClosed = errors.New("sdk: client closed")

// ErrKeyRefused is wrapped by the error of status ERROR: the server refused
// the SDK key (unknown, revoked, or not a server SDK key).
var ErrKeyRefused = errors.New("sdk: the server refused the SDK key")

// Client evaluates flags locally on the ruleset the server streams. All
// its methods are safe for concurrent use.
type Client struct {
	cfg Config
	log *slog.Logger

	// ruleset is what getters evaluate on; nil until the first ruleset.
	ruleset atomic.Pointer[eval.Ruleset]
	// status is the client's state. settled is the status once every
	// listener has heard of it (and of the ruleset that brought it), which
	// is what WaitReady waits for; changed is closed and replaced at each
	// change of settled.
	status  atomic.Pointer[statusInfo]
	settled atomic.Pointer[statusInfo]
	changed atomic.Pointer[chan struct{}]

	// events queues exposures and track events; nil when events are
	// disabled or the client has no server.
	events *events.Pipeline

	// The functions registered by OnChange, OnStatusChange and OnRelease.
	changes  callbacks[func(Change)]
	statuses callbacks[func(Status, error)]
	releases callbacks[func(ReleaseEvent)]

	sync      sdkpb.SyncServiceClient // nil when offline
	conn      *grpc.ClientConn        // the connection the client dialed itself
	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error

	held *holdings // what the client holds; owned by the sync goroutine after New
}

// Change is a new ruleset the client applied.
type Change struct {
	// Revision is the environment revision now evaluated.
	Revision uint64
	// Flags are the keys of the flags whose evaluation may have changed:
	// added, removed or changed flags, and flags depending on a changed
	// segment or prerequisite. A first ruleset lists every flag.
	Flags []string
}

// New returns a client for cfg. It returns at once: it reads the cache
// file (or the bootstrap document) and starts connecting in the
// background; evaluations made before a ruleset is available return the
// default value with PROVIDER_NOT_READY. ctx bounds New only; the client
// runs until Close.
func New(ctx context.Context, cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	c := &Client{
		cfg:  cfg,
		log:  cfg.Logger,
		done: make(chan struct{}),
	}
	ch := make(chan struct{})
	c.changed.Store(&ch)
	c.status.Store(&statusInfo{status: StatusNotReady})
	c.settled.Store(c.status.Load())

	if err := c.start(ctx); err != nil {
		return nil, err
	}
	if cfg.offline() {
		close(c.done)
		return c, nil
	}
	cc := cfg.Conn
	if cc == nil {
		conn, err := dial(cfg)
		if err != nil {
			return nil, err
		}
		c.conn, cc = conn, conn
	}
	c.sync = sdkpb.NewSyncServiceClient(cc)
	if err := c.startEvents(cc); err != nil {
		if c.conn != nil {
			c.conn.Close()
		}
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	go c.run(runCtx)
	return c, nil
}

// dial creates the client's connection; it does not connect yet.
func dial(cfg Config) (*grpc.ClientConn, error) {
	creds := insecure.NewCredentials()
	if cfg.TLS != nil {
		creds = credentials.NewTLS(cfg.TLS)
	} else if !loopback(cfg.Address) {
		cfg.Logger.Warn("connecting without TLS to a host that is not loopback: the SDK key travels in plain text", "address", cfg.Address)
	}
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff: backoff.Config{
				BaseDelay: cfg.Backoff.Initial, Multiplier: 1.6, Jitter: 0.2, MaxDelay: cfg.Backoff.Max,
			},
			MinConnectTimeout: minConnectTimeout,
		}),
		// No HTTP/2 keepalive pings: servers refuse pings more often than
		// every 5 minutes by default, and TCP keepalive (on by default in
		// Go) finds a vanished server.
		grpc.WithUserAgent(cfg.Name + "/" + cfg.Version),
	}
	conn, err := grpc.NewClient(cfg.Address, append(opts, cfg.DialOptions...)...)
	if err != nil {
		return nil, fmt.Errorf("sdk: connection to %s: %w", cfg.Address, err)
	}
	return conn, nil
}

// loopback reports whether addr names a loopback host.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Status returns the client's state.
func (c *Client) Status() Status { return c.status.Load().status }

// Err returns the error behind the current status: the server's message
// for ERROR, the last connection error for STALE and NOT_READY, nil when
// READY.
func (c *Client) Err() error { return c.status.Load().err }

// Revision returns the revision the client evaluates on (0 with none or a
// bootstrap document).
func (c *Client) Revision() uint64 {
	if rs := c.ruleset.Load(); rs != nil {
		return rs.Revision
	}
	return 0
}

// setStatus changes the status and the error behind it, settles it,
// then tells the OnStatusChange listeners when it changed.
func (c *Client) setStatus(s Status, err error) {
	tell := c.changeStatus(s, err)
	c.settle()
	tell()
}

// changeStatus changes the status and the error behind it. When the status
// changed it returns a function telling the OnStatusChange listeners
// registered now (a listener added later, after WaitReady returned say, is
// not told); else a function doing nothing. WaitReady does not see the
// status before settle.
func (c *Client) changeStatus(s Status, err error) (tell func()) {
	old := c.status.Swap(&statusInfo{status: s, err: err})
	if old.status == s {
		return func() {}
	}
	c.log.Info("status", "status", s, "err", err)
	fns := c.statuses.all()
	return func() {
		for _, fn := range fns {
			fn(s, err)
		}
	}
}

// settle makes the status visible to WaitReady, and wakes it when the
// status changed. The listeners of a change are taken before settle and
// told after it: a listener added once WaitReady returned is not told of
// the first ruleset or of READY, and a listener may call WaitReady.
func (c *Client) settle() {
	st := c.status.Load()
	if old := c.settled.Swap(st); old.status == st.status && old.err == st.err {
		return
	}
	ch := make(chan struct{})
	close(*c.changed.Swap(&ch))
}

// OnStatusChange calls fn at every change of the status, with the new
// status and the error behind it (see Err). Calls come one at a time from
// the goroutine that changed the status (the client's sync goroutine, or
// New): fn should return quickly and must not call Close. The returned
// function removes fn.
func (c *Client) OnStatusChange(fn func(Status, error)) (remove func()) {
	return c.statuses.add(fn)
}

// WaitReady waits until the client has applied a ruleset from the server
// (status READY). It returns the server's message if the key is refused
// (status ERROR), ErrClosed once the client is closed, and ctx's error when
// ctx ends first. A client evaluating on a cache file or a bootstrap
// document needs no wait to evaluate; WaitReady waits for fresh rules.
func (c *Client) WaitReady(ctx context.Context) error {
	for {
		changed := *c.changed.Load()
		st := c.settled.Load()
		switch {
		case st.status == StatusReady:
			return nil
		case st.status == StatusError:
			return st.err
		}
		select {
		case <-c.done:
			if c.Status() != StatusReady {
				return ErrClosed
			}
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("sdk: wait for ruleset: %w (status %s, last error: %v)", ctx.Err(), st.status, st.err)
		}
	}
}

// OnChange calls fn after every new ruleset the client applies, with its
// revision and the flags it changed. Calls come one at a time from the
// client's sync goroutine, after the revision is acknowledged: fn should
// return quickly and must not call Close. The returned function removes
// fn.
func (c *Client) OnChange(fn func(Change)) (remove func()) {
	return c.changes.add(fn)
}

// Close stops the client: it sends the events still queued (waiting at
// most Events.CloseTimeout; events it cannot send are logged and counted in
// EventStats), ends the stream and closes the connection the client
// dialed. Getters keep answering on the last ruleset; Track does nothing.
// Closing twice is fine.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.closeEvents()
		if c.cancel != nil {
			c.cancel()
		}
		<-c.done
		if c.conn != nil {
			if err := c.conn.Close(); err != nil {
				c.closeErr = fmt.Errorf("sdk: close connection: %w", err)
			}
		}
	})
	return c.closeErr
}
