// Package boltlog keeps the event log in a bbolt file — the store's own
// when the store is on bbolt (internal/store/boltstore), else a local
// file — under a top-level bucket of its own, "events".
package boltlog

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/switchyard/switchyard/internal/eventlog"
)

// A Log coalesces concurrent writes into few bbolt transactions (group
// commit) and reads them back.
//
// The bbolt layout, under the top-level side bucket "events":
//
//	events/meta/bytes              → total size of the stored batches (8 bytes, big-endian)
//	events/batches/{seq}           → one accepted batch, encoded by eventlog.AppendBatch
//	                                 (seq: 8 bytes, big-endian, from the bucket's sequence)
//	events/usage/{project}\x00{environment}/
//	    hours/{hour}{flag}\x00{variant} → counter: exposures in that hour
//	                                 (hour: hours since the Unix epoch, 4 bytes, big-endian)
//	    totals/{flag}\x00{variant}      → counter: exposures ever
//	    eval-hours/{hour}{flag}\x00{variant} → counter: the server's own evaluations in that hour
//	    eval-totals/{flag}\x00{variant}      → counter: the server's own evaluations ever
//	    rejected/{code}                 → counter: events refused with that code
//	events/ids/{project}\x00{environment}\x00{id} → seq of the batch written under that ID (8 bytes)
//	                                 and when (Unix milliseconds, 8 bytes), both big-endian
//	events/id-times/{ms}{project}\x00{environment}\x00{id} → nothing: the ids in time order, for pruning
//
// A counter is 16 bytes: the count and the last time seen (Unix
// milliseconds), both 8 bytes, big-endian. Hours are sorted first, so a
// time range is one cursor walk and pruning deletes from the front. Batches
// older than Options.BatchRetention, or beyond
// Options.BatchMaxBytes (oldest first), and hours older than
// Options.UsageRetention are deleted as writes go on.
const (
	bucketEvents      = "events"
	bucketEventMeta   = "meta"
	bucketBatches     = "batches"
	bucketUsage       = "usage"
	bucketUsageHours  = "hours"
	bucketUsageTotals = "totals"
	bucketRejected    = "rejected"
	bucketEvalHours   = "eval-hours"
	bucketEvalTotals  = "eval-totals"
	bucketBatchIDs    = "ids"
	bucketIDTimes     = "id-times"

	keyBatchBytes = "bytes"
)

// pruneInterval is how often a commit also deletes expired records, and
// pruneLimit how many keys of each kind one commit deletes at most.
const (
	pruneInterval = time.Minute
	pruneLimit    = 10_000
)

// File is what the log is kept in: a bbolt file the caller opened (the
// store's engine, boltstore, is one).
type File interface {
	DB() *bolt.DB
}

// sides opens transactions on a top-level bucket of a bbolt file. fn must
// not keep the bucket, or anything read from it, after it returns.
type sides struct{ db *bolt.DB }

// UpdateSide runs fn in one read-write transaction on the bucket name,
// created on first use, and commits once fn returns nil.
func (s sides) UpdateSide(_ context.Context, name string, fn func(b *bolt.Bucket) error) error {
	return fileError(s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte(name))
		if err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
		return fn(b)
	}))
}

// ViewSide runs fn in a read-only transaction on the bucket name; b is
// nil when nothing was ever written there.
func (s sides) ViewSide(_ context.Context, name string, fn func(b *bolt.Bucket) error) error {
	return fileError(s.db.View(func(tx *bolt.Tx) error { return fn(tx.Bucket([]byte(name))) }))
}

// fileError is err, matching eventlog.ErrClosed once the file is closed.
func fileError(err error) error {
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return fmt.Errorf("event log: %w", eventlog.ErrClosed)
	}
	return err
}

// Log is an eventlog.Log in a bbolt file. Concurrent Appends queue up
// (bounded by MaxQueued) and the one goroutine running Run
// writes everything queued in one bbolt transaction, then the next, so the
// cost of a durable commit is shared by every caller waiting on it.
type Log struct {
	store sides
	opts  eventlog.Options
	kick  chan struct{} // wakes Run; capacity 1

	mu      sync.Mutex
	queue   []*eventWrite
	queued  int  // events in queue
	stopped bool // Run has returned or is draining

	nextPrune time.Time // owned by Run
	commits   atomic.Uint64
}

