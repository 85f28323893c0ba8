package domain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/switchyard/switchyard/internal/keylist"
	"github.com/switchyard/switchyard/internal/model"
)

// Segment key lists longer than keylist.ChunkThreshold are stored beside
// the segment's record, one value per shard (package keylist), in the
// generation of chunks the record names ("chunks"; none: the segment's
// own directory):
//
//	projects/{p}/segment_keys/{s}/{include|exclude}/{shard: 4 hex digits}        → keys, newline-joined
//	projects/{p}/segment_chunks/{generation}/{include|exclude}/{shard}           → the same, staged
//
// and the record holds the segment without them. A write that fits one
// Change compares each shard with the one of the State the Tx began from
// (what is stored), wherever the segment's chunks live, and rewrites only
// the shards that differ; a list that became short again moves back into
// the record. A write too large for one Change of the engine (ErrTooLarge:
// a million keys on etcd) is staged instead (applyStaged): every shard of
// the segment's new lists goes to a fresh generation, in Changes of their
// own, under a staging record
//
//	staged/{id} → stagingRecord: the generations' directories, since when
//
// that each of those Changes requires; then one small Change, with the
// write's own preconditions and that record's, points the segment's record
// at the new generation, deletes the old one and the staging record. A
// reader reads only the chunks a record points at, and a Change that
// writes chunks alone changes nothing a reader sees (applyForeign skips
// it). A staging that never switched (the writer stopped) is deleted,
// generations and record in one Change, by CollectStaged.
const (
	bucketSegmentKeys   = "segment_keys"
	bucketSegmentChunks = "segment_chunks"
	prefixStaged        = "staged"
)

// chunkDir is the directory of the chunks of a segment's lists in
// generation gen ("": the segment's own).
func chunkDir(project Path, segment, gen string) Path {
	if gen == "" {
		return project.Child(bucketSegmentKeys).Child(segment)
	}
	return project.Child(bucketSegmentChunks).Child(gen)
}

// arrangeSegment returns s with long lists in shard order (keylist.Arrange).
func arrangeSegment(s *model.Segment) *model.Segment {
	inc, exc := keylist.Arrange(s.Include), keylist.Arrange(s.Exclude)
	if same(inc, s.Include) && same(exc, s.Exclude) {
		return s
	}
	c := *s
	c.Include, c.Exclude = inc, exc
	return &c
}

// normalizeSegment is normalize for segments, except that the lists longer
// than keylist.ChunkThreshold are kept as given, not copied through JSON
// (the stored list passed back stays the very same slice, so what was
// computed for it stays valid). Its raw JSON is nil when it keeps one: the
// record and the audit event encode the segment when they need it.
func normalizeSegment(what string, s *model.Segment) (*model.Segment, []byte, error) {
	inc, exc := s.Include, s.Exclude
	if !chunked(inc) && !chunked(exc) {
		return normalize(what, s)
	}
	c := *s
	if chunked(inc) {
		c.Include = nil
	}
	if chunked(exc) {
		c.Exclude = nil
	}
	n, _, err := normalize(what, &c)
	if err != nil {
		return nil, nil, err
	}
	if chunked(inc) {
		n.Include = inc
	}
	if chunked(exc) {
		n.Exclude = exc
	}
	return n, nil, nil
}

// same reports whether a and b are the same slice.
func same(a, b []string) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

func chunked(keys []string) bool { return len(keys) > keylist.ChunkThreshold }

