package etcdstore_test

import (
	"errors"
	"strconv"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/store/etcdstore"
	"github.com/switchyard/switchyard/internal/store/etcdstore/etcdtest"
)

// campaign runs Campaign in the background and hands the leadership over
// when it is won.
func campaign(t *testing.T, s *etcdstore.Store, name, value string) <-chan *etcdstore.Leadership {
	ch := make(chan *etcdstore.Leadership, 1)
	go func() {
		l, err := s.Campaign(t.Context(), name, value)
		if err != nil {
			t.Errorf("Campaign(%s) = %v", value, err)
			close(ch)
			return
		}
		ch <- l
	}()
	return ch
}

func fencedWrite(t *testing.T, s *etcdstore.Store, l *etcdstore.Leadership, v string) error {
	_, err := s.Apply(t.Context(), domain.Change{
		Conds: []domain.Cond{l.Cond},
		Ops:   []domain.Op{put(p("releases", "step"), v)},
	})
	return err
}

// TestCampaignFailover: two replicas (two clients, on different members)
// campaign; the first leads; its lease is revoked as if it had expired;
// the second leads, and a write fenced by the deposed leader fails.
func TestCampaignFailover(t *testing.T) {
	t.Parallel()
	prefix := etcdtest.Prefix(t)
	a := open(t, etcdstore.Options{Endpoints: cluster.Endpoints()[:1], Prefix: prefix})
	b := open(t, etcdstore.Options{Endpoints: cluster.Endpoints()[1:2], Prefix: prefix})

	la := <-campaign(t, a, "scheduler", "a")
	if la == nil {
		t.FailNow()
	}
	if err := fencedWrite(t, a, la, "a1"); err != nil {
		t.Fatalf("the leader's fenced write = %v", err)
	}
	won := campaign(t, b, "scheduler", "b")
	for candidates(t, b, "scheduler") < 2 {
		// The second candidate's record is written before it waits.
	}
	select {
	case <-won:
		t.Fatal("a second candidate won while the first leads")
	default:
	}

	lease, err := strconv.ParseInt(la.Cond.Path[len(la.Cond.Path)-1], 16, 64)
	if err != nil {
		t.Fatalf("leader record %v: %v", la.Cond.Path, err)
	}
	if _, err := b.Client().Revoke(t.Context(), clientv3.LeaseID(lease)); err != nil {
		t.Fatalf("Revoke = %v", err)
	}
	<-la.Done()
	lb := <-won
	if lb == nil {
		t.FailNow()
	}
	if err := fencedWrite(t, a, la, "a2"); !errors.Is(err, domain.ErrCondition) {
		t.Errorf("the deposed leader's fenced write = %v, want ErrCondition", err)
	}
	if err := fencedWrite(t, b, lb, "b1"); err != nil {
		t.Errorf("the new leader's fenced write = %v", err)
	}
	if v, _ := b.Get(t.Context(), p("releases", "step")); string(v) != "b1" {
		t.Errorf("releases/step = %q, want b1", v)
	}
	if err := lb.Resign(t.Context()); err != nil {
		t.Errorf("Resign = %v", err)
	}
	if err := fencedWrite(t, b, lb, "b2"); !errors.Is(err, domain.ErrCondition) {
		t.Errorf("a fenced write after Resign = %v, want ErrCondition", err)
	}
}

// TestCampaignLeaderDies: the leader's process stops without resigning
// (its client closes, the lease is no longer kept alive); the next
// candidate leads once the lease expires.
func TestCampaignLeaderDies(t *testing.T) {
	t.Parallel()
	prefix := etcdtest.Prefix(t)
	o := etcdstore.Options{Endpoints: cluster.Endpoints(), Prefix: prefix, LeaseTTL: 2 * time.Second}
	a, err := etcdstore.Open(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	b := open(t, o)
	la := <-campaign(t, a, "guardrails", "a")
	if la == nil {
		t.FailNow()
	}
	won := campaign(t, b, "guardrails", "b")
	a.Close()
	<-la.Done()
	lb := <-won
	if lb == nil {
		t.FailNow()
	}
	if err := fencedWrite(t, b, la, "a"); !errors.Is(err, domain.ErrCondition) {
		t.Errorf("a write fenced by the dead leader = %v, want ErrCondition", err)
	}
	if err := fencedWrite(t, b, lb, "b"); err != nil {
		t.Errorf("the new leader's fenced write = %v", err)
	}
}

func candidates(t *testing.T, s *etcdstore.Store, name string) int {
	n := 0
	if err := s.Range(t.Context(), p(etcdstore.LeaderElem, name), "", 0, false, func(domain.Record) error {
		n++
		return nil
	}); err != nil {
		t.Fatalf("Range(candidates) = %v", err)
	}
	return n
}

// TestCampaignLeaderCutOff: the leader loses its cluster (its only member
// stops) and so cannot keep its lease alive; its leadership ends once the
// lease's TTL has passed without a keep-alive, though it never heard the
// record's deletion, so its singletons stop before another replica (that
// still reaches the cluster) can lead.
func TestCampaignLeaderCutOff(t *testing.T) {
	t.Parallel()
	lone, err := etcdtest.Start(1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lone.Close)
	a := open(t, etcdstore.Options{Endpoints: lone.Endpoints(), LeaseTTL: time.Second})
	la := <-campaign(t, a, "scheduler", "a")
	if la == nil {
		t.FailNow()
	}
	lone.Members()[0].Stop()
	select {
	case <-la.Done():
	case <-time.After(30 * time.Second):
		// A bound for a hang: Done closes about a TTL after the member stopped.
		t.Fatal("a leader cut off from etcd for 30 times its lease TTL still leads")
	}
}
