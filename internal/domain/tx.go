package domain

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard/switchyard/internal/model"
)

// Tx is a write transaction: the working copy one Update function changes.
// Its operations check their preconditions before changing anything, so an
// operation that returns an error has changed nothing (Import excepted: if
// it fails half-way, Update fails too). A Tx is not safe for concurrent use
// and must not be used after the function given to Update returns.
//
// Every Update* and Delete* operation takes an etag: "" means
// unconditional; any other value must equal the resource's current etag, or
// the operation fails with ErrConflict. An Update* whose value equals the
// current one changes nothing, keeps the etag and records no event.
//
// Values passed to the Tx are copied (through their JSON encoding, the form
// they are stored in), so the caller keeps ownership of them; except a
// segment's include or exclude list longer than keylist.ChunkThreshold,
// which is kept as given and must not be changed afterwards (passing the
// stored list back keeps it without a copy).
type Tx struct {
	base     *State
	actor    Actor
	now      time.Time
	seq      uint64
	validate func(*model.Document) error

	drafts map[string]*draft
	events []pendingEvent
	// stamps lists the releases whose last timeline event gets the
	// environment's revision at commit.
	stamps []releaseStamp
	raw    map[any][]byte // JSON of values created in this Tx, by pointer
	// overrides are the releases whose held items this Tx may change.
	overrides []releaseOverride

	keys       map[string]*APIKey // working copy of base.keys once changed
	byHash     map[string]*APIKey
	keyChanges map[string]bool // IDs of keys created or deleted

	err  error // a failure that left the working copy half-changed
	done bool
}

type pendingEvent struct {
	event AuditEvent
	bumps bool // the operation changed environment state: record the commit's revision
}

func newTx(base *State, actor Actor, now time.Time, seq uint64, validate func(*model.Document) error) *Tx {
	return &Tx{
		base:     base,
		actor:    actor,
		now:      now,
		seq:      seq,
		validate: validate,
		drafts:   map[string]*draft{},
		raw:      map[any][]byte{},
		keys:     base.keys,
		byHash:   base.byHash,
	}
}

// Project returns the project as this Tx has changed it so far. Revisions
// of environments it changed are bumped only at commit.
func (tx *Tx) Project(key string) (*ProjectState, bool) {
	d, ok := tx.drafts[key]
	if !ok {
		return tx.base.Project(key)
	}
	if d.ps == nil {
		return nil, false
	}
	if !d.changed() && d.base != nil {
		return d.base, true
	}
	if !d.frozen {
		d.ps.freeze()
		d.frozen = true
	}
	return d.ps, true
}

func (tx *Tx) usable() error {
	if tx.done {
		return fmt.Errorf("transaction %w", ErrClosed)
	}
	return tx.err
}

// next returns a new sequence number: etags, creation order and revisions
// are drawn from it.
func (tx *Tx) next() uint64 {
	tx.seq++
	return tx.seq
}

func etagOf(seq uint64) string { return strconv.FormatUint(seq, 36) }

// created returns the Meta of a resource created now with sequence seq.
func (tx *Tx) created(seq uint64) Meta {
	return Meta{Etag: etagOf(seq), CreateTime: tx.now, UpdateTime: tx.now}
}

// touched returns m after a modification with sequence seq.
func (tx *Tx) touched(m Meta, seq uint64) Meta {
	m.Etag = etagOf(seq)
	m.UpdateTime = tx.now
	if m.CreateTime.IsZero() {
		m.CreateTime = tx.now
	}
	return m
}

func (tx *Tx) record(ev AuditEvent, bumps bool) {
	tx.events = append(tx.events, pendingEvent{event: ev, bumps: bumps})
}

// kind is a kind of project resource kept in its own bucket.
type kind int

const (
	kindEnvironment kind = iota
	kindSegment
	kindFlag
	kindComponent
	kindRelease
	kindReleaseModel
	kindExperiment
	kindMetric
	kindWebhook
	kindFreeze
	numKinds
)

func (k kind) collection() string {
	return [...]string{collEnvironments, collSegments, collFlags, collComponents, collReleases, collReleaseModels, collExperiments, collMetrics, collWebhooks, collFreezes}[k]
}

