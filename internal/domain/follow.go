package domain

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/switchyard/switchyard/internal/keylist"
	"github.com/switchyard/switchyard/internal/model"
)

// A replica follows the Changes other processes apply (Backend.Watch) by
// patching its State with the records each Change wrote, decoding those
// records only, as its own writes do: the projects and API keys a Change
// did not touch keep their values, and so do the segments, flags and
// components of a touched project it did not write, so a compiled ruleset
// reuses them by pointer (eval.CompileWith). A Change the patch does not
// read (a Tree delete inside a project, as the bbolt engine passes them;
// chunk records of another layout) reloads the projects it touched
// instead (refresh).

// errReload means a Change holds a write patch does not read: reload.
var errReload = errors.New("reload")

// patch brings the State up to ops, a foreign Change that touched projects
// (and the API keys if keys), publishes it and calls the commit functions.
// The writer lock is held.
func (s *Store) patch(ctx context.Context, ops []Op, projects map[string]bool, keys bool, events []AuditEvent) error {
	base := s.state.Load()
	st, err := patchState(base, ops, s.opts.SecretKeys)
	if errors.Is(err, errReload) {
		return s.refresh(ctx, projects, keys, events)
	}
	if err != nil {
		return err
	}
	c := commitOf(base, st, projects, events)
	s.state.Store(st)
	s.publish(st, c)
	return nil
}

