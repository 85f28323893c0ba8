package domain

import (
	"slices"
	"strings"
	"time"

	"github.com/switchyard/switchyard/internal/keylist"
	"github.com/switchyard/switchyard/internal/model"
)

// Meta is the bookkeeping the store keeps for every resource: an opaque etag
// that changes on every modification and is never reused, and the times of
// creation and last modification (UTC).
type Meta struct {
	Etag       string    `json:"etag"`
	CreateTime time.Time `json:"create_time"`
	UpdateTime time.Time `json:"update_time"`
}

// Project is a project's own record: its key, description and Meta.
type Project struct {
	Key         string `json:"key"`
	Description string `json:"description,omitempty"`
	Meta        Meta   `json:"meta"`
}

// Environment is one environment of a project. Revision grows with every
// commit that changes the environment's state (DESIGN §1); it is 0 only in
// a Tx's working copy before the environment's first commit.
type Environment struct {
	Key         string `json:"key"`
	Description string `json:"description,omitempty"`
	Revision    uint64 `json:"revision"`
	Meta        Meta   `json:"meta"`
}

// EnvRef names one environment of one project.
type EnvRef struct {
	Project     string
	Environment string
}

// State is an immutable snapshot of everything the store holds. It is safe
// for concurrent use; neither it nor anything reachable from it (documents,
// segments, flags, API keys) may be modified.
type State struct {
	projects map[string]*ProjectState
	list     []*ProjectState // sorted by key
	keys     map[string]*APIKey
	byHash   map[string]*APIKey
	keyList  []*APIKey // sorted by ID
}

func emptyState() *State {
	return &State{projects: map[string]*ProjectState{}, keys: map[string]*APIKey{}, byHash: map[string]*APIKey{}}
}

// Projects returns every project, sorted by key. The slice is shared and
// must not be modified.
func (s *State) Projects() []*ProjectState { return s.list }

// Project returns the project with the given key.
func (s *State) Project(key string) (*ProjectState, bool) {
	ps, ok := s.projects[key]
	return ps, ok
}

// APIKeys returns every API key, sorted by ID. The slice is shared and must
// not be modified.
func (s *State) APIKeys() []*APIKey { return s.keyList }

// APIKey returns the API key with the given ID.
func (s *State) APIKey(id string) (*APIKey, bool) {
	k, ok := s.keys[id]
	return k, ok
}

// KeyByHash returns the API key whose secret hashes (HashSecret) to hash. It
// reads memory only, so it can run on every request.
func (s *State) KeyByHash(hash string) (*APIKey, bool) {
	k, ok := s.byHash[hash]
	return k, ok
}

// ProjectState is one project in a State: its record, its environments and
// its declarative document, with the Meta of every resource. It is
// immutable.
//
// Documents are copy-on-write: a commit that changes one flag gives the
// project a new Document and a new *model.Flag for that flag, and shares
// every unchanged *model.Segment, *model.Flag, *model.Component and
// *model.Targeting with the previous State, so a consumer can reuse work it
// did for a value by pointer identity.
type ProjectState struct {
	project  Project
	envs     coll[Environment] // entry.meta mirrors Environment.Meta
	segs     coll[*model.Segment]
	flags    coll[*model.Flag]
	comps    coll[*model.Component]
	rels     coll[*model.Release]      // not part of the document
	models   coll[*model.ReleaseModel] // not part of the document
	exps     coll[*model.Experiment]   // not part of the document
	metrics  coll[*model.Metric]       // not part of the document
	webhooks coll[*model.Webhook]      // not part of the document
	freezes  coll[*model.Freeze]       // not part of the document
	doc      *model.Document           // built by freeze
	// keysHashes are the content hashes of the segments' lists
	// (keylist.Hash), built by freeze: computed once per change of a
	// list, not on every read.
	keysHashes map[listsID]string
}

// listsID names a segment's two lists by their memory: model values are
// immutable, so the same slices hold the same keys.
type listsID struct {
	include, exclude   *string
	nInclude, nExclude int
}

