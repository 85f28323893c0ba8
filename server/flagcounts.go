package server

import (
	"context"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchyard/switchyard/internal/eval"
	"github.com/switchyard/switchyard/internal/eventlog"
	"github.com/switchyard/switchyard/internal/snapshot"
)

// maxFlagSeries bounds the flag label of switchyard_flag_evaluations_total:
// the first maxFlagSeries (project, environment, flag) triples evaluated
// get a series of their own, every later one (and every flag key a client
// asks for that does not exist) is counted under flag="_other".
const maxFlagSeries = 1000

// otherFlag is the flag label of the evaluations beyond maxFlagSeries.
const otherFlag = "_other"

// flagUsageInterval is how often the evaluation counts are flushed into
// the usage store.
const flagUsageInterval = 10 * time.Second

// reasons are the evaluation reasons in the order of reasonCounts.
var reasons = [...]eval.Reason{
	eval.ReasonStatic, eval.ReasonDefault, eval.ReasonTargetingMatch, eval.ReasonSplit,
	eval.ReasonDisabled, eval.ReasonError, eval.ReasonPrerequisiteFailed,
}

// reasonCounts counts one flag's evaluations by reason.
type reasonCounts [len(reasons)]atomic.Uint64

// add counts one evaluation with reason r; an unknown reason counts as
// ERROR.
func (c *reasonCounts) add(r eval.Reason) {
	i := 5 // ERROR
	switch r {
	case eval.ReasonStatic:
		i = 0
	case eval.ReasonDefault:
		i = 1
	case eval.ReasonTargetingMatch:
		i = 2
	case eval.ReasonSplit:
		i = 3
	case eval.ReasonDisabled:
		i = 4
	case eval.ReasonPrerequisiteFailed:
		i = 6
	}
	c[i].Add(1)
}

// flagCounter counts one flag's evaluations in one environment: by reason
// into its metric series, and by variant for the usage store.
type flagCounter struct {
	// reasons is the flag's series, or its environment's _other series
	// when the flag is beyond maxFlagSeries.
	reasons *reasonCounts
	mu      sync.Mutex // serializes adding variants
	// variants are the evaluations per variant since the last take. The
	// map is never changed: adding a variant publishes a copy.
	variants atomic.Pointer[map[string]*atomic.Uint64]
}

// count counts one evaluation with result res.
func (fc *flagCounter) count(res *eval.Result) {
	fc.reasons.add(res.Reason)
	c := (*fc.variants.Load())[res.Variant]
	if c == nil {
		c = fc.variant(res.Variant)
	}
	c.Add(1)
}

// variant returns the counter of variant v, adding it.
func (fc *flagCounter) variant(v string) *atomic.Uint64 {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	cur := *fc.variants.Load()
	if c := cur[v]; c != nil {
		return c
	}
	c := new(atomic.Uint64)
	next := maps.Clone(cur)
	next[strings.Clone(v)] = c
	fc.variants.Store(&next)
	return c
}

// flagTable maps one ruleset's flag keys to their counters. It is built
// once per ruleset and never changed, so reading it takes no lock.
type flagTable struct {
	env   snapshot.Env
	flags map[string]*flagCounter
	other *reasonCounts
}

// count counts one evaluation of flag key with result res. A key the
// ruleset does not know is counted only in the _other metric series: such
// keys come from callers and are unbounded.
func (t *flagTable) count(key string, res *eval.Result) {
	if fc := t.flags[key]; fc != nil {
		fc.count(res)
		return
	}
	t.other.add(res.Reason)
}

// flagCounts is the one table of the server's own flag evaluations (gRPC
// Evaluate and EvaluateBatch, OFREP single and bulk), per environment,
// flag, reason and variant. It is read two ways: as the
// prometheus.Collector of switchyard_flag_evaluations_total (by
// environment, flag and reason), and by flush, which adds the counts by
// environment, flag and variant since the last flush to the usage store
// (every flagUsageInterval and at shutdown, in one write: never a write
// per evaluation), so that a flag evaluated only on the server does not
// look unused. Counting does not lock or allocate: it finds the ruleset's
// table with a lock-free read and bumps atomics; only the first
// evaluation of a variant takes the flag's lock. Counters are kept while
// the server runs (flags × variants × environments).
type flagCounts struct {
	max    int
	tables sync.Map // *eval.Ruleset → *flagTable

	mu       sync.Mutex // guards what follows; taken when a ruleset is first seen, on scrape and on take
	counters map[flagSeries]*flagCounter
	series   map[flagSeries]*reasonCounts
	flagged  int // series with a flag label of their own
	current  map[snapshot.Env]*eval.Ruleset
}

type flagSeries struct {
	env  snapshot.Env
	flag string
}

var flagEvaluationsDesc = prometheus.NewDesc("switchyard_flag_evaluations_total",
	"Flag evaluations on the server (gRPC and OFREP) by environment, flag and reason; flags beyond the first 1000 are counted as flag=\"_other\".",
	[]string{"project", "environment", "flag", "reason"}, nil)

