package eval

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/semver"
)

// Compile compiles the environment env of doc into a Ruleset. doc should
// have passed model.Validate; Compile still refuses what it cannot compile
// (unknown environments, variants, versions, segments or flags, cycles,
// invalid regular expressions or versions, bad rollout weights) rather than
// build a ruleset that misbehaves.
//
// prev, when not nil, is the ruleset previously compiled for the same
// project and environment. Compile reuses every compiled segment, flag and
// component whose model value is the same pointer as the one prev was
// compiled from and whose dependencies were reused too, and reuses
// segment key sets whose include or exclude slice is unchanged, and of a
// changed long list the shards whose keys are unchanged (keySet): after a
// change to one flag, only that flag (and flags depending on it) is
// compiled again. The result's Revision is zero.
func Compile(doc *model.Document, env string, prev *Ruleset) (*Ruleset, error) {
	return CompileWith(doc, env, prev, nil)
}

// CompileWith is Compile with the overlays of the environment's releases in
// progress (model.Overlay): each item's flag or component serves the
// item's variant or version to the overlay's audience, after flag steps
// 1–4 and before its rules. An overlay must name flags, variants,
// components, non-withdrawn versions and segments of doc, and no flag or
// component may be in two overlays. Audiences are reused from prev when
// the overlay and its segments are unchanged, and so are the flags and
// components they apply to.
//
// siblings are rulesets of other environments of the same project (others
// are ignored), compiled from this document or an earlier one: a segment
// whose model value (the same *model.Segment) and dependencies are those a
// sibling compiled is shared with it, since a segment does not depend on
// the environment.
func CompileWith(doc *model.Document, env string, prev *Ruleset, overlays []*model.Overlay, siblings ...*Ruleset) (*Ruleset, error) {
	if doc == nil {
		return nil, errors.New("compile: no document")
	}
	if !slices.Contains(doc.Environments, env) {
		return nil, fmt.Errorf("compile project %q: unknown environment %q", doc.Project, env)
	}
	if prev != nil && (prev.project != doc.Project || prev.env != env) {
		prev = nil
	}
	c := &compiler{
		doc:        doc,
		env:        env,
		prev:       prev,
		siblings:   slices.DeleteFunc(slices.Clone(siblings), func(s *Ruleset) bool { return s == nil || s.project != doc.Project }),
		segSrc:     make(map[string]*model.Segment, len(doc.Segments)),
		flagSrc:    make(map[string]*model.Flag, len(doc.Flags)),
		visiting:   make(map[any]bool),
		segments:   make(map[string]*segment, len(doc.Segments)),
		flags:      make(map[string]*flag, len(doc.Flags)),
		components: make(map[string]*component, len(doc.Components)),
		flagClaims: map[string]overlayItem{},
		compClaims: map[string]overlayItem{},
		compNotes:  map[string][]noteSource{},
	}
	for _, s := range doc.Segments {
		if s == nil || c.segSrc[s.Key] != nil {
			return nil, fmt.Errorf("compile project %q: duplicate or empty segment %q", doc.Project, keyOf(s))
		}
		c.segSrc[s.Key] = s
	}
	for _, f := range doc.Flags {
		if f == nil || c.flagSrc[f.Key] != nil {
			return nil, fmt.Errorf("compile project %q: duplicate or empty flag %q", doc.Project, flagKeyOf(f))
		}
		c.flagSrc[f.Key] = f
	}
	rs := &Ruleset{
		project:    doc.Project,
		env:        env,
		flags:      c.flags,
		order:      make([]*flag, 0, len(doc.Flags)),
		segments:   c.segments,
		components: c.components,
		compOrder:  make([]*component, 0, len(doc.Components)),
	}
	for _, s := range doc.Segments {
		if _, err := c.segment(s.Key); err != nil {
			return nil, fmt.Errorf("compile project %q: %w", doc.Project, err)
		}
	}
	if err := c.compileOverlays(overlays); err != nil {
		return nil, fmt.Errorf("compile project %q: %w", doc.Project, err)
	}
	rs.audiences = c.audiences
	for _, f := range doc.Flags {
		cf, err := c.flag(f.Key)
		if err != nil {
			return nil, fmt.Errorf("compile project %q: %w", doc.Project, err)
		}
		rs.order = append(rs.order, cf)
	}
	for _, m := range doc.Components {
		if m == nil || c.components[m.Key] != nil {
			return nil, fmt.Errorf("compile project %q: duplicate or empty component", doc.Project)
		}
		cc, err := c.component(m)
		if err != nil {
			return nil, fmt.Errorf("compile project %q: component %q: %w", doc.Project, m.Key, err)
		}
		c.components[m.Key] = cc
		rs.compOrder = append(rs.compOrder, cc)
	}
	return rs, nil
}