func listsOf(s *model.Segment) listsID {
	id := listsID{nInclude: len(s.Include), nExclude: len(s.Exclude)}
	if len(s.Include) > 0 {
		id.include = &s.Include[0]
	}
	if len(s.Exclude) > 0 {
		id.exclude = &s.Exclude[0]
	}
	return id
}

// SegmentKeysHash returns the content hash of the segment's include and
// exclude lists (keylist.Hash), or "" when there is no such segment.
func (ps *ProjectState) SegmentKeysHash(key string) string {
	s, _, ok := ps.segs.get(key)
	if !ok {
		return ""
	}
	if h, ok := ps.keysHashes[listsOf(s)]; ok {
		return h
	}
	return keylist.Hash(s.Include, s.Exclude)
}

// Project returns the project's record.
func (ps *ProjectState) Project() Project { return ps.project }

// Key returns the project's key.
func (ps *ProjectState) Key() string { return ps.project.Key }

// Environments returns the project's environments in creation order (the
// order of Document().Environments). The slice is shared and must not be
// modified.
func (ps *ProjectState) Environments() []Environment { return ps.envs.items }

// Document returns the project's declarative document (DESIGN §2). It is
// shared and must not be modified.
func (ps *ProjectState) Document() *model.Document { return ps.doc }

// Environment returns the environment with the given key.
func (ps *ProjectState) Environment(key string) (Environment, bool) {
	v, _, ok := ps.envs.get(key)
	return v, ok
}

// Segment returns the segment with the given key and its Meta.
func (ps *ProjectState) Segment(key string) (*model.Segment, Meta, bool) {
	v, e, ok := ps.segs.get(key)
	return v, e.meta, ok
}

// Flag returns the flag with the given key and its Meta. The flag's etag
// changes whenever its definition or its targeting in any environment
// changes.
func (ps *ProjectState) Flag(key string) (*model.Flag, Meta, bool) {
	v, e, ok := ps.flags.get(key)
	return v, e.meta, ok
}

// FlagTargeting returns a flag's targeting in one environment and its Meta;
// ok is false when the flag has no targeting there.
func (ps *ProjectState) FlagTargeting(flag, env string) (*model.Targeting, Meta, bool) {
	v, e, ok := ps.flags.get(flag)
	if !ok {
		return nil, Meta{}, false
	}
	m, ok := e.envs[env]
	return v.Environments[env], m, ok
}

// Component returns the component with the given key and its Meta.
func (ps *ProjectState) Component(key string) (*model.Component, Meta, bool) {
	v, e, ok := ps.comps.get(key)
	return v, e.meta, ok
}

// ComponentTargeting returns a component's targeting in one environment and
// its Meta; ok is false when the component has no targeting there.
func (ps *ProjectState) ComponentTargeting(component, env string) (*model.Targeting, Meta, bool) {
	v, e, ok := ps.comps.get(component)
	if !ok {
		return nil, Meta{}, false
	}
	m, ok := e.envs[env]
	return v.Environments[env], m, ok
}

