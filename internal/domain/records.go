package domain

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
)

// The records the domain keeps in its Backend: paths and JSON values. The
// domain encodes (a plan into the Ops of one Change) and decodes (the
// records of Load into a State) them here, and nowhere else.
//
//	meta/schema              → "2"
//	meta/seq                 → last sequence number (revisions, etags), 16 hex digits
//	meta/audit               → last audit sequence number, 16 hex digits
//	projects/{p}/project     → projectRecord
//	projects/{p}/environments/{e}  → envRecord
//	projects/{p}/segments/{s}      → itemRecord (value: model.Segment; lists longer
//	                                  than keylist.ChunkThreshold kept apart:)
//	projects/{p}/segment_keys/{s}/{include|exclude}/{shard: 4 hex digits} → keys (segment_chunks.go)
//	projects/{p}/segment_chunks/{generation}/{include|exclude}/{shard} → keys, staged (segment_chunks.go)
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
//	audit/{seq: 16 hex digits}     → AuditEvent
//	webhook_deliveries/…     → WebhookDelivery (webhook_deliveries.go)
//	staged/{id}              → stagingRecord (staging.go)
//
// A write rewrites only the records it changed: one flag's record, the
// records of the environments whose revision it bumped, its audit events
// and the sequence numbers. Schema "1" (bbolt only) had big-endian binary
// keys where "2" has hexadecimal ones; internal/store/boltstore migrates it.
const (
	prefixMeta     = "meta"
	prefixProjects = "projects"
	prefixKeys     = "apikeys"
	prefixKeyHash  = "apikey_hash"
	prefixAudit    = "audit"

	recSchema  = "schema"
	recSeq     = "seq"
	recAudit   = "audit"
	recProject = "project"

	schemaVersion = "2"
)

var (
	pathSchema   = Path{prefixMeta, recSchema}
	pathSeq      = Path{prefixMeta, recSeq}
	pathAuditSeq = Path{prefixMeta, recAudit}
)

func projectPath(project string) Path { return Path{prefixProjects, project} }

func auditPath(seq uint64) Path { return Path{prefixAudit, hexKey(seq)} }

// hexKey is n as 16 lowercase hex digits: byte order is numeric order.
func hexKey(n uint64) string {
	const digits = "0000000000000000"
	s := strconv.FormatUint(n, 16)
	return digits[len(s):] + s
}

// parseHex reads a hexKey; ok is false for anything else.
func parseHex(s string) (uint64, bool) {
	if len(s) != 16 {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 16, 64)
	return n, err == nil
}

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
	// Chunks names the generation of chunks holding a segment's long
	// lists; "" is the segment's own directory (segment_chunks.go).
	Chunks string `json:"chunks,omitempty"`
	Value  V      `json:"value"`
}

// head is what the meta records say of the sequence numbers.
type head struct {
	seq, audit uint64
}

// conds are the preconditions of a Change computed from h: nobody wrote a
// commit since.
func (h head) conds() []Cond {
	return []Cond{{Path: pathSeq, Value: hexValue(h.seq)}, {Path: pathAuditSeq, Value: hexValue(h.audit)}}
}

// hexValue is the value of a sequence record; nil (no record) for 0.
func hexValue(n uint64) []byte {
	if n == 0 {
		return nil
	}
	return []byte(hexKey(n))
}

// decodeSeq reads a sequence record's value; nil is 0.
func decodeSeq(v []byte) (uint64, error) {
	if v == nil {
		return 0, nil
	}
	n, ok := parseHex(string(v))
	if !ok {
		return 0, fmt.Errorf("sequence record %q is not 16 hex digits", v)
	}
	return n, nil
}

// loader gathers the records Load gives, for decode.
type loader struct {
	schema   []byte
	head     head
	projects map[string]*projectRecords
	keys     []Record
}

// projectRecords are the records of one project.
type projectRecords struct {
	key     string
	project []byte
	colls   map[string][]Record       // by collection, in key order
	chunks  map[string]*segmentChunks // in a segment's own directory, by segment
	gens    map[string]*segmentChunks // staged generations, by generation
}

func newLoader() *loader { return &loader{projects: map[string]*projectRecords{}} }

// add takes one record under meta, projects or apikeys.
func (l *loader) add(r Record) error {
	p := r.Path
	switch {
	case len(p) == 2 && p[0] == prefixMeta && p[1] == recSchema:
		l.schema = r.Value
	case len(p) == 2 && p[0] == prefixMeta && p[1] == recSeq:
		n, err := decodeSeq(r.Value)
		if err != nil {
			return err
		}
		l.head.seq = n
	case len(p) == 2 && p[0] == prefixMeta && p[1] == recAudit:
		n, err := decodeSeq(r.Value)
		if err != nil {
			return err
		}
		l.head.audit = n
	case len(p) == 2 && p[0] == prefixKeys:
		l.keys = append(l.keys, r)
	case len(p) >= 3 && p[0] == prefixProjects:
		pr := l.projects[p[1]]
		if pr == nil {
			pr = &projectRecords{key: p[1], colls: map[string][]Record{}, chunks: map[string]*segmentChunks{}, gens: map[string]*segmentChunks{}}
			l.projects[p[1]] = pr
		}
		switch {
		case len(p) == 3 && p[2] == recProject:
			pr.project = r.Value
		case len(p) == 4:
			pr.colls[p[2]] = append(pr.colls[p[2]], r)
		case len(p) == 6 && p[2] == bucketSegmentKeys:
			return addChunk(pr.chunks, p[3], p[4], p[5], r.Value)
		case len(p) == 6 && p[2] == bucketSegmentChunks:
			return addChunk(pr.gens, p[3], p[4], p[5], r.Value)
		}
	}
	return nil
}

