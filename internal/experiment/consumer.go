package experiment

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/eventlog"
	"github.com/switchyard/switchyard/internal/model"
)

// ConsumerOptions configures a Consumer. Zero fields take the defaults.
type ConsumerOptions struct {
	// Interval is how often the Consumer looks for new event batches when
	// nobody kicks it; default 250 ms.
	Interval time.Duration
	// MaxBatches caps the event batches one transaction consumes; default
	// 16 (a batch holds up to 10,000 events).
	MaxBatches int
	// StoppedRetention is how long after an experiment stopped its unit
	// records are kept (events dated before the stop may still come: SDKs
	// retry, clients send late); its aggregates stay as long as the
	// experiment. Default 8 days: ingestion refuses events older than 7.
	StoppedRetention time.Duration
	// GCInterval is how often the state of deleted experiments and ended
	// release stages is dropped; default 1 minute.
	GCInterval time.Duration
	// MaxWrites, if positive, is the most records one Change may write
	// (on etcd: --max-txn-ops less the engine's own). A Step then stops
	// before the event that could take its Change past it, within a batch
	// if need be; the cursor records that batch's Seq and how many of its
	// events were counted. 0: no limit (bbolt).
	MaxWrites int
}

// Consumer defaults.
const (
	DefaultConsumerInterval = 250 * time.Millisecond
	DefaultMaxBatches       = 16
	DefaultStoppedRetention = 8 * 24 * time.Hour
	DefaultGCInterval       = time.Minute
)

func (o ConsumerOptions) withDefaults() ConsumerOptions {
	if o.Interval <= 0 {
		o.Interval = DefaultConsumerInterval
	}
	if o.MaxBatches <= 0 {
		o.MaxBatches = DefaultMaxBatches
	}
	if o.StoppedRetention <= 0 {
		o.StoppedRetention = DefaultStoppedRetention
	}
	if o.GCInterval <= 0 {
		o.GCInterval = DefaultGCInterval
	}
	return o
}

// Events is what the Consumer reads of the event log (an eventlog.Log).
type Events interface {
	// Batches returns up to limit batches with a Seq greater than after,
	// in Seq order.
	Batches(ctx context.Context, after uint64, limit int) ([]eventlog.Batch, error)
	// LastSeq returns the Seq of the last batch stored.
	LastSeq(ctx context.Context) (uint64, error)
}

// Consumer turns the stored event batches into experiment state. It
// follows the event log (domain.Store.EventBatches) with a cursor written
// in the same Change as the state it writes (side records, state.go), so
// every batch is counted exactly once, across restarts too; ingestion
// never waits for it.
//
// An exposure counts for a study (see state.go) when it names the study's
// flag and, for an experiment, the experiment and one of its variants; the
// unit is attributed to the variant of its first exposure, and later
// exposures to another variant are ignored and counted. A track event
// counts for every study one of whose metrics has its key, once the unit
// is attributed and when it is dated at or after the unit's exposure: a
// conversion once per unit and metric, a value (mean metrics) added to the
// unit's sum. Events dated before a study started or after its experiment
// stopped do not count.
type Consumer struct {
	store  *domain.Store
	side   domain.Side
	events Events
	log    *slog.Logger
	opts   ConsumerOptions
	kick   chan struct{}

	mu       sync.Mutex // one step at a time
	nextGC   time.Time  // guarded by mu
	migrated bool       // guarded by mu
}

// NewConsumer returns a Consumer of events, keeping its state in st.
// Nothing is consumed until Run runs or CatchUp is called.
func NewConsumer(log *slog.Logger, st *domain.Store, events Events, opts ConsumerOptions) *Consumer {
	side, err := st.Side(sideName)
	if err != nil {
		panic(err) // sideName is not the store's own
	}
	return &Consumer{store: st, side: side, events: events, log: log, opts: opts.withDefaults(), kick: make(chan struct{}, 1)}
}

