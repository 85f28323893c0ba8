package domain_test

import (
	"path/filepath"
	"sync"
	"testing"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
	"github.com/switchyard/switchyard/internal/store/boltstore"
)

// sharedEngine is an engine two Stores share: closing a Store leaves it
// open.
type sharedEngine struct{ domain.Backend }

func (sharedEngine) Close() error { return nil }

// TestFollowerNeverGoesBack: a replica that must reload a project for one
// foreign Change reads it as it is now, later Changes included; replaying
// those Changes afterwards must not publish older values than it read.
func TestFollowerNeverGoesBack(t *testing.T) {
	b, err := boltstore.Open(filepath.Join(t.TempDir(), "switchyard.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	open := func() *domain.Store {
		s, err := domain.Open(t.Context(), sharedEngine{b}, domain.Options{SecretKeys: domaintest.SecretKeys(t)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	a, follower := open(), open()
	seed(t, a)
	update(t, a, func(tx *domain.Tx) error { return tx.CreateSegment("shop", segmentOf(5000, "first")) })
	if err := follower.CatchUp(t.Context()); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []string // the flag's description in each State the follower published
	follower.Subscribe(func(st *domain.State, _ *domain.Commit) {
		ps, _ := st.Project("shop")
		f, _, _ := ps.Flag("new-checkout")
		mu.Lock()
		seen = append(seen, f.Description)
		mu.Unlock()
	})
	describe := func(d string) {
		update(t, a, func(tx *domain.Tx) error {
			ps, _ := tx.Project("shop")
			f, _, _ := ps.Flag("new-checkout")
			nf := *f
			nf.Description = d
			return tx.UpdateFlag("shop", &nf, "")
		})
	}
	release := domain.Hold(follower)
	// Deleting a segment stored in chunks deletes a tree: the follower
	// reloads the project for it, at the revision of "third".
	update(t, a, func(tx *domain.Tx) error { return tx.DeleteSegment("shop", "beta", "") })
	describe("second")
	describe("third")
	release()
	if err := follower.CatchUp(t.Context()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, d := range seen {
		if d != "third" {
			t.Errorf("published States' descriptions %q: state %d has %q after the reload read %q", seen, i, d, "third")
			break
		}
	}
	if len(seen) == 0 {
		t.Error("the follower published nothing")
	}
}