// draft tracks a Tx's changes to one project.
type draft struct {
	key  string
	base *ProjectState // the project when the Tx began; nil if it did not exist
	ps   *ProjectState // working copy; nil while the project does not exist
	// frozen: ps has been frozen (Tx.Project) and must be thawed before
	// the next change.
	frozen bool
	// rewrite: the project was created in this Tx; its bucket is written
	// afresh (replacing the one of a project deleted earlier in the Tx).
	rewrite      bool
	projectDirty bool
	dirty        [numKinds]map[string]bool // keys whose records must be written or deleted
	bumpAll      bool                      // every environment's state changed
	bump         map[string]bool           // these environments' state changed
}

func (tx *Tx) draft(project string) *draft {
	if d, ok := tx.drafts[project]; ok {
		return d
	}
	d := &draft{key: project}
	if ps, ok := tx.base.projects[project]; ok {
		d.base = ps
		d.ps = ps
		d.frozen = true
	}
	tx.drafts[project] = d
	return d
}

// live returns the draft of an existing project, ready to change.
func (tx *Tx) live(project string) (*draft, error) {
	if err := tx.usable(); err != nil {
		return nil, err
	}
	d := tx.draft(project)
	if d.ps == nil {
		return nil, fmt.Errorf("%s: %w", ProjectName(project), ErrNotFound)
	}
	return d, nil
}

// writable makes d.ps a working copy that may be changed.
func (d *draft) writable() {
	if d.frozen {
		d.ps = d.ps.thaw()
		d.frozen = false
	}
}

func (d *draft) markDirty(k kind, key string) {
	if d.dirty[k] == nil {
		d.dirty[k] = map[string]bool{}
	}
	d.dirty[k][key] = true
}

func (d *draft) bumpEnv(env string) {
	if d.bump == nil {
		d.bump = map[string]bool{}
	}
	d.bump[env] = true
}

func (d *draft) changed() bool {
	if d.ps == nil {
		return d.base != nil
	}
	if d.rewrite || d.projectDirty || d.bumpAll || len(d.bump) > 0 {
		return true
	}
	for _, m := range d.dirty {
		if len(m) > 0 {
			return true
		}
	}
	return false
}

// bumped returns the environments, existing at the end of the Tx, whose
// state changed, in order.
func (d *draft) bumped() []string {
	var envs []string
	for i, e := range d.ps.envs.entries {
		if d.ps.envs.live(i) && (d.bumpAll || d.bump[e.key]) {
			envs = append(envs, e.key)
		}
	}
	return envs
}

// checkKey refuses keys that cannot form a resource name or a bbolt key.
// model.Validate checks the rest of the key syntax.
func checkKey(what, key string) error {
	if key == "" || strings.Contains(key, "/") {
		return fmt.Errorf("%s key %q: %w", what, key, ErrInvalid)
	}
	return nil
}

func checkEtag(name string, m Meta, etag string) error {
	if etag != "" && etag != m.Etag {
		return fmt.Errorf("%s: %w", name, ErrConflict)
	}
	return nil
}

func notFound(name string) error { return fmt.Errorf("%s: %w", name, ErrNotFound) }

// encode returns v's JSON; the model values passed to it always encode.
func encode(v any) json.RawMessage {
	if v == nil || reflect.ValueOf(v).Kind() == reflect.Pointer && reflect.ValueOf(v).IsNil() {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"error": err.Error()})
	}
	return b
}

// normalize returns a private copy of v decoded from its JSON, and that
// JSON: the store keeps values exactly as a reload would read them.
func normalize[T any](what string, v T) (T, []byte, error) {
	var out T
	b, err := json.Marshal(v)
	if err != nil {
		return out, nil, fmt.Errorf("encode %s: %w: %w", what, ErrInvalid, err)
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return out, nil, fmt.Errorf("decode %s: %w: %w", what, ErrInvalid, err)
	}
	return out, b, nil
}

// projectView and environmentView are what audit events record of a
// project and an environment.
type projectView struct {
	Key         string `json:"key"`
	Description string `json:"description,omitempty"`
}

