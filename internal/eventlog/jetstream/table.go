package jetstream

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/switchyard/switchyard/internal/eventlog"
)

// table is the usage counters of every environment, in memory: what
// boltlog keeps under events/usage, folded from the stream.
type table struct {
	envs map[envKey]*envUsage
}

type envKey struct{ project, env string }

// fv names a flag's variant.
type fv struct{ flag, variant string }

// hfv names a flag's variant in an hour (since the Unix epoch).
type hfv struct {
	hour uint32
	fv
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

type envUsage struct {
	totals, evalTotals map[fv]*counter
	hours, evalHours   map[hfv]*counter
	rejected           map[string]*counter
}

func newTable() *table { return &table{envs: map[envKey]*envUsage{}} }

func (t *table) env(project, env string) *envUsage {
	k := envKey{project, env}
	e := t.envs[k]
	if e == nil {
		e = &envUsage{
			totals: map[fv]*counter{}, evalTotals: map[fv]*counter{},
			hours: map[hfv]*counter{}, evalHours: map[hfv]*counter{},
			rejected: map[string]*counter{},
		}
		t.envs[k] = e
	}
	return e
}

func bump[K comparable](m map[K]*counter, k K, n uint64, last int64) {
	c := m[k]
	if c == nil {
		c = &counter{}
		m[k] = c
	}
	c.add(n, last)
}

// addBatch counts a batch's exposures and its rejections.
func (t *table) addBatch(b *eventlog.Batch, rejected map[string]int) {
	e := t.env(b.Project, b.Environment)
	for i := range b.Events {
		ev := &b.Events[i]
		if ev.Kind != eventlog.Exposure {
			continue
		}
		ms := ev.Time.UnixMilli()
		k := fv{ev.Flag, ev.Variant}
		bump(e.totals, k, 1, ms)
		bump(e.hours, hfv{eventlog.HourOf(ev.Time), k}, 1, ms)
	}
	for code, n := range rejected {
		bump(e.rejected, code, uint64(n), b.Received.UnixMilli())
	}
}

// addEvaluations counts the server's own evaluations, made up to at.
func (t *table) addEvaluations(at time.Time, counts []eventlog.EvaluationCount) {
	ms, hour := at.UnixMilli(), eventlog.HourOf(at)
	for _, c := range counts {
		e := t.env(c.Project, c.Environment)
		k := fv{c.Flag, c.Variant}
		bump(e.evalTotals, k, c.Count, ms)
		bump(e.evalHours, hfv{hour, k}, c.Count, ms)
	}
}

// prune deletes the hours before cutoff.
func (t *table) prune(cutoff uint32) {
	for _, e := range t.envs {
		for _, hours := range []map[hfv]*counter{e.hours, e.evalHours} {
			for k := range hours {
				if k.hour < cutoff {
					delete(hours, k)
				}
			}
		}
	}
}

// query answers as boltlog does: the flags with a total of either kind,
// in key order, their variants in key order, the hours of the range oldest
// first, the rejections in code order.
func (t *table) query(q eventlog.UsageQuery) *eventlog.Usage {
	u := &eventlog.Usage{}
	e := t.envs[envKey{q.Project, q.Environment}]
	if e == nil {
		return u
	}
	variants := map[fv]*eventlog.VariantUsage{}
	variant := func(k fv) *eventlog.VariantUsage {
		v := variants[k]
		if v == nil {
			v = &eventlog.VariantUsage{Variant: k.variant}
			variants[k] = v
		}
		return v
	}
	for k, c := range e.totals {
		if q.Flag == "" || k.flag == q.Flag {
			v := variant(k)
			v.Total, v.LastSeen = c.count, time.UnixMilli(c.last).UTC()
		}
	}
	for k, c := range e.evalTotals {
		if q.Flag == "" || k.flag == q.Flag {
			v := variant(k)
			v.Evaluations, v.LastEvaluated = c.count, time.UnixMilli(c.last).UTC()
		}
	}
	from, to := eventlog.HourOf(q.From), eventlog.HourOf(q.To)
	for _, kind := range []struct {
		hours map[hfv]*counter
		eval  bool
	}{{e.hours, false}, {e.evalHours, true}} {
		for k, c := range kind.hours {
			v := variants[k.fv]
			if v == nil || k.hour < from || k.hour > to {
				continue
			}
			hc := eventlog.HourCount{Hour: time.Unix(int64(k.hour)*3600, 0).UTC(), Count: c.count}
			if kind.eval {
				v.EvaluationHours = append(v.EvaluationHours, hc)
			} else {
				v.Hours = append(v.Hours, hc)
			}
		}
	}
	byHour := func(a, b eventlog.HourCount) int { return a.Hour.Compare(b.Hour) }
	keys := make([]fv, 0, len(variants))
	for k := range variants {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b fv) int { return cmp.Or(cmp.Compare(a.flag, b.flag), cmp.Compare(a.variant, b.variant)) })
	for _, k := range keys {
		v := variants[k]
		slices.SortFunc(v.Hours, byHour)
		slices.SortFunc(v.EvaluationHours, byHour)
		if n := len(u.Flags); n == 0 || u.Flags[n-1].Flag != k.flag {
			u.Flags = append(u.Flags, eventlog.FlagUsage{Flag: k.flag})
		}
		f := &u.Flags[len(u.Flags)-1]
		f.Variants = append(f.Variants, *v)
	}
	for code, c := range e.rejected {
		u.Rejected = append(u.Rejected, eventlog.RejectedCount{Code: code, Count: c.count, LastSeen: time.UnixMilli(c.last).UTC()})
	}
	slices.SortFunc(u.Rejected, func(a, b eventlog.RejectedCount) int { return cmp.Compare(a.Code, b.Code) })
	return u
}

