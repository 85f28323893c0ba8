package eval

import (
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/switchyard/switchyard/internal/keylist"
	"github.com/switchyard/switchyard/internal/model"
)

func keysN(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

// setID identifies a shard set's table, to tell a reused set from a
// rebuilt one.
func setID(s shardSet) uintptr {
	if s.slots == nil {
		return 0
	}
	return uintptr(reflect.ValueOf(s.slots).UnsafePointer())
}

func TestKeySetMembership(t *testing.T) {
	long := keysN("user-", 3*keylist.ChunkThreshold)
	tests := []struct {
		name string
		keys []string
	}{
		{"short", keysN("user-", 10)},
		{"long, in upload order", long},
		{"long, in shard order", keylist.Arrange(long)},
		{"long, with duplicates", append(slices.Clip(long), long[:100]...)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ks := newKeySet(tc.keys, nil)
			for _, k := range tc.keys {
				if !ks.has(k) {
					t.Fatalf("has(%q) = false, want true", k)
				}
			}
			for _, k := range []string{"", "user-", "nobody", "user-99999999"} {
				if ks.has(k) {
					t.Errorf("has(%q) = true, want false", k)
				}
			}
		})
	}
	var empty *keySet
	if empty.has("x") || newKeySet(nil, nil) != nil {
		t.Error("the empty list holds a key, or is not nil")
	}
}

// TestKeySetReusesUnchangedShards pins the cost of a one-key change to a
// long list: one shard's set is rebuilt, every other is the previous one.
func TestKeySetReusesUnchangedShards(t *testing.T) {
	base := keylist.Arrange(keysN("user-", 3*keylist.ChunkThreshold))
	prev := newKeySet(base, nil)
	added := "user-new"
	next := newKeySet(keylist.Arrange(append(slices.Clip(base), added)), prev)
	rebuilt := 0
	for s := range keylist.Shards {
		if setID(next.shards[s]) != setID(prev.shards[s]) {
			rebuilt++
			if s != keylist.Shard(added) {
				t.Errorf("shard %d rebuilt, want only shard %d (the added key's)", s, keylist.Shard(added))
			}
		}
	}
	if rebuilt != 1 {
		t.Errorf("%d shards rebuilt, want 1", rebuilt)
	}
	if !next.has(added) || prev.has(added) {
		t.Errorf("added key: next has it %v (want true), prev has it %v (want false)", next.has(added), prev.has(added))
	}
	for _, k := range base {
		if !next.has(k) {
			t.Fatalf("next lost %q", k)
		}
	}
}

// TestKeySetDoesNotReuseADifferentShard covers lists whose shard holds the
// same number of keys as before, but other ones, or a duplicate in place of
// a key.
func TestKeySetDoesNotReuseADifferentShard(t *testing.T) {
	base := keylist.Arrange(keysN("user-", 3*keylist.ChunkThreshold))
	prev := newKeySet(base, nil)
	victim := base[0]
	// Another key of the same shard takes the victim's place.
	var other string
	for i := 0; other == ""; i++ {
		if k := fmt.Sprintf("other-%d", i); keylist.Shard(k) == keylist.Shard(victim) {
			other = k
		}
	}
	replaced := append([]string{other}, base[1:]...)
	duplicated := append([]string{base[1]}, base[1:]...)
	for name, keys := range map[string][]string{"replaced": replaced, "duplicated": duplicated} {
		t.Run(name, func(t *testing.T) {
			next := newKeySet(keys, prev)
			if next.has(victim) {
				t.Errorf("has(%q) = true after it left the list: the old shard was reused", victim)
			}
		})
	}
}

func TestKeySetHasDoesNotAllocate(t *testing.T) {
	long := newKeySet(keysN("user-", 3*keylist.ChunkThreshold), nil)
	short := newKeySet(keysN("user-", 10), nil)
	if n := testing.AllocsPerRun(100, func() {
		long.has("user-77")
		short.has("user-7")
		long.has("nobody")
	}); n != 0 {
		t.Errorf("has allocates %v times per run, want 0", n)
	}
}

// TestKeySetFromAListNotInShardOrder: a long list not in shard order,
// compiled with a previous set at hand, is split by hashing every key.
func TestKeySetFromAListNotInShardOrder(t *testing.T) {
	upload := keysN("user-", 3*keylist.ChunkThreshold)
	prev := newKeySet(keylist.Arrange(upload), nil)
	gone := upload[len(upload)/2]
	next := newKeySet(slices.Delete(slices.Clone(upload), len(upload)/2, len(upload)/2+1), prev)
	if next.has(gone) {
		t.Errorf("has(%q) = true after it left the list", gone)
	}
	for _, k := range upload {
		if k != gone && !next.has(k) {
			t.Fatalf("has(%q) = false, want true", k)
		}
	}
}

// TestSiblingEnvironmentsShareSegments: an environment compiled with a
// sibling of the same document shares its compiled segments; one of
// another project does not.
func TestSiblingEnvironmentsShareSegments(t *testing.T) {
	doc := &model.Document{Version: 1, Project: "p", Environments: []string{"prod", "staging"},
		Segments: []*model.Segment{{Key: "big", Include: keysN("user-", 2*keylist.ChunkThreshold)}}}
	prod, err := CompileWith(doc, "prod", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	staging, err := CompileWith(doc, "staging", nil, nil, prod)
	if err != nil {
		t.Fatal(err)
	}
	if staging.segments["big"] != prod.segments["big"] {
		t.Error("staging compiled segment big again instead of sharing production's")
	}
	other := *doc
	other.Project = "q"
	q, err := CompileWith(&other, "staging", nil, nil, prod)
	if err != nil {
		t.Fatal(err)
	}
	if q.segments["big"] == prod.segments["big"] {
		t.Error("a segment was shared across projects")
	}
}

// TestKeySetHoldsNoCopyOfTheList pins the memory of a long list's compiled
// set: each shard set reads its keys in the compiled list itself (the
// store's or the SDK's), never a copy of their string headers, and a
// reused shard reads them in the new list, so the old list is not pinned.
func TestKeySetHoldsNoCopyOfTheList(t *testing.T) {
	base := keylist.Arrange(keysN("user-", 3*keylist.ChunkThreshold))
	next := keylist.Arrange(append(slices.Clone(base), "user-new"))
	for _, tc := range []struct {
		name string
		keys []string
		set  *keySet
	}{
		{"compiled anew", base, newKeySet(base, nil)},
		{"reusing shards", next, newKeySet(next, newKeySet(base, nil))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runs := keylist.SearchRuns(tc.keys)
			for s := range keylist.Shards {
				got, want := tc.set.shards[s].keys, tc.keys[runs[s]:runs[s+1]]
				if len(want) > 0 && (len(got) != len(want) || &got[0] != &want[0]) {
					t.Fatalf("shard %d reads its keys elsewhere than in the compiled list", s)
				}
			}
		})
	}
}
