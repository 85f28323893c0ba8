package boltlog_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
	"github.com/switchyard/switchyard/internal/eventlog"
	"github.com/switchyard/switchyard/internal/eventlog/boltlog"
	"github.com/switchyard/switchyard/internal/eventlog/eventlogtest"
)

func TestContract(t *testing.T) {
	eventlogtest.Run(t, func(t *testing.T, opts eventlog.Options) (eventlog.Log, func(t *testing.T) eventlog.Log) {
		path := filepath.Join(t.TempDir(), "switchyard.db")
		s, f := domaintest.OpenBolt(t, path, domain.Options{})
		reopen := func(t *testing.T) eventlog.Log {
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s, f = domaintest.OpenBolt(t, path, domain.Options{})
			return boltlog.New(f, opts)
		}
		return boltlog.New(f, opts), reopen
	})
}

// newStore opens a store on a new bbolt file; the file holds the log too.
func newStore(t *testing.T) (*domain.Store, boltlog.File) {
	t.Helper()
	return domaintest.OpenBolt(t, filepath.Join(t.TempDir(), "switchyard.db"), domain.Options{})
}

// runLog runs a Log in f until the test ends.
func runLog(t *testing.T, f boltlog.File, opts eventlog.Options) *boltlog.Log {
	t.Helper()
	l := boltlog.New(f, opts)
	eventlogtest.Start(t, l)
	return l
}

var (
	eventTime = eventlogtest.EventTime
	exposure  = eventlogtest.Exposure
	batchOf   = eventlogtest.BatchOf
)

func TestLogCoalescesConcurrentWrites(t *testing.T) {
	_, f := newStore(t)
	l := runLog(t, f, eventlog.Options{})
	const writers, perWriter = 32, 20
	var wg sync.WaitGroup
	errs := make(chan error, writers*perWriter)
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				errs <- l.Append(context.Background(), batchOf(exposure("a", "on", fmt.Sprintf("u%d-%d", w, i), eventTime)), nil)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Append() = %v", err)
		}
	}
	if c := l.Commits(); c >= writers*perWriter {
		t.Errorf("Commits() = %d for %d writes, want them coalesced", c, writers*perWriter)
	}
}

func TestLogDoesNotTouchResources(t *testing.T) {
	s, f := newStore(t)
	if _, err := s.Update(context.Background(), domain.Actor{Name: "test"}, func(tx *domain.Tx) error {
		return tx.CreateProject(domain.Project{Key: "shop"})
	}); err != nil {
		t.Fatal(err)
	}
	before := s.State()
	audit, _, err := s.ListAudit(context.Background(), domain.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	l := runLog(t, f, eventlog.Options{})
	if err := l.Append(context.Background(), batchOf(exposure("new-checkout", "on", "u", eventTime)), map[string]int{"UNIT_MISSING": 1}); err != nil {
		t.Fatalf("Append() = %v", err)
	}
	if s.State() != before {
		t.Error("State() changed after an event write")
	}
	after, _, err := s.ListAudit(context.Background(), domain.AuditFilter{})
	if err != nil || len(after) != len(audit) {
		t.Errorf("audit log has %d events after an event write, want %d (%v)", len(after), len(audit), err)
	}
}

func TestLogRetention(t *testing.T) {
	now := eventTime
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	_, f := newStore(t)
	l := runLog(t, f, eventlog.Options{BatchRetention: 48 * time.Hour, UsageRetention: 72 * time.Hour, Now: clock})
	write := func(b *eventlog.Batch) {
		t.Helper()
		if err := l.Append(context.Background(), b, nil); err != nil {
			t.Fatalf("Append() = %v", err)
		}
	}
	old := batchOf(exposure("a", "on", "u", eventTime))
	write(old)
	mu.Lock()
	now = eventTime.Add(4 * 24 * time.Hour)
	mu.Unlock()
	fresh := batchOf(exposure("a", "on", "u", now))
	fresh.Received = now
	write(fresh)

	got, err := l.Batches(context.Background(), 0, 10)
	if err != nil || len(got) != 1 || got[0].Seq != fresh.Seq {
		t.Errorf("Batches() = %d batches, %v, want only the fresh one", len(got), err)
	}
	u, err := l.FlagUsage(context.Background(), eventlog.UsageQuery{Project: "shop", Environment: "production", From: eventTime, To: now})
	if err != nil {
		t.Fatalf("FlagUsage() = %v", err)
	}
	v := u.Flags[0].Variants[0]
	if v.Total != 2 || len(v.Hours) != 1 || !v.Hours[0].Hour.Equal(now.Truncate(time.Hour)) {
		t.Errorf("usage = %+v, want total 2 and only the recent hour", v)
	}
}

func TestLogOverloaded(t *testing.T) {
	_, f := newStore(t)
	l := boltlog.New(f, eventlog.Options{MaxQueued: 2}) // not running: nothing drains
	// An Append whose context is done returns at once, leaving its batch queued.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Append(ctx, batchOf(exposure("a", "on", "u1", eventTime), exposure("a", "on", "u2", eventTime)), nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("Append(cancelled) = %v, want context.Canceled", err)
	}
	if err := l.Append(context.Background(), batchOf(exposure("a", "on", "u3", eventTime)), nil); !errors.Is(err, eventlog.ErrOverloaded) {
		t.Errorf("Append() on a full queue = %v, want ErrOverloaded", err)
	}
}

func TestLogStoreClosed(t *testing.T) {
	s, f := newStore(t)
	l := runLog(t, f, eventlog.Options{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Append(context.Background(), batchOf(exposure("a", "on", "u", eventTime)), nil); !errors.Is(err, eventlog.ErrClosed) {
		t.Errorf("Append() on a closed store = %v, want ErrClosed", err)
	}
	if _, err := l.Batches(context.Background(), 0, 1); !errors.Is(err, eventlog.ErrClosed) {
		t.Errorf("Batches() on a closed store = %v, want ErrClosed", err)
	}
}

func TestLogForgetsBatchIDsAfterTheRetention(t *testing.T) {
	now := eventTime
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	_, f := newStore(t)
	l := runLog(t, f, eventlog.Options{BatchRetention: 48 * time.Hour, Now: clock})
	old := batchOf(exposure("a", "on", "u1", eventTime))
	old.ID = "old"
	if err := l.Append(context.Background(), old, nil); err != nil {
		t.Fatalf("Append() = %v", err)
	}
	mu.Lock()
	now = eventTime.Add(4 * 24 * time.Hour)
	mu.Unlock()
	for _, id := range []string{"fresh", "old"} {
		b := batchOf(exposure("a", "on", "u1", now))
		b.Received, b.ID = now, id
		if err := l.Append(context.Background(), b, nil); err != nil || b.Duplicate {
			t.Errorf("Append(%s) = %v, duplicate %v, want it stored (the old id was forgotten)", id, err, b.Duplicate)
		}
	}
}
