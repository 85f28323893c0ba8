package domain

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/switchyard/switchyard/internal/keylist"
	"github.com/switchyard/switchyard/internal/model"
)

// Segment key lists longer than keylist.ChunkThreshold are stored beside
// the segment's record, one value per shard (package keylist):
//
//	projects/{p}/segment_keys/{s}/{include|exclude}/{shard: 2 bytes, big-endian} → keys, newline-joined
//
// and the record holds the segment without them. A write compares each
// shard with the one of the State the Tx began from (what the file holds)
// and rewrites only the shards that differ; a list that became short
// again moves back into the record.
const bucketSegmentKeys = "segment_keys"

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

// writeSegments writes the records of the dirty segments of d, and their
// long lists in chunks (see bucketSegmentKeys).
func writeSegments(project, b *bolt.Bucket, d *draft, dirty map[string]bool, raw map[any][]byte) error {
	c := &d.ps.segs
	for _, key := range slices.Sorted(maps.Keys(dirty)) {
		var old *model.Segment
		if d.base != nil && !d.rewrite {
			old, _, _ = d.base.Segment(key)
		}
		v, e, ok := c.get(key)
		if !ok {
			if err := b.Delete([]byte(key)); err != nil {
				return err
			}
			if err := deleteBucket(project.Bucket([]byte(bucketSegmentKeys)), key); err != nil {
				return err
			}
			continue
		}
		value, ok := raw[v]
		if !ok || chunked(v.Include) || chunked(v.Exclude) {
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
		r := itemRecord[json.RawMessage]{Order: e.order, Meta: e.meta, Value: value}
		if err := putJSON(b, key, r); err != nil {
			return err
		}
		var oldInc, oldExc []string
		if old != nil {
			oldInc, oldExc = old.Include, old.Exclude
		}
		if err := writeChunks(project, key, keylist.Include, oldInc, v.Include); err != nil {
			return err
		}
		if err := writeChunks(project, key, keylist.Exclude, oldExc, v.Exclude); err != nil {
			return err
		}
	}
	return nil
}

// writeChunks writes the shards of one list that differ from old, the
// list as stored.
func writeChunks(project *bolt.Bucket, segment string, list keylist.List, old, now []string) error {
	if !chunked(now) {
		if sk := project.Bucket([]byte(bucketSegmentKeys)); sk != nil {
			return deleteBucket(sk.Bucket([]byte(segment)), string(list))
		}
		return nil
	}
	sk, err := project.CreateBucketIfNotExists([]byte(bucketSegmentKeys))
	if err != nil {
		return err
	}
	sb, err := sk.CreateBucketIfNotExists([]byte(segment))
	if err != nil {
		return err
	}
	if !chunked(old) {
		if err := deleteBucket(sb, string(list)); err != nil {
			return err
		}
		old = nil
	}
	lb, err := sb.CreateBucketIfNotExists([]byte(list))
	if err != nil {
		return err
	}
	var before [keylist.Shards][]string
	keylist.Chunks(old, func(s int, keys []string) error { before[s] = keys; return nil })
	return keylist.Chunks(now, func(s int, keys []string) error {
		if slices.Equal(before[s], keys) {
			return nil
		}
		k := binary.BigEndian.AppendUint16(nil, uint16(s))
		if len(keys) == 0 {
			return lb.Delete(k)
		}
		return lb.Put(k, keylist.EncodeChunk(keys))
	})
}

// deleteBucket deletes the bucket name of b, if both exist.
func deleteBucket(b *bolt.Bucket, name string) error {
	if b == nil {
		return nil
	}
	if err := b.DeleteBucket([]byte(name)); err != nil && !errors.Is(err, bolterrors.ErrBucketNotFound) {
		return err
	}
	return nil
}

// loadSegmentKeys fills the lists of c's segments stored in chunks.
func loadSegmentKeys(project *bolt.Bucket, c *coll[*model.Segment]) error {
	sk := project.Bucket([]byte(bucketSegmentKeys))
	if sk == nil {
		return nil
	}
	for i, s := range c.items {
		sb := sk.Bucket([]byte(s.Key))
		if sb == nil {
			continue
		}
		inc, err := readChunks(sb.Bucket([]byte(keylist.Include)))
		if err != nil {
			return err
		}
		exc, err := readChunks(sb.Bucket([]byte(keylist.Exclude)))
		if err != nil {
			return err
		}
		if inc != nil {
			s.Include = inc
		}
		if exc != nil {
			s.Exclude = exc
		}
		c.items[i] = s
	}
	return nil
}

// readChunks returns the keys of a list stored in chunks, in one slice
// sized by a first pass over the chunks (no garbage from growing it).
func readChunks(b *bolt.Bucket) ([]string, error) {
	if b == nil {
		return nil, nil
	}
	n := 0
	if err := b.ForEach(func(_, v []byte) error {
		if len(v) > 0 {
			n += bytes.Count(v, []byte{'\n'}) + 1
		}
		return nil
	}); err != nil {
		return nil, err
	}
	keys := make([]string, 0, n)
	err := b.ForEach(func(_, v []byte) error {
		keys = keylist.DecodeChunk(keys, v)
		return nil
	})
	return keys, err
}