type environmentView struct {
	Key         string `json:"key"`
	Description string `json:"description,omitempty"`
}

// CreateProject creates a project with no environments and no resources.
// p.Meta is ignored.
func (tx *Tx) CreateProject(p Project) error {
	if err := tx.usable(); err != nil {
		return err
	}
	if err := checkKey("project", p.Key); err != nil {
		return err
	}
	d := tx.draft(p.Key)
	if d.ps != nil {
		return fmt.Errorf("%s: %w", ProjectName(p.Key), ErrAlreadyExists)
	}
	tx.createProject(d, p.Description)
	return nil
}

func (tx *Tx) createProject(d *draft, description string) {
	seq := tx.next()
	d.ps = &ProjectState{project: Project{Key: d.key, Description: description, Meta: tx.created(seq)}}
	d.ps.envs.ownAll()
	d.ps.segs.ownAll()
	d.ps.flags.ownAll()
	d.ps.comps.ownAll()
	d.ps.rels.ownAll()
	d.ps.models.ownAll()
	d.ps.exps.ownAll()
	d.ps.metrics.ownAll()
	d.ps.webhooks.ownAll()
	d.ps.freezes.ownAll()
	d.frozen = false
	d.rewrite = true
	d.projectDirty, d.dirty, d.bumpAll, d.bump = false, [numKinds]map[string]bool{}, false, nil
	tx.record(AuditEvent{
		Action:   "project.create",
		Resource: ProjectName(d.key),
		Project:  d.key,
		After:    encode(projectView{d.key, description}),
	}, false)
}

func (c *coll[T]) ownAll() {
	c.owned, c.idxOwned = true, true
	if c.idx == nil {
		c.idx = map[string]int{}
	}
}

// UpdateProject changes a project's description. p.Meta is ignored.
func (tx *Tx) UpdateProject(p Project, etag string) error {
	d, err := tx.live(p.Key)
	if err != nil {
		return err
	}
	old := d.ps.project
	if err := checkEtag(ProjectName(p.Key), old.Meta, etag); err != nil {
		return err
	}
	if p.Description == old.Description {
		return nil
	}
	d.writable()
	d.ps.project.Description = p.Description
	d.ps.project.Meta = tx.touched(old.Meta, tx.next())
	d.projectDirty = true
	tx.record(AuditEvent{
		Action:   "project.update",
		Resource: ProjectName(p.Key),
		Project:  p.Key,
		Before:   encode(projectView{old.Key, old.Description}),
		After:    encode(projectView{p.Key, p.Description}),
	}, false)
	return nil
}

// deletedProject is what the audit event of a project deletion records:
// everything that went with it.
type deletedProject struct {
	Project      projectView `json:"project"`
	Environments []string    `json:"environments,omitempty"`
	Segments     []string    `json:"segments,omitempty"`
	Flags        []string    `json:"flags,omitempty"`
	Components   []string    `json:"components,omitempty"`
	APIKeys      []string    `json:"api_keys,omitempty"`
}

// DeleteProject deletes a project and everything in it: environments,
// segments, flags, components and the API keys scoped to it. The audit
// event lists what was deleted.
func (tx *Tx) DeleteProject(key, etag string) error {
	d, err := tx.live(key)
	if err != nil {
		return err
	}
	if err := checkEtag(ProjectName(key), d.ps.project.Meta, etag); err != nil {
		return err
	}
	before := deletedProject{
		Project:      projectView{key, d.ps.project.Description},
		Environments: d.ps.envs.keys(),
		Segments:     d.ps.segs.keys(),
		Flags:        d.ps.flags.keys(),
		Components:   d.ps.comps.keys(),
		APIKeys:      tx.removeKeys(func(k *APIKey) bool { return k.Project == key }),
	}
	d.ps, d.frozen, d.rewrite = nil, false, false
	d.projectDirty, d.dirty, d.bumpAll, d.bump = false, [numKinds]map[string]bool{}, false, nil
	tx.record(AuditEvent{
		Action:   "project.delete",
		Resource: ProjectName(key),
		Project:  key,
		Before:   encode(before),
	}, false)
	return nil
}

