// Package spool keeps the events a relay receives from its SDKs and
// clients on disk until its upstream has them. Append writes a batch to a
// bbolt file (fsync'd before it returns, concurrent appends sharing one
// commit), bounded by bytes and batches: beyond either bound the oldest
// batches are dropped and counted. Forward sends the batches upstream,
// oldest first, merging consecutive batches of one environment and SDK
// into one SendEvents call, and deletes them once the upstream has them;
// while the upstream is unreachable it retries with backoff and jitter,
// and a relay restarted meanwhile resumes from the file.
//
// Delivery is at least once, and the upstream counts each batch once: a
// group of batches is sealed in the file before it is first sent, under a
// batch id made of the file's random id and the group's first sequence
// number, and resent exactly so until the upstream accepts it (the
// upstream stores batch ids and ignores a repeat; see
// SendEventsRequest.batch_id). A batch that came with a batch id of its
// own is sent alone under that id.
package spool

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
	"google.golang.org/protobuf/proto"

	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
)

// Options bounds a Spool. Zero fields take the defaults.
type Options struct {
	// MaxBytes caps the encoded size of the batches kept; default 64 MiB.
	MaxBytes int64
	// MaxBatches caps the batches kept; default 100,000.
	MaxBatches int
	// MaxEventsPerSend caps the events of one upstream call; default
	// 10,000 (the upstream's limit per call).
	MaxEventsPerSend int
	// MaxBytesPerSend caps the encoded size of one upstream call; default
	// 1 MiB.
	MaxBytesPerSend int
}

// The defaults of Options.
const (
	DefaultMaxBytes         = 64 << 20
	DefaultMaxBatches       = 100_000
	DefaultMaxEventsPerSend = 10_000
	DefaultMaxBytesPerSend  = 1 << 20
)

func (o Options) withDefaults() Options {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxBatches <= 0 {
		o.MaxBatches = DefaultMaxBatches
	}
	if o.MaxEventsPerSend <= 0 {
		o.MaxEventsPerSend = DefaultMaxEventsPerSend
	}
	if o.MaxBytesPerSend <= 0 {
		o.MaxBytesPerSend = DefaultMaxBytesPerSend
	}
	return o
}

// The bbolt layout:
//
//	batches/{seq}  → one appended SendEventsRequest, project and environment
//	                 set (seq: 8 bytes, big-endian, from the bucket's sequence)
//	meta/id        → the file's random id, the prefix of its batch ids
//	meta/bytes     → total size of the batches (8 bytes, big-endian)
//	meta/count     → number of batches (8 bytes, big-endian)
//	meta/sealed    → the group being sent: first and last seq (8 bytes each)
const (
	bucketBatches = "batches"
	bucketMeta    = "meta"
	keyID         = "id"
	keyBytes      = "bytes"
	keyCount      = "count"
	keySealed     = "sealed"
)

// ErrClosed means the spool was closed.
var ErrClosed = errors.New("event spool is closed")

// Spool is a relay's event spool, safe for concurrent use.
type Spool struct {
	db   *bolt.DB
	opts Options
	id   string
	kick chan struct{} // wakes Forward; capacity 1

	// Gauges and counters, for Stats and the metrics.
	batches, bytes                 atomic.Int64
	droppedBatches, droppedEvents  atomic.Uint64
	forwardedEvents, refusedEvents atomic.Uint64
	upstreamDown                   atomic.Bool
	closeOnce                      sync.Once
}

// Open opens or creates the spool file at path.
func Open(path string, opts Options) (*Spool, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open event spool %q: %w", path, err)
	}
	s := &Spool{db: db, opts: opts.withDefaults(), kick: make(chan struct{}, 1)}
	err = db.Update(func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists([]byte(bucketBatches)); err != nil {
			return err
		}
		meta, err := tx.CreateBucketIfNotExists([]byte(bucketMeta))
		if err != nil {
			return err
		}
		if id := meta.Get([]byte(keyID)); id != nil {
			s.id = string(id)
		} else {
			var b [8]byte
			rand.Read(b[:])
			s.id = hex.EncodeToString(b[:])
			if err := meta.Put([]byte(keyID), []byte(s.id)); err != nil {
				return err
			}
		}
		s.bytes.Store(int64(getU64(meta, keyBytes)))
		s.batches.Store(int64(getU64(meta, keyCount)))
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open event spool %q: %w", path, err)
	}
	return s, nil
}

