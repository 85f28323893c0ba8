// Package boltstore is the embedded storage engine of the domain: it
// implements domain.Backend on one bbolt file.
//
// A record's Path maps to nested buckets: every element but the last names
// a bucket, the last a key in the innermost one, so projects/shop/flags/x is
// key x of bucket flags of bucket shop of the top-level bucket projects. No
// record's path may be a prefix of another's (a bucket and a key of one
// name cannot live side by side). The engine revision is the sequence of
// the top-level bucket meta, bumped by every applied Change.
//
// bbolt is single-process (the file is locked), so Watch delivers the
// Changes this process applied: from the revision the file had when it was
// opened, as long as they are kept in memory (the last MaxKept, at most
// MaxKeptBytes of values), and from its registration on, every one.
package boltstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/switchyard/switchyard/internal/domain"
)

// DefaultLockTimeout is how long Open waits for another process to release
// the file.
const DefaultLockTimeout = 2 * time.Second

// How many applied Changes Store keeps for Watch to replay: a watcher
// starting from an older revision gets ErrCompacted (the domain then
// reloads). Small, because a Change may carry megabytes of segment keys.
const (
	MaxKept      = 1024
	MaxKeptBytes = 4 << 20
)

// bucketMeta holds the revision as its sequence.
const bucketMeta = "meta"

// Options configures Open. The zero value is ready to use.
type Options struct {
	// LockTimeout bounds the wait for the file's lock; zero means
	// DefaultLockTimeout.
	LockTimeout time.Duration
}

// Store is a domain.Backend on a bbolt file. Its methods are safe for
// concurrent use.
type Store struct {
	db *bolt.DB

	mu       sync.Mutex // held by Apply from the write to the fan-out, so watchers see commit order
	rev      uint64     // the last revision applied; guarded by mu
	first    uint64     // the revision at Open
	kept     []domain.Applied
	keptSize int
	watchers map[*watcher]struct{}
	closed   chan struct{}
}

var _ domain.Backend = (*Store)(nil)

// Open opens (creating it if needed) the bbolt file at path, and migrates
// a file of an older schema in one transaction (see migrate.go). If another
// process holds the file, Open fails after Options.LockTimeout with an
// error matching domain.ErrLocked.
func Open(path string, opts Options) (*Store, error) {
	timeout := opts.LockTimeout
	if timeout <= 0 {
		timeout = DefaultLockTimeout
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:        timeout,
		FreelistType:   bolt.FreelistMapType,
		NoFreelistSync: true,
	})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open store %q: %w", path, domain.ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open store %q: %w", path, err)
	}
	s := &Store{db: db, watchers: map[*watcher]struct{}{}, closed: make(chan struct{})}
	err = db.Update(func(tx *bolt.Tx) error {
		if err := migrate(tx); err != nil {
			return err
		}
		s.rev = revision(tx)
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %q: %w", path, err)
	}
	s.first = s.rev
	return s, nil
}

// DB returns the bbolt database, for the event log that shares the file.
// Writes to it bypass the Backend: they are neither revisioned nor watched.
func (s *Store) DB() *bolt.DB { return s.db }

// Close closes the file; watchers return domain.ErrClosed. Closing twice
// is not an error.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.closed:
		return nil
	default:
	}
	close(s.closed)
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

func revision(tx *bolt.Tx) uint64 {
	if b := tx.Bucket([]byte(bucketMeta)); b != nil {
		return b.Sequence()
	}
	return 0
}

// bucket returns the bucket at path, or nil.
func bucket(tx *bolt.Tx, path domain.Path) *bolt.Bucket {
	if len(path) == 0 {
		return nil
	}
	b := tx.Bucket([]byte(path[0]))
	for _, e := range path[1:] {
		if b == nil {
			return nil
		}
		b = b.Bucket([]byte(e))
	}
	return b
}

// get returns the record at path, or nil (also when path names a bucket).
func get(tx *bolt.Tx, path domain.Path) []byte {
	if len(path) < 2 {
		return nil
	}
	b := bucket(tx, path[:len(path)-1])
	if b == nil {
		return nil
	}
	return b.Get([]byte(path[len(path)-1]))
}