// patchState returns base with the writes of ops to projects and API keys
// applied.
func patchState(base *State, ops []Op, sk *SecretKeys) (*State, error) {
	byProject := map[string]map[string]Op{} // project → path under it → last write
	keyOps := map[string]Op{}
	for _, op := range ops {
		p := op.Path
		switch {
		case len(p) >= 2 && p[0] == prefixProjects:
			if op.Tree {
				return nil, errReload
			}
			m := byProject[p[1]]
			if m == nil {
				m = map[string]Op{}
				byProject[p[1]] = m
			}
			m[Path(p[2:]).String()] = op
		case len(p) >= 1 && p[0] == prefixKeys:
			if op.Tree || len(p) != 2 {
				return nil, errReload
			}
			keyOps[p[1]] = op
		}
	}
	st := &State{projects: maps.Clone(base.projects), list: base.list, keys: base.keys, byHash: base.byHash, keyList: base.keyList}
	for _, key := range slices.Sorted(maps.Keys(byProject)) {
		ps, err := patchProject(base.projects[key], key, byProject[key], sk)
		if err != nil {
			return nil, err
		}
		if ps == nil {
			delete(st.projects, key)
		} else {
			st.projects[key] = ps
		}
	}
	if len(byProject) > 0 {
		st.list = slices.SortedFunc(maps.Values(st.projects), func(a, b *ProjectState) int { return cmp.Compare(a.project.Key, b.project.Key) })
	}
	if len(keyOps) > 0 {
		if err := patchKeys(st, keyOps); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// patchKeys applies the writes of API key records (by ID) to st's keys.
func patchKeys(st *State, ops map[string]Op) error {
	keys := maps.Clone(st.keys)
	for id, op := range ops {
		if op.Value == nil {
			delete(keys, id)
			continue
		}
		var k APIKey
		if err := json.Unmarshal(op.Value, &k); err != nil {
			return fmt.Errorf("load %s: %w", APIKeyName(id), err)
		}
		LegacyPrincipal(&k)
		keys[id] = &k
	}
	st.keys, st.byHash = keys, make(map[string]*APIKey, len(keys))
	st.keyList = slices.SortedFunc(maps.Values(keys), func(a, b *APIKey) int { return cmp.Compare(a.ID, b.ID) })
	for _, k := range st.keyList {
		st.byHash[k.Hash] = k
	}
	return nil
}

// projectOps are the last writes to one project's records, by collection
// and key.
type projectOps struct {
	project *Op
	colls   map[string]map[string][]byte // collection → key → value (nil: deleted)
	// chunks are the shards written in a segment's own directory, by
	// segment; gens those written in a staged generation, by generation.
	chunks, gens map[string]map[keylist.List]map[int][]byte
}

// addShard records the write of one shard of dir's list.
func addShard(dirs map[string]map[keylist.List]map[int][]byte, dir string, list keylist.List, shard int, v []byte) {
	byList := dirs[dir]
	if byList == nil {
		byList = map[keylist.List]map[int][]byte{}
		dirs[dir] = byList
	}
	if byList[list] == nil {
		byList[list] = map[int][]byte{}
	}
	byList[list][shard] = v
}

// patchProject returns old (nil: a project this State lacks) with ops, the
// last write of each path under projects/{key} by its path below it,
// applied; nil if they deleted the project.
func patchProject(old *ProjectState, key string, ops map[string]Op, sk *SecretKeys) (*ProjectState, error) {
	po := projectOps{colls: map[string]map[string][]byte{}, chunks: map[string]map[keylist.List]map[int][]byte{},
		gens: map[string]map[keylist.List]map[int][]byte{}}
	for _, op := range ops {
		p := op.Path[2:]
		switch {
		case len(p) == 1 && p[0] == recProject:
			po.project = &op
		case len(p) == 2:
			m := po.colls[p[0]]
			if m == nil {
				m = map[string][]byte{}
				po.colls[p[0]] = m
			}
			m[p[1]] = op.Value
		case len(p) == 4 && (p[0] == bucketSegmentKeys || p[0] == bucketSegmentChunks):
			list, ok := keylist.ParseList(p[2])
			shard, okShard := parseShard(p[3])
			if !ok || !okShard {
				return nil, errReload
			}
			if p[0] == bucketSegmentKeys {
				addShard(po.chunks, p[1], list, shard, op.Value)
			} else {
				addShard(po.gens, p[1], list, shard, op.Value)
			}
		case len(p) > 0 && (p[0] == bucketSegmentKeys || p[0] == bucketSegmentChunks):
			return nil, errReload
		}
	}
	if po.project != nil && po.project.Value == nil {
		return nil, nil // deleted, with every record under it
	}
	var ps *ProjectState
	switch {
	case old != nil:
		ps = old.thaw()
	case po.project == nil:
		return nil, errReload // records of a project this State lacks
	default:
		ps = &ProjectState{project: Project{Key: key}}
	}
	if po.project != nil {
		var rec projectRecord
		if err := json.Unmarshal(po.project.Value, &rec); err != nil {
			return nil, fmt.Errorf("load %s: project record: %w", ProjectName(key), err)
		}
		ps.project = Project{Key: key, Description: rec.Description, Meta: rec.Meta}
	}
	if err := patchEnvironments(ps, po.colls[collEnvironments]); err != nil {
		return nil, fmt.Errorf("load %s: %w", ProjectName(key), err)
	}
	if err := patchSegments(ps, old, po.colls[collSegments], po.chunks, po.gens); err != nil {
		return nil, fmt.Errorf("load %s: %w", ProjectName(key), err)
	}
	for _, err := range []error{
		patchItems(ps, flagKind(), po.colls),
		patchItems(ps, componentKind(), po.colls),
		patchItems(ps, releaseKind(), po.colls),
		patchItems(ps, releaseModelKind(), po.colls),
		patchItems(ps, experimentKind(), po.colls),
		patchItems(ps, metricKind(), po.colls),
		patchItems(ps, webhookKind(), po.colls),
		patchItems(ps, freezeKind(), po.colls),
	} {
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", ProjectName(key), err)
		}
	}
	ps.freeze()
	var hooks []Record
	for id, v := range po.colls[collWebhooks] {
		if v != nil {
			hooks = append(hooks, Record{Path: projectPath(key).Child(collWebhooks).Child(id), Value: v})
		}
	}
	if err := openWebhookSecrets(&projectRecords{key: key, colls: map[string][]Record{collWebhooks: hooks}}, ps, sk, nil); err != nil {
		return nil, err
	}
	return ps, nil
}

// parseShard reads a shard's element (shardKey).
func parseShard(s string) (int, bool) {
	if len(s) != 4 {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 16, 16)
	if err != nil || n >= keylist.Shards {
		return 0, false
	}
	return int(n), true
}

// patchEnvironments applies the writes of environment records.
func patchEnvironments(ps *ProjectState, recs map[string][]byte) error {
	c := &ps.envs
	for _, key := range slices.Sorted(maps.Keys(recs)) {
		v := recs[key]
		i, exists := c.idx[key]
		if v == nil {
			if exists {
				c.remove(i)
			}
			continue
		}
		var r envRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("%s: %w", EnvironmentName(ps.project.Key, key), err)
		}
		e := Environment{Key: key, Description: r.Description, Revision: r.Revision, Meta: r.Meta}
		en := entry{key: key, order: r.Order, meta: r.Meta}
		if exists {
			c.set(i, e, en)
		} else {
			c.add(e, en)
		}
	}
	c.reorder()
	return nil
}

// patchItems applies the writes of one collection's item records.
func patchItems[T comparable](ps *ProjectState, k itemKind[T], colls map[string]map[string][]byte) error {
	recs := colls[k.kind.collection()]
	c := k.coll(ps)
	for _, key := range slices.Sorted(maps.Keys(recs)) {
		i, exists := c.idx[key]
		if recs[key] == nil {
			if exists {
				c.remove(i)
			}
			continue
		}
		r, err := decodeItem(ps.project.Key, k, key, recs[key])
		if err != nil {
			return err
		}
		en := entry{key: key, order: r.Order, meta: r.Meta, envs: r.Targeting, chunks: r.Chunks}
		if exists {
			c.set(i, r.Value, en)
		} else {
			c.add(r.Value, en)
		}
	}
	c.reorder()
	return nil
}