// eventWrite is one queued Write or AddEvaluations.
type eventWrite struct {
	batch    *eventlog.Batch
	evals    []eventlog.EvaluationCount
	raw      []byte // the encoded batch; nil without events
	usage    []byte // name of the environment's usage bucket
	rejected map[string]int
	seen     time.Time // when rejections were counted
	id       []byte    // the batch ID scoped to its environment; nil without one
	seq      uint64
	// duplicate: the batch's ID was written before; nothing is written
	// and seq is the earlier batch's.
	duplicate bool
	original  *eventWrite // the write of the same commit this one repeats
	err       error
	done      chan struct{}
}

var _ eventlog.Log = (*Log)(nil)

// New returns a Log in the file f. Nothing is written until Run is running. Use
// one Log per bbolt file.
func New(f File, opts eventlog.Options) *Log {
	return &Log{store: sides{f.DB()}, opts: opts.WithDefaults(), kick: make(chan struct{}, 1)}
}

// Append stores a raw record of the batch and the exposure counters, and
// counts the events rejected, as eventlog.Log says; ErrOverloaded comes at
// once when MaxQueued events are waiting.
func (l *Log) Append(ctx context.Context, b *eventlog.Batch, rejected map[string]int) error {
	if len(b.Events) == 0 && len(rejected) == 0 {
		return nil
	}
	w := &eventWrite{
		batch:    b,
		usage:    usageBucketName(b.Project, b.Environment),
		rejected: rejected,
		seen:     b.Received,
		done:     make(chan struct{}),
	}
	if len(b.Events) > 0 {
		w.raw = eventlog.AppendBatch(make([]byte, 0, 64+48*len(b.Events)), b)
	}
	if b.ID != "" {
		w.id = append(append(usageBucketName(b.Project, b.Environment), 0), b.ID...)
	}
	if err := l.enqueue(ctx, w); err != nil {
		return err
	}
	b.Seq, b.Duplicate = w.seq, w.duplicate
	return nil
}

// AddEvaluations adds the counts to the hourly and total evaluation
// counters, beside the exposures.
func (l *Log) AddEvaluations(ctx context.Context, at time.Time, counts []eventlog.EvaluationCount) error {
	if len(counts) == 0 {
		return nil
	}
	return l.enqueue(ctx, &eventWrite{batch: &eventlog.Batch{}, evals: counts, seen: at, done: make(chan struct{})})
}

// enqueue queues w for Run and waits until it is written.
func (l *Log) enqueue(ctx context.Context, w *eventWrite) error {
	b := w.batch
	l.mu.Lock()
	switch {
	case l.stopped:
		l.mu.Unlock()
		return fmt.Errorf("write events: %w", eventlog.ErrClosed)
	case l.queued > 0 && l.queued+len(b.Events) > l.opts.MaxQueued:
		l.mu.Unlock()
		return fmt.Errorf("write events: %w (%d events waiting)", eventlog.ErrOverloaded, l.queued)
	}
	l.queue = append(l.queue, w)
	l.queued += len(b.Events)
	l.mu.Unlock()
	select {
	case l.kick <- struct{}{}:
	default:
	}
	select {
	case <-w.done:
		return w.err
	case <-ctx.Done():
		return fmt.Errorf("write events: %w", ctx.Err())
	}
}

// Run writes queued batches until ctx is done; then it refuses new ones,
// writes those already queued and returns. It returns nil; a failed commit
// is reported to the Writes it concerned.
func (l *Log) Run(ctx context.Context) error {
	for {
		select {
		case <-l.kick:
			l.drain()
		case <-ctx.Done():
			l.mu.Lock()
			l.stopped = true
			l.mu.Unlock()
			l.drain()
			return nil
		}
	}
}

