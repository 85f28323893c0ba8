package domain

import (
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/switchyard/switchyard/internal/keylist"
)

// SegmentKeysChange reports what EditSegmentKeys did to a list.
type SegmentKeysChange struct {
	Added   int    // keys that entered the list
	Removed int    // keys that left it
	Count   int    // keys in the list afterwards
	Etag    string // the segment's etag afterwards
}

// auditSample is the most added and the most removed keys a key-list audit
// event names; past it the event carries counts only for the rest.
const auditSample = 20

// segmentKeysEvent is what the audit event of a key-list change records:
// counts and a bounded sample of the keys, never the whole list.
type segmentKeysEvent struct {
	List           keylist.List `json:"list"`
	Op             keylist.Op   `json:"op"`
	Added          int          `json:"added"`
	Removed        int          `json:"removed"`
	Count          int          `json:"count"`
	AddedSample    []string     `json:"added_sample,omitempty"`
	RemovedSample  []string     `json:"removed_sample,omitempty"`
	SampleComplete bool         `json:"sample_complete"` // the samples name every key added and removed
}

// EditSegmentKeys adds the staged keys to, removes them from, or replaces
// with them one list of a segment. Only the keys that change are checked
// (non-empty, valid UTF-8; the server checks its own limits before), so the
// cost is the list's length, never a check of every key of the project. A
// change that changes nothing records nothing. The etag is the segment's.
// The audit event ("segment.keys.add", ".remove", ".replace") records
// counts and a sample of at most 20 keys added and 20 removed.
//
// A stage of at most keylist.ChunkThreshold keys applied to a short list
// keeps the order of the upload. Otherwise the list is merged shard by
// shard with the stage (keylist.Stage.Shards), so beside the old and the
// new list the change holds one shard's keys at a time, and the new list
// is in shard order. The old list serves until the commit publishes the
// new one.
func (tx *Tx) EditSegmentKeys(project, segment string, list keylist.List, op keylist.Op, keys *keylist.Stage, etag string) (SegmentKeysChange, error) {
	var out SegmentKeysChange
	k := segmentKind()
	d, err := tx.live(project)
	if err != nil {
		return out, err
	}
	name := k.name(project, segment)
	i, ok := d.ps.segs.idx[segment]
	if !ok {
		return out, notFound(name)
	}
	e := d.ps.segs.entries[i]
	if err := checkEtag(name, e.meta, etag); err != nil {
		return out, err
	}
	if _, ok := keylist.ParseList(string(list)); !ok {
		return out, fmt.Errorf("%s: list %q: %w", name, list, ErrInvalid)
	}
	if _, ok := keylist.ParseOp(string(op)); !ok {
		return out, fmt.Errorf("%s/keys/%s: operation %q: %w", name, list, op, ErrInvalid)
	}
	old := d.ps.segs.items[i]
	cur := old.Include
	if list == keylist.Exclude {
		cur = old.Exclude
	}
	var ch listEdit
	if small, ok := keys.Small(); ok && !chunked(cur) {
		ch, err = editInMemory(cur, op, small)
	} else {
		ch, err = editByShard(cur, op, keys)
	}
	if err != nil {
		return out, fmt.Errorf("%s/keys/%s: %w", name, list, err)
	}
	out = SegmentKeysChange{Added: ch.added, Removed: ch.removed, Count: len(cur), Etag: e.meta.Etag}
	if ch.added == 0 && ch.removed == 0 {
		return out, nil
	}
	next := ch.next
	out.Count = len(next)
	ns := *old
	if len(next) == 0 {
		next = nil
	}
	next = keylist.Arrange(next)
	if list == keylist.Exclude {
		ns.Exclude = next
	} else {
		ns.Include = next
	}
	d.writable()
	ne := e
	ne.meta = tx.touched(e.meta, tx.next())
	d.ps.segs.set(i, &ns, ne)
	d.markDirty(kindSegment, segment)
	d.bumpAll = true
	out.Etag = ne.meta.Etag
	ev := segmentKeysEvent{
		List: list, Op: op, Added: ch.added, Removed: ch.removed, Count: len(next),
		AddedSample:    ch.addedSample,
		RemovedSample:  ch.removedSample,
		SampleComplete: ch.added <= auditSample && ch.removed <= auditSample,
	}
	tx.record(AuditEvent{
		Action:   "segment.keys." + string(op),
		Resource: name + "/keys/" + string(list),
		Project:  project,
		After:    encode(ev),
	}, true)
	return out, nil
}

// listEdit is what an edit makes of a list: the next list, the counts of
// keys added and removed, and the first auditSample of each.
type listEdit struct {
	next                       []string
	added, removed             int
	addedSample, removedSample []string
}

func (c *listEdit) addKey(k string) {
	c.added++
	if len(c.addedSample) < auditSample {
		c.addedSample = append(c.addedSample, k)
	}
}

func (c *listEdit) removeKey(k string) {
	c.removed++
	if len(c.removedSample) < auditSample {
		c.removedSample = append(c.removedSample, k)
	}
}

// editInMemory applies op with keys, all in memory, to a short list.
func editInMemory(cur []string, op keylist.Op, keys []string) (listEdit, error) {
	var (
		ch             listEdit
		added, removed []string
		err            error
	)
	switch op {
	case keylist.Add:
		ch.next, added, err = addKeys(cur, keys)
	case keylist.Remove:
		ch.next, removed = removeKeys(cur, keys)
	case keylist.Replace:
		ch.next, added, removed, err = replaceKeys(cur, keys)
	}
	for _, k := range added {
		ch.addKey(k)
	}
	for _, k := range removed {
		ch.removeKey(k)
	}
	return ch, err
}