// CreateEnvironment adds an environment to a project. env.Revision and
// env.Meta are ignored; the environment gets its first revision at commit.
func (tx *Tx) CreateEnvironment(project string, env Environment) error {
	d, err := tx.live(project)
	if err != nil {
		return err
	}
	if err := checkKey("environment", env.Key); err != nil {
		return err
	}
	return tx.createEnvironment(d, env.Key, env.Description)
}

func (tx *Tx) createEnvironment(d *draft, key, description string) error {
	name := EnvironmentName(d.key, key)
	if _, ok := d.ps.envs.idx[key]; ok {
		return fmt.Errorf("%s: %w", name, ErrAlreadyExists)
	}
	d.writable()
	seq := tx.next()
	meta := tx.created(seq)
	d.ps.envs.add(Environment{Key: key, Description: description, Meta: meta}, entry{key: key, order: seq, meta: meta})
	d.markDirty(kindEnvironment, key)
	d.bumpEnv(key)
	tx.record(AuditEvent{
		Action:      "environment.create",
		Resource:    name,
		Project:     d.key,
		Environment: key,
		After:       encode(environmentView{key, description}),
	}, true)
	return nil
}

// UpdateEnvironment changes an environment's description. env.Revision and
// env.Meta are ignored.
func (tx *Tx) UpdateEnvironment(project string, env Environment, etag string) error {
	d, err := tx.live(project)
	if err != nil {
		return err
	}
	name := EnvironmentName(project, env.Key)
	i, ok := d.ps.envs.idx[env.Key]
	if !ok {
		return notFound(name)
	}
	old := d.ps.envs.items[i]
	if err := checkEtag(name, old.Meta, etag); err != nil {
		return err
	}
	if env.Description == old.Description {
		return nil
	}
	d.writable()
	e := d.ps.envs.entries[i]
	e.meta = tx.touched(e.meta, tx.next())
	v := old
	v.Description, v.Meta = env.Description, e.meta
	d.ps.envs.set(i, v, e)
	d.markDirty(kindEnvironment, env.Key)
	d.bumpEnv(env.Key)
	tx.record(AuditEvent{
		Action:      "environment.update",
		Resource:    name,
		Project:     project,
		Environment: env.Key,
		Before:      encode(environmentView{old.Key, old.Description}),
		After:       encode(environmentView{env.Key, env.Description}),
	}, true)
	return nil
}

// deletedEnvironment is what the audit event of an environment deletion
// records: the environment and everything that went with it.
type deletedEnvironment struct {
	Environment        environmentView             `json:"environment"`
	FlagTargeting      map[string]*model.Targeting `json:"flag_targeting,omitempty"`
	ComponentTargeting map[string]*model.Targeting `json:"component_targeting,omitempty"`
	APIKeys            []string                    `json:"api_keys,omitempty"`
}

// DeleteEnvironment deletes an environment, the targeting of every flag and
// component in it (which changes their etags) and the API keys scoped to it.
func (tx *Tx) DeleteEnvironment(project, key, etag string) error {
	d, err := tx.live(project)
	if err != nil {
		return err
	}
	name := EnvironmentName(project, key)
	i, ok := d.ps.envs.idx[key]
	if !ok {
		return notFound(name)
	}
	if err := checkEtag(name, d.ps.envs.entries[i].meta, etag); err != nil {
		return err
	}
	tx.deleteEnvironment(d, i)
	return nil
}

func (tx *Tx) deleteEnvironment(d *draft, i int) {
	d.writable()
	old := d.ps.envs.items[i]
	key := old.Key
	seq := tx.next()
	before := deletedEnvironment{
		Environment:        environmentView{key, old.Description},
		FlagTargeting:      dropTargeting(tx, d, flagKind(), key, seq),
		ComponentTargeting: dropTargeting(tx, d, componentKind(), key, seq),
		APIKeys:            tx.removeKeys(func(k *APIKey) bool { return k.Covers(d.key, key) }),
	}
	d.ps.envs.remove(i)
	d.markDirty(kindEnvironment, key)
	delete(d.bump, key)
	tx.record(AuditEvent{
		Action:      "environment.delete",
		Resource:    EnvironmentName(d.key, key),
		Project:     d.key,
		Environment: key,
		Before:      encode(before),
	}, false)
}

