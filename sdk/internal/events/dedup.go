package events

import (
	"hash/maphash"
	"sync"
)

// dedupShards is the number of independently locked parts of the LRU, so
// that getters on many goroutines rarely wait for each other.
const dedupShards = 16

// dedup remembers the exposures recently queued, per unit and flag, in a
// bounded LRU. An exposure is new when its unit and flag were not seen, or
// were seen with another variant, rule or experiment (the unit moved).
type dedup struct {
	seed   maphash.Seed
	shards [dedupShards]dedupShard
}

// dedupKey identifies a unit's exposure to a flag.
type dedupKey struct {
	unit, flag string
}

// dedupShard is an LRU over an arena of nodes linked by index: a hit
// moves a node to the front without allocating.
type dedupShard struct {
	mu    sync.Mutex
	cap   int
	index map[dedupKey]int32
	nodes []dedupNode
	head  int32 // most recently used; -1 when empty
	tail  int32 // least recently used; -1 when empty
	hits  uint64
}

type dedupNode struct {
	key                       dedupKey
	variant, rule, experiment string
	prev, next                int32
}

func newDedup(size int) *dedup {
	d := &dedup{seed: maphash.MakeSeed()}
	per := max(1, (size+dedupShards-1)/dedupShards)
	for i := range d.shards {
		d.shards[i] = dedupShard{cap: per, index: map[dedupKey]int32{}, head: -1, tail: -1}
	}
	return d
}

// seen reports whether e was recorded already; if not, it records e,
// evicting the least recently used exposure of a full shard.
func (d *dedup) seen(e *Exposure) bool {
	h := maphash.String(d.seed, e.Unit) ^ maphash.String(d.seed, e.Flag)*0x9e3779b97f4a7c15
	s := &d.shards[h%dedupShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	k := dedupKey{e.Unit, e.Flag}
	if i, ok := s.index[k]; ok {
		n := &s.nodes[i]
		same := n.variant == e.Variant && n.rule == e.Rule && n.experiment == e.Experiment
		n.variant, n.rule, n.experiment = e.Variant, e.Rule, e.Experiment
		s.moveToFront(i)
		if same {
			s.hits++
		}
		return same
	}
	var i int32
	if len(s.nodes) < s.cap {
		s.nodes = append(s.nodes, dedupNode{})
		i = int32(len(s.nodes) - 1)
	} else {
		i = s.tail
		s.unlink(i)
		delete(s.index, s.nodes[i].key)
	}
	s.nodes[i] = dedupNode{key: k, variant: e.Variant, rule: e.Rule, experiment: e.Experiment, prev: -1, next: -1}
	s.index[k] = i
	s.pushFront(i)
	return false
}

func (s *dedupShard) moveToFront(i int32) {
	if s.head == i {
		return
	}
	s.unlink(i)
	s.pushFront(i)
}

func (s *dedupShard) unlink(i int32) {
	n := &s.nodes[i]
	if n.prev >= 0 {
		s.nodes[n.prev].next = n.next
	} else {
		s.head = n.next
	}
	if n.next >= 0 {
		s.nodes[n.next].prev = n.prev
	} else {
		s.tail = n.prev
	}
	n.prev, n.next = -1, -1
}

func (s *dedupShard) pushFront(i int32) {
	n := &s.nodes[i]
	n.prev, n.next = -1, s.head
	if s.head >= 0 {
		s.nodes[s.head].prev = i
	}
	s.head = i
	if s.tail < 0 {
		s.tail = i
	}
}