func keyOf(s *model.Segment) string {
	if s == nil {
		return ""
	}
	return s.Key
}

func flagKeyOf(f *model.Flag) string {
	if f == nil {
		return ""
	}
	return f.Key
}

// compiler holds the state of one Compile call.
type compiler struct {
	doc        *model.Document
	env        string
	prev       *Ruleset
	siblings   []*Ruleset // of other environments: their segments are shared
	segSrc     map[string]*model.Segment
	flagSrc    map[string]*model.Flag
	visiting   map[any]bool // the *model.Segment or *model.Flag values on the DFS stack
	segments   map[string]*segment
	flags      map[string]*flag
	components map[string]*component
	audiences  []*audience
	flagClaims map[string]overlayItem  // flag key → the release overlay claiming it
	compClaims map[string]overlayItem  // component key → the release overlay claiming it
	compNotes  map[string][]noteSource // component key → the completed releases' notes
}

// segment compiles the segment key once, after the segments it names.
func (c *compiler) segment(key string) (*segment, error) {
	if s, ok := c.segments[key]; ok {
		return s, nil
	}
	src := c.segSrc[key]
	if src == nil {
		return nil, fmt.Errorf("unknown segment %q", key)
	}
	if c.visiting[src] {
		return nil, fmt.Errorf("segment %q is part of a cycle", key)
	}
	c.visiting[src] = true
	defer delete(c.visiting, src)

	deps, err := c.conditionSegments(src.Conditions, nil)
	if err != nil {
		return nil, fmt.Errorf("segment %q: %w", key, err)
	}
	var old *segment
	if c.prev != nil {
		old = c.prev.segments[key]
	}
	if old != nil && old.src == src && slices.Equal(old.deps, deps) {
		c.segments[key] = old
		return old, nil
	}
	for _, sib := range c.siblings {
		if s := sib.segments[key]; s != nil && s.src == src && slices.Equal(s.deps, deps) {
			c.segments[key] = s
			return s, nil
		}
	}
	s := &segment{src: src, deps: deps}
	switch src.Match {
	case model.MatchAny:
		s.any = true
	case "", model.MatchAll:
	default:
		return nil, fmt.Errorf("segment %q: unknown match %q", key, src.Match)
	}
	if old != nil {
		s.include = reuseSet(src.Include, old.src.Include, old.include)
		s.exclude = reuseSet(src.Exclude, old.src.Exclude, old.exclude)
	} else {
		s.include, s.exclude = newKeySet(src.Include, nil), newKeySet(src.Exclude, nil)
	}
	if s.conds, err = c.conditions(src.Conditions); err != nil {
		return nil, fmt.Errorf("segment %q: %w", key, err)
	}
	c.segments[key] = s
	return s, nil
}

// conditionSegments compiles the segments that conds name and appends them
// to deps.
func (c *compiler) conditionSegments(conds []model.Condition, deps []*segment) ([]*segment, error) {
	for i, m := range conds {
		if m.Op != model.OpInSegment && m.Op != model.OpNotInSegment {
			continue
		}
		for j, v := range m.Values {
			key, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("conditions[%d].values[%d]: a segment key must be a string", i, j)
			}
			s, err := c.segment(key)
			if err != nil {
				return nil, fmt.Errorf("conditions[%d].values[%d]: %w", i, j, err)
			}
			deps = append(deps, s)
		}
	}
	return deps, nil
}

