package boltstore_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
	"github.com/switchyard/switchyard/internal/store/boltstore"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

func open(t *testing.T, path string) *boltstore.Store {
	t.Helper()
	s, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatalf("Open(%q) = %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) domain.Backend {
		return open(t, filepath.Join(t.TempDir(), "s.db"))
	})
}

// TestLayout: a record's path is nested buckets and a key, and the
// revision is the meta bucket's sequence.
func TestLayout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	s := open(t, path)
	rev, err := s.Apply(context.Background(), domain.Change{Ops: []domain.Op{
		{Path: domain.Path{"projects", "shop", "flags", "x"}, Value: []byte("X")},
		{Path: domain.Path{"meta", "seq"}, Value: []byte("1")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	err = s.DB().View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("projects")).Bucket([]byte("shop")).Bucket([]byte("flags"))
		if got := string(b.Get([]byte("x"))); got != "X" {
			t.Errorf("projects/shop/flags key x = %q, want X", got)
		}
		if got := tx.Bucket([]byte("meta")).Sequence(); got != rev {
			t.Errorf("meta bucket sequence = %d, want the revision %d", got, rev)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestWatchFromBeforeOpen: a revision older than the process's first is
// compacted; the file's own revision at Open is not.
func TestWatchFromBeforeOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	s, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"1", "2"} {
		if _, err := s.Apply(context.Background(), domain.Change{Ops: []domain.Op{{Path: domain.Path{"m", "k"}, Value: []byte(v)}}}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s = open(t, path)
	ctx, cancel := context.WithCancel(context.Background())
	if err := s.Watch(ctx, 1, func(domain.Applied) error { return nil }); !errors.Is(err, domain.ErrCompacted) {
		t.Errorf("Watch(1) after reopening at revision 2 = %v, want ErrCompacted", err)
	}
	var got []uint64
	stop := errors.New("stop")
	if _, err := s.Apply(context.Background(), domain.Change{Ops: []domain.Op{{Path: domain.Path{"m", "k"}, Value: []byte("3")}}}); err != nil {
		t.Fatal(err)
	}
	err = s.Watch(ctx, 2, func(a domain.Applied) error { got = append(got, a.Revision); return stop })
	cancel()
	if !errors.Is(err, stop) || !slices.Equal(got, []uint64{3}) {
		t.Errorf("Watch(2) = %v, saw %v; want revision 3 then fn's error", err, got)
	}
}

func TestReplicas(t *testing.T) {
	domaintest.Replicas(t, func(t *testing.T) domain.Backend {
		s, err := boltstore.Open(filepath.Join(t.TempDir(), "s.db"), boltstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