// Meta returns the Meta of the resource with the given name (see
// ProjectName and the other name functions) if it belongs to this project.
func (ps *ProjectState) Meta(name string) (Meta, bool) {
	parts := strings.Split(name, "/")
	if len(parts) < 2 || parts[0] != "projects" || parts[1] != ps.project.Key {
		return Meta{}, false
	}
	switch {
	case len(parts) == 2:
		return ps.project.Meta, true
	case len(parts) == 4:
		var (
			e  entry
			ok bool
		)
		switch parts[2] {
		case collEnvironments:
			_, e, ok = ps.envs.get(parts[3])
		case collSegments:
			_, e, ok = ps.segs.get(parts[3])
		case collFlags:
			_, e, ok = ps.flags.get(parts[3])
		case collComponents:
			_, e, ok = ps.comps.get(parts[3])
		case collReleases:
			_, e, ok = ps.rels.get(parts[3])
		case collReleaseModels:
			_, e, ok = ps.models.get(parts[3])
		case collExperiments:
			_, e, ok = ps.exps.get(parts[3])
		case collMetrics:
			_, e, ok = ps.metrics.get(parts[3])
		case collWebhooks:
			_, e, ok = ps.webhooks.get(parts[3])
		case collFreezes:
			_, e, ok = ps.freezes.get(parts[3])
		}
		return e.meta, ok
	case len(parts) == 6 && parts[4] == collEnvironments:
		var (
			e  entry
			ok bool
		)
		switch parts[2] {
		case collFlags:
			_, e, ok = ps.flags.get(parts[3])
		case collComponents:
			_, e, ok = ps.comps.get(parts[3])
		}
		if !ok {
			return Meta{}, false
		}
		m, ok := e.envs[parts[5]]
		return m, ok
	}
	return Meta{}, false
}

// thaw returns a working copy of ps for a Tx. The copy shares ps's slices
// and maps until coll.own copies them.
func (ps *ProjectState) thaw() *ProjectState {
	c := *ps
	c.envs.disown()
	c.segs.disown()
	c.flags.disown()
	c.comps.disown()
	c.rels.disown()
	c.models.disown()
	c.exps.disown()
	c.metrics.disown()
	c.webhooks.disown()
	c.freezes.disown()
	c.doc = nil
	return &c
}

// freeze compacts a working copy and builds its document; afterwards ps
// must not change.
func (ps *ProjectState) freeze() {
	ps.envs.compact()
	ps.segs.compact()
	ps.flags.compact()
	ps.comps.compact()
	ps.rels.compact()
	ps.models.compact()
	ps.exps.compact()
	ps.metrics.compact()
	ps.webhooks.compact()
	ps.freezes.compact()
	hashes := make(map[listsID]string, len(ps.segs.items))
	for _, s := range ps.segs.items {
		id := listsOf(s)
		h, ok := ps.keysHashes[id]
		if !ok {
			h = keylist.Hash(s.Include, s.Exclude)
		}
		hashes[id] = h
	}
	ps.keysHashes = hashes
	envs := make([]string, len(ps.envs.items))
	for i, e := range ps.envs.items {
		envs[i] = e.Key
	}
	ps.doc = &model.Document{
		Version:      model.DocumentVersion,
		Project:      ps.project.Key,
		Environments: envs,
		Segments:     ps.segs.items,
		Flags:        ps.flags.items,
		Components:   ps.comps.items,
	}
}

// entry is the store's bookkeeping for one element of a coll.
type entry struct {
	key   string // "" marks a hole left by remove
	order uint64 // creation sequence: the element's position after a reload
	meta  Meta
	envs  map[string]Meta // flags and components: Meta of each environment's targeting
	// chunks: segments: the generation of chunks holding the long lists
	// ("": the segment's own directory; segment_chunks.go)
	chunks string
}

// coll is an ordered, keyed list of a project's environments, segments,
// flags or components. In a frozen ProjectState it is immutable; in a Tx's
// working copy it copies its slices and index before the first change
// (own, ownIndex) and leaves holes on removal until compact.
type coll[T any] struct {
	items    []T
	entries  []entry
	idx      map[string]int
	owned    bool // items and entries belong to this working copy
	idxOwned bool // idx belongs to this working copy
	holes    int
}

func (c *coll[T]) disown() { c.owned, c.idxOwned = false, false }

func (c *coll[T]) get(key string) (T, entry, bool) {
	i, ok := c.idx[key]
	if !ok {
		var zero T
		return zero, entry{}, false
	}
	return c.items[i], c.entries[i], true
}

func (c *coll[T]) own() {
	if !c.owned {
		c.items = slices.Clone(c.items)
		c.entries = slices.Clone(c.entries)
		c.owned = true
	}
}