// conditions compiles conds; the segments they name are compiled already.
func (c *compiler) conditions(conds []model.Condition) ([]condition, error) {
	if len(conds) == 0 {
		return nil, nil
	}
	out := make([]condition, len(conds))
	for i, m := range conds {
		var err error
		if out[i], err = compileCondition(m, c.segment); err != nil {
			return nil, fmt.Errorf("conditions[%d]: %w", i, err)
		}
	}
	return out, nil
}

// reuseSet returns oldSet when keys is the very slice oldKeys (same backing
// array and length: model values are immutable), else a new set that
// reuses the shards of oldSet holding the same keys.
func reuseSet(keys, oldKeys []string, oldSet *keySet) *keySet {
	if sameSlice(keys, oldKeys) {
		return oldSet
	}
	return newKeySet(keys, oldSet)
}

func sameSlice[T any](a, b []T) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// flag compiles the flag key once, after its prerequisites and segments.
func (c *compiler) flag(key string) (*flag, error) {
	if f, ok := c.flags[key]; ok {
		return f, nil
	}
	src := c.flagSrc[key]
	if src == nil {
		return nil, fmt.Errorf("unknown flag %q", key)
	}
	if c.visiting[src] {
		return nil, fmt.Errorf("flag %q is part of a prerequisite cycle", key)
	}
	c.visiting[src] = true
	defer delete(c.visiting, src)

	tg := src.Environments[c.env]
	var prereqFlags []*flag
	var segDeps []*segment
	if tg != nil {
		for i, p := range tg.Prerequisites {
			pf, err := c.flag(p.Flag)
			if err != nil {
				return nil, fmt.Errorf("flag %q: environments.%s.prerequisites[%d]: %w", key, c.env, i, err)
			}
			prereqFlags = append(prereqFlags, pf)
		}
		var err error
		if segDeps, err = c.targetingSegments(tg); err != nil {
			return nil, fmt.Errorf("flag %q: environments.%s.%w", key, c.env, err)
		}
	}
	var old *flag
	if c.prev != nil {
		old = c.prev.flags[key]
	}
	if old != nil && old.src == src && slices.Equal(old.segDeps, segDeps) && samePrereqs(old.prereqs, prereqFlags) &&
		sameRelease(old.t.release, c.flagClaims[key]) {
		c.flags[key] = old
		return old, nil
	}
	f, err := c.buildFlag(src, tg, prereqFlags, segDeps, old)
	if err != nil {
		return nil, fmt.Errorf("flag %q: %w", key, err)
	}
	c.flags[key] = f
	return f, nil
}

func samePrereqs(old []prereq, flags []*flag) bool {
	if len(old) != len(flags) {
		return false
	}
	for i := range old {
		if old[i].flag != flags[i] {
			return false
		}
	}
	return true
}

// targetingSegments compiles every segment tg names, in order.
func (c *compiler) targetingSegments(tg *model.Targeting) ([]*segment, error) {
	var deps []*segment
	for i, r := range tg.Rules {
		for j, key := range r.Segments {
			s, err := c.segment(key)
			if err != nil {
				return nil, fmt.Errorf("rules[%d].segments[%d]: %w", i, j, err)
			}
			deps = append(deps, s)
		}
		var err error
		if deps, err = c.conditionSegments(r.Conditions, deps); err != nil {
			return nil, fmt.Errorf("rules[%d].%w", i, err)
		}
	}
	return deps, nil
}

// implicitBool reports whether f is a bool flag with the implicit variants
// "on" and "off".
func implicitBool(f *model.Flag) bool {
	return f.Type == model.TypeBool && len(f.Variants) == 0
}

