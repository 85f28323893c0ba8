package etcdstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/store/etcdstore"
)

// TestCompact is not parallel: compaction cuts the history of the whole
// (shared) cluster, and the parallel tests wait until it is done.
func TestCompact(t *testing.T) {
	s := open(t, etcdstore.Options{})
	var revs []uint64
	for i := range 10 {
		rev, err := s.Apply(t.Context(), domain.Change{Ops: []domain.Op{put(p("k", "v"), fmt.Sprint(i))}})
		if err != nil {
			t.Fatal(err)
		}
		revs = append(revs, rev)
	}
	at, err := s.Compact(t.Context(), 3)
	if err != nil || at != int64(revs[9])-3 {
		t.Fatalf("Compact(keep 3) = %d, %v; want %d", at, err, revs[9]-3)
	}
	if at, err := s.Compact(t.Context(), 3); err != nil || at != 0 {
		t.Errorf("Compact again = %d, %v; want 0, nil (nothing new to compact)", at, err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	err = s.Watch(ctx, revs[0], func(domain.Applied) error { return nil })
	if !errors.Is(err, domain.ErrCompacted) {
		t.Errorf("Watch(a compacted revision) = %v, want ErrCompacted", err)
	}
	var seen []uint64
	stop := errors.New("seen enough")
	err = s.Watch(ctx, revs[7], func(a domain.Applied) error {
		seen = append(seen, a.Revision)
		if len(seen) == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || fmt.Sprint(seen) != fmt.Sprint(revs[8:]) {
		t.Errorf("Watch(inside the window) saw %v, %v; want %v", seen, err, revs[8:])
	}
}
