package domaintest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/model"
)

// clock is a settable domain.Options.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// auditSeqs returns the Seq of every audit event, newest first.
func auditSeqs(t *testing.T, s *domain.Store) []uint64 {
	t.Helper()
	var out []uint64
	var before uint64
	for {
		evs, next, err := s.ListAudit(context.Background(), domain.AuditFilter{Before: before, Limit: domain.MaxAuditLimit})
		if err != nil {
			t.Fatalf("ListAudit = %v", err)
		}
		for _, ev := range evs {
			out = append(out, ev.Seq)
		}
		if next == 0 {
			return out
		}
		before = next
	}
}

// auditDeletes counts the audit records each Change applied after rev
// deleted, until total deletes were seen.
func auditDeletes(t *testing.T, b domain.Backend, rev uint64, total int) []int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var per []int
	seen := 0
	stop := errors.New("seen all")
	err := b.Watch(ctx, rev, func(a domain.Applied) error {
		n := 0
		for _, op := range a.Ops {
			if len(op.Path) == 2 && op.Path[0] == "audit" && op.Value == nil {
				n++
			}
		}
		if n > 0 {
			per = append(per, n)
			seen += n
		}
		if seen >= total {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("watching the prune's Changes: %v (saw %v)", err, per)
	}
	return per
}

// testAuditRetention: PruneAudit deletes the events older than the cutoff,
// oldest first, in Changes of at most AuditPruneBatch deletes, each
// fenced by the conditions of its ctx (a deposed leader deletes nothing);
// it keeps the events an unfinished webhook delivery still sends; the log
// goes on numbering after the last event ever written; a delivery whose
// event was pruned cannot be redelivered.
func testAuditRetention(t *testing.T, b domain.Backend) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := &clock{now: t0}
	a, other := replicas(t, b, domain.Options{Now: clk.Now})
	ctx := context.Background()
	seedShop(t, a) // 3 events
	if _, err := a.Update(ctx, actor, func(tx *domain.Tx) error {
		return tx.CreateWebhook("shop", &model.Webhook{ID: "ops", URL: "https://example.com/hook", Secret: "a-secret-of-24-bytes-xyz", Events: []string{"segment.*"}})
	}); err != nil {
		t.Fatal(err)
	}
	for i := range 24 { // 240 events, 10 a Change
		if _, err := a.Update(ctx, actor, func(tx *domain.Tx) error {
			var errs []error
			for j := range 10 {
				errs = append(errs, tx.CreateFlag("shop", &model.Flag{Key: fmt.Sprintf("f-%d-%d", i, j), Type: model.TypeBool}))
			}
			return errors.Join(errs...)
		}); err != nil {
			t.Fatal(err)
		}
	}
	// An old event that the webhook's pending delivery still has to send.
	c, err := a.Update(ctx, actor, func(tx *domain.Tx) error {
		return tx.CreateSegment("shop", &model.Segment{Key: "eu"})
	})
	if err != nil || len(c.Deliveries) != 1 {
		t.Fatalf("CreateSegment = %d deliveries, %v; want 1", len(c.Deliveries), err)
	}
	hooked := c.Events[0].Seq
	for i := range 10 { // 10 more old events
		if _, err := a.Update(ctx, actor, func(tx *domain.Tx) error {
			return tx.CreateFlag("shop", &model.Flag{Key: fmt.Sprintf("g-%d", i), Type: model.TypeBool})
		}); err != nil {
			t.Fatal(err)
		}
	}
	clk.Set(t0.Add(48 * time.Hour))
	if _, err := a.Update(ctx, actor, func(tx *domain.Tx) error {
		return tx.CreateFlag("shop", &model.Flag{Key: "recent", Type: model.TypeBool})
	}); err != nil {
		t.Fatal(err)
	}
	all := auditSeqs(t, a)
	last := all[0]
	if len(all) != 3+1+240+1+10+1 {
		t.Fatalf("the log holds %d events, want 256", len(all))
	}
	cutoff := t0.Add(24 * time.Hour)

	// A deposed leader: its fence no longer holds.
	leader := domain.Path{"leader", "singletons"}
	deposed := domain.WithConds(ctx, domain.Cond{Path: leader, Value: []byte("someone else")})
	if n, err := other.PruneAudit(deposed, cutoff); n != 0 || !errors.Is(err, domain.ErrCondition) {
		t.Fatalf("PruneAudit by a deposed leader = %d, %v; want 0, ErrCondition", n, err)
	}
	if got := auditSeqs(t, a); len(got) != len(all) {
		t.Fatalf("after a deposed leader's prune the log holds %d events, want all %d", len(got), len(all))
	}

	// The leader (its fence holds): up to the event the delivery sends.
	rev, err := b.Apply(ctx, domain.Change{})
	if err != nil {
		t.Fatal(err)
	}
	leading := domain.WithConds(ctx, domain.Cond{Path: leader})
	n, err := other.PruneAudit(leading, cutoff)
	if want := int(hooked - 1); n != want || err != nil {
		t.Fatalf("PruneAudit by the leader = %d, %v; want %d (the events before the one still delivered)", n, err, want)
	}
	if per := auditDeletes(t, b, rev, n); len(per) != 3 || per[0] != domain.AuditPruneBatch || per[1] != domain.AuditPruneBatch {
		t.Errorf("the prune's Changes deleted %v events, want batches of %d", per, domain.AuditPruneBatch)
	}
	if got := auditSeqs(t, a); len(got) != len(all)-n || got[len(got)-1] != hooked {
		t.Fatalf("after the prune the log holds %d events from %d, want %d from %d", len(got), got[len(got)-1], len(all)-n, hooked)
	}

	// The delivery done: the rest of the old events go.
	ds, err := a.WebhookDeliveries("shop", "ops", 0)
	if err != nil || len(ds) != 1 {
		t.Fatalf("WebhookDeliveries = %v, %v; want the pending one", ds, err)
	}
	d := ds[0]
	d.State = domain.DeliveryDelivered
	if _, err := a.PutWebhookDelivery("shop", "ops", &d, 10); err != nil {
		t.Fatal(err)
	}
	if n, err := other.PruneAudit(leading, cutoff); n != 11 || err != nil {
		t.Fatalf("PruneAudit after the delivery = %d, %v; want the 11 old events left", n, err)
	}
	if got := auditSeqs(t, other); len(got) != 1 || got[0] != last {
		t.Fatalf("after the prunes the log holds %v, want only the recent event %d", got, last)
	}
	if n, err := other.PruneAudit(leading, cutoff); n != 0 || err != nil {
		t.Fatalf("PruneAudit again = %d, %v; want nothing to do", n, err)
	}

	// Numbering goes on; a pruned event cannot be redelivered.
	c, err = other.Update(ctx, actor, func(tx *domain.Tx) error {
		return tx.CreateFlag("shop", &model.Flag{Key: "after", Type: model.TypeBool})
	})
	if err != nil || c.Events[0].Seq != last+1 {
		t.Fatalf("the next event = %+v, %v; want Seq %d", c.Events, err, last+1)
	}
	if _, err := a.RedeliverWebhookDelivery("shop", "ops", d.ID); !errors.Is(err, domain.ErrFailedPrecondition) {
		t.Errorf("RedeliverWebhookDelivery of a pruned event = %v, want ErrFailedPrecondition", err)
	}
}
