package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Compact discards the history of the cluster older than its current
// revision minus keep, and returns the revision it compacted at (0 when
// the history is shorter than keep, or another process compacted past it
// already). Watches from a discarded revision fail with
// domain.ErrCompacted: a replica that fell that far behind reloads.
//
// etcd keeps one history for the whole cluster: compaction concerns every
// prefix, not only the store's.
func (s *Store) Compact(ctx context.Context, keep int64) (int64, error) {
	resp, err := s.cli.Get(ctx, s.dir, clientv3.WithCountOnly())
	if err != nil {
		return 0, fmt.Errorf("compact: %w", mapErr(err))
	}
	rev := resp.Header.Revision - keep
	if rev <= 0 {
		return 0, nil
	}
	if _, err := s.cli.Compact(ctx, rev); err != nil {
		if errors.Is(err, rpctypes.ErrCompacted) {
			return 0, nil
		}
		return 0, fmt.Errorf("compact at %d: %w", rev, err)
	}
	return rev, nil
}

// RunCompaction calls Compact(keep) every interval until ctx is done, and
// returns ctx's error. A failed compaction is retried at the next tick.
func (s *Store) RunCompaction(ctx context.Context, every time.Duration, keep int64) error {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			_, _ = s.Compact(ctx, keep)
		}
	}
}