// patchSegments applies the writes of segment records and of their chunked
// lists (segment_chunks.go). A list stored in chunks is the shards the
// Change wrote and, for the others, those of the list as old held it: the
// same slice when no shard changed.
//
// A segment whose record moved its chunks to another generation (a staged
// write switching, see staging.go) is not patched: the generation was
// written by earlier Changes, so the project is reloaded. Shards written in
// a generation no record of the Change names are a staging's, invisible.
func patchSegments(ps, old *ProjectState, recs map[string][]byte, chunks, gens map[string]map[keylist.List]map[int][]byte) error {
	for key := range chunks {
		if _, ok := recs[key]; !ok {
			return errReload // a list written without its segment's record
		}
	}
	if err := patchItems(ps, segmentKind(), map[string]map[string][]byte{collSegments: recs}); err != nil {
		return err
	}
	for _, key := range slices.Sorted(maps.Keys(recs)) {
		i, ok := ps.segs.idx[key]
		if !ok {
			continue
		}
		s := ps.segs.items[i] // decoded just now: ours to fill
		gen := ps.segs.entries[i].chunks
		var prev *model.Segment
		prevGen := ""
		if old != nil {
			if j, ok := old.segs.idx[key]; ok {
				prev, prevGen = old.segs.items[j], old.segs.entries[j].chunks
			}
		}
		if gen != prevGen {
			return errReload
		}
		shards := chunks[key]
		if gen != "" {
			if len(shards) > 0 {
				return errReload // the directory the record no longer names
			}
			shards = gens[gen]
		}
		var prevInc, prevExc []string
		if prev != nil {
			prevInc, prevExc = prev.Include, prev.Exclude
		}
		s.Include = patchList(s.Include, prevInc, shards[keylist.Include])
		s.Exclude = patchList(s.Exclude, prevExc, shards[keylist.Exclude])
	}
	return nil
}

// patchList returns a segment's list: inline, as its record holds it, or,
// when the record leaves it out, prev's chunked list with the shards
// written replaced.
func patchList(inline, prev []string, shards map[int][]byte) []string {
	if len(inline) > 0 {
		return inline
	}
	if !chunked(prev) {
		prev = nil
	}
	if len(shards) == 0 {
		return prev
	}
	runs := keylist.SearchRuns(prev)
	n := 0
	for s := range keylist.Shards {
		if v, ok := shards[s]; ok {
			if len(v) > 0 {
				n += countKeys(v)
			}
			continue
		}
		n += runs[s+1] - runs[s]
	}
	if n == 0 {
		return nil
	}
	keys := make([]string, 0, n)
	for s := range keylist.Shards {
		if v, ok := shards[s]; ok {
			keys = keylist.DecodeChunk(keys, v)
			continue
		}
		keys = append(keys, prev[runs[s]:runs[s+1]]...)
	}
	return keys
}

// countKeys is the number of keys of a non-empty chunk.
func countKeys(v []byte) int {
	n := 1
	for _, b := range v {
		if b == '\n' {
			n++
		}
	}
	return n
}

// reorder restores creation order after adds (decode's order: an element
// is placed by its entry's order).
func (c *coll[T]) reorder() {
	c.compact()
	if slices.IsSortedFunc(c.entries, func(a, b entry) int { return cmp.Compare(a.order, b.order) }) {
		return
	}
	idx := make([]int, len(c.items))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(c.entries[a].order, c.entries[b].order) })
	items, entries := make([]T, len(idx)), make([]entry, len(idx))
	m := make(map[string]int, len(idx))
	for j, i := range idx {
		items[j], entries[j] = c.items[i], c.entries[i]
		m[entries[j].key] = j
	}
	c.items, c.entries, c.idx = items, entries, m
	c.owned, c.idxOwned = true, true
}

// commitOf is the Commit of a followed Change, from base to st: the
// environments of projects whose revision moved, and events.
func commitOf(base, st *State, projects map[string]bool, events []AuditEvent) *Commit {
	c := &Commit{State: st, Events: events}
	for key := range projects {
		ps, ok := st.projects[key]
		if !ok {
			continue
		}
		old := base.projects[key]
		for _, e := range ps.envs.items {
			if old != nil {
				if oe, _, ok := old.envs.get(e.Key); ok && oe.Revision == e.Revision {
					continue
				}
			}
			if c.Revisions == nil {
				c.Revisions = map[EnvRef]uint64{}
			}
			c.Revisions[EnvRef{key, e.Key}] = e.Revision
			c.Revision = max(c.Revision, e.Revision)
		}
	}
	return c
}
