package domain_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
)

// totalExposures is the all-time exposure count of flag a's variant on.
func totalExposures(t *testing.T, s *domain.Store, from, to time.Time) uint64 {
	t.Helper()
	u, err := s.FlagUsage(context.Background(), domain.UsageQuery{Project: "shop", Environment: "production", From: from, To: to})
	if err != nil {
		t.Fatalf("FlagUsage() = %v", err)
	}
	if len(u.Flags) == 0 {
		return 0
	}
	return u.Flags[0].Variants[0].Total
}

func TestEventLogWritesABatchIDOnce(t *testing.T) {
	s := domaintest.New(t)
	l := runEventLog(t, s, domain.EventLogOptions{Now: func() time.Time { return eventTime }})
	first := batchOf(exposure("a", "on", "u1", eventTime), exposure("a", "on", "u2", eventTime))
	first.ID = "relay-1-7"
	if err := l.Write(context.Background(), first, map[string]int{"FLAG_NOT_FOUND": 1}); err != nil {
		t.Fatalf("Write() = %v", err)
	}
	again := batchOf(exposure("a", "on", "u1", eventTime), exposure("a", "on", "u2", eventTime))
	again.ID = first.ID
	if err := l.Write(context.Background(), again, map[string]int{"FLAG_NOT_FOUND": 1}); err != nil {
		t.Fatalf("Write(again) = %v", err)
	}
	if first.Duplicate || !again.Duplicate || again.Seq != first.Seq {
		t.Errorf("Duplicate = %v, %v and Seq = %d, %d, want only the second a duplicate of seq %d", first.Duplicate, again.Duplicate, first.Seq, again.Seq, first.Seq)
	}
	if got := totalExposures(t, s, eventTime, eventTime); got != 2 {
		t.Errorf("exposures = %d, want 2 (the repeated batch not counted)", got)
	}
	u, err := s.FlagUsage(context.Background(), domain.UsageQuery{Project: "shop", Environment: "production", From: eventTime, To: eventTime})
	if err != nil || len(u.Rejected) != 1 || u.Rejected[0].Count != 1 {
		t.Errorf("rejections = %+v, %v, want FLAG_NOT_FOUND counted once", u.Rejected, err)
	}
	if batches, err := s.EventBatches(context.Background(), 0, 10); err != nil || len(batches) != 1 {
		t.Errorf("EventBatches() = %d batches, %v, want 1", len(batches), err)
	}

	other := batchOf(exposure("a", "on", "u3", eventTime))
	other.ID = first.ID
	other.Environment = "staging"
	if err := l.Write(context.Background(), other, nil); err != nil || other.Duplicate {
		t.Errorf("Write(same id, other environment) = %v, duplicate %v, want it written", err, other.Duplicate)
	}
}

func TestEventLogWritesABatchIDOnceWithinOneCommit(t *testing.T) {
	s := domaintest.New(t)
	l := runEventLog(t, s, domain.EventLogOptions{Now: func() time.Time { return eventTime }})
	const writers = 16
	batches := make([]*domain.EventBatch, writers)
	var wg sync.WaitGroup
	for i := range batches {
		b := batchOf(exposure("a", "on", "u1", eventTime))
		b.ID = "same"
		batches[i] = b
		wg.Go(func() {
			if err := l.Write(context.Background(), b, nil); err != nil {
				t.Errorf("Write() = %v", err)
			}
		})
	}
	wg.Wait()
	written := 0
	for _, b := range batches {
		if !b.Duplicate {
			written++
		}
	}
	if written != 1 {
		t.Errorf("%d of %d writes of one id were written, want 1", written, writers)
	}
	if got := totalExposures(t, s, eventTime, eventTime); got != 1 {
		t.Errorf("exposures = %d, want 1", got)
	}
}

func TestEventLogForgetsBatchIDsAfterTheRetention(t *testing.T) {
	now := eventTime
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := domaintest.New(t)
	l := runEventLog(t, s, domain.EventLogOptions{BatchRetention: 48 * time.Hour, Now: clock})
	old := batchOf(exposure("a", "on", "u1", eventTime))
	old.ID = "old"
	if err := l.Write(context.Background(), old, nil); err != nil {
		t.Fatalf("Write() = %v", err)
	}
	mu.Lock()
	now = eventTime.Add(4 * 24 * time.Hour)
	mu.Unlock()
	for _, id := range []string{"fresh", "old"} {
		b := batchOf(exposure("a", "on", "u1", now))
		b.Received, b.ID = now, id
		if err := l.Write(context.Background(), b, nil); err != nil || b.Duplicate {
			t.Errorf("Write(%s) = %v, duplicate %v, want it written (the old id was forgotten)", id, err, b.Duplicate)
		}
	}
}