// encodeSegments writes the records of the dirty segments of d, and their
// long lists in chunks (see bucketSegmentKeys). With a staging, the lists
// that changed go to fresh generations, into st's Changes, and the
// segments' records point at them.
func (o *ops) encodeSegments(project Path, d *draft, dirty map[string]bool, raw map[any][]byte, st *staging) error {
	c := &d.ps.segs
	dir := project.Child(collSegments)
	for _, key := range slices.Sorted(maps.Keys(dirty)) {
		var (
			old    *model.Segment
			oldGen string
		)
		if d.base != nil && !d.rewrite {
			var e entry
			old, e, _ = d.base.segs.get(key)
			oldGen = e.chunks
		}
		hadChunks := old != nil && (chunked(old.Include) || chunked(old.Exclude))
		oldDir := chunkDir(project, key, oldGen)
		v, e, ok := c.get(key)
		if !ok {
			o.del(dir.Child(key))
			if hadChunks {
				o.tree(oldDir)
			}
			continue
		}
		hasChunks := chunked(v.Include) || chunked(v.Exclude)
		restage := st != nil && hasChunks && !(old != nil && same(old.Include, v.Include) && same(old.Exclude, v.Exclude))
		gen := ""
		switch {
		case restage:
			gen = st.fresh(project)
		case hasChunks && hadChunks:
			gen = oldGen
		}
		// The entry is the Tx's own (the segment is dirty): the State
		// published knows where the lists live.
		c.entries[c.idx[key]].chunks = gen
		value, ok := raw[v]
		if !ok || hasChunks {
			rec := *v
			if chunked(v.Include) {
				rec.Include = nil
			}
			if chunked(v.Exclude) {
				rec.Exclude = nil
			}
			var err error
			if value, err = json.Marshal(&rec); err != nil {
				return fmt.Errorf("encode %s: %w", key, err)
			}
		}
		r := itemRecord[json.RawMessage]{Order: e.order, Meta: e.meta, Chunks: gen, Value: value}
		if err := o.putJSON(dir.Child(key), r); err != nil {
			return err
		}
		if restage {
			if hadChunks {
				o.tree(oldDir)
			}
			to := chunkDir(project, key, gen)
			st.ops.encodeChunks(to.Child(string(keylist.Include)), nil, v.Include)
			st.ops.encodeChunks(to.Child(string(keylist.Exclude)), nil, v.Exclude)
			continue
		}
		var oldInc, oldExc []string
		if old != nil {
			oldInc, oldExc = old.Include, old.Exclude
		}
		lists := chunkDir(project, key, gen)
		if hadChunks {
			lists = oldDir
		}
		o.encodeChunks(lists.Child(string(keylist.Include)), oldInc, v.Include)
		o.encodeChunks(lists.Child(string(keylist.Exclude)), oldExc, v.Exclude)
	}
	return nil
}

// encodeChunks writes the shards of one list that differ from old, the
// list as stored.
func (o *ops) encodeChunks(dir Path, old, now []string) {
	if !chunked(now) {
		if chunked(old) {
			o.tree(dir)
		}
		return
	}
	if !chunked(old) {
		old = nil
	}
	var before [keylist.Shards][]string
	keylist.Chunks(old, func(s int, keys []string) error { before[s] = keys; return nil })
	keylist.Chunks(now, func(s int, keys []string) error {
		if slices.Equal(before[s], keys) {
			return nil
		}
		if len(keys) == 0 {
			o.del(dir.Child(shardKey(s)))
			return nil
		}
		o.put(dir.Child(shardKey(s)), keylist.EncodeChunk(keys))
		return nil
	})
}

// shardKey is a shard's element: 4 hex digits.
func shardKey(s int) string { return fmt.Sprintf("%04x", s) }

// segmentChunks are the chunk records of one directory of chunks, by list.
type segmentChunks struct {
	include, exclude [][]byte // values in shard order
}

// addChunk takes one chunk record of the directory named dir (a segment's
// own, or a generation: chunkDir) in a collection of them.
func addChunk(dirs map[string]*segmentChunks, dir, list, shard string, value []byte) error {
	if len(shard) != 4 {
		return fmt.Errorf("chunks %s: %q is not 4 hex digits", dir, shard)
	}
	sc := dirs[dir]
	if sc == nil {
		sc = &segmentChunks{}
		dirs[dir] = sc
	}
	switch keylist.List(list) {
	case keylist.Include:
		sc.include = append(sc.include, value)
	case keylist.Exclude:
		sc.exclude = append(sc.exclude, value)
	}
	return nil
}

// fillSegmentKeys fills the lists of c's segments stored in chunks, from
// the directory each segment's record names: chunks of other generations
// (staged, not switched to) are ignored.
func (pr *projectRecords) fillSegmentKeys(c *coll[*model.Segment]) error {
	for i, s := range c.items {
		sc := pr.chunks[s.Key]
		if gen := c.entries[i].chunks; gen != "" {
			if sc = pr.gens[gen]; sc == nil {
				return fmt.Errorf("segment %s: its chunks %s are missing", s.Key, gen)
			}
		}
		if sc == nil {
			continue
		}
		if inc := decodeChunks(sc.include); inc != nil {
			s.Include = inc
		}
		if exc := decodeChunks(sc.exclude); exc != nil {
			s.Exclude = exc
		}
		c.items[i] = s
	}
	return nil
}

// decodeChunks returns the keys of a list stored in chunks, in one slice
// sized by a first pass over the chunks (no garbage from growing it); nil
// for no chunks.
func decodeChunks(chunks [][]byte) []string {
	if len(chunks) == 0 {
		return nil
	}
	n := 0
	for _, v := range chunks {
		if len(v) > 0 {
			n += bytes.Count(v, []byte{'\n'}) + 1
		}
	}
	keys := make([]string, 0, n)
	for _, v := range chunks {
		keys = keylist.DecodeChunk(keys, v)
	}
	return keys
}