// decodeProjects decodes every project gathered, sealing nothing: see
// openWebhookSecrets.
func (l *loader) decodeProjects() (map[string]*ProjectState, error) {
	out := make(map[string]*ProjectState, len(l.projects))
	for key, pr := range l.projects {
		if pr.project == nil {
			continue // records of a project being deleted, or a stray
		}
		ps, err := pr.decode()
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", ProjectName(key), err)
		}
		out[key] = ps
	}
	return out, nil
}

// decodeKeys decodes the API keys gathered into st.
func (l *loader) decodeKeys(st *State) error {
	st.keys, st.byHash, st.keyList = map[string]*APIKey{}, map[string]*APIKey{}, nil
	for _, r := range l.keys {
		var key APIKey
		if err := json.Unmarshal(r.Value, &key); err != nil {
			return fmt.Errorf("load %s: %w", APIKeyName(r.Path[1]), err)
		}
		LegacyPrincipal(&key) // keys stored before principals existed
		st.keys[key.ID] = &key
		st.byHash[key.Hash] = &key
		st.keyList = append(st.keyList, &key)
	}
	return nil
}

// decode builds a project's state from its records.
func (pr *projectRecords) decode() (*ProjectState, error) {
	key := pr.key
	var rec projectRecord
	if err := json.Unmarshal(pr.project, &rec); err != nil {
		return nil, fmt.Errorf("project record: %w", err)
	}
	ps := &ProjectState{project: Project{Key: key, Description: rec.Description, Meta: rec.Meta}}

	var envs []envRecord
	var envKeys []string
	for _, r := range pr.colls[collEnvironments] {
		var e envRecord
		k := r.Path[len(r.Path)-1]
		if err := json.Unmarshal(r.Value, &e); err != nil {
			return nil, fmt.Errorf("%s: %w", EnvironmentName(key, k), err)
		}
		envs = append(envs, e)
		envKeys = append(envKeys, k)
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
	if err := decodeItems(pr, segmentKind(), &ps.segs); err != nil {
		return nil, err
	}
	if err := pr.fillSegmentKeys(&ps.segs); err != nil {
		return nil, fmt.Errorf("segment keys: %w", err)
	}
	for _, err := range []error{
		decodeItems(pr, flagKind(), &ps.flags),
		decodeItems(pr, componentKind(), &ps.comps),
		decodeItems(pr, releaseKind(), &ps.rels),
		decodeItems(pr, releaseModelKind(), &ps.models),
		decodeItems(pr, experimentKind(), &ps.exps),
		decodeItems(pr, metricKind(), &ps.metrics),
		decodeItems(pr, webhookKind(), &ps.webhooks),
		decodeItems(pr, freezeKind(), &ps.freezes),
	} {
		if err != nil {
			return nil, err
		}
	}
	ps.freeze()
	return ps, nil
}

// decodeItems decodes the records of one collection of a project (none:
// a project written before the kind existed).
func decodeItems[T comparable](pr *projectRecords, k itemKind[T], c *coll[T]) error {
	records := pr.colls[k.kind.collection()]
	recs := make([]itemRecord[T], 0, len(records))
	for _, rec := range records {
		r, err := decodeItem(pr.key, k, rec.Path[len(rec.Path)-1], rec.Value)
		if err != nil {
			return err
		}
		recs = append(recs, r)
	}
	slices.SortFunc(recs, func(a, b itemRecord[T]) int { return cmp.Compare(a.Order, b.Order) })
	c.ownAll()
	for _, r := range recs {
		c.add(r.Value, entry{key: k.key(r.Value), order: r.Order, meta: r.Meta, envs: r.Targeting, chunks: r.Chunks})
	}
	return nil
}

// decodeItem decodes the record of the item key of project.
func decodeItem[T comparable](project string, k itemKind[T], key string, value []byte) (itemRecord[T], error) {
	var r itemRecord[T]
	if err := json.Unmarshal(value, &r); err != nil {
		return r, fmt.Errorf("%s: %w", k.name(project, key), err)
	}
	var zero T
	if r.Value == zero || k.key(r.Value) != key {
		return r, fmt.Errorf("%s: record holds another key", k.name(project, key))
	}
	return r, nil
}

// ops collects the Ops of one Change.
type ops []Op

func (o *ops) put(path Path, value []byte) { *o = append(*o, Op{Path: path, Value: value}) }
func (o *ops) del(path Path)               { *o = append(*o, Op{Path: path}) }
func (o *ops) tree(path Path)              { *o = append(*o, Op{Path: path, Tree: true}) }

func (o *ops) putJSON(path Path, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	o.put(path, data)
	return nil
}

// encodeProjects appends the writes of a plan's changed projects; with a
// staging, those of long lists go to st (see bucketSegmentKeys).
func (o *ops) encodeProjects(p *plan, st *staging) error {
	for _, d := range p.drafts {
		if err := o.encodeProject(d, p.raw, p.secrets, st); err != nil {
			return fmt.Errorf("write %s: %w", ProjectName(d.key), err)
		}
	}
	return nil
}

func (o *ops) encodeProject(d *draft, raw map[any][]byte, secrets *SecretKeys, st *staging) error {
	root := projectPath(d.key)
	switch {
	case d.ps == nil:
		o.tree(root)
		return nil
	case d.rewrite && st != nil && d.base != nil:
		// Deleting the tree would delete what was staged in it.
		return fmt.Errorf("recreate a project with lists staged: %w", ErrTooLarge)
	case d.rewrite && st == nil:
		o.tree(root)
	}
	// Staged, a project new to the engine is written without deleting its
	// tree first: nothing but what was staged is under it.
	ps := d.ps
	if d.rewrite || d.projectDirty {
		if err := o.putJSON(root.Child(recProject), projectRecord{Description: ps.project.Description, Meta: ps.project.Meta}); err != nil {
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
	envs := root.Child(collEnvironments)
	for _, key := range slices.Sorted(maps.Keys(dirty[kindEnvironment])) {
		e, en, ok := ps.envs.get(key)
		if !ok {
			o.del(envs.Child(key))
			continue
		}
		r := envRecord{Order: en.order, Description: e.Description, Revision: e.Revision, Meta: e.Meta}
		if err := o.putJSON(envs.Child(key), r); err != nil {
			return err
		}
	}
	if err := o.encodeSegments(root, d, dirty[kindSegment], raw, st); err != nil {
		return err
	}
	for _, err := range []error{
		encodeItems(o, root, kindFlag, &ps.flags, dirty[kindFlag], raw),
		encodeItems(o, root, kindComponent, &ps.comps, dirty[kindComponent], raw),
		encodeItems(o, root, kindRelease, &ps.rels, dirty[kindRelease], raw),
		encodeItems(o, root, kindReleaseModel, &ps.models, dirty[kindReleaseModel], raw),
		encodeItems(o, root, kindExperiment, &ps.exps, dirty[kindExperiment], raw),
		encodeItems(o, root, kindMetric, &ps.metrics, dirty[kindMetric], raw),
		encodeItems(o, root, kindFreeze, &ps.freezes, dirty[kindFreeze], raw),
	} {
		if err != nil {
			return err
		}
	}
	return o.encodeWebhooks(root.Child(collWebhooks), d.key, &ps.webhooks, dirty[kindWebhook], secrets)
}

// encodeItems writes the records of the dirty keys of c, and deletes those
// of dirty keys no longer in c. raw holds the JSON of values created in the
// Tx, so a large segment is not encoded twice.
func encodeItems[T comparable](o *ops, project Path, k kind, c *coll[T], dirty map[string]bool, raw map[any][]byte) error {
	dir := project.Child(k.collection())
	for _, key := range slices.Sorted(maps.Keys(dirty)) {
		v, e, ok := c.get(key)
		if !ok {
			o.del(dir.Child(key))
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
		if err := o.putJSON(dir.Child(key), r); err != nil {
			return err
		}
	}
	return nil
}

// encodeKeys appends the writes of the API keys changed.
func (o *ops) encodeKeys(changes []keyChange) error {
	for _, c := range changes {
		if c.old != nil {
			o.del(Path{prefixKeys, c.old.ID})
			o.del(Path{prefixKeyHash, c.old.Hash})
		}
	}
	for _, c := range changes {
		if c.now != nil {
			if err := o.putJSON(Path{prefixKeys, c.now.ID}, c.now); err != nil {
				return fmt.Errorf("write %s: %w", APIKeyName(c.now.ID), err)
			}
			o.put(Path{prefixKeyHash, c.now.Hash}, []byte(c.now.ID))
		}
	}
	return nil
}

// encodeAudit assigns the plan's events their Seq, after h.audit, and
// appends their records.
func (o *ops) encodeAudit(p *plan, h head) error {
	for i := range p.events {
		p.events[i].Seq = h.audit + uint64(i) + 1
		rec := p.events[i]
		if d := p.diffs[i]; d != nil {
			rec.Before, rec.After, rec.Diff = nil, nil, d
		}
		if err := o.putJSON(auditPath(rec.Seq), &rec); err != nil {
			return fmt.Errorf("encode audit event: %w", err)
		}
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
