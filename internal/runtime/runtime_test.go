package runtime_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
	"github.com/switchyard/switchyard/internal/eventlog"
	"github.com/switchyard/switchyard/internal/eventlog/boltlog"
	"github.com/switchyard/switchyard/internal/runtime"
	"github.com/switchyard/switchyard/internal/snapshot"
)

// elector grants leadership when told to, and takes it back by ending the
// context it granted.
type elector struct {
	grant chan context.CancelFunc // one per Campaign that wins
	asked chan struct{}           // a Campaign started
	conds chan domain.Cond        // if set, the fence of each leadership
}

func (e *elector) Campaign(ctx context.Context) (context.Context, error) {
	e.asked <- struct{}{}
	if e.conds != nil {
		select {
		case c := <-e.conds:
			ctx = domain.WithConds(ctx, c)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	leading, cancel := context.WithCancel(ctx)
	select {
	case e.grant <- cancel:
		return leading, nil
	case <-ctx.Done():
		cancel()
		return nil, ctx.Err()
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSingletonsRunOnlyWhileLeading: the singletons start when the
// campaign is won, stop when leadership is lost, and the runtime campaigns
// again; Run returns once ctx is done and the servers have drained.
func TestSingletonsRunOnlyWhileLeading(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, file := domaintest.OpenBolt(t, filepath.Join(t.TempDir(), "switchyard.db"), domain.Options{})
	rs := snapshot.NewSet(log)
	rs.Apply(st.State(), nil)
	e := &elector{grant: make(chan context.CancelFunc), asked: make(chan struct{}, 4)}
	rt, err := runtime.New(log, st, rs, runtime.Options{Elector: e, Events: boltlog.New(file, eventlog.Options{})})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	drained := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- rt.Run(ctx, drained) }()

	<-e.asked
	if rt.Leading() {
		t.Fatal("leading before the campaign was won")
	}
	lose := <-e.grant
	eventually(t, "leadership", rt.Leading)
	lose()
	eventually(t, "the singletons to stop", func() bool { return !rt.Leading() })
	<-e.asked // campaigns again

	cancel()
	select {
	case err := <-done:
		t.Fatalf("Run returned %v before the servers drained", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(drained)
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}

// lines passes each log line written on to a channel.
type lines chan string

func (l lines) Write(p []byte) (int, error) {
	select {
	case l <- string(p):
	default:
	}
	return len(p), nil
}

// TestAuditRetentionOnlyByTheLeader: the audit retention runs with the
// singletons: a process that has not won the campaign deletes nothing; a
// leader deposed before it prunes (its fence no longer holds) deletes
// nothing either; the leader deletes the events older than the retention
// and keeps the newer ones.
func TestAuditRetentionOnlyByTheLeader(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var now atomic.Pointer[time.Time]
	now.Store(&t0)
	logged := make(lines, 64)
	log := slog.New(slog.NewTextHandler(logged, nil))
	st, file := domaintest.OpenBolt(t, filepath.Join(t.TempDir(), "switchyard.db"), domain.Options{Now: func() time.Time { return *now.Load() }})
	for _, key := range []string{"old", "older"} {
		if _, err := st.Update(context.Background(), domain.Actor{Name: "t"}, func(tx *domain.Tx) error {
			return tx.CreateProject(domain.Project{Key: key})
		}); err != nil {
			t.Fatal(err)
		}
	}
	later := t0.Add(48 * time.Hour)
	now.Store(&later)
	if _, err := st.Update(context.Background(), domain.Actor{Name: "t"}, func(tx *domain.Tx) error {
		return tx.CreateProject(domain.Project{Key: "recent"})
	}); err != nil {
		t.Fatal(err)
	}
	audit := func() int {
		evs, _, err := st.ListAudit(context.Background(), domain.AuditFilter{})
		if err != nil {
			t.Fatal(err)
		}
		return len(evs)
	}

	rs := snapshot.NewSet(log)
	rs.Apply(st.State(), nil)
	e := &elector{grant: make(chan context.CancelFunc), asked: make(chan struct{}, 4), conds: make(chan domain.Cond, 1)}
	rt, err := runtime.New(log, st, rs, runtime.Options{Elector: e, Events: boltlog.New(file, eventlog.Options{}), AuditRetention: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	drained := make(chan struct{})
	close(drained)
	done := make(chan error, 1)
	go func() { done <- rt.Run(ctx, drained) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	}()

	<-e.asked
	if n := audit(); n != 3 {
		t.Fatalf("campaigning, the log holds %d events, want 3", n)
	}
	// Deposed before it prunes: the record its fence names is gone.
	e.conds <- domain.Cond{Path: domain.Path{"leader", "singletons"}, Value: []byte("me")}
	lose := <-e.grant
	for line := range logged {
		if strings.Contains(line, "audit retention") {
			if !strings.Contains(line, "precondition failed") {
				t.Errorf("the deposed leader logged %q, want its fence's failure", line)
			}
			break
		}
	}
	if n := audit(); n != 3 {
		t.Fatalf("after a deposed leader's prune the log holds %d events, want 3", n)
	}
	lose()
	<-e.asked
	e.conds <- domain.Cond{Path: domain.Path{"leader", "singletons"}} // holds: no such record
	<-e.grant
	eventually(t, "the old events to go", func() bool { return audit() == 1 })
	evs, _, _ := st.ListAudit(context.Background(), domain.AuditFilter{})
	if evs[0].Resource != domain.ProjectName("recent") {
		t.Errorf("the leader kept %s, want the recent event", evs[0].Resource)
	}
}

// TestLeaderCollectsAbandonedStagings: a key list staged long ago by a
// writer that stopped before switching to it is deleted by the leader,
// with its staging record.
func TestLeaderCollectsAbandonedStagings(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, file := domaintest.OpenBolt(t, filepath.Join(t.TempDir(), "switchyard.db"), domain.Options{})
	rs := snapshot.NewSet(log)
	rs.Apply(st.State(), nil)
	// What a writer stopped between staging and switching leaves (the
	// records of internal/domain/staging.go).
	record := domain.Path{"staged", "0123456789abcdef"}
	chunk := domain.Path{"projects", "shop", "segment_chunks", "0123456789abcdef-0000", "include", "0001"}
	if _, err := file.Apply(t.Context(), domain.Change{Ops: []domain.Op{
		{Path: record, Value: []byte(`{"dirs":[["projects","shop","segment_chunks","0123456789abcdef-0000"]],"since":"2000-01-01T00:00:00Z"}`)},
		{Path: chunk, Value: []byte("user-1")},
	}}); err != nil {
		t.Fatal(err)
	}
	rt, err := runtime.New(log, st, rs, runtime.Options{Events: boltlog.New(file, eventlog.Options{}), StagedEvery: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	drained := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- rt.Run(ctx, drained) }()
	eventually(t, "the staging collected", func() bool {
		v, err := file.Get(t.Context(), record)
		return err == nil && v == nil
	})
	if v, err := file.Get(t.Context(), chunk); err != nil || v != nil {
		t.Errorf("staged chunk after the collection = %q, %v; want none", v, err)
	}
	cancel()
	close(drained)
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}