// drain commits until the queue is empty.
func (l *Log) drain() {
	for {
		writes := l.take()
		if len(writes) == 0 {
			return
		}
		err := l.commit(writes)
		for _, w := range writes {
			w.err = err
			close(w.done)
		}
	}
}

// take removes up to MaxPerCommit events' worth of writes (at least one)
// from the queue.
func (l *Log) take() []*eventWrite {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, events := 0, 0
	for n < len(l.queue) && (n == 0 || events+len(l.queue[n].batch.Events) <= l.opts.MaxPerCommit) {
		events += len(l.queue[n].batch.Events)
		n++
	}
	writes := slices.Clone(l.queue[:n])
	l.queue = slices.Delete(l.queue, 0, n)
	if len(l.queue) == 0 {
		l.queue = nil // let a large backing array go
	}
	l.queued -= events
	return writes
}

// counterKey names one counter of one environment's usage bucket.
type counterKey struct {
	usage  string // the usage bucket's name
	bucket string // bucketUsageHours, bucketUsageTotals or bucketRejected
	key    string
}

// counter is a count and the last time seen, in Unix milliseconds.
type counter struct {
	count uint64
	last  int64
}

func (c *counter) add(n uint64, last int64) {
	c.count += n
	c.last = max(c.last, last)
}

func (c counter) bytes() []byte {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], c.count)
	binary.BigEndian.PutUint64(b[8:], uint64(c.last))
	return b[:]
}

func decodeCounter(v []byte) counter {
	if len(v) != 16 {
		return counter{}
	}
	return counter{count: binary.BigEndian.Uint64(v[:8]), last: int64(binary.BigEndian.Uint64(v[8:]))}
}

// countersOf adds up the usage counters of writes, leaving out the
// duplicates.
func countersOf(writes []*eventWrite) map[counterKey]*counter {
	counters := map[counterKey]*counter{}
	bump := func(k counterKey, n uint64, last int64) {
		c := counters[k]
		if c == nil {
			c = &counter{}
			counters[k] = c
		}
		c.add(n, last)
	}
	var key []byte
	for _, w := range writes {
		if w.duplicate {
			continue
		}
		usage := string(w.usage)
		for i := range w.batch.Events {
			e := &w.batch.Events[i]
			if e.Kind != eventlog.Exposure {
				continue
			}
			ms := e.Time.UnixMilli()
			key = append(binary.BigEndian.AppendUint32(key[:0], eventlog.HourOf(e.Time)), e.Flag...)
			key = append(append(key, 0), e.Variant...)
			bump(counterKey{usage, bucketUsageHours, string(key)}, 1, ms)
			bump(counterKey{usage, bucketUsageTotals, string(key[4:])}, 1, ms)
		}
		for code, n := range w.rejected {
			bump(counterKey{usage, bucketRejected, code}, uint64(n), w.seen.UnixMilli())
		}
		for _, e := range w.evals {
			name := string(usageBucketName(e.Project, e.Environment))
			key = append(binary.BigEndian.AppendUint32(key[:0], eventlog.HourOf(w.seen)), e.Flag...)
			key = append(append(key, 0), e.Variant...)
			bump(counterKey{name, bucketEvalHours, string(key)}, e.Count, w.seen.UnixMilli())
			bump(counterKey{name, bucketEvalTotals, string(key[4:])}, e.Count, w.seen.UnixMilli())
		}
	}
	return counters
}