// dropTargeting removes every element's targeting in env and returns what
// was removed, by element key.
func dropTargeting[T comparable](tx *Tx, d *draft, k itemKind[T], env string, seq uint64) map[string]*model.Targeting {
	c := k.coll(d.ps)
	var removed map[string]*model.Targeting
	for i := range c.items {
		if !c.live(i) {
			continue
		}
		v, e := c.items[i], c.entries[i]
		t, ok := k.targeting(v)[env]
		if !ok {
			continue
		}
		if removed == nil {
			removed = map[string]*model.Targeting{}
		}
		removed[e.key] = t
		m := maps.Clone(k.targeting(v))
		delete(m, env)
		if len(m) == 0 {
			m = nil
		}
		ne := e
		ne.meta = tx.touched(e.meta, seq)
		ne.envs = maps.Clone(e.envs)
		delete(ne.envs, env)
		if len(ne.envs) == 0 {
			ne.envs = nil
		}
		c.set(i, k.withTargeting(v, m), ne)
		d.markDirty(k.kind, e.key)
	}
	return removed
}

// itemKind describes segments, flags or components for the operations
// they share.
type itemKind[T comparable] struct {
	kind kind
	noun string // in audit actions: "flag.update"
	coll func(*ProjectState) *coll[T]
	key  func(T) string
	// targeting and withTargeting are nil for segments.
	targeting     func(T) map[string]*model.Targeting
	withTargeting func(T, map[string]*model.Targeting) T
	// outside marks a kind kept beside the document (release models): its
	// changes change no environment's state and bump no revision.
	outside bool
	// check, if set, validates a value on its own before any change; its
	// model.Errors paths are relative to the value.
	check func(T) error
	// view, if set, is what audit events record of a value instead of the
	// value itself (webhooks: everything but the secret).
	view func(T) any
	// arrange, if set, returns a normalized value in the form a reload
	// reads it back in.
	arrange func(T) T
	// normalize, if set, replaces the package's normalize (a copy through
	// JSON) for this kind.
	normalize func(what string, v T) (T, []byte, error)
}

// audited is what an audit event records of v; raw is v's JSON, if known.
func (k itemKind[T]) audited(v T, raw []byte) json.RawMessage {
	switch {
	case k.view != nil:
		return encode(k.view(v))
	case raw != nil:
		return raw
	}
	return encode(v)
}

func (k itemKind[T]) name(project, key string) string {
	return ProjectName(project) + "/" + k.kind.collection() + "/" + key
}

func (k itemKind[T]) targetingName(project, key, env string) string {
	return k.name(project, key) + "/" + collEnvironments + "/" + env
}

func segmentKind() itemKind[*model.Segment] {
	return itemKind[*model.Segment]{
		kind: kindSegment,
		noun: "segment",
		coll: func(ps *ProjectState) *coll[*model.Segment] { return &ps.segs },
		key:  func(s *model.Segment) string { return s.Key },
		// Keys are checked as they enter a list: the document check on
		// commit skips them (model.ValidateStructure).
		check: func(s *model.Segment) error { return model.SegmentKeys("", s) },
		// Long lists are kept in the order they are stored in: by shard.
		arrange:   arrangeSegment,
		normalize: normalizeSegment,
	}
}

func flagKind() itemKind[*model.Flag] {
	return itemKind[*model.Flag]{
		kind:      kindFlag,
		noun:      "flag",
		coll:      func(ps *ProjectState) *coll[*model.Flag] { return &ps.flags },
		key:       func(f *model.Flag) string { return f.Key },
		targeting: func(f *model.Flag) map[string]*model.Targeting { return f.Environments },
		withTargeting: func(f *model.Flag, m map[string]*model.Targeting) *model.Flag {
			c := *f
			c.Environments = m
			return &c
		},
	}
}

