package domain_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
	"github.com/switchyard/switchyard/internal/keylist"
	"github.com/switchyard/switchyard/internal/store/boltstore"
)

// limited is an engine that takes at most maxOps writes per Change (as
// etcd takes 128), once limiting is on, and records the Changes applied.
type limited struct {
	domain.Backend
	mu       sync.Mutex
	maxOps   int // 0: no limit
	applied  []domain.Change
	refusals int
}

func (l *limited) Apply(ctx context.Context, c domain.Change) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.maxOps > 0 && len(c.Ops) > l.maxOps {
		l.refusals++
		return 0, fmt.Errorf("%d writes: %w", len(c.Ops), domain.ErrTooLarge)
	}
	rev, err := l.Backend.Apply(ctx, c)
	if err == nil && len(c.Ops) > 0 {
		l.applied = append(l.applied, c)
	}
	return rev, err
}

func (l *limited) limit(n int) (applied int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.maxOps = n
	return len(l.applied)
}

func (l *limited) since(n int) []domain.Change {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.applied[n:])
}

// recordsUnder returns the paths of the records under prefix.
func recordsUnder(t *testing.T, b domain.Backend, prefix ...string) []string {
	t.Helper()
	var out []string
	if _, err := b.Load(t.Context(), prefix, func(r domain.Record) error {
		out = append(out, r.Path.String())
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestStagedWriteOnALimitedEngine: on an engine that refuses Changes of
// more than 128 writes, a long list that was written in one Change (in
// the segment's own directory, as bbolt files hold it) is replaced by
// staging the new one and switching to it; the old chunks go, an edit of
// one key is one small Change, and the file reads back the same.
func TestStagedWriteOnALimitedEngine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "switchyard.db")
	bs, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	eng := &limited{Backend: bs}
	s, err := domain.Open(t.Context(), eng, domain.Options{SecretKeys: domaintest.SecretKeys(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	seed(t, s)
	replace := func(keys []string) {
		t.Helper()
		update(t, s, func(tx *domain.Tx) error {
			_, err := tx.EditSegmentKeys("shop", "eu-users", keylist.Include, keylist.Replace, staged(t, keys...), "")
			return err
		})
	}
	replace(userKeys(0, keylist.ChunkThreshold+500))
	own := recordsUnder(t, bs, "projects", "shop", "segment_keys", "eu-users")
	if len(own) < 128 {
		t.Fatalf("one-Change write left %d chunks in the segment's own directory, want one per shard", len(own))
	}

	before := eng.limit(128)
	want := userKeys(100_000, 100_000+keylist.ChunkThreshold+900)
	replace(want)
	if c := eng.since(before); len(c) < 3 || eng.refusals != 1 {
		t.Errorf("staged replace: %d Changes after %d refusals, want the staging record, the chunks and the switch after 1", len(c), eng.refusals)
	}
	if got := recordsUnder(t, bs, "projects", "shop", "segment_keys"); len(got) > 0 {
		t.Errorf("after the switch %d chunks of the old list are left (%s…)", len(got), got[0])
	}
	if got := recordsUnder(t, bs, "staged"); len(got) > 0 {
		t.Errorf("after the switch: staging records %v left", got)
	}

	before = eng.limit(128)
	update(t, s, func(tx *domain.Tx) error {
		_, err := tx.EditSegmentKeys("shop", "eu-users", keylist.Include, keylist.Add, staged(t, "newcomer"), "")
		return err
	})
	edit := eng.since(before)
	if len(edit) != 1 || len(edit[0].Ops) > 8 {
		t.Fatalf("adding one key: %d Changes (first of %d writes), want 1 small", len(edit), len(edit[0].Ops))
	}
	seg, _, _ := project(t, s.State(), "shop").Segment("eu-users")
	want = seg.Include
	s.Close()

	s = domaintest.OnBolt(t, path, domain.Options{})
	got, _, _ := project(t, s.State(), "shop").Segment("eu-users")
	if !slices.Equal(got.Include, want) || !keylist.Contains(got.Include, "newcomer") {
		t.Errorf("reopened: %d keys, newcomer %v; want the %d stored, newcomer among them", len(got.Include), keylist.Contains(got.Include, "newcomer"), len(want))
	}
}
