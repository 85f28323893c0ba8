package events

import (
	"hash/maphash"
	"math/bits"
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

// dedupShard is an LRU over an arena of nodes linked by index: a hit
// moves a node to the front without allocating. Its index is an open
// addressing table (linear probing) of node numbers keyed by the hash that
// chose the shard, so that a lookup hashes unit and flag only once.
type dedupShard struct {
	mu    sync.Mutex
	cap   int
	slots []int32 // node index + 1; 0 is empty. len is a power of two ≥ 2·cap
	mask  uint64
	nodes []dedupNode
	head  int32 // most recently used; -1 when empty
	tail  int32 // least recently used; -1 when empty
	hits  uint64
}

type dedupNode struct {
	hash                      uint64
	unit, flag                string
	variant, rule, experiment string
	prev, next                int32
}

func newDedup(size int) *dedup {
	d := &dedup{seed: maphash.MakeSeed()}
	per := max(1, (size+dedupShards-1)/dedupShards)
	n := 1 << bits.Len(uint(2*per-1)) // the power of two ≥ 2·per
	for i := range d.shards {
		d.shards[i] = dedupShard{cap: per, slots: make([]int32, n), mask: uint64(n - 1), head: -1, tail: -1}
	}
	return d
}

// seen reports whether e was recorded already; if not, it records e,
// evicting the least recently used exposure of a full shard.
func (d *dedup) seen(e *Exposure) bool {
	h := d.hash(e)
	s := &d.shards[h%dedupShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	slot, i := s.find(h, e.Unit, e.Flag)
	if i >= 0 {
		n := &s.nodes[i]
		same := n.variant == e.Variant && n.rule == e.Rule && n.experiment == e.Experiment
		if !same {
			n.variant, n.rule, n.experiment = e.Variant, e.Rule, e.Experiment
		}
		s.moveToFront(i)
		if same {
			s.hits++
		}
		return same
	}
	if len(s.nodes) < s.cap {
		s.nodes = append(s.nodes, dedupNode{})
		i = int32(len(s.nodes) - 1)
	} else {
		i = s.tail
		s.unlink(i)
		old := &s.nodes[i]
		oldSlot, _ := s.find(old.hash, old.unit, old.flag)
		s.remove(oldSlot)
		// Removing shifts entries back: look for the free slot again.
		slot, _ = s.find(h, e.Unit, e.Flag)
	}
	s.nodes[i] = dedupNode{
		hash: h, unit: e.Unit, flag: e.Flag, variant: e.Variant, rule: e.Rule, experiment: e.Experiment,
		prev: -1, next: -1,
	}
	s.slots[slot] = i + 1
	s.pushFront(i)
	return false
}

// hash hashes the unit and flag of e; its low bits choose the shard.
func (d *dedup) hash(e *Exposure) uint64 {
	return maphash.String(d.seed, e.Unit) ^ maphash.String(d.seed, e.Flag)*0x9e3779b97f4a7c15
}

// home returns the slot where probing for hash h starts. The low bits of h
// chose the shard; the slot takes the next ones.
func (s *dedupShard) home(h uint64) uint64 {
	return (h / dedupShards) & s.mask
}

// find returns the slot of the node for unit and flag and its index, or
// the empty slot where probing stopped and -1.
func (s *dedupShard) find(h uint64, unit, flag string) (uint64, int32) {
	for slot := s.home(h); ; slot = (slot + 1) & s.mask {
		n := s.slots[slot]
		if n == 0 {
			return slot, -1
		}
		if nd := &s.nodes[n-1]; nd.hash == h && nd.unit == unit && nd.flag == flag {
			return slot, n - 1
		}
	}
}

// remove empties slot, moving back the entries after it that probing
// would otherwise no longer reach (backward-shift deletion).
func (s *dedupShard) remove(slot uint64) {
	for {
		s.slots[slot] = 0
		next := slot
		for {
			next = (next + 1) & s.mask
			n := s.slots[next]
			if n == 0 {
				return
			}
			// The entry at next may move to slot unless its home lies
			// cyclically in (slot, next].
			if (next-s.home(s.nodes[n-1].hash))&s.mask >= (next-slot)&s.mask {
				s.slots[slot] = n
				slot = next
				break
			}
		}
	}
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