func newFlagCounts(max int) *flagCounts {
	return &flagCounts{
		max:      max,
		counters: map[flagSeries]*flagCounter{},
		series:   map[flagSeries]*reasonCounts{},
		current:  map[snapshot.Env]*eval.Ruleset{},
	}
}

// count counts one evaluation of flag key on rs with result res.
func (c *flagCounts) count(rs *eval.Ruleset, key string, res *eval.Result) {
	c.table(rs).count(key, res)
}

// table returns rs's table, building it the first time rs is seen.
func (c *flagCounts) table(rs *eval.Ruleset) *flagTable {
	if t, ok := c.tables.Load(rs); ok {
		return t.(*flagTable)
	}
	return c.build(rs)
}

// build makes rs's table. The table of the environment's previous ruleset
// is dropped, unless rs is older (an evaluation still in flight on it).
func (c *flagCounts) build(rs *eval.Ruleset) *flagTable {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.tables.Load(rs); ok {
		return t.(*flagTable)
	}
	env := snapshot.Env{Project: rs.Project(), Environment: rs.Environment()}
	t := &flagTable{env: env, flags: map[string]*flagCounter{}, other: c.seriesOf(env, otherFlag)}
	for _, key := range rs.FlagKeys() {
		t.flags[key] = c.counterOf(env, key)
	}
	prev := c.current[env]
	if prev != nil && prev.Revision > rs.Revision {
		return t // stale: use it for this call only
	}
	if prev != nil {
		c.tables.Delete(prev)
	}
	c.current[env] = rs
	c.tables.Store(rs, t)
	return t
}

// counterOf returns the counter of flag in env, creating it: with a
// series of its own while fewer than c.max flags have one, else counting
// into the environment's _other series. c.mu is held.
func (c *flagCounts) counterOf(env snapshot.Env, flag string) *flagCounter {
	k := flagSeries{env, flag}
	if fc, ok := c.counters[k]; ok {
		return fc
	}
	fc := &flagCounter{reasons: c.series[flagSeries{env, otherFlag}]}
	if c.flagged < c.max {
		fc.reasons = c.seriesOf(env, flag)
	}
	fc.variants.Store(&map[string]*atomic.Uint64{})
	c.counters[k] = fc
	return fc
}

// seriesOf returns the counters of a series, creating them. c.mu is held.
func (c *flagCounts) seriesOf(env snapshot.Env, flag string) *reasonCounts {
	k := flagSeries{env, flag}
	if rc, ok := c.series[k]; ok {
		return rc
	}
	rc := new(reasonCounts)
	c.series[k] = rc
	if flag != otherFlag {
		c.flagged++
	}
	return rc
}

// Describe implements prometheus.Collector.
func (c *flagCounts) Describe(ch chan<- *prometheus.Desc) { ch <- flagEvaluationsDesc }

// Collect implements prometheus.Collector. Reasons never seen are left out.
func (c *flagCounts) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, rc := range c.series {
		for i := range rc {
			if n := rc[i].Load(); n > 0 {
				ch <- prometheus.MustNewConstMetric(flagEvaluationsDesc, prometheus.CounterValue, float64(n),
					k.env.Project, k.env.Environment, k.flag, string(reasons[i]))
			}
		}
	}
}

// take returns the counts by variant since the last take. A count added
// while it runs goes to this take or the next, never lost.
func (c *flagCounts) take() []eventlog.EvaluationCount {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []eventlog.EvaluationCount
	for k, fc := range c.counters {
		for v, n := range *fc.variants.Load() {
			if n := n.Swap(0); n > 0 {
				out = append(out, eventlog.EvaluationCount{Project: k.env.Project, Environment: k.env.Environment, Flag: k.flag, Variant: v, Count: n})
			}
		}
	}
	return out
}

// flush adds the counts since the last flush to the usage store. Counts
// it could not write are counted again, for the next flush.
func (c *flagCounts) flush(ctx context.Context, log *slog.Logger, events eventlog.Log, now time.Time) {
	counts := c.take()
	if err := events.AddEvaluations(ctx, now, counts); err != nil {
		log.Warn("flush evaluation counts", "counters", len(counts), "err", err)
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, n := range counts {
			// take only returns counters that exist, and none is removed.
			fc := c.counters[flagSeries{snapshot.Env{Project: n.Project, Environment: n.Environment}, n.Flag}]
			fc.variant(n.Variant).Add(n.Count)
		}
	}
}

// run flushes every flagUsageInterval until ctx is done. The final flush
// is the caller's, once no evaluation can come.
func (c *flagCounts) run(ctx context.Context, log *slog.Logger, events eventlog.Log, now func() time.Time) {
	t := time.NewTicker(flagUsageInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			// Not ctx: a write abandoned half-way might still be
			// committed, and its counts must not be counted again.
			c.flush(context.Background(), log, events, now())
		}
	}
}