func (c *coll[T]) ownIndex() {
	if !c.idxOwned {
		idx := make(map[string]int, len(c.idx)+1)
		for k, v := range c.idx {
			idx[k] = v
		}
		c.idx = idx
		c.idxOwned = true
	}
}

func (c *coll[T]) add(v T, e entry) {
	c.own()
	c.ownIndex()
	c.idx[e.key] = len(c.items)
	c.items = append(c.items, v)
	c.entries = append(c.entries, e)
}

func (c *coll[T]) set(i int, v T, e entry) {
	c.own()
	c.items[i] = v
	c.entries[i] = e
}

func (c *coll[T]) remove(i int) {
	c.own()
	c.ownIndex()
	delete(c.idx, c.entries[i].key)
	var zero T
	c.items[i] = zero
	c.entries[i] = entry{}
	c.holes++
}

// live reports whether position i holds an element (not a hole).
func (c *coll[T]) live(i int) bool { return c.entries[i].key != "" }

// keys returns the keys of the elements in order.
func (c *coll[T]) keys() []string {
	var ks []string
	for i := range c.entries {
		if c.live(i) {
			ks = append(ks, c.entries[i].key)
		}
	}
	return ks
}

func (c *coll[T]) compact() {
	if len(c.items) == 0 {
		// A document lists no segments as nil, like a decoded one.
		c.items, c.entries = nil, nil
	}
	if c.holes == 0 {
		return
	}
	items := make([]T, 0, len(c.items)-c.holes)
	entries := make([]entry, 0, len(c.items)-c.holes)
	idx := make(map[string]int, len(c.items)-c.holes)
	for i := range c.items {
		if c.live(i) {
			idx[c.entries[i].key] = len(items)
			items = append(items, c.items[i])
			entries = append(entries, c.entries[i])
		}
	}
	if len(items) == 0 {
		items, entries = nil, nil
	}
	c.items, c.entries, c.idx = items, entries, idx
	c.owned, c.idxOwned, c.holes = true, true, 0
}

// Resource collection names, used in resource names and as bbolt bucket
// names.
const (
	collEnvironments  = "environments"
	collSegments      = "segments"
	collFlags         = "flags"
	collComponents    = "components"
	collReleases      = "releases"
	collReleaseModels = "release_models"
	collExperiments   = "experiments"
	collMetrics       = "metrics"
	collWebhooks      = "webhooks"
	collFreezes       = "freezes"
)

// ProjectName returns the resource name of a project: projects/{p}.
func ProjectName(project string) string { return "projects/" + project }

// EnvironmentName returns the resource name of an environment:
// projects/{p}/environments/{e}.
func EnvironmentName(project, env string) string {
	return ProjectName(project) + "/" + collEnvironments + "/" + env
}

// SegmentName returns the resource name of a segment: projects/{p}/segments/{s}.
func SegmentName(project, segment string) string {
	return ProjectName(project) + "/" + collSegments + "/" + segment
}

// FlagName returns the resource name of a flag: projects/{p}/flags/{f}.
func FlagName(project, flag string) string {
	return ProjectName(project) + "/" + collFlags + "/" + flag
}

// FlagTargetingName returns the resource name of a flag's targeting in one
// environment: projects/{p}/flags/{f}/environments/{e}.
func FlagTargetingName(project, flag, env string) string {
	return FlagName(project, flag) + "/" + collEnvironments + "/" + env
}

// ComponentName returns the resource name of a component:
// projects/{p}/components/{c}.
func ComponentName(project, component string) string {
	return ProjectName(project) + "/" + collComponents + "/" + component
}

// ComponentTargetingName returns the resource name of a component's
// targeting in one environment: projects/{p}/components/{c}/environments/{e}.
func ComponentTargetingName(project, component, env string) string {
	return ComponentName(project, component) + "/" + collEnvironments + "/" + env
}

// APIKeyName returns the resource name of an API key: apikeys/{id}.
func APIKeyName(id string) string { return "apikeys/" + id }
