package eval

import (
	"hash/maphash"

	"github.com/switchyard/switchyard/internal/keylist"
)

// keySet is a compiled include or exclude list: a membership test that is
// one hash and one map lookup, and never allocates. A list of up to
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

// shardSet is the keys of a long list in one shard, with the fingerprint
// that tells whether a later list holds the same keys there.
type shardSet struct {
	set map[string]struct{}
	n   int    // keys of the list in the shard, duplicates included
	sum uint64 // sum of fingerprintSeed hashes of those keys
}

// fingerprintSeed seeds the shard fingerprints. It is drawn once per
// process and never changes: fingerprints are compared only within one
// process.
var fingerprintSeed = maphash.MakeSeed()

// has reports whether key is in the set.
func (k *keySet) has(key string) bool {
	if k == nil {
		return false
	}
	if k.shards != nil {
		_, ok := k.shards[keylist.Shard(key)].set[key]
		return ok
	}
	_, ok := k.keys[key]
	return ok
}

// newKeySet compiles a list of keys; nil when it is empty. For a long list
// it reuses each shard of old (which may be nil) whose keys are the list's
// keys in that shard: same count, same fingerprint and every key present.
// A list already in shard order (keylist.Arrange, as the store keeps one)
// is split without copying it.
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
	_ = keylist.Chunks(keylist.Arrange(keys), func(shard int, in []string) error {
		n, sum := len(in), fingerprint(in)
		if prev != nil && prev[shard].n == n && prev[shard].sum == sum && holdsAll(prev[shard].set, in) {
			ks.shards[shard] = prev[shard]
			return nil
		}
		ks.shards[shard] = shardSet{set: hashSet(in), n: n, sum: sum}
		return nil
	})
	return ks
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

// fingerprint is the order-independent sum of the keys' hashes.
func fingerprint(keys []string) uint64 {
	var sum uint64
	for _, k := range keys {
		sum += maphash.String(fingerprintSeed, k)
	}
	return sum
}

// holdsAll reports whether every key is in set.
func holdsAll(set map[string]struct{}, keys []string) bool {
	for _, k := range keys {
		if _, ok := set[k]; !ok {
			return false
		}
	}
	return true
}