// lastSeen returns environment → flag → the latest exposure or
// evaluation, for the environments of project with usage.
func (t *table) lastSeen(project string) map[string]map[string]time.Time {
	out := map[string]map[string]time.Time{}
	for k, e := range t.envs {
		if k.project != project {
			continue
		}
		flags := map[string]time.Time{}
		for _, totals := range []map[fv]*counter{e.totals, e.evalTotals} {
			for k, c := range totals {
				last := time.UnixMilli(c.last).UTC()
				if cur, ok := flags[k.flag]; !ok || last.After(cur) {
					flags[k.flag] = last
				}
			}
		}
		out[k.env] = flags
	}
	return out
}

// The checkpoint encoding: JSON, one row per counter.
type checkpointJSON struct {
	Seq  uint64    `json:"seq"`
	Envs []envJSON `json:"envs"`
}

type envJSON struct {
	Project     string        `json:"project"`
	Environment string        `json:"environment"`
	Counters    []counterJSON `json:"counters"`
}

// Kinds of counters in a checkpoint.
const (
	kindTotal     = "total"
	kindHour      = "hour"
	kindEvalTotal = "eval-total"
	kindEvalHour  = "eval-hour"
	kindRejected  = "rejected"
)

type counterJSON struct {
	Kind    string `json:"k"`
	Hour    uint32 `json:"h,omitempty"`
	Flag    string `json:"f,omitempty"`
	Variant string `json:"v,omitempty"`
	Code    string `json:"c,omitempty"`
	Count   uint64 `json:"n"`
	Last    int64  `json:"t"`
}

// encode writes the table and the sequence it reaches.
func (t *table) encode(seq uint64) ([]byte, error) {
	cp := checkpointJSON{Seq: seq}
	for k, e := range t.envs {
		ej := envJSON{Project: k.project, Environment: k.env}
		row := func(kind string, h uint32, f fv, code string, c *counter) {
			ej.Counters = append(ej.Counters, counterJSON{Kind: kind, Hour: h, Flag: f.flag, Variant: f.variant, Code: code, Count: c.count, Last: c.last})
		}
		for f, c := range e.totals {
			row(kindTotal, 0, f, "", c)
		}
		for f, c := range e.evalTotals {
			row(kindEvalTotal, 0, f, "", c)
		}
		for h, c := range e.hours {
			row(kindHour, h.hour, h.fv, "", c)
		}
		for h, c := range e.evalHours {
			row(kindEvalHour, h.hour, h.fv, "", c)
		}
		for code, c := range e.rejected {
			row(kindRejected, 0, fv{}, code, c)
		}
		cp.Envs = append(cp.Envs, ej)
	}
	data, err := json.Marshal(cp)
	if err != nil {
		return nil, fmt.Errorf("encode event usage checkpoint: %w", err)
	}
	return data, nil
}

// decodeTable reads what encode wrote.
func decodeTable(data []byte) (*table, uint64, error) {
	var cp checkpointJSON
	if err := json.Unmarshal(data, &cp); err != nil {
		return nil, 0, fmt.Errorf("decode: %w", err)
	}
	t := newTable()
	for _, ej := range cp.Envs {
		e := t.env(ej.Project, ej.Environment)
		for _, c := range ej.Counters {
			f := fv{c.Flag, c.Variant}
			switch c.Kind {
			case kindTotal:
				bump(e.totals, f, c.Count, c.Last)
			case kindEvalTotal:
				bump(e.evalTotals, f, c.Count, c.Last)
			case kindHour:
				bump(e.hours, hfv{c.Hour, f}, c.Count, c.Last)
			case kindEvalHour:
				bump(e.evalHours, hfv{c.Hour, f}, c.Count, c.Last)
			case kindRejected:
				bump(e.rejected, c.Code, c.Count, c.Last)
			default:
				return nil, 0, fmt.Errorf("decode: counter kind %q", c.Kind)
			}
		}
	}
	return t, cp.Seq, nil
}
