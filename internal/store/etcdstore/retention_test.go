package etcdstore_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
	"github.com/switchyard/switchyard/internal/store/etcdstore"
	"github.com/switchyard/switchyard/internal/store/etcdstore/etcdtest"
)

// TestAuditPruneFencedByTheElection: two replicas campaign for the
// singletons; the first leads, then its lease is revoked and the second
// leads. The audit retention of the deposed leader, fenced by its
// leadership, deletes nothing; the new leader's deletes the old events.
func TestAuditPruneFencedByTheElection(t *testing.T) {
	t.Parallel()
	prefix := etcdtest.Prefix(t)
	keys := domaintest.SecretKeys(t)
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	now := t0
	var stores [2]*domain.Store
	var engines [2]*etcdstore.Store
	for i := range stores {
		engines[i] = open(t, etcdstore.Options{Endpoints: cluster.Endpoints()[i : i+1], Prefix: prefix})
		s, err := domain.Open(t.Context(), engines[i], domain.Options{SecretKeys: keys, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores[i] = s
	}
	if _, err := stores[0].Update(t.Context(), actor, func(tx *domain.Tx) error {
		return tx.CreateProject(domain.Project{Key: "shop"})
	}); err != nil {
		t.Fatal(err)
	}
	cutoff := t0.Add(time.Hour)
	count := func() int {
		evs, _, err := stores[1].ListAudit(t.Context(), domain.AuditFilter{})
		if err != nil {
			t.Fatal(err)
		}
		return len(evs)
	}

	la := <-campaign(t, engines[0], "singletons", "a")
	if la == nil {
		t.FailNow()
	}
	won := campaign(t, engines[1], "singletons", "b")
	for candidates(t, engines[1], "singletons") < 2 {
	}
	lease, err := strconv.ParseInt(la.Cond.Path[len(la.Cond.Path)-1], 16, 64)
	if err != nil {
		t.Fatalf("leader record %v: %v", la.Cond.Path, err)
	}
	if _, err := engines[1].Client().Revoke(t.Context(), clientv3.LeaseID(lease)); err != nil {
		t.Fatalf("Revoke = %v", err)
	}
	<-la.Done()
	lb := <-won
	if lb == nil {
		t.FailNow()
	}
	deposed := domain.WithConds(context.Background(), la.Cond)
	if n, err := stores[0].PruneAudit(deposed, cutoff); n != 0 || !errors.Is(err, domain.ErrCondition) {
		t.Errorf("PruneAudit by the deposed leader = %d, %v; want 0, ErrCondition", n, err)
	}
	if n := count(); n != 1 {
		t.Fatalf("after the deposed leader's prune the log holds %d events, want 1", n)
	}
	leading := domain.WithConds(context.Background(), lb.Cond)
	if n, err := stores[1].PruneAudit(leading, cutoff); n != 1 || err != nil {
		t.Errorf("PruneAudit by the leader = %d, %v; want 1", n, err)
	}
	if n := count(); n != 0 {
		t.Errorf("after the leader's prune the log holds %d events, want none", n)
	}
	if err := lb.Resign(t.Context()); err != nil {
		t.Errorf("Resign = %v", err)
	}
}
