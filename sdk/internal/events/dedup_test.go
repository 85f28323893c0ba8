package events

import (
	"container/list"
	"fmt"
	"math/rand/v2"
	"testing"
)

// refLRU is the plain LRU that dedup must behave like.
type refLRU struct {
	cap   int
	order *list.List // of *Exposure, most recent first
	index map[[2]string]*list.Element
}

func (r *refLRU) seen(e *Exposure) bool {
	k := [2]string{e.Unit, e.Flag}
	if el, ok := r.index[k]; ok {
		old := el.Value.(*Exposure)
		same := old.Variant == e.Variant && old.Rule == e.Rule && old.Experiment == e.Experiment
		el.Value = e
		r.order.MoveToFront(el)
		return same
	}
	if r.order.Len() == r.cap {
		last := r.order.Back()
		old := last.Value.(*Exposure)
		delete(r.index, [2]string{old.Unit, old.Flag})
		r.order.Remove(last)
	}
	r.index[k] = r.order.PushFront(e)
	return false
}

// TestDedupMatchesPlainLRU runs random exposures through one shard's worth
// of capacity and checks every answer against a plain LRU per shard.
func TestDedupMatchesPlainLRU(t *testing.T) {
	for _, size := range []int{1, 16, 100, 1000} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			d := newDedup(size)
			per := max(1, (size+dedupShards-1)/dedupShards)
			refs := map[*dedupShard]*refLRU{}
			r := rand.New(rand.NewPCG(7, uint64(size)))
			for n := range 200_000 {
				e := &Exposure{
					Unit:    fmt.Sprint("u", r.IntN(3*size+5)),
					Flag:    fmt.Sprint("f", r.IntN(3)),
					Variant: fmt.Sprint("v", r.IntN(2)),
					Rule:    "default",
				}
				h := d.hash(e)
				s := &d.shards[h%dedupShards]
				ref := refs[s]
				if ref == nil {
					ref = &refLRU{cap: per, order: list.New(), index: map[[2]string]*list.Element{}}
					refs[s] = ref
				}
				if got, want := d.seen(e), ref.seen(e); got != want {
					t.Fatalf("exposure %d %+v: seen = %v, want %v", n, e, got, want)
				}
			}
		})
	}
}

// BenchmarkDedupSeen measures the hit path of an exposure already seen.
func BenchmarkDedupSeen(b *testing.B) {
	d := newDedup(DefaultConfig().DedupSize)
	es := make([]Exposure, 100)
	for i := range es {
		es[i] = Exposure{Unit: fmt.Sprintf("user-%d", i), Flag: "new-checkout", Variant: "on", Rule: "eu", Revision: 3}
		d.seen(&es[i])
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if !d.seen(&es[i%len(es)]) {
			b.Fatal("not seen")
		}
		i++
	}
}