func componentKind() itemKind[*model.Component] {
	return itemKind[*model.Component]{
		kind:      kindComponent,
		noun:      "component",
		coll:      func(ps *ProjectState) *coll[*model.Component] { return &ps.comps },
		key:       func(c *model.Component) string { return c.Key },
		targeting: func(c *model.Component) map[string]*model.Targeting { return c.Environments },
		withTargeting: func(c *model.Component, m map[string]*model.Targeting) *model.Component {
			cc := *c
			cc.Environments = m
			return &cc
		},
	}
}

// prepare checks and normalizes a value passed to a create or update.
func prepare[T comparable](tx *Tx, k itemKind[T], v T) (T, []byte, error) {
	var zero T
	if err := tx.usable(); err != nil {
		return zero, nil, err
	}
	if v == zero {
		return zero, nil, fmt.Errorf("nil %s: %w", k.noun, ErrInvalid)
	}
	if err := checkKey(k.noun, k.key(v)); err != nil {
		return zero, nil, err
	}
	if k.check != nil {
		if err := k.check(v); err != nil {
			return zero, nil, fmt.Errorf("%s %s: %w: %w", k.noun, k.key(v), ErrInvalid, err)
		}
	}
	norm := normalize[T]
	if k.normalize != nil {
		norm = k.normalize
	}
	nv, raw, err := norm(k.noun+" "+k.key(v), v)
	if err != nil {
		return zero, nil, err
	}
	if k.arrange != nil {
		nv = k.arrange(nv)
	}
	tx.raw[nv] = raw
	return nv, raw, nil
}

// checkEnvironments refuses targeting for environments the project lacks.
func checkEnvironments[T comparable](d *draft, k itemKind[T], v T) error {
	if k.targeting == nil {
		return nil
	}
	for env := range k.targeting(v) {
		if _, ok := d.ps.envs.idx[env]; !ok {
			return notFound(EnvironmentName(d.key, env))
		}
	}
	return nil
}

// createItem adds a normalized value to a project.
func createItem[T comparable](tx *Tx, k itemKind[T], d *draft, v T, raw []byte) error {
	key := k.key(v)
	name := k.name(d.key, key)
	c := k.coll(d.ps)
	if _, ok := c.idx[key]; ok {
		return fmt.Errorf("%s: %w", name, ErrAlreadyExists)
	}
	if err := checkEnvironments(d, k, v); err != nil {
		return err
	}
	d.writable()
	c = k.coll(d.ps)
	seq := tx.next()
	e := entry{key: key, order: seq, meta: tx.created(seq)}
	if k.targeting != nil {
		for env := range k.targeting(v) {
			if e.envs == nil {
				e.envs = map[string]Meta{}
			}
			e.envs[env] = e.meta
		}
	}
	c.add(v, e)
	d.markDirty(k.kind, key)
	d.bumpAll = d.bumpAll || !k.outside
	tx.record(AuditEvent{Action: k.noun + ".create", Resource: name, Project: d.key, After: k.audited(v, raw)}, !k.outside)
	return nil
}

// updateItem replaces the value at position i of a project's collection
// with a normalized value of the same key. It reports whether anything
// changed. Targeting that did not change keeps its pointer and etag; only
// the environments whose targeting changed are bumped, unless the
// definition changed too.
func updateItem[T comparable](tx *Tx, k itemKind[T], d *draft, i int, v T, raw []byte) (bool, error) {
	c := k.coll(d.ps)
	old, e := c.items[i], c.entries[i]
	if err := checkEnvironments(d, k, v); err != nil {
		return false, err
	}
	var changedEnvs []string
	defChanged := true
	if k.targeting == nil {
		defChanged = !reflect.DeepEqual(old, v)
	} else {
		oldT, newT := k.targeting(old), k.targeting(v)
		for env, t := range newT {
			if ot, ok := oldT[env]; ok && (ot == t || reflect.DeepEqual(ot, t)) {
				newT[env] = ot // share the unchanged pointer
				continue
			}
			changedEnvs = append(changedEnvs, env)
		}
		for env := range oldT {
			if _, ok := newT[env]; !ok {
				changedEnvs = append(changedEnvs, env)
			}
		}
		defChanged = !reflect.DeepEqual(k.withTargeting(old, nil), k.withTargeting(v, nil))
	}
	if !defChanged && len(changedEnvs) == 0 {
		return false, nil
	}
	d.writable()
	c = k.coll(d.ps)
	seq := tx.next()
	ne := e
	ne.meta = tx.touched(e.meta, seq)
	if k.targeting != nil {
		ne.envs = nil
		for env := range k.targeting(v) {
			if ne.envs == nil {
				ne.envs = map[string]Meta{}
			}
			ne.envs[env] = e.envs[env]
		}
		for _, env := range changedEnvs {
			if _, ok := ne.envs[env]; ok {
				ne.envs[env] = tx.touched(e.envs[env], seq)
			}
		}
	}
	c.set(i, v, ne)
	d.markDirty(k.kind, e.key)
	if defChanged && !k.outside {
		d.bumpAll = true
	}
	for _, env := range changedEnvs {
		d.bumpEnv(env)
	}
	tx.record(AuditEvent{
		Action:   k.noun + ".update",
		Resource: k.name(d.key, e.key),
		Project:  d.key,
		Before:   k.audited(old, nil),
		After:    k.audited(v, raw),
	}, !k.outside)
	return true, nil
}