func (s *Store) view(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := s.db.View(fn)
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return fmt.Errorf("store %w", domain.ErrClosed)
	}
	return err
}

// Load calls fn for every record under prefix, walking the buckets in key
// order, depth first, in one read transaction.
func (s *Store) Load(ctx context.Context, prefix domain.Path, fn func(domain.Record) error) (uint64, error) {
	var rev uint64
	err := s.view(ctx, func(tx *bolt.Tx) error {
		rev = revision(tx)
		if len(prefix) == 0 {
			return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
				return walk(b, domain.Path{string(name)}, fn)
			})
		}
		if b := bucket(tx, prefix); b != nil {
			return walk(b, prefix, fn)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return rev, nil
}

func walk(b *bolt.Bucket, path domain.Path, fn func(domain.Record) error) error {
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if v == nil {
			if err := walk(b.Bucket(k), path.Child(string(k)), fn); err != nil {
				return err
			}
			continue
		}
		if err := fn(domain.Record{Path: path.Child(string(k)), Value: bytes.Clone(v)}); err != nil {
			return err
		}
	}
	return nil
}

// Get returns the value at path, or nil.
func (s *Store) Get(ctx context.Context, path domain.Path) ([]byte, error) {
	var v []byte
	err := s.view(ctx, func(tx *bolt.Tx) error {
		v = bytes.Clone(get(tx, path))
		return nil
	})
	return v, err
}

// GetMany reads the records at paths in one read transaction.
func (s *Store) GetMany(ctx context.Context, paths []domain.Path) ([][]byte, error) {
	out := make([][]byte, len(paths))
	err := s.view(ctx, func(tx *bolt.Tx) error {
		for i, p := range paths {
			out[i] = bytes.Clone(get(tx, p))
		}
		return nil
	})
	return out, err
}

// Range walks the records of the bucket at prefix (sub-buckets skipped).
func (s *Store) Range(ctx context.Context, prefix domain.Path, from string, limit int, reverse bool, fn func(domain.Record) error) error {
	return s.view(ctx, func(tx *bolt.Tx) error {
		b := bucket(tx, prefix)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		var k, v []byte
		step := c.Next
		switch {
		case !reverse && from == "":
			k, v = c.First()
		case !reverse:
			k, v = c.Seek([]byte(from))
		case from == "":
			k, v = c.Last()
			step = c.Prev
		default:
			step = c.Prev
			if k, v = c.Seek([]byte(from)); k == nil {
				k, v = c.Last()
			} else if string(k) > from {
				k, v = c.Prev()
			}
		}
		for n := 0; k != nil && (limit <= 0 || n < limit); k, v = step() {
			if v == nil {
				continue
			}
			n++
			if err := fn(domain.Record{Path: prefix.Child(string(k)), Value: bytes.Clone(v)}); err != nil {
				return err
			}
		}
		return nil
	})
}

// Apply writes c in one bbolt transaction, which first compares the
// preconditions, and hands it to the watchers. The watchers get c's Ops
// as given: the caller must not change them afterwards.
func (s *Store) Apply(ctx context.Context, c domain.Change) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(c.Ops) == 0 {
		return s.rev, nil
	}
	var rev uint64
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, cond := range c.Conds {
			v := get(tx, cond.Path)
			if (v == nil) != (cond.Value == nil) || !bytes.Equal(v, cond.Value) {
				return fmt.Errorf("%s: %w", cond.Path, domain.ErrCondition)
			}
		}
		for _, op := range c.Ops {
			if err := write(tx, op); err != nil {
				return fmt.Errorf("write %s: %w", op.Path, err)
			}
		}
		meta, err := tx.CreateBucketIfNotExists([]byte(bucketMeta))
		if err != nil {
			return err
		}
		rev = meta.Sequence() + 1
		return meta.SetSequence(rev)
	})
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return 0, fmt.Errorf("apply: store %w", domain.ErrClosed)
	}
	if err != nil {
		return 0, fmt.Errorf("apply: %w", err)
	}
	s.rev = rev
	s.publish(domain.Applied{Revision: rev, Ops: c.Ops})
	return rev, nil
}

