// Package primary assembles and runs a primary: the domain store on a
// storage engine, the rulesets compiled from it, the runtime's background
// work and the server over them. It is the one way a primary starts:
// 'switchyard serve', the servertest harness and the propagation benchmark
// all go through Open, Build and Run, and differ only in what they pass
// them (the engine, the store's options, the event log, the runtime's and
// the server's options, the listeners).
package primary

import (
	"context"
	"log/slog"
	"net"

	"golang.org/x/sync/errgroup"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/runtime"
	"github.com/switchyard/switchyard/internal/snapshot"
	"github.com/switchyard/switchyard/server"
)

// Primary is one primary's parts, from Open to Close.
type Primary struct {
	// Store is the domain store; every commit to it is compiled into
	// Rulesets.
	Store    *domain.Store
	Rulesets *snapshot.Set
	// Runtime and Server are set by Build.
	Runtime *runtime.Runtime
	Server  *server.Server

	log *slog.Logger
}

// Open opens the domain store on backend with o, whose OnCommit it sets
// (it compiles every commit into the rulesets), and compiles the stored
// state. If it fails, it closes backend. Until Close, the store is open:
// bootstrap or import into it before Build.
func Open(ctx context.Context, log *slog.Logger, backend domain.Backend, o domain.Options) (*Primary, error) {
	rulesets := snapshot.NewSet(log)
	o.OnCommit = rulesets.Apply
	st, err := domain.Open(ctx, backend, o)
	if err != nil {
		backend.Close()
		return nil, err
	}
	rulesets.Apply(st.State(), nil)
	return &Primary{Store: st, Rulesets: rulesets, log: log}, nil
}

// Build makes the runtime with rt (its Events is required) and the server
// with opts over the store. Nothing runs until Run.
func (p *Primary) Build(rt runtime.Options, opts ...server.Option) error {
	r, err := runtime.New(p.log, p.Store, p.Rulesets, rt)
	if err != nil {
		return err
	}
	srv, err := server.New(p.log, p.Store, p.Rulesets, r, opts...)
	if err != nil {
		return err
	}
	p.Runtime, p.Server = r, srv
	return nil
}

// Run serves gRPC on grpcLis and HTTP on httpLis, with the runtime beside
// the server, until ctx ends; then the server drains and returns, and the
// runtime's event log keeps writing until it has (calls in flight at
// shutdown still complete). It closes the listeners, not the store. Build
// must have succeeded.
func (p *Primary) Run(ctx context.Context, grpcLis, httpLis net.Listener) error {
	drained := make(chan struct{})
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return p.Runtime.Run(ctx, drained) })
	g.Go(func() error {
		defer close(drained)
		return p.Server.Serve(ctx, grpcLis, httpLis)
	})
	return g.Wait()
}

// Close closes the store (and with it the storage engine). Closing twice
// is fine.
func (p *Primary) Close() error { return p.Store.Close() }
