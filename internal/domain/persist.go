package domain

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Persistence is what the domain asks of a storage engine: an ordered
// key/value space of records, written by atomic change sets with
// preconditions, and watched for the change sets other processes write.
// The domain encodes every record (keys and JSON values); an engine knows
// nothing of flags, releases or audit events. The embedded engine is bbolt
// (internal/store/boltstore); the replicated one is etcd
// (internal/store/etcdstore). Both pass the contract suite in
// internal/store/storetest.

// ErrCondition means a Change's preconditions did not hold: something the
// change was computed from was written since. Nothing was written.
var ErrCondition = errors.New("precondition failed")

// A Path names a record: its elements, outermost first, at least two. Elements are
// non-empty and made of printable ASCII other than '/'; a collection whose
// order matters (the audit log, a segment's key chunks) uses fixed-width
// lowercase hexadecimal elements, so byte order is numeric order. No
// record's path is a prefix of another record's path (bbolt keeps the
// elements above a record as buckets, and a key cannot be both).
type Path []string

// String joins the elements with '/'.
func (p Path) String() string { return strings.Join(p, "/") }

// Child returns p with one more element.
func (p Path) Child(elem string) Path { return append(p[:len(p):len(p)], elem) }

// Op is one write of a Change.
type Op struct {
	Path Path
	// Value is the record's new value; nil deletes the record at Path.
	Value []byte
	// Tree deletes every record under Path (and at Path); Value must be nil.
	Tree bool
}

// Cond is a precondition of a Change: the record at Path holds Value
// exactly, or, with a nil Value, there is no record at Path.
type Cond struct {
	Path  Path
	Value []byte
}

// Change is a set of writes applied atomically, all or none, and only if
// every precondition holds.
type Change struct {
	Conds []Cond
	Ops   []Op
}

// Record is one stored record.
type Record struct {
	Path  Path
	Value []byte
}

// Applied is a Change as written, with the engine revision it produced.
// Revisions grow strictly with every applied Change.
type Applied struct {
	Revision uint64
	Ops      []Op
}

// Backend is a storage engine. Its methods are safe for concurrent use.
type Backend interface {
	// Load calls fn for every record under prefix (all depths; an empty
	// prefix is everything), in path order, from one consistent snapshot,
	// and returns that snapshot's revision. It stops at fn's first error
	// and returns it.
	Load(ctx context.Context, prefix Path, fn func(Record) error) (revision uint64, err error)
	// Get returns the value at path, or nil if there is none.
	Get(ctx context.Context, path Path) ([]byte, error)
	// GetMany returns the values at paths, in their order (nil where there
	// is none), from one consistent snapshot, in a few round trips however
	// many paths there are (on etcd, one transaction per --max-txn-ops
	// paths, sent together): reads of many records by key.
	GetMany(ctx context.Context, paths []Path) ([][]byte, error)
	// Range calls fn for the records directly under prefix (not deeper),
	// in byte order of their last element, starting at the first whose
	// last element is >= from ("" is the first), for at most limit records
	// (limit <= 0: all). With reverse, it walks down from the last element
	// <= from ("" is the last). It stops at fn's first error and returns
	// it.
	Range(ctx context.Context, prefix Path, from string, limit int, reverse bool, fn func(Record) error) error
	// Apply writes c atomically if every precondition holds and returns the
	// new revision; otherwise it writes nothing and returns an error
	// matching ErrCondition. A Change with no Ops writes nothing and
	// returns the current revision. A Change larger than the engine takes
	// at once fails with an error matching ErrTooLarge, before anything is
	// written.
	Apply(ctx context.Context, c Change) (revision uint64, err error)
	// Watch calls fn, in order, for every Change applied after revision
	// (by any process, this one included) until ctx is done or fn returns
	// an error; it returns ctx's error or fn's. If the changes after
	// revision are no longer kept (compacted), it returns an error
	// matching ErrCompacted: the caller reloads with Load.
	Watch(ctx context.Context, revision uint64, fn func(Applied) error) error
	// Close releases the engine. Calls after Close fail.
	Close() error
}

// ErrTooLarge means a Change does not fit what the engine takes in one
// atomic write (etcd: --max-txn-ops, --max-request-bytes); nothing was
// written. Update then stages the long key lists of the segments it writes
// in Changes of their own and switches to them with a small Change
// (segment_chunks.go); a Change still too large without them is refused:
// ErrTooLarge matches ErrInvalid (the API answers 400, not 500).
var ErrTooLarge = fmt.Errorf("change too large for the storage engine: %w", ErrInvalid)

// ErrCompacted means Watch cannot replay the changes asked for: the engine
// no longer keeps them.
var ErrCompacted = errors.New("revision compacted")