// buildFlag compiles src for the environment; old, when compiled from the
// same model value, lends its target set.
func (c *compiler) buildFlag(src *model.Flag, tg *model.Targeting, prereqFlags []*flag, segDeps []*segment, old *flag) (*flag, error) {
	f := &flag{src: src, key: src.Key, typ: src.Type, off: noOutcome, segDeps: segDeps}
	variants := src.Variants
	if implicitBool(src) {
		variants = []model.Variant{{Key: "on", Value: true}, {Key: "off", Value: false}}
	}
	index := make(map[string]int32, len(variants))
	f.variants = make([]variant, len(variants))
	for i, v := range variants {
		if _, dup := index[v.Key]; dup || v.Key == "" {
			return nil, fmt.Errorf("variants[%d]: duplicate or empty key %q", i, v.Key)
		}
		value, encoded, err := canonicalValue(src.Type, v.Value)
		if err != nil {
			return nil, fmt.Errorf("variants[%d]: %w", i, err)
		}
		index[v.Key] = int32(i)
		f.variants[i] = variant{key: v.Key, value: value, json: encoded}
	}
	lookup := func(name string) (int32, error) {
		if i, ok := index[name]; ok {
			return i, nil
		}
		return noOutcome, fmt.Errorf("unknown variant %q", name)
	}
	if implicitBool(src) {
		f.off = index["off"]
	}
	if tg == nil {
		f.t.bucketBy = attrRef{name: TargetingKeyAttribute}
		f.fixed = new(Result)
		f.resultOf(match{outcome: f.off, reason: ReasonDisabled}, f.fixed)
		return f, nil
	}
	path := "environments." + c.env
	f.enabled = tg.Enabled
	if tg.OffVariant != "" {
		off, err := lookup(tg.OffVariant)
		if err != nil {
			return nil, fmt.Errorf("%s.off_variant: %w", path, err)
		}
		f.off = off
	}
	for i, p := range tg.Prerequisites {
		pf := prereqFlags[i]
		want := int32(noOutcome)
		for j := range pf.variants {
			if pf.variants[j].key == p.Variant {
				want = int32(j)
				break
			}
		}
		if want == noOutcome {
			return nil, fmt.Errorf("%s.prerequisites[%d]: flag %q has no variant %q", path, i, p.Flag, p.Variant)
		}
		f.prereqs = append(f.prereqs, prereq{flag: pf, variant: want})
	}
	var oldTargets map[string]int32
	if old != nil && old.src == src {
		oldTargets = old.t.targets
	}
	resolve := func(v, _ string) (int32, error) { return lookup(v) }
	t, err := c.targeting(tg, src.Key, resolve, oldTargets)
	if err != nil {
		return nil, fmt.Errorf("%s.%w", path, err)
	}
	if err := withRelease(&t, c.flagClaims[src.Key], resolve, true); err != nil {
		return nil, err
	}
	if !t.hasDefault {
		t.def, t.hasDefault = serve{outcome: f.off}, true
	}
	f.t = t
	if !f.enabled || (len(f.prereqs) == 0 && t.fixed()) {
		var empty Context
		f.fixed = new(Result)
		f.resultOf(f.evaluate(&empty), f.fixed)
	}
	return f, nil
}

// canonicalValue checks that v fits the flag type and returns it as
// encoding/json decodes it, with its JSON encoding.
func canonicalValue(typ model.FlagType, v any) (any, []byte, error) {
	ok := false
	switch typ {
	case model.TypeBool:
		_, ok = v.(bool)
	case model.TypeString:
		_, ok = v.(string)
	case model.TypeNumber:
		_, ok = number(v)
	case model.TypeJSON:
		ok = true
	default:
		return nil, nil, fmt.Errorf("unknown flag type %q", typ)
	}
	if !ok {
		return nil, nil, fmt.Errorf("value %v does not fit type %s", v, typ)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, nil, fmt.Errorf("encode value: %w", err)
	}
	encoded := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	var value any
	if err := json.Unmarshal(encoded, &value); err != nil {
		return nil, nil, fmt.Errorf("decode value: %w", err)
	}
	return value, encoded, nil
}

// outcomeFunc resolves what a target, serve or rollout entry names (a
// variant or a version) to an outcome index.
type outcomeFunc func(variant, version string) (int32, error)

