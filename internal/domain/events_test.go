package domain_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
)

// runEventLog runs an EventLog over s until the test ends.
func runEventLog(t *testing.T, s *domain.Store, opts domain.EventLogOptions) *domain.EventLog {
	t.Helper()
	l := domain.NewEventLog(s, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run() = %v", err)
		}
	})
	return l
}

var eventTime = time.Date(2025, 3, 1, 12, 30, 0, 0, time.UTC)

func exposure(flag, variant, unit string, at time.Time) domain.Event {
	return domain.Event{Kind: domain.EventExposure, Time: at, Unit: unit, Flag: flag, Variant: variant, Rule: "default", Revision: 7}
}

func batchOf(events ...domain.Event) *domain.EventBatch {
	return &domain.EventBatch{
		Project: "shop", Environment: "production", Received: eventTime,
		SDKName: "switchyard-go", SDKVersion: "0.1.0", Events: events,
	}
}

func TestEventLogStoresBatches(t *testing.T) {
	s := domaintest.New(t)
	l := runEventLog(t, s, domain.EventLogOptions{Now: func() time.Time { return eventTime }})
	first := batchOf(
		exposure("new-checkout", "on", "user-1", eventTime),
		domain.Event{Kind: domain.EventExposure, Time: eventTime, Unit: "user-2", Flag: "new-checkout", Experiment: "checkout-ab"},
	)
	second := batchOf(
		domain.Event{Kind: domain.EventTrack, Time: eventTime.Add(time.Second), Unit: "user-1", Key: "purchase", Value: 12.5, HasValue: true},
		domain.Event{Kind: domain.EventTrack, Time: eventTime.Add(time.Microsecond), Unit: "user-2", Key: "signup"},
	)
	for _, b := range []*domain.EventBatch{first, second} {
		if err := l.Write(context.Background(), b, nil); err != nil {
			t.Fatalf("Write() = %v", err)
		}
	}
	if first.Seq == 0 || second.Seq <= first.Seq {
		t.Fatalf("Seq = %d, %d, want increasing from 1", first.Seq, second.Seq)
	}
	got, err := s.EventBatches(context.Background(), 0, 10)
	if err != nil {
		t.Fatalf("EventBatches() = %v", err)
	}
	if want := []domain.EventBatch{*first, *second}; !reflect.DeepEqual(got, want) {
		t.Errorf("EventBatches(0, 10) = %+v, want %+v", got, want)
	}
	got, err = s.EventBatches(context.Background(), first.Seq, 10)
	if err != nil || len(got) != 1 || got[0].Seq != second.Seq {
		t.Errorf("EventBatches(%d, 10) = %+v, %v, want the second batch", first.Seq, got, err)
	}
}