// commit writes writes in one transaction.
func (l *Log) commit(writes []*eventWrite) error {
	now := l.opts.Now()
	err := l.store.UpdateSide(context.Background(), bucketEvents, func(root *bolt.Bucket) error {
		err := unsafeEventBuckets(root)
		if err != nil {
			return err
		}
		meta, batches := root.Bucket([]byte(bucketEventMeta)), root.Bucket([]byte(bucketBatches))
		batches.FillPercent = 1 // keys only ever grow: pack pages full
		size := int64(fromU64(meta.Get([]byte(keyBatchBytes))))
		fresh := unsafeMarkDuplicates(root, writes)
		for _, w := range writes {
			if w.raw == nil || w.duplicate {
				continue
			}
			if w.seq, err = batches.NextSequence(); err != nil {
				return fmt.Errorf("batch sequence: %w", err)
			}
			if err := batches.Put(u64(w.seq), w.raw); err != nil {
				return fmt.Errorf("write event batch: %w", err)
			}
			size += int64(len(w.raw))
		}
		if err := unsafeRecordIDs(root, writes, fresh, now); err != nil {
			return err
		}
		if err := unsafeAddCounters(root.Bucket([]byte(bucketUsage)), countersOf(writes)); err != nil {
			return err
		}
		if size > l.opts.BatchMaxBytes || !now.Before(l.nextPrune) {
			var done bool
			if size, done, err = l.unsafePrune(root, size, now); err != nil {
				return err
			}
			if done {
				l.nextPrune = now.Add(pruneInterval)
			}
		}
		return meta.Put([]byte(keyBatchBytes), u64(uint64(size)))
	})
	if err != nil {
		return fmt.Errorf("write events: %w", err)
	}
	l.commits.Add(1)
	return nil
}

// unsafeMarkDuplicates marks the writes whose batch ID is stored, or is
// another write's of the same commit (the first one wins), and returns
// the writes whose ID is new.
func unsafeMarkDuplicates(root *bolt.Bucket, writes []*eventWrite) []*eventWrite {
	var fresh []*eventWrite
	var first map[string]*eventWrite
	stored := root.Bucket([]byte(bucketBatchIDs))
	for _, w := range writes {
		if w.id == nil {
			continue
		}
		if stored != nil {
			if v := stored.Get(w.id); len(v) == 16 {
				w.duplicate, w.seq = true, fromU64(v[:8])
				continue
			}
		}
		if prev := first[string(w.id)]; prev != nil {
			w.duplicate, w.original = true, prev
			continue
		}
		if first == nil {
			first = map[string]*eventWrite{}
		}
		first[string(w.id)] = w
		fresh = append(fresh, w)
	}
	return fresh
}