// Close closes the file. Batches not forwarded yet stay in it for the
// next Open.
func (s *Spool) Close() error {
	var err error
	s.closeOnce.Do(func() { err = s.db.Close() })
	return err
}

// Append stores req, a batch of events for req's project and environment
// (both must be set), and returns once it is durable. Beyond the bounds the
// oldest batches are dropped, and counted. Append does not modify req.
func (s *Spool) Append(ctx context.Context, req *sdkpb.SendEventsRequest) error {
	if req.GetProject() == "" || req.GetEnvironment() == "" {
		return errors.New("spool events: the batch names no environment")
	}
	data, err := proto.Marshal(req)
	if err != nil {
		return fmt.Errorf("spool events: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("spool events: %w", err)
	}
	// A bbolt batch may run fn more than once (after another fn of the
	// batch failed): the drops are counted from the run that committed.
	var droppedB, droppedE uint64
	err = s.db.Batch(func(tx *bolt.Tx) error {
		droppedB, droppedE = 0, 0
		b, meta := tx.Bucket([]byte(bucketBatches)), tx.Bucket([]byte(bucketMeta))
		b.FillPercent = 1 // keys only ever grow
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		if err := b.Put(u64(seq), data); err != nil {
			return err
		}
		size, count := getU64(meta, keyBytes)+uint64(len(data)), getU64(meta, keyCount)+1
		c := b.Cursor()
		for k, v := c.First(); k != nil && (size > uint64(s.opts.MaxBytes) || count > uint64(s.opts.MaxBatches)); k, v = c.First() {
			droppedB++
			droppedE += uint64(eventsIn(v))
			size -= uint64(len(v))
			count--
			if err := c.Delete(); err != nil {
				return err
			}
		}
		if err := putU64(meta, keyBytes, size); err != nil {
			return err
		}
		if err := putU64(meta, keyCount, count); err != nil {
			return err
		}
		s.bytes.Store(int64(size))
		s.batches.Store(int64(count))
		return nil
	})
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return fmt.Errorf("spool events: %w", ErrClosed)
	}
	if err != nil {
		return fmt.Errorf("spool events: %w", err)
	}
	s.droppedBatches.Add(droppedB)
	s.droppedEvents.Add(droppedE)
	select {
	case s.kick <- struct{}{}:
	default:
	}
	return nil
}

// eventsIn counts the events of an encoded batch (0 if it does not decode).
func eventsIn(data []byte) int {
	var req sdkpb.SendEventsRequest
	if proto.Unmarshal(data, &req) != nil {
		return 0
	}
	return len(req.GetEvents())
}

// Stats is what a Spool holds and did since it was opened.
type Stats struct {
	// Batches and Bytes are what the file holds.
	Batches, Bytes int64
	// DroppedBatches and DroppedEvents were dropped, oldest first, to stay
	// within the bounds.
	DroppedBatches, DroppedEvents uint64
	// ForwardedEvents the upstream took (its own validation may still
	// reject some: it counts those); RefusedEvents were in groups it
	// refused as a whole (an environment deleted, say), which are dropped.
	ForwardedEvents, RefusedEvents uint64
	// UpstreamDown is true while the last send failed and is retried.
	UpstreamDown bool
}

// Stats returns the spool's gauges and counters.
func (s *Spool) Stats() Stats {
	return Stats{
		Batches: s.batches.Load(), Bytes: s.bytes.Load(),
		DroppedBatches: s.droppedBatches.Load(), DroppedEvents: s.droppedEvents.Load(),
		ForwardedEvents: s.forwardedEvents.Load(), RefusedEvents: s.refusedEvents.Load(),
		UpstreamDown: s.upstreamDown.Load(),
	}
}

// group is the batches of one upstream call.
type group struct {
	first, last uint64 // seqs, both included
	req         *sdkpb.SendEventsRequest
	events      int
}