func TestEventLogCountsUsageByHour(t *testing.T) {
	s := domaintest.New(t)
	l := runEventLog(t, s, domain.EventLogOptions{Now: func() time.Time { return eventTime }})
	h0 := eventTime.Truncate(time.Hour)
	writes := []*domain.EventBatch{
		batchOf(exposure("a", "on", "u1", h0.Add(time.Minute)), exposure("a", "on", "u2", h0.Add(2*time.Minute)), exposure("a", "off", "u3", h0)),
		batchOf(exposure("a", "on", "u1", h0.Add(-time.Hour)), exposure("b", "", "u1", h0.Add(-3*time.Hour))),
		batchOf(domain.Event{Kind: domain.EventTrack, Time: h0, Unit: "u1", Key: "buy"}), // not counted
	}
	for _, b := range writes {
		if err := l.Write(context.Background(), b, nil); err != nil {
			t.Fatalf("Write() = %v", err)
		}
	}
	got, err := s.FlagUsage(context.Background(), domain.UsageQuery{
		Project: "shop", Environment: "production", From: h0.Add(-2 * time.Hour), To: h0,
	})
	if err != nil {
		t.Fatalf("FlagUsage() = %v", err)
	}
	want := &domain.Usage{Flags: []domain.FlagUsage{
		{Flag: "a", Variants: []domain.VariantUsage{
			{Variant: "off", Total: 1, LastSeen: h0, Hours: []domain.HourCount{{Hour: h0, Count: 1}}},
			{Variant: "on", Total: 3, LastSeen: h0.Add(2 * time.Minute), Hours: []domain.HourCount{{Hour: h0.Add(-time.Hour), Count: 1}, {Hour: h0, Count: 2}}},
		}},
		{Flag: "b", Variants: []domain.VariantUsage{{Variant: "", Total: 1, LastSeen: h0.Add(-3 * time.Hour)}}},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("FlagUsage() = %+v, want %+v", got, want)
	}

	one, err := s.FlagUsage(context.Background(), domain.UsageQuery{Project: "shop", Environment: "production", Flag: "b", From: h0.Add(-5 * time.Hour), To: h0})
	if err != nil || len(one.Flags) != 1 || one.Flags[0].Flag != "b" || len(one.Flags[0].Variants[0].Hours) != 1 {
		t.Errorf("FlagUsage(flag b) = %+v, %v, want b with one hour", one, err)
	}
	other, err := s.FlagUsage(context.Background(), domain.UsageQuery{Project: "shop", Environment: "staging", From: h0, To: h0})
	if err != nil || !reflect.DeepEqual(other, &domain.Usage{}) {
		t.Errorf("FlagUsage(staging) = %+v, %v, want nothing", other, err)
	}
}

func TestEventLogCountsRejections(t *testing.T) {
	s := domaintest.New(t)
	l := runEventLog(t, s, domain.EventLogOptions{})
	for range 2 {
		if err := l.Write(context.Background(), batchOf(), map[string]int{"FLAG_NOT_FOUND": 2, "UNIT_MISSING": 1}); err != nil {
			t.Fatalf("Write() = %v", err)
		}
	}
	got, err := s.FlagUsage(context.Background(), domain.UsageQuery{Project: "shop", Environment: "production", From: eventTime, To: eventTime})
	if err != nil {
		t.Fatalf("FlagUsage() = %v", err)
	}
	want := []domain.RejectedCount{{Code: "FLAG_NOT_FOUND", Count: 4, LastSeen: eventTime}, {Code: "UNIT_MISSING", Count: 2, LastSeen: eventTime}}
	if !reflect.DeepEqual(got.Rejected, want) || len(got.Flags) != 0 {
		t.Errorf("FlagUsage() = %+v, want rejections %+v and no flags", got, want)
	}
	if batches, err := s.EventBatches(context.Background(), 0, 10); err != nil || len(batches) != 0 {
		t.Errorf("EventBatches() = %+v, %v, want none stored for rejected events", batches, err)
	}
}

func TestEventLogCoalescesConcurrentWrites(t *testing.T) {
	s := domaintest.New(t)
	l := runEventLog(t, s, domain.EventLogOptions{})
	const writers, perWriter = 32, 20
	var wg sync.WaitGroup
	errs := make(chan error, writers*perWriter)
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				errs <- l.Write(context.Background(), batchOf(exposure("a", "on", fmt.Sprintf("u%d-%d", w, i), eventTime)), nil)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Write() = %v", err)
		}
	}
	got, err := s.FlagUsage(context.Background(), domain.UsageQuery{Project: "shop", Environment: "production", From: eventTime, To: eventTime})
	if err != nil || len(got.Flags) != 1 || got.Flags[0].Variants[0].Total != writers*perWriter {
		t.Fatalf("FlagUsage() = %+v, %v, want %d exposures", got, err, writers*perWriter)
	}
	if c := l.Commits(); c >= writers*perWriter {
		t.Errorf("Commits() = %d for %d writes, want them coalesced", c, writers*perWriter)
	}
}

