package etcdstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/store/etcdstore"
	"github.com/switchyard/switchyard/internal/store/etcdstore/etcdtest"
)

var actor = domain.Actor{KeyID: "k1", Name: "tester", Role: domain.RoleAdmin}

// openDomains opens n domain stores on one prefix, replica i with a client
// of member i (mod 3) only; they are closed when the test ends.
func openDomains(t *testing.T, n int) []*domain.Store {
	t.Helper()
	prefix := etcdtest.Prefix(t)
	keys := domaintest.SecretKeys(t)
	var stores []*domain.Store
	for i := range n {
		b := open(t, etcdstore.Options{Endpoints: cluster.Endpoints()[i%3 : i%3+1], Prefix: prefix})
		s, err := domain.Open(t.Context(), b, domain.Options{SecretKeys: keys})
		if err != nil {
			t.Fatalf("domain.Open on replica %d = %v", i, err)
		}
		t.Cleanup(func() { s.Close() })
		stores = append(stores, s)
	}
	return stores
}

// waitFor returns once s's state satisfies ok (checked at each commit s
// publishes, its own or followed).
func waitFor(t *testing.T, s *domain.Store, ok func(*domain.State) bool) {
	t.Helper()
	changed := make(chan struct{}, 1)
	remove := s.Subscribe(func(*domain.State, *domain.Commit) {
		select {
		case changed <- struct{}{}:
		default:
		}
	})
	defer remove()
	for !ok(s.State()) {
		select {
		case <-changed:
		case <-t.Context().Done():
			t.Fatal("test ended before the state was reached")
		}
	}
}

func flagOf(st *domain.State) (*model.Flag, domain.Meta, bool) {
	ps, ok := st.Project("shop")
	if !ok {
		return nil, domain.Meta{}, false
	}
	return ps.Flag("new-checkout")
}

// TestDomainReplicas: three domain stores on three members share one
// prefix. A write through one is seen by the others; conflicting writes
// naming one etag through all three have exactly one winner, and every
// replica converges on it.
func TestDomainReplicas(t *testing.T) {
	t.Parallel()
	rs := openDomains(t, 3)
	if _, err := rs[0].Update(t.Context(), actor, func(tx *domain.Tx) error {
		return errors.Join(
			tx.CreateProject(domain.Project{Key: "shop"}),
			tx.CreateEnvironment("shop", domain.Environment{Key: "production"}),
			tx.CreateFlag("shop", &model.Flag{Key: "new-checkout", Type: model.TypeBool, Description: "v0"}),
		)
	}); err != nil {
		t.Fatalf("Update on replica 0 = %v", err)
	}
	_, meta, _ := flagOf(rs[0].State())
	for i, r := range rs {
		waitFor(t, r, func(st *domain.State) bool { _, m, ok := flagOf(st); return ok && m.Etag == meta.Etag })
		if f, _, _ := flagOf(r.State()); f.Description != "v0" {
			t.Errorf("replica %d sees description %q, want v0", i, f.Description)
		}
	}

	const perReplica = 3
	var wg sync.WaitGroup
	var mu sync.Mutex
	var won []string
	start := make(chan struct{})
	for i, r := range rs {
		for j := range perReplica {
			wg.Go(func() {
				f, m, _ := flagOf(r.State())
				nf := *f
				nf.Description = string(rune('a'+i)) + string(rune('0'+j))
				<-start
				_, err := r.Update(context.WithoutCancel(t.Context()), actor, func(tx *domain.Tx) error {
					return tx.UpdateFlag("shop", &nf, m.Etag)
				})
				switch {
				case err == nil:
					mu.Lock()
					won = append(won, nf.Description)
					mu.Unlock()
				case !errors.Is(err, domain.ErrConflict):
					t.Errorf("replica %d: Update = %v, want nil or ErrConflict", i, err)
				}
			})
		}
	}
	close(start)
	wg.Wait()
	if len(won) != 1 {
		t.Fatalf("%d writes naming one etag won (%v), want exactly one", len(won), won)
	}
	for i, r := range rs {
		waitFor(t, r, func(st *domain.State) bool { f, _, _ := flagOf(st); return f.Description == won[0] })
		_, m, _ := flagOf(r.State())
		_, m0, _ := flagOf(rs[0].State())
		if m.Etag != m0.Etag {
			t.Errorf("replica %d etag %q, replica 0 %q", i, m.Etag, m0.Etag)
		}
	}
}

// TestReplicasSuite runs the domain's replicas suite on etcd: two domain
// stores share one etcd engine (a prefix of the test's own), on a cluster
// of its own whose transactions take the suite's segments with long key
// lists in one write (about 1,000 chunk records).
func TestReplicasSuite(t *testing.T) {
	t.Parallel()
	const maxTxnOps = 2048
	c, err := etcdtest.StartWith(3, etcdtest.Options{MaxTxnOps: maxTxnOps})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	domaintest.Replicas(t, func(t *testing.T) domain.Backend {
		s, err := etcdstore.Open(t.Context(), etcdstore.Options{Endpoints: c.Endpoints(), Prefix: etcdtest.Prefix(t), MaxTxnOps: maxTxnOps})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
