package domain

import (
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// The bbolt layout. Functions named unsafe… run inside a bbolt transaction
// the caller holds (and, for writes, under the store's writer lock).
//
//	meta                     schema → "1"; seq → last sequence number (8 bytes, big-endian)
//	projects/{p}/            project → projectRecord
//	projects/{p}/environments/{e}  → envRecord
//	projects/{p}/segments/{s}      → itemRecord (value: model.Segment; lists longer
//	                                  than keylist.ChunkThreshold kept apart:)
//	projects/{p}/segment_keys/{s}/{include|exclude}/{shard} → keys (segment_chunks.go)
//	projects/{p}/flags/{f}         → itemRecord (value: model.Flag with its targeting,
//	                                  targeting: Meta of each environment's targeting)
//	projects/{p}/components/{c}    → itemRecord (value: model.Component, targeting)
//	projects/{p}/releases/{r}      → itemRecord (value: model.Release with its timeline)
//	projects/{p}/release_models/{m} → itemRecord (value: model.ReleaseModel)
//	projects/{p}/experiments/{id}  → itemRecord (value: model.Experiment)
//	projects/{p}/metrics/{m}       → itemRecord (value: model.Metric)
//	projects/{p}/webhooks/{w}      → itemRecord (value: model.Webhook, its secret sealed: webhook_secret.go)
//	projects/{p}/freezes/{f}       → itemRecord (value: model.Freeze)
//	apikeys/{id}             → APIKey
//	apikey_hash/{hash}       → id
//	audit/{seq}              → AuditEvent (seq: 8 bytes, big-endian)
//
// A write rewrites only the records it changed: one flag's record, the
// records of the environments whose revision it bumped, its audit events
// and the sequence number.
const (
	bucketMeta     = "meta"
	bucketProjects = "projects"
	bucketKeys     = "apikeys"
	bucketKeyHash  = "apikey_hash"
	bucketAudit    = "audit"

	keySchema  = "schema"
	keySeq     = "seq"
	keyProject = "project"

	schemaVersion = "1"
)

type projectRecord struct {
	Description string `json:"description,omitempty"`
	Meta        Meta   `json:"meta"`
}

type envRecord struct {
	Order       uint64 `json:"order"`
	Description string `json:"description,omitempty"`
	Revision    uint64 `json:"revision"`
	Meta        Meta   `json:"meta"`
}

// itemRecord stores a segment, flag or component: V is json.RawMessage
// when writing and the model type when reading.
type itemRecord[V any] struct {
	Order     uint64          `json:"order"`
	Meta      Meta            `json:"meta"`
	Targeting map[string]Meta `json:"targeting,omitempty"`
	Value     V               `json:"value"`
}

func u64(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

func fromU64(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

// unsafeInit creates the top-level buckets and checks the schema version.
func unsafeInit(tx *bolt.Tx) error {
	for _, name := range []string{bucketMeta, bucketProjects, bucketKeys, bucketKeyHash, bucketAudit} {
		if _, err := tx.CreateBucketIfNotExists([]byte(name)); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	meta := tx.Bucket([]byte(bucketMeta))
	switch v := meta.Get([]byte(keySchema)); {
	case v == nil:
		return meta.Put([]byte(keySchema), []byte(schemaVersion))
	case string(v) != schemaVersion:
		return fmt.Errorf("schema version %q, this build reads %q", v, schemaVersion)
	}
	return nil
}

// unsafeLoad reads the whole database into a State and returns it with the
// last sequence number used.
func unsafeLoad(tx *bolt.Tx) (*State, uint64, error) {
	st := emptyState()
	seq := fromU64(tx.Bucket([]byte(bucketMeta)).Get([]byte(keySeq)))
	err := tx.Bucket([]byte(bucketProjects)).ForEachBucket(func(k []byte) error {
		ps, err := unsafeLoadProject(tx.Bucket([]byte(bucketProjects)).Bucket(k), string(k))
		if err != nil {
			return fmt.Errorf("load %s: %w", ProjectName(string(k)), err)
		}
		st.projects[ps.project.Key] = ps
		st.list = append(st.list, ps)
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	err = tx.Bucket([]byte(bucketKeys)).ForEach(func(k, v []byte) error {
		var key APIKey
		if err := json.Unmarshal(v, &key); err != nil {
			return fmt.Errorf("load %s: %w", APIKeyName(string(k)), err)
		}
		LegacyPrincipal(&key) // keys stored before principals existed
		st.keys[key.ID] = &key
		st.byHash[key.Hash] = &key
		st.keyList = append(st.keyList, &key)
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return st, seq, nil
}

func unsafeLoadProject(b *bolt.Bucket, key string) (*ProjectState, error) {
	var rec projectRecord
	if err := json.Unmarshal(b.Get([]byte(keyProject)), &rec); err != nil {
		return nil, fmt.Errorf("project record: %w", err)
	}
	ps := &ProjectState{project: Project{Key: key, Description: rec.Description, Meta: rec.Meta}}

	var envs []envRecord
	var envKeys []string
	err := b.Bucket([]byte(collEnvironments)).ForEach(func(k, v []byte) error {
		var r envRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("%s: %w", EnvironmentName(key, string(k)), err)
		}
		envs = append(envs, r)
		envKeys = append(envKeys, string(k))
		return nil
	})
	if err != nil {
		return nil, err
	}
	order := make([]int, len(envs))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(i, j int) bool { return envs[order[i]].Order < envs[order[j]].Order })
	ps.envs.ownAll()
	for _, i := range order {
		r := envs[i]
		ps.envs.add(
			Environment{Key: envKeys[i], Description: r.Description, Revision: r.Revision, Meta: r.Meta},
			entry{key: envKeys[i], order: r.Order, meta: r.Meta},
		)
	}
	if err := loadItems(b, key, segmentKind(), &ps.segs); err != nil {
		return nil, err
	}
	if err := loadSegmentKeys(b, &ps.segs); err != nil {
		return nil, fmt.Errorf("segment keys: %w", err)
	}
	if err := loadItems(b, key, flagKind(), &ps.flags); err != nil {
		return nil, err
	}
	if err := loadItems(b, key, componentKind(), &ps.comps); err != nil {
		return nil, err
	}
	if err := loadReleases(b, key, &ps.rels); err != nil {
		return nil, err
	}
	if err := loadReleaseModels(b, key, &ps.models); err != nil {
		return nil, err
	}
	if err := loadExperiments(b, key, &ps.exps, &ps.metrics); err != nil {
		return nil, err
	}
	if err := loadWebhooks(b, key, &ps.webhooks); err != nil {
		return nil, err
	}
	if err := loadFreezes(b, key, &ps.freezes); err != nil {
		return nil, err
	}
	ps.freeze()
	return ps, nil
}

func loadItems[T comparable](b *bolt.Bucket, project string, k itemKind[T], c *coll[T]) error {
	var recs []itemRecord[T]
	err := b.Bucket([]byte(k.kind.collection())).ForEach(func(key, v []byte) error {
		var r itemRecord[T]
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("%s: %w", k.name(project, string(key)), err)
		}
		var zero T
		if r.Value == zero || k.key(r.Value) != string(key) {
			return fmt.Errorf("%s: record holds another key", k.name(project, string(key)))
		}
		recs = append(recs, r)
		return nil
	})
	if err != nil {
		return err
	}
	slices.SortFunc(recs, func(a, b itemRecord[T]) int { return cmp.Compare(a.Order, b.Order) })
	c.ownAll()
	for _, r := range recs {
		c.add(r.Value, entry{key: k.key(r.Value), order: r.Order, meta: r.Meta, envs: r.Targeting})
	}
	return nil
}

// unsafeWrite writes a plan: changed projects, API keys, audit events (it
// assigns their Seq), their webhook deliveries and the sequence number.
func unsafeWrite(tx *bolt.Tx, p *plan) error {
	projects := tx.Bucket([]byte(bucketProjects))
	for _, d := range p.drafts {
		if err := unsafeWriteProject(projects, d, p.raw, p.secrets); err != nil {
			return fmt.Errorf("write %s: %w", ProjectName(d.key), err)
		}
	}
	if err := unsafeWriteKeys(tx, p.keys); err != nil {
		return err
	}
	audit := tx.Bucket([]byte(bucketAudit))
	for i := range p.events {
		seq, err := audit.NextSequence()
		if err != nil {
			return fmt.Errorf("audit sequence: %w", err)
		}
		p.events[i].Seq = seq
		rec := p.events[i]
		if d := p.diffs[i]; d != nil {
			rec.Before, rec.After, rec.Diff = nil, nil, d
		}
		b, err := json.Marshal(&rec)
		if err != nil {
			return fmt.Errorf("encode audit event: %w", err)
		}
		if err := audit.Put(u64(seq), b); err != nil {
			return fmt.Errorf("write audit event: %w", err)
		}
	}
	if err := unsafeQueueDeliveries(tx, p); err != nil {
		return err
	}
	if err := tx.Bucket([]byte(bucketMeta)).Put([]byte(keySeq), u64(p.seq)); err != nil {
		return fmt.Errorf("write sequence: %w", err)
	}
	return nil
}

func unsafeWriteProject(projects *bolt.Bucket, d *draft, raw map[any][]byte, secrets *SecretKeys) error {
	name := []byte(d.key)
	if d.ps == nil || d.rewrite {
		if err := projects.DeleteBucket(name); err != nil && !errors.Is(err, bolterrors.ErrBucketNotFound) {
			return err
		}
		if d.ps == nil {
			return nil
		}
	}
	b, err := projects.CreateBucketIfNotExists(name)
	if err != nil {
		return err
	}
	var buckets [numKinds]*bolt.Bucket
	for k := range numKinds {
		if buckets[k], err = b.CreateBucketIfNotExists([]byte(k.collection())); err != nil {
			return err
		}
	}
	ps := d.ps
	if d.rewrite || d.projectDirty {
		if err := putJSON(b, keyProject, projectRecord{Description: ps.project.Description, Meta: ps.project.Meta}); err != nil {
			return err
		}
	}
	dirty := d.dirty
	if d.rewrite {
		dirty = [numKinds]map[string]bool{
			kindEnvironment:  setOf(ps.envs.keys()),
			kindSegment:      setOf(ps.segs.keys()),
			kindFlag:         setOf(ps.flags.keys()),
			kindComponent:    setOf(ps.comps.keys()),
			kindRelease:      setOf(ps.rels.keys()),
			kindReleaseModel: setOf(ps.models.keys()),
			kindExperiment:   setOf(ps.exps.keys()),
			kindMetric:       setOf(ps.metrics.keys()),
			kindWebhook:      setOf(ps.webhooks.keys()),
			kindFreeze:       setOf(ps.freezes.keys()),
		}
	}
	for _, key := range slices.Sorted(maps.Keys(dirty[kindEnvironment])) {
		e, en, ok := ps.envs.get(key)
		if !ok {
			if err := buckets[kindEnvironment].Delete([]byte(key)); err != nil {
				return err
			}
			continue
		}
		r := envRecord{Order: en.order, Description: e.Description, Revision: e.Revision, Meta: e.Meta}
		if err := putJSON(buckets[kindEnvironment], key, r); err != nil {
			return err
		}
	}
	if err := writeSegments(b, buckets[kindSegment], d, dirty[kindSegment], raw); err != nil {
		return err
	}
	if err := writeItems(buckets[kindFlag], &ps.flags, dirty[kindFlag], raw); err != nil {
		return err
	}
	if err := writeItems(buckets[kindComponent], &ps.comps, dirty[kindComponent], raw); err != nil {
		return err
	}
	if err := writeItems(buckets[kindRelease], &ps.rels, dirty[kindRelease], raw); err != nil {
		return err
	}
	if err := writeItems(buckets[kindReleaseModel], &ps.models, dirty[kindReleaseModel], raw); err != nil {
		return err
	}
	if err := writeItems(buckets[kindExperiment], &ps.exps, dirty[kindExperiment], raw); err != nil {
		return err
	}
	if err := writeItems(buckets[kindMetric], &ps.metrics, dirty[kindMetric], raw); err != nil {
		return err
	}
	if err := writeItems(buckets[kindFreeze], &ps.freezes, dirty[kindFreeze], raw); err != nil {
		return err
	}
	return writeWebhooks(buckets[kindWebhook], d.key, &ps.webhooks, dirty[kindWebhook], secrets)
}

// writeItems writes the records of the dirty keys of c, and deletes those
// of dirty keys no longer in c. raw holds the JSON of values created in the
// Tx, so a large segment is not encoded twice.
func writeItems[T comparable](b *bolt.Bucket, c *coll[T], dirty map[string]bool, raw map[any][]byte) error {
	for _, key := range slices.Sorted(maps.Keys(dirty)) {
		v, e, ok := c.get(key)
		if !ok {
			if err := b.Delete([]byte(key)); err != nil {
				return err
			}
			continue
		}
		value, ok := raw[v]
		if !ok {
			var err error
			if value, err = json.Marshal(v); err != nil {
				return fmt.Errorf("encode %s: %w", key, err)
			}
		}
		r := itemRecord[json.RawMessage]{Order: e.order, Meta: e.meta, Targeting: e.envs, Value: value}
		if err := putJSON(b, key, r); err != nil {
			return err
		}
	}
	return nil
}

func unsafeWriteKeys(tx *bolt.Tx, changes []keyChange) error {
	keys, hashes := tx.Bucket([]byte(bucketKeys)), tx.Bucket([]byte(bucketKeyHash))
	for _, c := range changes {
		if c.old != nil {
			if err := keys.Delete([]byte(c.old.ID)); err != nil {
				return fmt.Errorf("delete %s: %w", APIKeyName(c.old.ID), err)
			}
			if err := hashes.Delete([]byte(c.old.Hash)); err != nil {
				return fmt.Errorf("delete %s: %w", APIKeyName(c.old.ID), err)
			}
		}
	}
	for _, c := range changes {
		if c.now != nil {
			if err := putJSON(keys, c.now.ID, c.now); err != nil {
				return fmt.Errorf("write %s: %w", APIKeyName(c.now.ID), err)
			}
			if err := hashes.Put([]byte(c.now.Hash), []byte(c.now.ID)); err != nil {
				return fmt.Errorf("write %s: %w", APIKeyName(c.now.ID), err)
			}
		}
	}
	return nil
}

func putJSON(b *bolt.Bucket, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	if err := b.Put([]byte(key), data); err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	return nil
}

func setOf(keys []string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}
