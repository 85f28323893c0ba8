package domain

import (
	"context"
	"errors"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Side buckets hold records a package keeps beside the resources in the
// same file — the experiment state, the event log (eventlog/boltlog) —
// under a top-level bucket of its own. They are written apart from
// Update: never validated,
// audited or revisioned, and never part of a State. The package owns the
// layout under its bucket; the store only opens transactions on it.

// reservedBuckets are the store's own top-level buckets.
var reservedBuckets = []string{bucketMeta, bucketProjects, bucketKeys, bucketKeyHash, bucketAudit}

// UpdateSide runs fn in one read-write bbolt transaction on the top-level
// bucket name, created on first use, and commits what fn wrote once it
// returns nil; if fn fails, nothing is written and its error is returned.
// It waits for other bbolt writers (Update, the event log). fn must not
// keep b, or anything read from it, after it returns.
func (s *Store) UpdateSide(ctx context.Context, name string, fn func(b *bolt.Bucket) error) error {
	if err := checkSide(ctx, name); err != nil {
		return err
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte(name))
		if err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
		return fn(b)
	})
	return sideError("write", name, err)
}

// ViewSide runs fn in a read-only bbolt transaction on the top-level
// bucket name; b is nil when nothing was ever written there. fn must not
// keep b, or anything read from it, after it returns.
func (s *Store) ViewSide(ctx context.Context, name string, fn func(b *bolt.Bucket) error) error {
	if err := checkSide(ctx, name); err != nil {
		return err
	}
	err := s.db.View(func(tx *bolt.Tx) error { return fn(tx.Bucket([]byte(name))) })
	return sideError("read", name, err)
}

func checkSide(ctx context.Context, name string) error {
	if name == "" || slices.Contains(reservedBuckets, name) {
		return fmt.Errorf("side bucket %q: %w: the name is the store's own", name, ErrInvalid)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("side bucket %s: %w", name, err)
	}
	return nil
}

func sideError(verb, name string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, bolterrors.ErrDatabaseNotOpen):
		return fmt.Errorf("%s %s: store %w", verb, name, ErrClosed)
	}
	return fmt.Errorf("%s %s: %w", verb, name, err)
}
