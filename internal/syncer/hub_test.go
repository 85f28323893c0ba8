package syncer_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/syncer"
)

// fixture is a real store with one project and an SDK key, and a hub
// publishing on every commit.
type fixture struct {
	store   *domain.Store
	hub     *syncer.Hub
	keyID   string
	mu      sync.Mutex
	changed chan struct{}
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureWith(t, syncer.Options{MaxAge: time.Hour})
}

// newFixtureWith is newFixture with the hub's options.
func newFixtureWith(t *testing.T, opts syncer.Options) *fixture {
	t.Helper()
	f := &fixture{changed: make(chan struct{})}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.store = domaintest.Open(t, t.TempDir()+"/db", domain.Options{OnCommit: func(*domain.State, *domain.Commit) {
		f.mu.Lock()
		close(f.changed)
		f.changed = make(chan struct{})
		f.mu.Unlock()
	}})
	f.update(t, func(tx *domain.Tx) error {
		_, err := tx.Import(&model.Document{Version: 1, Project: "shop", Environments: []string{"production", "staging"},
			Flags: []*model.Flag{{Key: "a", Type: model.TypeBool}}}, false)
		if err != nil {
			return err
		}
		k, err := tx.CreateAPIKey(domain.APIKey{Name: "sdk", Kind: domain.KindSDK, Project: "shop", Environment: "production", Hash: domain.HashSecret("sys_test")})
		f.keyID = k.ID
		return err
	})
	hub, err := syncer.New(log, f.store, opts)
	if err != nil {
		t.Fatal(err)
	}
	f.hub = hub
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { hub.Run(ctx, f.next); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return f
}

func (f *fixture) next() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.changed
}

func (f *fixture) update(t *testing.T, fn func(tx *domain.Tx) error) {
	t.Helper()
	if _, err := f.store.Update(context.Background(), domain.Actor{Name: "test"}, fn); err != nil {
		t.Fatal(err)
	}
}

// toggle changes flag a in production and returns the new revision.
func (f *fixture) toggle(t *testing.T, on bool) uint64 {
	t.Helper()
	f.update(t, func(tx *domain.Tx) error {
		return tx.SetFlagTargeting("shop", "a", "production", &model.Targeting{Enabled: on}, "")
	})
	p, _ := f.store.State().Project("shop")
	env, _ := p.Environment("production")
	return env.Revision
}

func (f *fixture) join(t *testing.T) *syncer.Stream {
	t.Helper()
	st, err := f.hub.Join("shop", "production", syncer.Info{SDKName: "test", KeyID: f.keyID})
	if err != nil {
		t.Fatalf("Join: %v", err)
	}
	t.Cleanup(func() { f.hub.Leave(st) })
	st.MarkSent(st.Latest())
	return st
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestSlowStreamSkipsToLatest: a stream that does not read is marked once
// and finds the newest revision when it looks; publishing never waits.
func TestSlowStreamSkipsToLatest(t *testing.T) {
	f := newFixture(t)
	stuck := make([]*syncer.Stream, 1000)
	for i := range stuck {
		stuck[i] = f.join(t)
	}
	start := time.Now()
	var last uint64
	for i := range 20 {
		last = f.toggle(t, i%2 == 0)
	}
	waitFor(t, "the last revision to be published", func() bool { return stuck[0].Latest().Number == last })
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("20 writes with 1000 stuck streams took %s", d)
	}
	for _, st := range stuck {
		select {
		case <-st.Wake():
		default:
			t.Fatal("a stream was not woken")
		}
		select {
		case <-st.Wake():
			t.Fatal("a stream's mailbox held more than one mark")
		default:
		}
		if st.Latest().Number != last {
			t.Fatalf("Latest() = %d, want %d", st.Latest().Number, last)
		}
	}
}

func TestAck(t *testing.T) {
	f := newFixture(t)
	st := f.join(t)
	sent := st.Sent().Number
	tests := []struct {
		name string
		ack  uint64
		want uint64
	}{
		{"the revision sent", sent, sent},
		{"a revision never sent", sent + 10, sent},
		{"an older revision", sent - 1, sent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st.Ack(tc.ack)
			if got := st.Acked(); got != tc.want {
				t.Errorf("Acked() after Ack(%d) = %d, want %d", tc.ack, got, tc.want)
			}
		})
	}
}

