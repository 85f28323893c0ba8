// Package metrics writes the Prometheus text exposition format (version
// 0.0.4) by hand, and holds the counters it exposes: a Counter costs one
// atomic add and no allocation, so it may sit on the evaluation path; a
// CounterVec, for rare events with labels, takes a lock.
package metrics

import (
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// ContentType is the Content-Type of the text exposition format.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// Counter is a count that only grows. The zero value is ready to use and
// safe for concurrent use; Inc and Add neither lock nor allocate.
type Counter struct{ n atomic.Uint64 }

// Inc adds one.
func (c *Counter) Inc() { c.n.Add(1) }

// Add adds n.
func (c *Counter) Add(n uint64) { c.n.Add(n) }

// Value returns the count.
func (c *Counter) Value() uint64 { return c.n.Load() }

// CounterVec is a Counter per combination of label values. It is safe for
// concurrent use; Inc locks, and allocates the first time it sees a
// combination, so it is meant for events rarer than requests.
type CounterVec struct {
	labels []string
	mu     sync.Mutex
	counts map[string]*vecCount // by joined label values
}

type vecCount struct {
	values []string
	n      uint64
}

// NewCounterVec returns a CounterVec with the given label names.
func NewCounterVec(labels ...string) *CounterVec {
	return &CounterVec{labels: labels, counts: map[string]*vecCount{}}
}

// Inc adds one to the counter of the label values, given in the order of
// the label names; missing values are "", extra ones are ignored.
func (v *CounterVec) Inc(values ...string) {
	vals := make([]string, len(v.labels))
	copy(vals, values)
	key := strings.Join(vals, "\xff")
	v.mu.Lock()
	defer v.mu.Unlock()
	c := v.counts[key]
	if c == nil {
		c = &vecCount{values: vals}
		v.counts[key] = c
	}
	c.n++
}

// Value returns the count of the label values (0 if never incremented).
func (v *CounterVec) Value(values ...string) uint64 {
	vals := make([]string, len(v.labels))
	copy(vals, values)
	v.mu.Lock()
	defer v.mu.Unlock()
	if c := v.counts[strings.Join(vals, "\xff")]; c != nil {
		return c.n
	}
	return 0
}

// Write writes one sample per combination seen, ordered by label values,
// under the family name (which the caller has started with Family).
func (v *CounterVec) Write(w *Writer, name string) {
	v.mu.Lock()
	keys := slices.Sorted(maps.Keys(v.counts))
	samples := make([]vecCount, len(keys))
	for i, k := range keys {
		samples[i] = *v.counts[k]
	}
	v.mu.Unlock()
	labels := make([]Label, len(v.labels))
	for _, s := range samples {
		for i, l := range v.labels {
			labels[i] = Label{Name: l, Value: s.values[i]}
		}
		w.Sample(name, float64(s.n), labels...)
	}
}