// write applies one Op inside tx.
func write(tx *bolt.Tx, op domain.Op) error {
	if len(op.Path) == 0 {
		return errors.New("empty path")
	}
	parent, last := op.Path[:len(op.Path)-1], []byte(op.Path[len(op.Path)-1])
	if op.Value == nil {
		var b *bolt.Bucket
		if len(parent) == 0 {
			if op.Tree {
				if err := tx.DeleteBucket(last); err != nil && !errors.Is(err, bolterrors.ErrBucketNotFound) {
					return err
				}
			}
			return nil
		}
		if b = bucket(tx, parent); b == nil {
			return nil
		}
		if b.Bucket(last) != nil {
			if !op.Tree {
				return nil // no record there, only deeper ones
			}
			return b.DeleteBucket(last)
		}
		return b.Delete(last)
	}
	if op.Tree {
		return errors.New("a tree delete with a value")
	}
	if len(parent) == 0 {
		return errors.New("a record needs a bucket: its path has one element")
	}
	b, err := tx.CreateBucketIfNotExists([]byte(parent[0]))
	if err != nil {
		return err
	}
	for _, e := range parent[1:] {
		if b, err = b.CreateBucketIfNotExists([]byte(e)); err != nil {
			return err
		}
	}
	return b.Put(last, op.Value)
}

// publish keeps a and hands it to every watcher; s.mu is held.
func (s *Store) publish(a domain.Applied) {
	s.kept = append(s.kept, a)
	s.keptSize += size(a)
	if len(s.kept) == 1 {
		s.kept = slices.Clip(s.kept) // drop the array of the ones evicted
	}
	for len(s.kept) > MaxKept || s.keptSize > MaxKeptBytes {
		s.keptSize -= size(s.kept[0])
		s.kept[0] = domain.Applied{}
		s.kept = s.kept[1:]
	}
	for w := range s.watchers {
		w.push(a)
	}
}

func size(a domain.Applied) int {
	n := 0
	for _, op := range a.Ops {
		n += len(op.Value)
	}
	return n
}

// watcher is one Watch call's queue.
type watcher struct {
	mu     sync.Mutex
	queue  []domain.Applied
	notify chan struct{}
}

func (w *watcher) push(as ...domain.Applied) {
	w.mu.Lock()
	w.queue = append(w.queue, as...)
	w.mu.Unlock()
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

func (w *watcher) pop() (domain.Applied, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.queue) == 0 {
		return domain.Applied{}, false
	}
	a := w.queue[0]
	w.queue[0] = domain.Applied{}
	w.queue = w.queue[1:]
	return a, true
}

// Watch delivers, in order, the Changes this process applied after
// revision. A revision older than the file's at Open, or older than the
// Changes still kept, gives an error matching domain.ErrCompacted.
func (s *Store) Watch(ctx context.Context, revision uint64, fn func(domain.Applied) error) error {
	w := &watcher{notify: make(chan struct{}, 1)}
	s.mu.Lock()
	select {
	case <-s.closed:
		s.mu.Unlock()
		return fmt.Errorf("watch: store %w", domain.ErrClosed)
	default:
	}
	oldest := s.rev + 1 // the first revision kept
	if len(s.kept) > 0 {
		oldest = s.kept[0].Revision
	}
	if revision < s.first || revision+1 < oldest {
		s.mu.Unlock()
		return fmt.Errorf("watch from revision %d: %w", revision, domain.ErrCompacted)
	}
	for _, a := range s.kept {
		if a.Revision > revision {
			w.queue = append(w.queue, a)
		}
	}
	s.watchers[w] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.watchers, w)
		s.mu.Unlock()
	}()
	for {
		if a, ok := w.pop(); ok {
			if err := fn(a); err != nil {
				return err
			}
			continue
		}
		select {
		case <-w.notify:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.closed:
			return fmt.Errorf("watch: store %w", domain.ErrClosed)
		}
	}
}