func TestConvergence(t *testing.T) {
	f := newFixture(t)
	a, b, c := f.join(t), f.join(t), f.join(t)
	rev := f.toggle(t, true)
	waitFor(t, "the revision", func() bool { return a.Latest().Number == rev })
	for _, st := range []*syncer.Stream{a, b} {
		st.MarkSent(st.Latest())
		st.Ack(rev)
	}
	got, err := f.hub.Convergence("shop", "production", 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got.Revision != rev || got.Connected != 3 || got.Converged != 2 || len(got.Streams) != 2 || got.Streams[0].ID != c.ID {
		t.Errorf("Convergence = %+v, want revision %d, 3 connected, 2 converged, 2 listed starting with the lagging %s", got, rev, c.ID)
	}
	if _, err := f.hub.Convergence("shop", "nope", 0, 10); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("Convergence of an unknown environment = %v, want ErrNotFound", err)
	}
	if got, _ := f.hub.Convergence("shop", "staging", 0, 10); got.Connected != 0 {
		t.Errorf("Convergence of staging = %+v, want no streams", got)
	}
}

func TestHubEndsStreams(t *testing.T) {
	tests := []struct {
		name string
		do   func(t *testing.T, f *fixture)
		want error
	}{
		{"key revoked", func(t *testing.T, f *fixture) {
			f.update(t, func(tx *domain.Tx) error { return tx.DeleteAPIKey(f.keyID) })
		}, auth.ErrUnauthenticated},
		{"environment deleted", func(t *testing.T, f *fixture) {
			f.update(t, func(tx *domain.Tx) error { return tx.DeleteEnvironment("shop", "production", "") })
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			st := f.join(t)
			tc.do(t, f)
			select {
			case <-st.Done():
			case <-time.After(5 * time.Second):
				t.Fatal("the stream was not ended")
			}
			if st.Err() == nil || (tc.want != nil && !errors.Is(st.Err(), tc.want)) {
				t.Errorf("Err() = %v, want %v", st.Err(), tc.want)
			}
		})
	}
}

func TestJoinErrors(t *testing.T) {
	f := newFixture(t)
	if _, err := f.hub.Join("shop", "nope", syncer.Info{}); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("Join of an unknown environment = %v, want ErrNotFound", err)
	}
	if _, err := f.hub.Join("nope", "production", syncer.Info{}); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("Join of an unknown project = %v, want ErrNotFound", err)
	}
}

func TestShutdownEndsStreams(t *testing.T) {
	f := newFixture(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	hub, err := syncer.New(log, f.store, syncer.Default())
	if err != nil {
		t.Fatal(err)
	}
	st, err := hub.Join("shop", "production", syncer.Info{KeyID: f.keyID})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	hub.Run(ctx, f.next)
	if !errors.Is(st.Err(), syncer.ErrClosed) {
		t.Errorf("stream Err() after shutdown = %v, want ErrClosed", st.Err())
	}
	if _, err := hub.Join("shop", "production", syncer.Info{}); !errors.Is(err, syncer.ErrClosed) {
		t.Errorf("Join after shutdown = %v, want ErrClosed", err)
	}
}

func TestOptions(t *testing.T) {
	tests := []struct {
		name string
		opts syncer.Options
		ok   bool
	}{
		{"default", syncer.Default(), true},
		{"zero", syncer.Options{}, true},
		{"negative age", syncer.Options{MaxAge: -time.Second}, false},
		{"jitter of one", syncer.Options{MaxAgeJitter: 1}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.opts.Validate(); (err == nil) != tc.ok {
				t.Errorf("Validate() = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

// TestRunEndsStreamsAtMaxAge: Run's shared sweeper ends a stream past its
// maximum age with ErrMaxAge; the stream holds no timer of its own.
func TestRunEndsStreamsAtMaxAge(t *testing.T) {
	f := newFixtureWith(t, syncer.Options{MaxAge: 20 * time.Millisecond, MaxAgeJitter: -1})
	st := f.join(t)
	select {
	case <-st.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the stream did not end within 10 s of its 20 ms maximum age")
	}
	if err := st.Err(); !errors.Is(err, syncer.ErrMaxAge) {
		t.Errorf("Err() = %v, want ErrMaxAge", err)
	}
}
