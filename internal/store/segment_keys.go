package store

import (
	"fmt"
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

// EditSegmentKeys adds keys to, removes them from, or replaces one list of
// a segment. Only the keys that change are checked (non-empty, valid
// UTF-8; the server checks its own limits before), so the cost is the
// list's length, never a check of every key of the project. A change that
// changes nothing records nothing. The etag is the segment's. The audit
// event ("segment.keys.add", ".remove", ".replace") records counts and a
// sample of at most 20 keys added and 20 removed.
func (tx *Tx) EditSegmentKeys(project, segment string, list keylist.List, op keylist.Op, keys []string, etag string) (SegmentKeysChange, error) {
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
	old := d.ps.segs.items[i]
	cur := old.Include
	if list == keylist.Exclude {
		cur = old.Exclude
	}
	var next, added, removed []string
	switch op {
	case keylist.Add:
		next, added, err = addKeys(cur, keys)
	case keylist.Remove:
		next, removed = removeKeys(cur, keys)
	case keylist.Replace:
		next, added, removed, err = replaceKeys(cur, keys)
	default:
		err = fmt.Errorf("operation %q: %w", op, ErrInvalid)
	}
	if err != nil {
		return out, fmt.Errorf("%s/keys/%s: %w", name, list, err)
	}
	out = SegmentKeysChange{Added: len(added), Removed: len(removed), Count: len(next), Etag: e.meta.Etag}
	if len(added) == 0 && len(removed) == 0 {
		return out, nil
	}
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
		List: list, Op: op, Added: len(added), Removed: len(removed), Count: len(next),
		AddedSample:    added[:min(len(added), auditSample)],
		RemovedSample:  removed[:min(len(removed), auditSample)],
		SampleComplete: len(added) <= auditSample && len(removed) <= auditSample,
	}
	tx.record(AuditEvent{
		Action:   "segment.keys." + string(op),
		Resource: name + "/keys/" + string(list),
		Project:  project,
		After:    encode(ev),
	}, true)
	return out, nil
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
