package domain_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
	"github.com/switchyard/switchyard/internal/store/boltstore"
)

// compactedOnce is an engine whose first Watch, once released, compacts
// every change before the current revision: watching from an older one
// fails with ErrCompacted.
type compactedOnce struct {
	domain.Backend
	once    sync.Once
	release chan struct{}
	floor   uint64
}

func (c *compactedOnce) Watch(ctx context.Context, rev uint64, fn func(domain.Applied) error) error {
	var err error
	c.once.Do(func() {
		<-c.release
		c.floor, err = c.Backend.Apply(ctx, domain.Change{})
	})
	if err != nil {
		return err
	}
	if rev < c.floor {
		return fmt.Errorf("watch from %d: %w", rev, domain.ErrCompacted)
	}
	return c.Backend.Watch(ctx, rev, fn)
}

func (c *compactedOnce) Close() error { return nil }

// TestFollowerReloadsWhenChangesAreCompacted: a replica that cannot replay
// what it missed reloads, and publishes what the other wrote.
func TestFollowerReloadsWhenChangesAreCompacted(t *testing.T) {
	b, err := boltstore.Open(filepath.Join(t.TempDir(), "s.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	opts := domain.Options{SecretKeys: domaintest.SecretKeys(t)}
	lagging := &compactedOnce{Backend: b, release: make(chan struct{})}
	a, err := domain.Open(context.Background(), lagging, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	published := make(chan *domain.Commit, 10)
	a.Subscribe(func(_ *domain.State, c *domain.Commit) { published <- c })
	w, err := domain.Open(context.Background(), &compactedOnce{Backend: b, release: closed()}, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	seed(t, w)
	close(lagging.release)
	select {
	case c := <-published:
		if _, ok := c.State.Project("shop"); !ok {
			t.Errorf("the reloaded State has no project shop")
		}
		if len(c.Revisions) != 2 {
			t.Errorf("the reload's Commit names %v, want both environments of shop", c.Revisions)
		}
	case <-time.After(time.Minute): // a bound for a hang
		t.Fatal("the lagging replica never reloaded")
	}
}

func closed() chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}