// unsafeRecordIDs stores the IDs of fresh, the writes with a new ID, with
// their batch's seq, at now; and gives the duplicates within the commit
// the seq of the write they repeat.
func unsafeRecordIDs(root *bolt.Bucket, writes, fresh []*eventWrite, now time.Time) error {
	for _, w := range writes {
		if w.original != nil {
			w.seq = w.original.seq
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	ids, err := root.CreateBucketIfNotExists([]byte(bucketBatchIDs))
	if err != nil {
		return fmt.Errorf("create bucket %s/%s: %w", bucketEvents, bucketBatchIDs, err)
	}
	times, err := root.CreateBucketIfNotExists([]byte(bucketIDTimes))
	if err != nil {
		return fmt.Errorf("create bucket %s/%s: %w", bucketEvents, bucketIDTimes, err)
	}
	times.FillPercent = 1 // keys grow with time
	ms := u64(uint64(now.UnixMilli()))
	for _, w := range fresh {
		if err := ids.Put(w.id, append(u64(w.seq), ms...)); err != nil {
			return fmt.Errorf("write batch id: %w", err)
		}
		if err := times.Put(append(slices.Clone(ms), w.id...), nil); err != nil {
			return fmt.Errorf("write batch id: %w", err)
		}
	}
	return nil
}

// unsafePruneIDs deletes the batch IDs recorded before cutoff, at most
// pruneLimit of them, and reports whether none is left to delete.
func unsafePruneIDs(root *bolt.Bucket, cutoff time.Time) (bool, error) {
	ids, times := root.Bucket([]byte(bucketBatchIDs)), root.Bucket([]byte(bucketIDTimes))
	if ids == nil || times == nil {
		return true, nil
	}
	limit := u64(uint64(cutoff.UnixMilli()))
	var dead [][]byte
	c := times.Cursor()
	for k, _ := c.First(); k != nil && bytes.Compare(k[:8], limit) < 0; k, _ = c.Next() {
		if len(dead) == pruneLimit {
			break
		}
		dead = append(dead, bytes.Clone(k))
	}
	for _, k := range dead {
		if err := times.Delete(k); err != nil {
			return false, fmt.Errorf("prune batch id: %w", err)
		}
		if err := ids.Delete(k[8:]); err != nil {
			return false, fmt.Errorf("prune batch id: %w", err)
		}
	}
	return len(dead) < pruneLimit, nil
}

// Commits returns the number of transactions the EventLog has committed.
func (l *Log) Commits() uint64 { return l.commits.Load() }

// unsafeEventBuckets creates the children of the events bucket on first
// use.
func unsafeEventBuckets(root *bolt.Bucket) error {
	if root.Bucket([]byte(bucketBatches)) != nil {
		return nil
	}
	for _, name := range []string{bucketEventMeta, bucketBatches, bucketUsage} {
		if _, err := root.CreateBucketIfNotExists([]byte(name)); err != nil {
			return fmt.Errorf("create bucket %s/%s: %w", bucketEvents, name, err)
		}
	}
	return nil
}

// unsafeAddCounters adds counters to the stored ones, in key order.
func unsafeAddCounters(usage *bolt.Bucket, counters map[counterKey]*counter) error {
	keys := make([]counterKey, 0, len(counters))
	for k := range counters {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b counterKey) int {
		return cmp.Or(cmp.Compare(a.usage, b.usage), cmp.Compare(a.bucket, b.bucket), cmp.Compare(a.key, b.key))
	})
	var env, b *bolt.Bucket
	var envName, bName string
	for _, k := range keys {
		if env == nil || k.usage != envName {
			var err error
			if env, err = usage.CreateBucketIfNotExists([]byte(k.usage)); err != nil {
				return fmt.Errorf("create usage bucket: %w", err)
			}
			envName, b = k.usage, nil
		}
		if b == nil || k.bucket != bName {
			var err error
			if b, err = env.CreateBucketIfNotExists([]byte(k.bucket)); err != nil {
				return fmt.Errorf("create usage bucket: %w", err)
			}
			bName = k.bucket
		}
		c := decodeCounter(b.Get([]byte(k.key)))
		add := counters[k]
		c.add(add.count, add.last)
		if err := b.Put([]byte(k.key), c.bytes()); err != nil {
			return fmt.Errorf("write usage counter: %w", err)
		}
	}
	return nil
}

// unsafePrune deletes expired batches and hours, and the oldest batches
// while size is over BatchMaxBytes, at most pruneLimit keys of each. It
// returns the new size and whether nothing is left to prune.
func (l *Log) unsafePrune(root *bolt.Bucket, size int64, now time.Time) (int64, bool, error) {
	done := true
	batchCutoff := now.Add(-l.opts.BatchRetention)
	var dead [][]byte
	c := root.Bucket([]byte(bucketBatches)).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(dead) == pruneLimit {
			done = false
			break
		}
		if size <= l.opts.BatchMaxBytes {
			received, err := eventlog.BatchReceived(v)
			if err == nil && !received.Before(batchCutoff) {
				break
			}
		}
		dead = append(dead, bytes.Clone(k))
		size -= int64(len(v))
	}
	for _, k := range dead {
		if err := c.Bucket().Delete(k); err != nil {
			return 0, false, fmt.Errorf("prune event batch: %w", err)
		}
	}

	var cutoff [4]byte
	binary.BigEndian.PutUint32(cutoff[:], eventlog.HourOf(now.Add(-l.opts.UsageRetention)))
	usage := root.Bucket([]byte(bucketUsage))
	err := usage.ForEachBucket(func(name []byte) error {
		for _, kind := range []string{bucketUsageHours, bucketEvalHours} {
			hours := usage.Bucket(name).Bucket([]byte(kind))
			if hours == nil {
				continue
			}
			var dead [][]byte
			c := hours.Cursor()
			for k, _ := c.First(); k != nil && bytes.Compare(k, cutoff[:]) < 0; k, _ = c.Next() {
				if len(dead) == pruneLimit {
					done = false
					break
				}
				dead = append(dead, bytes.Clone(k))
			}
			for _, k := range dead {
				if err := hours.Delete(k); err != nil {
					return fmt.Errorf("prune usage hour: %w", err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, false, err
	}
	idsDone, err := unsafePruneIDs(root, batchCutoff)
	if err != nil {
		return 0, false, err
	}
	return size, done && idsDone, nil
}

// usageBucketName names an environment's usage bucket. Keys never contain
// a NUL byte (model.KeyPattern), so the name is unambiguous.
func usageBucketName(project, environment string) []byte {
	b := make([]byte, 0, len(project)+1+len(environment))
	b = append(b, project...)
	b = append(b, 0)
	return append(b, environment...)
}

// Batches returns up to limit stored batches with a Seq greater than
// after, in Seq order. Seqs are consecutive, but for those deleted by
// retention.
func (l *Log) Batches(ctx context.Context, after uint64, limit int) ([]eventlog.Batch, error) {
	var out []eventlog.Batch
	err := l.store.ViewSide(ctx, bucketEvents, func(root *bolt.Bucket) error {
		if root == nil || root.Bucket([]byte(bucketBatches)) == nil {
			return nil
		}
		c := root.Bucket([]byte(bucketBatches)).Cursor()
		for k, v := c.Seek(u64(after + 1)); k != nil && len(out) < limit; k, v = c.Next() {
			b, err := eventlog.DecodeBatch(v)
			if err != nil {
				return fmt.Errorf("event batch %d: %w", fromU64(k), err)
			}
			b.Seq = fromU64(k)
			out = append(out, b)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read event batches: %w", err)
	}
	return out, nil
}

// FlagUsage reads the usage counters of q's environment.
func (l *Log) FlagUsage(ctx context.Context, q eventlog.UsageQuery) (*eventlog.Usage, error) {
	u := &eventlog.Usage{}
	err := l.store.ViewSide(ctx, bucketEvents, func(root *bolt.Bucket) error {
		if root == nil || root.Bucket([]byte(bucketUsage)) == nil {
			return nil
		}
		env := root.Bucket([]byte(bucketUsage)).Bucket(usageBucketName(q.Project, q.Environment))
		if env == nil {
			return nil
		}
		unsafeReadUsage(env, q, u)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read flag usage: %w", err)
	}
	return u, nil
}

func unsafeReadUsage(env *bolt.Bucket, q eventlog.UsageQuery, u *eventlog.Usage) {
	type ref struct{ flag, variant int }
	index := map[string]ref{}
	var prefix []byte
	if q.Flag != "" {
		prefix = append([]byte(q.Flag), 0)
	}
	// variant returns the usage of a flag's variant, adding it.
	variant := func(k []byte) (*eventlog.VariantUsage, bool) {
		if r, ok := index[string(k)]; ok {
			return &u.Flags[r.flag].Variants[r.variant], true
		}
		flag, v, ok := bytes.Cut(k, []byte{0})
		if !ok {
			return nil, false
		}
		fi := slices.IndexFunc(u.Flags, func(f eventlog.FlagUsage) bool { return f.Flag == string(flag) })
		if fi < 0 {
			u.Flags = append(u.Flags, eventlog.FlagUsage{Flag: string(flag)})
			fi = len(u.Flags) - 1
		}
		f := &u.Flags[fi]
		f.Variants = append(f.Variants, eventlog.VariantUsage{Variant: string(v)})
		index[string(k)] = ref{fi, len(f.Variants) - 1}
		return &f.Variants[len(f.Variants)-1], true
	}
	for _, kind := range []string{bucketUsageTotals, bucketEvalTotals} {
		totals := env.Bucket([]byte(kind))
		if totals == nil {
			continue
		}
		c := totals.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			vu, ok := variant(k)
			if !ok {
				continue
			}
			cnt := decodeCounter(v)
			if kind == bucketUsageTotals {
				vu.Total, vu.LastSeen = cnt.count, time.UnixMilli(cnt.last).UTC()
			} else {
				vu.Evaluations, vu.LastEvaluated = cnt.count, time.UnixMilli(cnt.last).UTC()
			}
		}
	}
	// Sorted by flag, then variant, as the totals cursors would list them.
	slices.SortFunc(u.Flags, func(a, b eventlog.FlagUsage) int { return cmp.Compare(a.Flag, b.Flag) })
	for i := range u.Flags {
		vs := u.Flags[i].Variants
		slices.SortFunc(vs, func(a, b eventlog.VariantUsage) int { return cmp.Compare(a.Variant, b.Variant) })
		for j := range vs {
			index[u.Flags[i].Flag+"\x00"+vs[j].Variant] = ref{i, j}
		}
	}
	for _, kind := range []string{bucketUsageHours, bucketEvalHours} {
		hours := env.Bucket([]byte(kind))
		if hours == nil {
			continue
		}
		var from, to [4]byte
		binary.BigEndian.PutUint32(from[:], eventlog.HourOf(q.From))
		binary.BigEndian.PutUint32(to[:], eventlog.HourOf(q.To))
		c := hours.Cursor()
		for k, v := c.Seek(from[:]); len(k) > 4 && bytes.Compare(k[:4], to[:]) <= 0; k, v = c.Next() {
			if !bytes.HasPrefix(k[4:], prefix) {
				continue
			}
			r, ok := index[string(k[4:])]
			if !ok {
				continue
			}
			vu := &u.Flags[r.flag].Variants[r.variant]
			hc := eventlog.HourCount{Hour: time.Unix(int64(binary.BigEndian.Uint32(k[:4]))*3600, 0).UTC(), Count: decodeCounter(v).count}
			if kind == bucketUsageHours {
				vu.Hours = append(vu.Hours, hc)
			} else {
				vu.EvaluationHours = append(vu.EvaluationHours, hc)
			}
		}
	}
	if rejected := env.Bucket([]byte(bucketRejected)); rejected != nil {
		_ = rejected.ForEach(func(k, v []byte) error {
			cnt := decodeCounter(v)
			u.Rejected = append(u.Rejected, eventlog.RejectedCount{Code: string(k), Count: cnt.count, LastSeen: time.UnixMilli(cnt.last).UTC()})
			return nil
		})
	}
}

// LastSeen returns, for each environment of a project with usage
// recorded, the latest time each flag was exposed or evaluated. Flags
// never seen are absent.
func (l *Log) LastSeen(ctx context.Context, project string) (map[string]map[string]time.Time, error) {
	out := map[string]map[string]time.Time{}
	prefix := usageBucketName(project, "")
	err := l.store.ViewSide(ctx, bucketEvents, func(root *bolt.Bucket) error {
		if root == nil || root.Bucket([]byte(bucketUsage)) == nil {
			return nil
		}
		usage := root.Bucket([]byte(bucketUsage))
		c := usage.Cursor()
		for name, v := c.Seek(prefix); name != nil && bytes.HasPrefix(name, prefix); name, v = c.Next() {
			if v != nil {
				continue // not a bucket
			}
			env := usage.Bucket(name)
			flags := out[string(name[len(prefix):])]
			if flags == nil {
				flags = map[string]time.Time{}
				out[string(name[len(prefix):])] = flags
			}
			for _, kind := range []string{bucketUsageTotals, bucketEvalTotals} {
				totals := env.Bucket([]byte(kind))
				if totals == nil {
					continue
				}
				if err := totals.ForEach(func(k, v []byte) error {
					flag, _, _ := bytes.Cut(k, []byte{0})
					last := time.UnixMilli(decodeCounter(v).last).UTC()
					if cur, ok := flags[string(flag)]; !ok || last.After(cur) {
						flags[string(flag)] = last
					}
					return nil
				}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read last seen: %w", err)
	}
	return out, nil
}

// LastSeq returns the Seq of the last batch ever stored (0 when none
// was), whether or not retention has deleted it since.
func (l *Log) LastSeq(ctx context.Context) (uint64, error) {
	var seq uint64
	err := l.store.ViewSide(ctx, bucketEvents, func(root *bolt.Bucket) error {
		if root != nil {
			if b := root.Bucket([]byte(bucketBatches)); b != nil {
				seq = b.Sequence()
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("read event sequence: %w", err)
	}
	return seq, nil
}

func u64(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

func fromU64(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}