// targeting compiles targets, rules and default; hasDefault in the result
// is false when there is no default. oldTargets, when not nil, is the target map
// compiled from the same model value.
func (c *compiler) targeting(tg *model.Targeting, defaultSalt string, resolve outcomeFunc, oldTargets map[string]int32) (targeting, error) {
	t := targeting{
		static:  len(tg.Targets) == 0 && len(tg.Rules) == 0,
		salt:    tg.Salt,
		targets: oldTargets,
	}
	if t.salt == "" {
		t.salt = defaultSalt
	}
	t.saltHash = saltPrefix(t.salt)
	bucketBy := tg.BucketBy
	if bucketBy == "" {
		bucketBy = TargetingKeyAttribute
	}
	var err error
	if t.bucketBy, err = compileRef(bucketBy); err != nil {
		return targeting{}, fmt.Errorf("bucket_by: %w", err)
	}
	t.missingUnit = detail{code: ErrorTargetingKeyMissing, msg: fmt.Sprintf("rollout needs %q to be a string or an integral number", bucketBy)}
	if t.targets == nil {
		n := 0
		for _, target := range tg.Targets {
			n += len(target.Keys)
		}
		if n > 0 {
			t.targets = make(map[string]int32, n)
		}
		for i, target := range tg.Targets {
			o, err := resolve(target.Variant, target.Version)
			if err != nil {
				return targeting{}, fmt.Errorf("targets[%d]: %w", i, err)
			}
			for _, k := range target.Keys {
				if _, seen := t.targets[k]; !seen {
					t.targets[k] = o
				}
			}
		}
	}
	t.rules = make([]rule, len(tg.Rules))
	ids := make(map[string]bool, len(tg.Rules))
	for i, m := range tg.Rules {
		if ids[m.ID] || m.ID == "" {
			return targeting{}, fmt.Errorf("rules[%d]: duplicate or empty id %q", i, m.ID)
		}
		ids[m.ID] = true
		r := rule{id: m.ID}
		for _, key := range m.Segments {
			s, err := c.segment(key)
			if err != nil {
				return targeting{}, fmt.Errorf("rules[%d]: %w", i, err)
			}
			r.segments = append(r.segments, s)
		}
		if r.conds, err = c.conditions(m.Conditions); err != nil {
			return targeting{}, fmt.Errorf("rules[%d].%w", i, err)
		}
		if r.serve, err = compileServe(m.Serve, resolve); err != nil {
			return targeting{}, fmt.Errorf("rules[%d].serve: %w", i, err)
		}
		t.rules[i] = r
	}
	if tg.Default != nil {
		def, err := compileServe(*tg.Default, resolve)
		if err != nil {
			return targeting{}, fmt.Errorf("default: %w", err)
		}
		t.def, t.hasDefault = def, true
	}
	return t, nil
}

// compileServe compiles a fixed serve or a rollout into a cumulative table.
func compileServe(m model.Serve, resolve outcomeFunc) (serve, error) {
	if len(m.Rollout) == 0 {
		o, err := resolve(m.Variant, m.Version)
		return serve{outcome: o}, err
	}
	s := serve{outcome: noOutcome, rollout: make([]slice, 0, len(m.Rollout))}
	total := 0
	for i, w := range m.Rollout {
		if w.Weight < 0 || w.Weight > model.RolloutTotal {
			return serve{}, fmt.Errorf("rollout[%d]: weight %d out of range", i, w.Weight)
		}
		o, err := resolve(w.Variant, w.Version)
		if err != nil {
			return serve{}, fmt.Errorf("rollout[%d]: %w", i, err)
		}
		total += w.Weight
		if w.Weight > 0 {
			s.rollout = append(s.rollout, slice{upper: uint32(min(total, model.RolloutTotal)), outcome: o})
		}
	}
	if total != model.RolloutTotal {
		return serve{}, fmt.Errorf("rollout: weights sum to %d, not %d", total, model.RolloutTotal)
	}
	return s, nil
}