// byShard returns list grouped by shard as keylist.Arrange does, a short
// list too (Arrange keeps a short list's order).
func byShard(list []string) []string {
	if chunked(list) {
		return keylist.Arrange(list)
	}
	out := slices.Clone(list)
	slices.SortStableFunc(out, func(a, b string) int { return keylist.Shard(a) - keylist.Shard(b) })
	return out
}

// editByShard applies op with the staged keys to cur one shard at a time:
// the maps it builds hold one shard's keys. The next list is in shard
// order.
func editByShard(cur []string, op keylist.Op, keys *keylist.Stage) (listEdit, error) {
	var ch listEdit
	cur = byShard(cur)
	size := keys.Len()
	switch op {
	case keylist.Add:
		size += len(cur)
	case keylist.Remove:
		size = len(cur)
	}
	ch.next = make([]string, 0, size)
	seen := map[string]bool{}
	i := 0
	err := keys.Shards(func(shard int, in []string) error {
		j := i
		for j < len(cur) && keylist.Shard(cur[j]) == shard {
			j++
		}
		was := cur[i:j]
		i = j
		if len(in) == 0 {
			if op != keylist.Replace {
				ch.next = append(ch.next, was...)
				return nil
			}
			for _, k := range was {
				ch.removeKey(k)
			}
			return nil
		}
		clear(seen)
		switch op {
		case keylist.Add:
			ch.next = append(ch.next, was...)
			for _, k := range was {
				seen[k] = true
			}
			for _, k := range in {
				if err := checkNewKey(k); err != nil {
					return err
				}
				if !seen[k] {
					seen[k] = true
					ch.next = append(ch.next, k)
					ch.addKey(k)
				}
			}
		case keylist.Remove:
			for _, k := range in {
				seen[k] = true
			}
			for _, k := range was {
				if seen[k] {
					delete(seen, k) // a duplicate in cur stays
					ch.removeKey(k)
					continue
				}
				ch.next = append(ch.next, k)
			}
		case keylist.Replace:
			// seen: true for a key that is new to the list.
			start := len(ch.next)
			for _, k := range in {
				if err := checkNewKey(k); err != nil {
					return err
				}
				if _, dup := seen[k]; !dup {
					seen[k] = true
					ch.next = append(ch.next, k)
				}
			}
			for _, k := range was {
				switch isNew, ok := seen[k]; {
				case ok && isNew:
					seen[k] = false
				case !ok:
					ch.removeKey(k) // a key the old list held twice counts twice
				}
			}
			for _, k := range ch.next[start:] {
				if seen[k] {
					ch.addKey(k)
				}
			}
		}
		return nil
	})
	return ch, err
}

// checkNewKey refuses a key that may not enter a list.
func checkNewKey(key string) error {
	if key == "" || !utf8.ValidString(key) {
		return fmt.Errorf("key %q: %w: empty or not valid UTF-8", key, ErrInvalid)
	}
	return nil
}

// addKeys returns cur with the keys not yet in it appended in order, and
// those keys. It costs one pass over cur and a map of the new keys.
func addKeys(cur, keys []string) (next, added []string, err error) {
	fresh := make(map[string]bool, len(keys))
	for _, k := range keys {
		if err := checkNewKey(k); err != nil {
			return nil, nil, err
		}
		fresh[k] = true
	}
	for _, k := range cur {
		delete(fresh, k)
	}
	if len(fresh) == 0 {
		return cur, nil, nil
	}
	next = make([]string, len(cur), len(cur)+len(fresh))
	copy(next, cur)
	for _, k := range keys {
		if fresh[k] {
			delete(fresh, k)
			next = append(next, k)
			added = append(added, k)
		}
	}
	return next, added, nil
}

// removeKeys returns cur without keys, and the keys removed.
func removeKeys(cur, keys []string) (next, removed []string) {
	gone := make(map[string]bool, len(keys))
	for _, k := range keys {
		gone[k] = true
	}
	next = make([]string, 0, len(cur))
	for _, k := range cur {
		if gone[k] {
			delete(gone, k) // a duplicate in cur stays
			removed = append(removed, k)
			continue
		}
		next = append(next, k)
	}
	if len(removed) == 0 {
		return cur, nil
	}
	return next, removed
}

// replaceKeys returns keys without duplicates, the keys it adds to cur and
// those it removes from cur. It costs one map of the new keys and one pass
// over cur.
func replaceKeys(cur, keys []string) (next, added, removed []string, err error) {
	want := make(map[string]bool, len(keys)) // true: not in cur
	next = make([]string, 0, len(keys))
	for _, k := range keys {
		if err := checkNewKey(k); err != nil {
			return nil, nil, nil, err
		}
		if _, dup := want[k]; !dup {
			want[k] = true
			next = append(next, k)
		}
	}
	for _, k := range cur {
		switch isNew, ok := want[k]; {
		case ok && isNew:
			want[k] = false
		case !ok:
			removed = append(removed, k) // a key the old list held twice counts twice
		}
	}
	for _, k := range next {
		if want[k] {
			added = append(added, k)
		}
	}
	if len(added) == 0 && len(removed) == 0 && len(next) == len(cur) {
		return cur, nil, nil, nil
	}
	return next, added, removed, nil
}