// deleteItem removes the element at position i of a project's collection.
func deleteItem[T comparable](tx *Tx, k itemKind[T], d *draft, i int) {
	d.writable()
	c := k.coll(d.ps)
	old, key := c.items[i], c.entries[i].key
	c.remove(i)
	d.markDirty(k.kind, key)
	d.bumpAll = d.bumpAll || !k.outside
	tx.record(AuditEvent{
		Action:   k.noun + ".delete",
		Resource: k.name(d.key, key),
		Project:  d.key,
		Before:   k.audited(old, nil),
	}, !k.outside)
}

func createOp[T comparable](tx *Tx, k itemKind[T], project string, v T) error {
	v, raw, err := prepare(tx, k, v)
	if err != nil {
		return err
	}
	d, err := tx.live(project)
	if err != nil {
		return err
	}
	return createItem(tx, k, d, v, raw)
}

func updateOp[T comparable](tx *Tx, k itemKind[T], project string, v T, etag string) error {
	v, raw, err := prepare(tx, k, v)
	if err != nil {
		return err
	}
	d, err := tx.live(project)
	if err != nil {
		return err
	}
	key := k.key(v)
	name := k.name(project, key)
	i, ok := k.coll(d.ps).idx[key]
	if !ok {
		return notFound(name)
	}
	if err := checkEtag(name, k.coll(d.ps).entries[i].meta, etag); err != nil {
		return err
	}
	_, err = updateItem(tx, k, d, i, v, raw)
	return err
}

func deleteOp[T comparable](tx *Tx, k itemKind[T], project, key, etag string) error {
	d, err := tx.live(project)
	if err != nil {
		return err
	}
	name := k.name(project, key)
	i, ok := k.coll(d.ps).idx[key]
	if !ok {
		return notFound(name)
	}
	if err := checkEtag(name, k.coll(d.ps).entries[i].meta, etag); err != nil {
		return err
	}
	deleteItem(tx, k, d, i)
	return nil
}