// component compiles m for the environment, reusing prev's compilation of
// the same model value when the segments it names are unchanged.
func (c *compiler) component(m *model.Component) (*component, error) {
	tg := m.Environments[c.env]
	var segDeps []*segment
	if tg != nil {
		var err error
		if segDeps, err = c.targetingSegments(tg); err != nil {
			return nil, fmt.Errorf("environments.%s.%w", c.env, err)
		}
	}
	claim := c.compClaims[m.Key]
	if c.prev != nil {
		if old := c.prev.components[m.Key]; old != nil && old.src == m && slices.Equal(old.segDeps, segDeps) &&
			sameRelease(old.t.release, claim) && sameNotes(old.noteSrcs, c.compNotes[m.Key]) {
			return old, nil
		}
	}
	cc := &component{src: m, key: m.Key, segDeps: segDeps}
	for i, v := range m.Versions {
		pv, ok := semver.Parse(v.Version)
		if !ok {
			return nil, fmt.Errorf("versions[%d]: %q is not a semantic version", i, v.Version)
		}
		cc.versions = append(cc.versions, componentVersion{raw: v.Version, v: pv, withdrawn: v.Withdrawn})
	}
	order := make([]int, len(m.Versions))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		return semver.Compare(cc.versions[order[a]].v, cc.versions[order[b]].v) < 0
	})
	sorted := make([]componentVersion, len(order))
	cc.requiredBefore = []int{0}
	for i, j := range order {
		sorted[i] = cc.versions[j]
		if i > 0 && semver.Compare(sorted[i-1].v, sorted[i].v) == 0 {
			return nil, fmt.Errorf("versions %q and %q have the same precedence", sorted[i-1].raw, sorted[i].raw)
		}
		if v := m.Versions[j]; !v.Withdrawn {
			cc.notes = append(cc.notes, Note{Version: v.Version, Notes: v.Notes})
			cc.noteVersions = append(cc.noteVersions, sorted[i].v)
			req := cc.requiredBefore[len(cc.requiredBefore)-1]
			if v.Required {
				req++
			}
			cc.requiredBefore = append(cc.requiredBefore, req)
		}
	}
	cc.versions = sorted
	if m.MinSupported != "" {
		var ok bool
		if cc.min, ok = semver.Parse(m.MinSupported); !ok {
			return nil, fmt.Errorf("min_supported: %q is not a semantic version", m.MinSupported)
		}
		cc.hasMin = true
	}
	cc.compileReleaseNotes(c.compNotes[m.Key], claim)
	if tg == nil && claim.aud == nil {
		return cc, nil
	}
	if tg == nil {
		// Released to an audience, and no targeting otherwise: the
		// audience gets the version, everyone else nothing.
		tg = &model.Targeting{}
	}
	resolve := func(variant, v string) (int32, error) {
		pv, ok := semver.Parse(v)
		if variant != "" || !ok {
			return noOutcome, fmt.Errorf("%q is not a version", v)
		}
		i := sort.Search(len(cc.versions), func(i int) bool { return semver.Compare(cc.versions[i].v, pv) >= 0 })
		switch {
		case i == len(cc.versions) || semver.Compare(cc.versions[i].v, pv) != 0:
			return noOutcome, fmt.Errorf("unknown version %q", v)
		case cc.versions[i].withdrawn:
			return noOutcome, fmt.Errorf("version %q is withdrawn", v)
		}
		return int32(i), nil
	}
	t, err := c.targeting(tg, m.Key, resolve, nil)
	if err != nil {
		return nil, fmt.Errorf("environments.%s.%w", c.env, err)
	}
	if err := withRelease(&t, claim, resolve, false); err != nil {
		return nil, err
	}
	cc.entry, cc.t = true, t
	return cc, nil
}

// String returns a short description of the ruleset for logs.
func (rs *Ruleset) String() string {
	return fmt.Sprintf("%s/%s@%d (%d flags, %d components)", rs.project, rs.env, rs.Revision, len(rs.order), len(rs.compOrder))
}
