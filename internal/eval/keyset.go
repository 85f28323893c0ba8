package eval

import (
	"hash/maphash"
	"slices"

	"github.com/switchyard/switchyard/internal/keylist"
)

// keySet is a compiled include or exclude list: a membership test that is
// a hash or two and one table lookup, and never allocates. A list of up to
// keylist.ChunkThreshold keys is one hash set. A longer list is one hash set
// per shard (keylist.Shard), the unit in which the store keeps and sync
// sends such a list: compiling a changed list reuses, from the previous
// compile, every shard that holds the same keys, so adding one key to a
// list of a million rebuilds one small set instead of a million-key one.
// A keySet is immutable once built; a nil *keySet is the empty list.
type keySet struct {
	keys   map[string]struct{} // a short list
	shards []shardSet          // a long list: keylist.Shards sets, by shard
}

// shardSet is the keys of a long list in one shard, as a hash set with
// open addressing (a third of a Go map's memory for a shard's thousand
// keys). Its keys, in list order, tell whether a later list holds the same
// keys there: comparing them costs little, as an unchanged key is the same
// string (the store and the SDK share a key's memory between revisions).
// keys is the shard's run of the compiled list itself, never a copy: the
// compiled segment holds that list anyway (segment.src), so the set costs
// only its slots. A set reused for a later list takes that list's run,
// whose keys are equal index by index, so its slots stay valid and the old
// list is not pinned.
type shardSet struct {
	keys  []string // the shard's keys in list order: a sub-slice of the compiled list
	slots []uint32 // by slotSeed's hash, linear probing: 0 is free, else 1 + an index into keys
}

// slotSeed seeds the hash of the slots, drawn once per process.
var slotSeed = maphash.MakeSeed()

// newShardSet builds the set of the keys in, at most half full. The set
// reads in, which must not change.
func newShardSet(in []string) shardSet {
	s := shardSet{keys: in}
	if len(in) == 0 {
		return s
	}
	size := 2
	for size < 2*len(in) {
		size <<= 1
	}
	s.slots = make([]uint32, size)
	mask := uint64(size - 1)
	for i, k := range s.keys {
		for j := maphash.String(slotSeed, k) & mask; ; j = (j + 1) & mask {
			if v := s.slots[j]; v == 0 {
				s.slots[j] = uint32(i + 1)
				break
			} else if s.keys[v-1] == k {
				break // a duplicate
			}
		}
	}
	return s
}

// has reports whether key is in the set. It does not allocate.
func (s *shardSet) has(key string) bool {
	if len(s.slots) == 0 {
		return false
	}
	mask := uint64(len(s.slots) - 1)
	for j := maphash.String(slotSeed, key) & mask; ; j = (j + 1) & mask {
		v := s.slots[j]
		if v == 0 {
			return false
		}
		if s.keys[v-1] == key {
			return true
		}
	}
}

// has reports whether key is in the set.
func (k *keySet) has(key string) bool {
	if k == nil {
		return false
	}
	if k.shards != nil {
		return k.shards[keylist.Shard(key)].has(key)
	}
	_, ok := k.keys[key]
	return ok
}

// newKeySet compiles a list of keys; nil when it is empty. For a long list
// it reuses each shard of old (which may be nil) that has the list's keys
// in that shard, in the same order.
// A list already in shard order (keylist.Arrange, as the store keeps one)
// is split without copying it, and the set reads it: keys must not change
// (model values never do).
func newKeySet(keys []string, old *keySet) *keySet {
	if len(keys) == 0 {
		return nil
	}
	if len(keys) <= keylist.ChunkThreshold {
		return &keySet{keys: hashSet(keys)}
	}
	var prev []shardSet
	if old != nil {
		prev = old.shards
	}
	ks := &keySet{shards: make([]shardSet, keylist.Shards)}
	if ks.fill(keys, keylist.SearchRuns(keys), prev, true) {
		return ks
	}
	// Not in shard order.
	keys = keylist.Arrange(keys)
	ks.fill(keys, keylist.SearchRuns(keys), prev, false)
	return ks
}

// fill builds the shard sets of keys, split by runs, reusing those of prev
// (which may be nil) that hold the same keys. Every shard set holds only
// keys of its shard. With check, runs are only a guess (keylist.SearchRuns): a
// rebuilt shard's keys are checked to be of their shard (a reused one's
// are, being its keys), and fill returns false at the first that is not.
func (ks *keySet) fill(keys []string, runs *[keylist.Shards + 1]int, prev []shardSet, check bool) bool {
	for shard := range keylist.Shards {
		in := keys[runs[shard]:runs[shard+1]]
		if prev != nil && slices.Equal(prev[shard].keys, in) {
			ks.shards[shard] = shardSet{keys: in, slots: prev[shard].slots}
			continue
		}
		if check {
			for _, k := range in {
				if keylist.Shard(k) != shard {
					return false
				}
			}
		}
		ks.shards[shard] = newShardSet(in)
	}
	return true
}

// hashSet builds a hash set of keys; nil when there are none.
func hashSet(keys []string) map[string]struct{} {
	if len(keys) == 0 {
		return nil
	}
	set := make(map[string]struct{}, len(keys))
	for _, k := range keys {
		set[k] = struct{}{}
	}
	return set
}