// setTargetingOp sets (t != nil) or removes (t == nil) an element's
// targeting in one environment. The etag is the targeting's own.
func setTargetingOp[T comparable](tx *Tx, k itemKind[T], project, key, env string, t *model.Targeting, etag string) error {
	d, err := tx.live(project)
	if err != nil {
		return err
	}
	c := k.coll(d.ps)
	i, ok := c.idx[key]
	if !ok {
		return notFound(k.name(project, key))
	}
	if _, ok := d.ps.envs.idx[env]; !ok {
		return notFound(EnvironmentName(project, env))
	}
	name := k.targetingName(project, key, env)
	old, e := c.items[i], c.entries[i]
	oldT, has := k.targeting(old)[env]
	oldMeta := e.envs[env]
	if etag != "" && (!has || etag != oldMeta.Etag) {
		return fmt.Errorf("%s: %w", name, ErrConflict)
	}
	action := k.noun + ".targeting.update"
	var (
		nt  *model.Targeting
		raw []byte
	)
	switch {
	case t == nil && !has:
		return notFound(name)
	case t == nil:
		action = k.noun + ".targeting.delete"
	default:
		if nt, raw, err = normalize("targeting", t); err != nil {
			return err
		}
		if has && reflect.DeepEqual(oldT, nt) {
			return nil
		}
		if !has {
			action = k.noun + ".targeting.create"
		}
	}
	d.writable()
	c = k.coll(d.ps)
	seq := tx.next()
	m := maps.Clone(k.targeting(old))
	envs := maps.Clone(e.envs)
	if t == nil {
		delete(m, env)
		delete(envs, env)
	} else {
		if m == nil {
			m, envs = map[string]*model.Targeting{}, map[string]Meta{}
		}
		m[env] = nt
		envs[env] = tx.touched(oldMeta, seq)
	}
	if len(m) == 0 {
		m, envs = nil, nil
	}
	ne := e
	ne.meta = tx.touched(e.meta, seq)
	ne.envs = envs
	c.set(i, k.withTargeting(old, m), ne)
	d.markDirty(k.kind, key)
	d.bumpEnv(env)
	tx.record(AuditEvent{
		Action:      action,
		Resource:    name,
		Project:     project,
		Environment: env,
		Before:      encode(oldT),
		After:       raw,
	}, true)
	return nil
}

// CreateSegment adds a segment to a project. It changes the state of every
// environment of the project.
func (tx *Tx) CreateSegment(project string, s *model.Segment) error {
	return createOp(tx, segmentKind(), project, s)
}

// UpdateSegment replaces the segment with s's key.
func (tx *Tx) UpdateSegment(project string, s *model.Segment, etag string) error {
	return updateOp(tx, segmentKind(), project, s, etag)
}

// DeleteSegment deletes a segment. Flags still referring to it make the
// document invalid, which fails the Update.
func (tx *Tx) DeleteSegment(project, key, etag string) error {
	return deleteOp(tx, segmentKind(), project, key, etag)
}

// CreateFlag adds a flag, with its targeting in f.Environments (each of
// which must be an environment of the project).
func (tx *Tx) CreateFlag(project string, f *model.Flag) error {
	return createOp(tx, flagKind(), project, f)
}

// UpdateFlag replaces the flag with f's key, including its targeting: to
// keep the targeting, pass the current f.Environments. A change of the
// definition (anything but Environments) changes every environment's
// state; a change of targeting only that environment's, and that
// targeting's etag.
func (tx *Tx) UpdateFlag(project string, f *model.Flag, etag string) error {
	return updateOp(tx, flagKind(), project, f, etag)
}

// DeleteFlag deletes a flag with its targeting.
func (tx *Tx) DeleteFlag(project, key, etag string) error {
	return deleteOp(tx, flagKind(), project, key, etag)
}

// SetFlagTargeting sets a flag's targeting in one environment, or removes
// it if t is nil (ErrNotFound if there is none). etag is the targeting's
// etag (FlagTargeting); a non-empty etag fails with ErrConflict when there
// is no targeting yet. The flag's etag changes too.
func (tx *Tx) SetFlagTargeting(project, flag, env string, t *model.Targeting, etag string) error {
	return setTargetingOp(tx, flagKind(), project, flag, env, t, etag)
}

// CreateComponent adds a component, with its targeting in c.Environments.
func (tx *Tx) CreateComponent(project string, c *model.Component) error {
	return createOp(tx, componentKind(), project, c)
}

// UpdateComponent replaces the component with c's key, including its
// targeting, like UpdateFlag.
func (tx *Tx) UpdateComponent(project string, c *model.Component, etag string) error {
	return updateOp(tx, componentKind(), project, c, etag)
}

// DeleteComponent deletes a component with its targeting.
func (tx *Tx) DeleteComponent(project, key, etag string) error {
	return deleteOp(tx, componentKind(), project, key, etag)
}

// SetComponentTargeting sets or removes a component's targeting in one
// environment, like SetFlagTargeting.
func (tx *Tx) SetComponentTargeting(project, component, env string, t *model.Targeting, etag string) error {
	return setTargetingOp(tx, componentKind(), project, component, env, t, etag)
}
