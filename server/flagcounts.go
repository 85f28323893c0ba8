package server

import (
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchyard/switchyard/internal/eval"
	"github.com/switchyard/switchyard/internal/snapshot"
)

// maxFlagSeries bounds the flag label of switchyard_flag_evaluations_total:
// the first maxFlagSeries (project, environment, flag) triples evaluated
// get a series of their own, every later one (and every flag key a client
// asks for that does not exist) is counted under flag="_other".
const maxFlagSeries = 1000

// otherFlag is the flag label of the evaluations beyond maxFlagSeries.
const otherFlag = "_other"

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

// flagTable maps one ruleset's flag keys to their counters. It is built
// once per ruleset and never changed, so reading it takes no lock.
type flagTable struct {
	env   snapshot.Env
	flags map[string]*reasonCounts
	other *reasonCounts
}

// flagCounts counts evaluations per environment, flag and reason with
// atomic counters, and is the prometheus.Collector that exposes them as
// switchyard_flag_evaluations_total. Counting does not lock or allocate:
// it finds the ruleset's table with a lock-free read and bumps an atomic.
type flagCounts struct {
	max    int
	tables sync.Map // *eval.Ruleset → *flagTable

	mu      sync.Mutex // guards what follows; taken when a ruleset is first seen and on scrape
	series  map[flagSeries]*reasonCounts
	flagged int // series with a flag label of their own
	current map[snapshot.Env]*eval.Ruleset
}

type flagSeries struct {
	env  snapshot.Env
	flag string
}

var flagEvaluationsDesc = prometheus.NewDesc("switchyard_flag_evaluations_total",
	"Flag evaluations on the server (gRPC and OFREP) by environment, flag and reason; flags beyond the first 1000 are counted as flag=\"_other\".",
	[]string{"project", "environment", "flag", "reason"}, nil)

func newFlagCounts(max int) *flagCounts {
	return &flagCounts{max: max, series: map[flagSeries]*reasonCounts{}, current: map[snapshot.Env]*eval.Ruleset{}}
}

// count counts one evaluation of flag key on rs with reason r.
func (c *flagCounts) count(rs *eval.Ruleset, key string, r eval.Reason) {
	c.table(rs).counts(key).add(r)
}

// counts returns the counters of key.
func (t *flagTable) counts(key string) *reasonCounts {
	if rc := t.flags[key]; rc != nil {
		return rc
	}
	return t.other
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
	t := &flagTable{env: env, flags: map[string]*reasonCounts{}, other: c.seriesOf(env, otherFlag)}
	for _, key := range rs.FlagKeys() {
		if _, ok := c.series[flagSeries{env, key}]; !ok && c.flagged >= c.max {
			continue
		}
		t.flags[key] = c.seriesOf(env, key)
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