func TestEventLogDoesNotTouchResources(t *testing.T) {
	s := domaintest.New(t)
	seed(t, s)
	before := s.State()
	audit, _, err := s.ListAudit(context.Background(), domain.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	l := runEventLog(t, s, domain.EventLogOptions{})
	if err := l.Write(context.Background(), batchOf(exposure("new-checkout", "on", "u", eventTime)), map[string]int{"UNIT_MISSING": 1}); err != nil {
		t.Fatalf("Write() = %v", err)
	}
	if s.State() != before {
		t.Error("State() changed after an event write")
	}
	after, _, err := s.ListAudit(context.Background(), domain.AuditFilter{})
	if err != nil || len(after) != len(audit) {
		t.Errorf("audit log has %d events after an event write, want %d (%v)", len(after), len(audit), err)
	}
}

func TestEventLogRetention(t *testing.T) {
	now := eventTime
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := domaintest.New(t)
	l := runEventLog(t, s, domain.EventLogOptions{BatchRetention: 48 * time.Hour, UsageRetention: 72 * time.Hour, Now: clock})
	write := func(b *domain.EventBatch) {
		t.Helper()
		if err := l.Write(context.Background(), b, nil); err != nil {
			t.Fatalf("Write() = %v", err)
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

	got, err := s.EventBatches(context.Background(), 0, 10)
	if err != nil || len(got) != 1 || got[0].Seq != fresh.Seq {
		t.Errorf("EventBatches() = %d batches, %v, want only the fresh one", len(got), err)
	}
	u, err := s.FlagUsage(context.Background(), domain.UsageQuery{Project: "shop", Environment: "production", From: eventTime, To: now})
	if err != nil {
		t.Fatalf("FlagUsage() = %v", err)
	}
	v := u.Flags[0].Variants[0]
	if v.Total != 2 || len(v.Hours) != 1 || !v.Hours[0].Hour.Equal(now.Truncate(time.Hour)) {
		t.Errorf("usage = %+v, want total 2 and only the recent hour", v)
	}
}

func TestEventLogSizeCap(t *testing.T) {
	s := domaintest.New(t)
	l := runEventLog(t, s, domain.EventLogOptions{BatchMaxBytes: 300})
	var last *domain.EventBatch
	for i := range 20 {
		last = batchOf(exposure("a", "on", fmt.Sprintf("user-%03d", i), eventTime))
		if err := l.Write(context.Background(), last, nil); err != nil {
			t.Fatalf("Write() = %v", err)
		}
	}
	got, err := s.EventBatches(context.Background(), 0, 100)
	if err != nil {
		t.Fatalf("EventBatches() = %v", err)
	}
	if len(got) == 0 || len(got) >= 20 || got[len(got)-1].Seq != last.Seq {
		t.Errorf("EventBatches() = %d batches, want the newest few within 300 bytes", len(got))
	}
}

func TestEventLogOverloaded(t *testing.T) {
	s := domaintest.New(t)
	l := domain.NewEventLog(s, domain.EventLogOptions{MaxQueued: 2}) // not running: nothing drains
	// A Write whose context is done returns at once, leaving its batch queued.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Write(ctx, batchOf(exposure("a", "on", "u1", eventTime), exposure("a", "on", "u2", eventTime)), nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("Write(cancelled) = %v, want context.Canceled", err)
	}
	if err := l.Write(context.Background(), batchOf(exposure("a", "on", "u3", eventTime)), nil); !errors.Is(err, domain.ErrOverloaded) {
		t.Errorf("Write() on a full queue = %v, want ErrOverloaded", err)
	}
}

func TestEventLogStopped(t *testing.T) {
	s := domaintest.Open(t, filepath.Join(t.TempDir(), "switchyard.db"), domain.Options{})
	l := domain.NewEventLog(s, domain.EventLogOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Run(ctx); err != nil {
		t.Fatalf("Run() = %v", err)
	}
	if err := l.Write(context.Background(), batchOf(exposure("a", "on", "u", eventTime)), nil); !errors.Is(err, domain.ErrClosed) {
		t.Errorf("Write() after Run returned = %v, want ErrClosed", err)
	}
}

func TestEventLogStoreClosed(t *testing.T) {
	s := domaintest.New(t)
	l := runEventLog(t, s, domain.EventLogOptions{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Write(context.Background(), batchOf(exposure("a", "on", "u", eventTime)), nil); !errors.Is(err, domain.ErrClosed) {
		t.Errorf("Write() on a closed store = %v, want ErrClosed", err)
	}
	if _, err := s.EventBatches(context.Background(), 0, 1); !errors.Is(err, domain.ErrClosed) {
		t.Errorf("EventBatches() on a closed store = %v, want ErrClosed", err)
	}
}