// next returns the sealed group, or seals the next one; nil when the
// spool is empty.
func (s *Spool) next() (*group, error) {
	var g *group
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, meta := tx.Bucket([]byte(bucketBatches)), tx.Bucket([]byte(bucketMeta))
		if sealed := meta.Get([]byte(keySealed)); len(sealed) == 16 {
			first, last := binary.BigEndian.Uint64(sealed[:8]), binary.BigEndian.Uint64(sealed[8:])
			var err error
			if g, err = s.load(b, first, last); err != nil || g != nil {
				return err
			}
			// Every batch of the sealed group was dropped meanwhile.
			if err := meta.Delete([]byte(keySealed)); err != nil {
				return err
			}
		}
		var err error
		if g, err = s.seal(b); err != nil || g == nil {
			return err
		}
		return meta.Put([]byte(keySealed), append(u64(g.first), u64(g.last)...))
	})
	return g, err
}

// load rebuilds the sealed group [first, last] from the batches of it
// still in the file; nil when none is.
func (s *Spool) load(b *bolt.Bucket, first, last uint64) (*group, error) {
	var g *group
	c := b.Cursor()
	for k, v := c.Seek(u64(first)); k != nil && bytes.Compare(k, u64(last)) <= 0; k, v = c.Next() {
		var req sdkpb.SendEventsRequest
		if err := proto.Unmarshal(v, &req); err != nil {
			return nil, fmt.Errorf("spooled batch %d: %w", binary.BigEndian.Uint64(k), err)
		}
		if g == nil {
			g = &group{first: first, last: last, req: &req}
			continue
		}
		g.req.Events = append(g.req.Events, req.Events...)
	}
	if g != nil {
		g.events = len(g.req.Events)
		s.nameGroup(g)
	}
	return g, nil
}

// seal picks the next group: the oldest batch, and the batches after it
// of the same environment and SDK, within the per-send bounds; a batch
// with an id of its own goes alone.
func (s *Spool) seal(b *bolt.Bucket) (*group, error) {
	var g *group
	size := 0
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		var req sdkpb.SendEventsRequest
		if err := proto.Unmarshal(v, &req); err != nil {
			return nil, fmt.Errorf("spooled batch %d: %w", binary.BigEndian.Uint64(k), err)
		}
		seq := binary.BigEndian.Uint64(k)
		if g == nil {
			g = &group{first: seq, last: seq, req: &req}
			size = len(v)
			if req.GetBatchId() != "" {
				break
			}
			continue
		}
		if req.GetBatchId() != "" || req.GetProject() != g.req.GetProject() || req.GetEnvironment() != g.req.GetEnvironment() ||
			req.GetSdkName() != g.req.GetSdkName() || req.GetSdkVersion() != g.req.GetSdkVersion() ||
			len(g.req.Events)+len(req.Events) > s.opts.MaxEventsPerSend || size+len(v) > s.opts.MaxBytesPerSend {
			break
		}
		g.req.Events = append(g.req.Events, req.Events...)
		g.last, size = seq, size+len(v)
	}
	if g != nil {
		g.events = len(g.req.Events)
		s.nameGroup(g)
	}
	return g, nil
}

// nameGroup sets the group's batch id, unless its batch came with one.
func (s *Spool) nameGroup(g *group) {
	if g.req.GetBatchId() == "" || g.first != g.last {
		g.req.BatchId = fmt.Sprintf("relay:%s:%d", s.id, g.first)
	}
}

// done deletes the group's batches and its seal.
func (s *Spool) done(g *group) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b, meta := tx.Bucket([]byte(bucketBatches)), tx.Bucket([]byte(bucketMeta))
		size, count := getU64(meta, keyBytes), getU64(meta, keyCount)
		c := b.Cursor()
		for k, v := c.Seek(u64(g.first)); k != nil && bytes.Compare(k, u64(g.last)) <= 0; k, v = c.Seek(u64(g.first)) {
			size -= uint64(len(v))
			count--
			if err := c.Delete(); err != nil {
				return err
			}
		}
		if err := meta.Delete([]byte(keySealed)); err != nil {
			return err
		}
		if err := putU64(meta, keyBytes, size); err != nil {
			return err
		}
		if err := putU64(meta, keyCount, count); err != nil {
			return err
		}
		s.bytes.Store(int64(size))
		s.batches.Store(int64(count))
		return nil
	})
}

func u64(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

func getU64(b *bolt.Bucket, key string) uint64 {
	v := b.Get([]byte(key))
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

func putU64(b *bolt.Bucket, key string, n uint64) error { return b.Put([]byte(key), u64(n)) }
