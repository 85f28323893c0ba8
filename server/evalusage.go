package server

import (
	"context"
	"hash/maphash"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard/switchyard/internal/eval"
	"github.com/switchyard/switchyard/internal/eventlog"
)

// evalUsage counts the server's own flag evaluations (gRPC Evaluate and
// EvaluateBatch, OFREP single and bulk) per environment, flag and variant
// in memory, so that a flag evaluated only there does not look unused. The
// counts go into the usage store every evalUsageInterval, all in one
// write, and once more at shutdown: never a write per evaluation. Counting
// takes no lock: a lookup in an immutable map (one of evalUsageShards,
// chosen by the flag's hash) and an atomic add. Only the first evaluation
// of a flag and variant in an environment takes the shard's lock, to
// publish a copy of the map with its counter. Counters are kept while the
// server runs (flags × variants × environments).
type evalUsage struct {
	seed   maphash.Seed
	shards [evalUsageShards]evalShard
}

const (
	evalUsageShards = 32
	// evalUsageInterval is how often counts are flushed.
	evalUsageInterval = 10 * time.Second
)

type evalShard struct {
	mu sync.Mutex // serializes adding counters
	m  atomic.Pointer[map[evalKey]*atomic.Uint64]
	_  [64]byte // keeps shards on separate cache lines
}

type evalKey struct{ project, env, flag, variant string }

func newEvalUsage() *evalUsage {
	u := &evalUsage{seed: maphash.MakeSeed()}
	for i := range u.shards {
		u.shards[i].m.Store(&map[evalKey]*atomic.Uint64{})
	}
	return u
}

// count records one evaluation of flag in rs's environment. Unknown flags
// are not counted (their keys come from callers and are unbounded).
func (u *evalUsage) count(rs *eval.Ruleset, flag string, res *eval.Result) {
	if res.ErrorCode == eval.ErrorFlagNotFound {
		return
	}
	k := evalKey{rs.Project(), rs.Environment(), flag, res.Variant}
	sh := &u.shards[maphash.String(u.seed, flag)%evalUsageShards]
	c := (*sh.m.Load())[k]
	if c == nil {
		c = sh.add(k)
	}
	c.Add(1)
}

// add returns k's counter, inserting it. The key's strings are copied: a
// flag key may point into a request.
func (sh *evalShard) add(k evalKey) *atomic.Uint64 {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	cur := *sh.m.Load()
	if c := cur[k]; c != nil {
		return c
	}
	k = evalKey{strings.Clone(k.project), strings.Clone(k.env), strings.Clone(k.flag), strings.Clone(k.variant)}
	c := new(atomic.Uint64)
	next := maps.Clone(cur)
	next[k] = c
	sh.m.Store(&next)
	return c
}

// take returns the counts since the last take. A count added while it
// runs goes to this take or the next, never lost.
func (u *evalUsage) take() []eventlog.EvaluationCount {
	var out []eventlog.EvaluationCount
	for i := range u.shards {
		for k, c := range *u.shards[i].m.Load() {
			if n := c.Swap(0); n > 0 {
				out = append(out, eventlog.EvaluationCount{Project: k.project, Environment: k.env, Flag: k.flag, Variant: k.variant, Count: n})
			}
		}
	}
	return out
}

// flush adds the counts since the last flush to the usage store. Counts
// it could not write are counted again, for the next flush.
func (u *evalUsage) flush(ctx context.Context, log *slog.Logger, events eventlog.Log, now time.Time) {
	counts := u.take()
	if err := events.AddEvaluations(ctx, now, counts); err != nil {
		log.Warn("flush evaluation counts", "counters", len(counts), "err", err)
		for _, c := range counts {
			k := evalKey{c.Project, c.Environment, c.Flag, c.Variant}
			u.shards[maphash.String(u.seed, c.Flag)%evalUsageShards].add(k).Add(c.Count)
		}
	}
}

// run flushes every evalUsageInterval until ctx is done. The final flush
// is the caller's, once no evaluation can come.
func (u *evalUsage) run(ctx context.Context, log *slog.Logger, events eventlog.Log, now func() time.Time) {
	t := time.NewTicker(evalUsageInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			// Not ctx: a write abandoned half-way might still be
			// committed, and its counts must not be counted again.
			u.flush(context.Background(), log, events, now())
		}
	}
}