// Kick wakes Run: new batches were written. It does not block.
func (c *Consumer) Kick() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// Run consumes batches as they come, and drops the state nobody needs any
// more, until ctx is done.
func (c *Consumer) Run(ctx context.Context) {
	t := time.NewTicker(c.opts.Interval)
	defer t.Stop()
	for {
		n, partial, _, err := c.step(ctx)
		if err != nil && ctx.Err() == nil {
			c.log.Error("experiment consumer", "err", err)
		}
		if err == nil && (n == c.opts.MaxBatches || partial) {
			continue // more are waiting
		}
		if err := c.Collect(ctx); err != nil && ctx.Err() == nil {
			c.log.Error("experiment state cleanup", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-c.kick:
		case <-t.C:
		}
	}
}

// CatchUp consumes every batch stored before it was called (and perhaps a
// few more): it stops at a batch received, by the store's clock, after it
// began, so under a steady stream of events it does not chase the stream.
func (c *Consumer) CatchUp(ctx context.Context) error {
	began := c.store.Now()
	for {
		n, partial, last, err := c.step(ctx)
		if err != nil {
			return err
		}
		if n < c.opts.MaxBatches && !partial || last.After(began) {
			return nil
		}
	}
}

// Step consumes up to MaxBatches batches in one transaction and returns
// how many it counted events of (the last perhaps in part: MaxWrites).
func (c *Consumer) Step(ctx context.Context) (int, error) {
	n, _, _, err := c.step(ctx)
	return n, err
}

// step is Step, also reporting whether it stopped within the last batch
// it counted events of, and when that batch was received.
func (c *Consumer) step(ctx context.Context) (n int, partial bool, last time.Time, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.migrate(ctx); err != nil {
		return 0, false, time.Time{}, err
	}
	stored, err := c.side.Get(ctx, pathCursor)
	if err != nil {
		return 0, false, time.Time{}, err
	}
	cur := decodeCursor(stored)
	batches, err := c.events.Batches(ctx, cur.seq, c.opts.MaxBatches)
	if err != nil || len(batches) == 0 {
		return 0, false, time.Time{}, err
	}
	skip := 0 // events of batches[0] counted by the step before
	if cur.skip > 0 && batches[0].Seq == cur.partial {
		skip = cur.skip
	}
	idx := newIndex(c.store.State(), batches)
	w := &writer{ctx: ctx, side: c.side, open: map[*study]*openStudy{}}
	end, err := w.prefetch(idx, batches, skip, c.opts.MaxWrites)
	if err != nil {
		return 0, false, time.Time{}, err
	}
	for i := range batches[:min(end.batch+1, len(batches))] {
		b := &batches[i]
		envIdx := idx[envKey{b.Project, b.Environment}]
		if envIdx == nil {
			continue
		}
		from, to := 0, len(b.Events)
		if i == 0 {
			from = skip
		}
		if i == end.batch {
			to = end.event
		}
		for j := from; j < to; j++ {
			if err := w.apply(envIdx, &b.Events[j]); err != nil {
				return 0, false, time.Time{}, err
			}
		}
	}
	change := domain.Change{Conds: []domain.Cond{{Path: pathCursor, Value: stored}}}
	if err := w.flush(&change); err != nil {
		return 0, false, time.Time{}, err
	}
	next := cursor{seq: batches[len(batches)-1].Seq}
	n, last = len(batches), batches[len(batches)-1].Received
	if end.batch < len(batches) {
		next = cursor{seq: cur.seq, partial: batches[end.batch].Seq, skip: end.event}
		if end.batch > 0 {
			next.seq = batches[end.batch-1].Seq
		}
		n, partial, last = end.batch+1, true, batches[end.batch].Received
	}
	change.Ops = append(change.Ops, domain.Op{Path: pathCursor, Value: next.encode()})
	err = c.side.Apply(ctx, change)
	if errors.Is(err, domain.ErrCondition) {
		return 0, false, time.Time{}, fmt.Errorf("experiment state: the cursor moved from %d: two consumers share one store", cur.seq)
	}
	if err != nil {
		return 0, false, time.Time{}, err
	}
	return n, partial, last, nil
}

// Lag returns how far the log's last Seq is past the consumer's cursor:
// the batches waiting when Seqs are consecutive (boltlog), a bound on them
// otherwise (jetstream).
func (c *Consumer) Lag(ctx context.Context) (uint64, error) {
	stored, err := c.side.Get(ctx, pathCursor)
	if err != nil {
		return 0, err
	}
	cur := decodeCursor(stored)
	last, err := c.events.LastSeq(ctx)
	if err != nil || last < cur.seq {
		return 0, err
	}
	return last - cur.seq, nil
}

// cursor is how far the consumer got: every batch up to Seq seq, and the
// first skip events of the batch after it, whose Seq is partial.
type cursor struct {
	seq, partial uint64
	skip         int
}

// encode is the cursor record: seq (8 bytes, big-endian), then, when skip
// is not 0, partial (8 bytes) and skip (4 bytes).
func (c cursor) encode() []byte {
	v := binary.BigEndian.AppendUint64(nil, c.seq)
	if c.skip > 0 {
		v = binary.BigEndian.AppendUint64(v, c.partial)
		v = binary.BigEndian.AppendUint32(v, uint32(c.skip))
	}
	return v
}

func decodeCursor(v []byte) cursor {
	switch len(v) {
	case 8:
		return cursor{seq: binary.BigEndian.Uint64(v)}
	case 20:
		return cursor{seq: binary.BigEndian.Uint64(v), partial: binary.BigEndian.Uint64(v[8:]), skip: int(binary.BigEndian.Uint32(v[16:]))}
	}
	return cursor{}
}

// envKey names an environment.
type envKey struct{ project, env string }

// envIndex is the studies of one environment, by what events name.
type envIndex struct {
	byFlag  map[string][]*study
	byEvent map[string][]metricRef
}

// metricRef is one metric of one study.
type metricRef struct {
	s      *study
	metric int
}

// newIndex indexes the studies of the environments the batches are of.
func newIndex(st *domain.State, batches []eventlog.Batch) map[envKey]*envIndex {
	idx := map[envKey]*envIndex{}
	seen := map[string]bool{}
	for i := range batches {
		p := batches[i].Project
		if seen[p] {
			continue
		}
		seen[p] = true
		ps, ok := st.Project(p)
		if !ok {
			continue
		}
		for _, s := range studies(ps) {
			k := envKey{s.project, s.env}
			ei := idx[k]
			if ei == nil {
				ei = &envIndex{byFlag: map[string][]*study{}, byEvent: map[string][]metricRef{}}
				idx[k] = ei
			}
			ei.byFlag[s.flag] = append(ei.byFlag[s.flag], s)
			for m := range s.metrics {
				ev := s.metrics[m].Event()
				ei.byEvent[ev] = append(ei.byEvent[ev], metricRef{s, m})
			}
		}
	}
	return idx
}

// studies returns every study of a project: its started experiments and
// the guarded current stages of its releases.
func studies(ps *domain.ProjectState) []*study {
	var out []*study
	for _, e := range ps.Experiments() {
		if s := experimentStudy(ps.Key(), e); s != nil {
			out = append(out, s)
		}
	}
	for _, r := range ps.Releases() {
		if s := releaseStudy(ps, r); s != nil {
			out = append(out, s)
		}
	}
	return out
}

// writer applies events to the studies' records, for one Change.
type writer struct {
	ctx  context.Context
	side domain.Side
	open map[*study]*openStudy
}

// openStudy is a study's counts and the unit records changed, for one
// Change. The unit records wait in pending and are written in key order
// at flush (bbolt inserts ordered keys into a page cheaply).
type openStudy struct {
	units   domain.Path // the study's unit records
	pending map[[8]byte][]byte
	// stored are the records, as stored, of the units the Change's events
	// name (nil: none), read by prefetch.
	stored map[[8]byte][]byte
	agg    *Counts
	dirty  bool
}

// unit returns a unit's record as the Change sees it, or nil.
func (w *writer) unit(o *openStudy, k [8]byte) ([]byte, error) {
	if v, ok := o.pending[k]; ok {
		return v, nil
	}
	if v, ok := o.stored[k]; ok {
		return v, nil
	}
	return nil, fmt.Errorf("experiment state: unit %s was not read before its events were applied", unitElem(k))
}

// putUnit records a unit's record, to be written at flush.
func (o *openStudy) putUnit(k [8]byte, rec []byte) {
	o.pending[k] = rec
	o.dirty = true
}

// study returns the open state of a study that prefetch read.
func (w *writer) study(s *study) (*openStudy, error) {
	if o := w.open[s]; o != nil {
		return o, nil
	}
	return nil, fmt.Errorf("experiment state %q: not read before its events were applied", s.key)
}

// position is an event of a step's batches: batch is len(batches) when
// the step counts them all.
type position struct{ batch, event int }

// prefetch reads, with one GetMany (a few round trips on etcd however many
// events), the counts of every study the batches' events may count for
// and the records of the units they name, and opens those studies. It
// starts at event skip of the first batch and, with maxWrites > 0, stops
// before the first event that could take the Change's writes (each unit
// read, each study's counts and the cursor) past maxWrites: it returns
// that event's position, where the step stops.
func (w *writer) prefetch(idx map[envKey]*envIndex, batches []eventlog.Batch, skip, maxWrites int) (position, error) {
	var studies []*study
	var aggs, units []domain.Path
	type unitRef struct {
		o *openStudy
		k [8]byte
	}
	var refs []unitRef
	add := func(s *study, unit string) {
		o := w.open[s]
		if o == nil {
			o = &openStudy{units: unitsPath(s.key), pending: map[[8]byte][]byte{}, stored: map[[8]byte][]byte{}}
			w.open[s] = o
			studies = append(studies, s)
			aggs = append(aggs, aggPath(s.key))
		}
		k := unitHash(unit)
		if _, ok := o.stored[k]; !ok {
			o.stored[k] = nil // asked for
			refs = append(refs, unitRef{o, k})
			units = append(units, o.units.Child(unitElem(k)))
		}
	}
	end := position{batch: len(batches)}
walk:
	for i := range batches {
		b := &batches[i]
		ei := idx[envKey{b.Project, b.Environment}]
		if ei == nil {
			continue
		}
		from := 0
		if i == 0 {
			from = skip
		}
		for j := from; j < len(b.Events); j++ {
			e := &b.Events[j]
			if maxWrites > 0 && len(refs)+len(studies) > 0 && len(refs)+len(studies)+1+2*reach(ei, e) > maxWrites {
				end = position{i, j}
				break walk
			}
			switch e.Kind {
			case eventlog.Exposure:
				for _, s := range ei.byFlag[e.Flag] {
					if s.experiment != "" && e.Experiment == s.experiment || s.experiment == "" && e.Variant != "" {
						add(s, e.Unit) // as expose reads them
					}
				}
			case eventlog.Track:
				for _, ref := range ei.byEvent[e.Key] {
					add(ref.s, e.Unit)
				}
			}
		}
	}
	values, err := w.side.GetMany(w.ctx, append(aggs, units...))
	if err != nil {
		return position{}, fmt.Errorf("experiment state: %w", err)
	}
	for i, s := range studies {
		agg, err := decodeCounts(s, values[i])
		if err != nil {
			return position{}, fmt.Errorf("experiment state %q: %w", s.key, err)
		}
		w.open[s].agg = agg
	}
	for i, r := range refs {
		r.o.stored[r.k] = values[len(studies)+i]
	}
	return end, nil
}

// reach is how many studies an event may count for.
func reach(ei *envIndex, e *eventlog.Event) int {
	switch e.Kind {
	case eventlog.Exposure:
		return len(ei.byFlag[e.Flag])
	case eventlog.Track:
		return len(ei.byEvent[e.Key])
	}
	return 0
}

// apply counts one event for the studies of its environment.
func (w *writer) apply(ei *envIndex, e *eventlog.Event) error {
	switch e.Kind {
	case eventlog.Exposure:
		for _, s := range ei.byFlag[e.Flag] {
			if err := w.expose(s, e); err != nil {
				return err
			}
		}
	case eventlog.Track:
		for _, ref := range ei.byEvent[e.Key] {
			if err := w.track(ref, e); err != nil {
				return err
			}
		}
	}
	return nil
}

// inWindow reports whether an event dated t counts for s, and counts it as
// ignored otherwise.
func inWindow(s *study, o *openStudy, t time.Time) bool {
	switch {
	case t.Before(s.start):
		o.agg.ignore(ignoredEarly)
		return false
	case !s.stop.IsZero() && t.After(s.stop):
		o.agg.ignore(ignoredLate)
		return false
	}
	return true
}

// expose attributes an exposure's unit to a variant of s, unless it is
// attributed already.
func (w *writer) expose(s *study, e *eventlog.Event) error {
	arm := -1
	if s.experiment != "" {
		if e.Experiment != s.experiment {
			return nil // the flag served outside the experiment
		}
		for i, v := range s.arms {
			if v == e.Variant {
				arm = i
				break
			}
		}
	} else {
		if e.Variant == "" {
			return nil // nothing served: not comparable
		}
		arm = armControl
		if e.Rule == s.rule {
			arm = armTreatment
		}
	}
	o, err := w.study(s)
	if err != nil {
		return err
	}
	if arm < 0 {
		o.agg.ignore(ignoredUnknownVariant)
		o.dirty = true
		return nil
	}
	if !inWindow(s, o, e.Time) {
		o.dirty = true
		return nil
	}
	k := unitHash(e.Unit)
	v, err := w.unit(o, k)
	if err != nil {
		return err
	}
	if v != nil {
		if len(v) > 0 && int(v[0]) != arm {
			o.agg.ignore(ignoredCrossover)
			o.dirty = true
		}
		return nil
	}
	o.putUnit(k, appendUnit(make([]byte, 0, recordHead), unitRecord{arm: uint8(arm), exposed: unixSeconds(e.Time)}))
	o.agg.Units[arm]++
	return nil
}

// track counts a track event for one metric of a study.
func (w *writer) track(ref metricRef, e *eventlog.Event) error {
	s := ref.s
	o, err := w.study(s)
	if err != nil {
		return err
	}
	k := unitHash(e.Unit)
	v, err := w.unit(o, k)
	if err != nil {
		return err
	}
	if v == nil {
		return nil // not in the study: most units of the environment
	}
	if !inWindow(s, o, e.Time) {
		o.dirty = true
		return nil
	}
	rec, ok := decodeUnit(v, s.means)
	if !ok || int(rec.arm) >= len(s.arms) {
		return fmt.Errorf("experiment state %q: a unit record of %d bytes is corrupt", s.key, len(v))
	}
	if unixSeconds(e.Time) < rec.exposed {
		o.agg.ignore(ignoredBeforeExposure)
		o.dirty = true
		return nil
	}
	m := &s.metrics[ref.metric]
	switch m.Kind {
	case model.MetricConversion:
		bit := uint16(1) << ref.metric
		if rec.converted&bit != 0 {
			return nil
		}
		rec.converted |= bit
		o.agg.Conversions[ref.metric][rec.arm]++
	case model.MetricMean:
		if !e.HasValue {
			o.agg.ignore(ignoredNoValue)
			o.dirty = true
			return nil
		}
		if rec.sums == nil {
			rec.sums = make([]float64, s.means)
		}
		slot := s.meanSlot[ref.metric]
		before := rec.sums[slot]
		after := before + e.Value
		rec.sums[slot] = after
		o.agg.Sum[ref.metric][rec.arm] += e.Value
		o.agg.SumSq[ref.metric][rec.arm] += after*after - before*before
	default:
		return nil
	}
	o.putUnit(k, appendUnit(make([]byte, 0, recordHead+8*len(rec.sums)), rec))
	return nil
}

// flush adds to c the unit records and the counts of every study changed.
func (w *writer) flush(c *domain.Change) error {
	for s, o := range w.open {
		if !o.dirty {
			continue
		}
		keys := slices.SortedFunc(maps.Keys(o.pending), func(a, b [8]byte) int { return strings.Compare(unitElem(a), unitElem(b)) })
		for _, k := range keys {
			c.Ops = append(c.Ops, domain.Op{Path: o.units.Child(unitElem(k)), Value: o.pending[k]})
		}
		data, err := encodeCounts(o.agg)
		if err != nil {
			return fmt.Errorf("experiment state %q: %w", s.key, err)
		}
		c.Ops = append(c.Ops, domain.Op{Path: aggPath(s.key), Value: data})
	}
	return nil
}

// Collect drops, at most every GCInterval, the state of studies that no
// longer exist (deleted experiments, release stages left behind) and the
// unit records of experiments stopped longer than StoppedRetention ago.
func (c *Consumer) Collect(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.store.Now()
	if now.Before(c.nextGC) {
		return nil
	}
	c.nextGC = now.Add(c.opts.GCInterval)
	live := map[string]*study{}
	for _, ps := range c.store.State().Projects() {
		for _, s := range studies(ps) {
			live[s.key] = s
		}
	}
	if err := c.migrate(ctx); err != nil {
		return err
	}
	var drop domain.Change
	var expired []string
	err := c.side.Range(ctx, domain.Path{dirAggs}, "", 0, false, func(r domain.Record) error {
		elem := r.Path[len(r.Path)-1]
		key, err := hex.DecodeString(elem)
		if err != nil {
			return fmt.Errorf("experiment state %s: %w", r.Path, err)
		}
		s := live[string(key)]
		switch {
		case s == nil:
			// Units first: a drop cut short leaves the aggregates, so
			// the next Collect finds the study again.
			drop.Ops = append(drop.Ops, domain.Op{Path: domain.Path{dirUnits, elem}, Tree: true}, domain.Op{Path: r.Path})
		case !s.stop.IsZero() && now.Sub(s.stop) > c.opts.StoppedRetention:
			expired = append(expired, elem)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, elem := range expired {
		units := domain.Path{dirUnits, elem}
		err := c.side.Range(ctx, units, "", 1, false, func(domain.Record) error {
			drop.Ops = append(drop.Ops, domain.Op{Path: units, Tree: true})
			return nil
		})
		if err != nil {
			return err
		}
	}
	// The drops are independent: on a limited engine they go in several
	// Changes, each within MaxWrites (a Tree delete is up to two engine
	// writes: the record and what is below it).
	per := len(drop.Ops)
	if c.opts.MaxWrites > 0 {
		per = max(1, c.opts.MaxWrites/2)
	}
	for ops := range slices.Chunk(drop.Ops, max(per, 1)) {
		if err := c.side.Apply(ctx, domain.Change{Ops: ops}); err != nil {
			return fmt.Errorf("drop experiment state: %w", err)
		}
	}
	return nil
}
