package syncer_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/syncer"
)

// fakeClock is a settable clock for the restart grace period.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// runHub starts a hub over f's store with a roster and returns it with a
// function that stops it (saving the roster) and waits for it.
func runHub(t *testing.T, f *fixture, clk *fakeClock) (*syncer.Hub, func()) {
	t.Helper()
	side, err := f.store.Side(syncer.RosterSide)
	if err != nil {
		t.Fatal(err)
	}
	hub, err := syncer.New(slog.New(slog.NewTextHandler(io.Discard, nil)), f.store,
		syncer.Options{MaxAge: time.Hour, Side: side, RestartGrace: 2 * time.Minute, RosterInterval: time.Hour, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { hub.Run(ctx, f.next); close(done) }()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	return hub, stop
}

func joinAs(t *testing.T, hub *syncer.Hub, keyID, peer string) *syncer.Stream {
	t.Helper()
	st, err := hub.Join("shop", "production", syncer.Info{SDKName: "go", KeyID: keyID, Peer: peer})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func convergence(t *testing.T, hub *syncer.Hub) syncer.Convergence {
	t.Helper()
	c, err := hub.Convergence("shop", "production", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConvergenceAfterRestartWaitsForReturningStreams(t *testing.T) {
	f := newFixture(t)
	clk := &fakeClock{now: time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC)}
	before, stop := runHub(t, f, clk)
	for _, peer := range []string{"10.0.0.1:4001", "10.0.0.1:4002", "10.0.0.2:5000"} {
		joinAs(t, before, f.keyID, peer)
	}
	stop() // saves the roster of three streams

	after, _ := runHub(t, f, clk)
	if c := convergence(t, after); !c.Awaiting || c.Expected != 3 || c.Returned != 0 || c.Connected != 0 {
		t.Fatalf("right after the restart: %+v, want 3 streams awaited, none returned", c)
	}
	// The SDKs come back from new ports; another SDK does not count.
	joinAs(t, after, f.keyID, "10.0.0.1:4100")
	joinAs(t, after, "other-key", "10.0.0.9:1")
	joinAs(t, after, f.keyID, "10.0.0.2:5100")
	if c := convergence(t, after); !c.Awaiting || c.Returned != 2 {
		t.Fatalf("two of three back: %+v, want still awaiting with 2 returned", c)
	}
	joinAs(t, after, f.keyID, "10.0.0.1:4200")
	if c := convergence(t, after); c.Awaiting || c.Returned != 3 || c.Settled != syncer.SettledReturned || c.Connected != 4 {
		t.Fatalf("all three back: %+v, want settled by their return", c)
	}
}

func TestConvergenceAfterRestartGivesUpAfterTheGracePeriod(t *testing.T) {
	f := newFixture(t)
	clk := &fakeClock{now: time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC)}
	before, stop := runHub(t, f, clk)
	joinAs(t, before, f.keyID, "10.0.0.1:4001")
	joinAs(t, before, f.keyID, "10.0.0.2:4001")
	stop()

	after, stopAfter := runHub(t, f, clk)
	joinAs(t, after, f.keyID, "10.0.0.1:4555")
	clk.Add(time.Minute)
	if c := convergence(t, after); !c.Awaiting {
		t.Fatalf("within the grace period: %+v, want awaiting", c)
	}
	// A save while waiting keeps who is awaited: a second restart still
	// waits for both.
	stopAfter()
	again, _ := runHub(t, f, clk)
	if c := convergence(t, again); !c.Awaiting || c.Expected != 2 {
		t.Fatalf("after a second restart during the wait: %+v, want 2 awaited", c)
	}
	clk.Add(2 * time.Minute)
	if c := convergence(t, again); c.Awaiting || c.Settled != syncer.SettledGrace || c.Returned != 0 || c.Grace != 2*time.Minute {
		t.Fatalf("after the grace period: %+v, want settled by the grace period", c)
	}
}

func TestConvergenceWithoutARosterNeverWaits(t *testing.T) {
	f := newFixture(t)
	if c := convergence(t, f.hub); c.Awaiting || c.Expected != 0 {
		t.Fatalf("a hub without a roster: %+v, want nothing awaited", c)
	}
}
