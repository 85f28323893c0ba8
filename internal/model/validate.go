package model

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchyard/switchyard/internal/semver"
)

// KeyPattern is the pattern every key in a document matches: the project,
// environments, segments, flags, components, variants and rule ids.
const KeyPattern = `^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`

// ValidKey reports whether s matches KeyPattern.
func ValidKey(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			continue
		}
		if i > 0 && (c == '.' || c == '_' || c == '-') {
			continue
		}
		return false
	}
	return true
}

// ParseInstant parses s as an instant the way the before and after
// operators read a string (DESIGN §3): an RFC 3339 date-time with an
// upper-case "T", "Z" or a numeric offset, and an optional fraction of a
// second. It reports false for anything else, including forms time.Parse
// would accept (a lower-case "t", a comma before the fraction).
func ParseInstant(s string) (time.Time, bool) {
	if !instantPattern.MatchString(s) {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

var instantPattern = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$`)

// operand says what values an operator takes.
type operand uint8

const (
	anyScalar operand = iota // in, not_in
	text                     // contains, starts_with, ends_with
	pattern                  // matches
	number                   // lt, lte, gt, gte
	version                  // semver_*
	instant                  // before, after
	presence                 // exists, not_exists: values ignored
	segment                  // in_segment, not_in_segment: attribute ignored
)

// operators maps every known operator to the values it takes.
var operators = map[Op]operand{
	OpIn: anyScalar, OpNotIn: anyScalar,
	OpContains: text, OpStartsWith: text, OpEndsWith: text,
	OpMatches: pattern,
	OpLT:      number, OpLTE: number, OpGT: number, OpGTE: number,
	OpSemverEQ: version, OpSemverLT: version, OpSemverLTE: version, OpSemverGT: version, OpSemverGTE: version,
	OpBefore: instant, OpAfter: instant,
	OpExists: presence, OpNotExists: presence,
	OpInSegment: segment, OpNotInSegment: segment,
}

// Validate checks a parsed document against DESIGN §2 and §3 and reports
// every problem with its path as an Errors value; it returns nil for a
// valid document. It does not modify doc.
//
// Beyond the shapes Parse enforces, Validate checks the version, keys
// (KeyPattern, uniqueness), flag types and variant values, environments,
// off variants, every reference (variants, segments, prerequisite flags,
// component versions), serves and rollouts, operators and their values,
// segment and prerequisite cycles, component versions, and that every
// string is valid UTF-8, so that Encode round-trips a valid document.
func Validate(doc *Document) error {
	return validate(doc, true)
}

// ValidateStructure is Validate without the check of segments' include and
// exclude keys: the store checks a key once, when it enters a list
// (SegmentKeys), so that a write to a project holding a list of a million
// keys does not check them all again.
func ValidateStructure(doc *Document) error {
	return validate(doc, false)
}

// SegmentKeys checks the include and exclude keys of s on their own, as
// Validate does. Paths start at path, the segment's own path ("" for
// paths relative to the segment: "include[3]").
func SegmentKeys(path string, s *Segment) error {
	if path != "" {
		path += "."
	}
	v := &validator{}
	v.texts(path+"include", s.Include)
	v.texts(path+"exclude", s.Exclude)
	return v.errs.err()
}

// DocumentSegmentKeys checks the include and exclude keys of every segment
// of doc, as Validate does, with paths in the document.
func DocumentSegmentKeys(doc *Document) error {
	var errs Errors
	for i, s := range doc.Segments {
		if s == nil {
			continue
		}
		var e Errors
		if errors.As(SegmentKeys(indexPath("segments", i), s), &e) {
			errs = append(errs, e...)
		}
	}
	return errs.err()
}

func validate(doc *Document, lists bool) error {
	if doc == nil {
		return Errors{NewFieldError("", "no document")}
	}
	v := &validator{
		doc:        doc,
		skipLists:  !lists,
		envs:       make(map[string]bool, len(doc.Environments)),
		segments:   make(map[string]int, len(doc.Segments)),
		flags:      make(map[string]int, len(doc.Flags)),
		components: make(map[string]bool, len(doc.Components)),
	}
	v.document()
	return v.errs.err()
}

// validator holds the indexes Validate builds and the problems it finds.
type validator struct {
	doc        *Document
	errs       Errors
	envs       map[string]bool
	segments   map[string]int // segment key → index of its first definition
	flags      map[string]int // flag key → index of its first definition
	components map[string]bool
	variants   [][]Variant // per flag, its variants (implicit ones for bool flags)
	skipLists  bool        // segments' include and exclude keys are checked elsewhere
}

func (v *validator) add(path, format string, args ...any) {
	v.errs.add(path, format, args...)
}

// key checks that s is a non-empty key.
func (v *validator) key(path, s string) {
	switch {
	case s == "":
		v.add(path, "required")
	case !ValidKey(s):
		v.add(path, "invalid key %q: must match %s", s, KeyPattern)
	}
}

// text checks that s is valid UTF-8.
func (v *validator) text(path, s string) {
	if !utf8.ValidString(s) {
		v.add(path, "invalid UTF-8")
	}
}

// attribute checks that ref is an attribute reference AttributeKeys reads.
func (v *validator) attribute(path, ref string) {
	if _, err := AttributeKeys(ref); err != nil {
		v.add(path, "%v", err)
	}
}

func (v *validator) texts(path string, list []string) {
	for i, s := range list {
		if !utf8.ValidString(s) {
			v.add(indexPath(path, i), "invalid UTF-8")
		}
	}
}

func (v *validator) document() {
	doc := v.doc
	if doc.Version != DocumentVersion {
		v.add("version", "unsupported version %d, want %d", doc.Version, DocumentVersion)
	}
	v.key("project", doc.Project)
	for i, e := range doc.Environments {
		p := indexPath("environments", i)
		v.key(p, e)
		if v.envs[e] {
			v.add(p, "duplicate environment %q", e)
		}
		v.envs[e] = true
	}
	// Index everything first: references may point forwards.
	for i, s := range doc.Segments {
		if s == nil {
			continue
		}
		if _, dup := v.segments[s.Key]; dup {
			v.add(indexPath("segments", i)+".key", "duplicate segment %q", s.Key)
			continue
		}
		v.segments[s.Key] = i
	}
	v.variants = make([][]Variant, len(doc.Flags))
	for i, f := range doc.Flags {
		if f == nil {
			continue
		}
		v.variants[i] = f.Variants
		if f.Type == TypeBool && len(f.Variants) == 0 {
			v.variants[i] = implicitVariants
		}
		if _, dup := v.flags[f.Key]; dup {
			v.add(indexPath("flags", i)+".key", "duplicate flag %q", f.Key)
			continue
		}
		v.flags[f.Key] = i
	}
	for i, s := range doc.Segments {
		v.segment(indexPath("segments", i), s)
	}
	for i, f := range doc.Flags {
		v.flag(indexPath("flags", i), i, f)
	}
	for i, c := range doc.Components {
		v.component(indexPath("components", i), c)
	}
	v.segmentCycles()
	v.prerequisiteCycles()
}

// implicitVariants are the variants of a bool flag that lists none.
var implicitVariants = []Variant{{Key: "on", Value: true}, {Key: "off", Value: false}}

func (v *validator) segment(path string, s *Segment) {
	if s == nil {
		v.add(path, "missing segment")
		return
	}
	v.key(path+".key", s.Key)
	v.text(path+".description", s.Description)
	switch s.Match {
	case "", MatchAll, MatchAny:
	default:
		v.add(path+".match", "unknown match %q, want %q or %q", s.Match, MatchAll, MatchAny)
	}
	v.conditions(path+".conditions", s.Conditions)
	if !v.skipLists {
		v.texts(path+".include", s.Include)
		v.texts(path+".exclude", s.Exclude)
	}
}

func (v *validator) conditions(path string, cs []Condition) {
	for i := range cs {
		v.condition(indexPath(path, i), &cs[i])
	}
}

func (v *validator) condition(path string, c *Condition) {
	want, known := operators[c.Op]
	switch {
	case c.Op == "":
		v.add(path+".op", "required")
	case !known:
		v.add(path+".op", "unknown operator %q", c.Op)
	}
	v.text(path+".attribute", c.Attribute)
	if known && want != segment && c.Attribute == "" {
		v.add(path+".attribute", "required by operator %q", c.Op)
	}
	v.attribute(path+".attribute", c.Attribute)
	if known && want != presence && len(c.Values) == 0 {
		v.add(path+".values", "operator %q needs at least one value", c.Op)
	}
	for i, val := range c.Values {
		p := indexPath(path+".values", i)
		if !v.scalar(p, val) || !known {
			continue
		}
		switch want {
		case text:
			if _, ok := val.(string); !ok {
				v.add(p, "operator %q needs a string, got %s", c.Op, describe(val))
			}
		case pattern:
			s, ok := val.(string)
			if !ok {
				v.add(p, "operator %q needs a regular expression, got %s", c.Op, describe(val))
			} else if _, err := regexp.Compile(s); err != nil {
				v.add(p, "invalid regular expression: %v", err)
			}
		case number:
			if _, ok := val.(float64); !ok {
				v.add(p, "operator %q needs a number, got %s", c.Op, describe(val))
			}
		case version:
			if s, ok := val.(string); !ok {
				v.add(p, "operator %q needs a semantic version, got %s", c.Op, describe(val))
			} else if _, ok := semver.Parse(s); !ok {
				v.add(p, "not a semantic version: %q", s)
			}
		case instant:
			switch t := val.(type) {
			case float64:
			case string:
				if _, ok := ParseInstant(t); !ok {
					v.add(p, "not an RFC 3339 instant: %q", t)
				}
			default:
				v.add(p, "operator %q needs an RFC 3339 string or Unix seconds, got %s", c.Op, describe(val))
			}
		case segment:
			if s, ok := val.(string); !ok {
				v.add(p, "operator %q needs a segment key, got %s", c.Op, describe(val))
			} else if _, ok := v.segments[s]; !ok {
				v.add(p, "unknown segment %q", s)
			}
		}
	}
}

// scalar checks that a condition value is a JSON scalar.
func (v *validator) scalar(path string, val any) bool {
	switch t := val.(type) {
	case bool:
		return true
	case string:
		if !utf8.ValidString(t) {
			v.add(path, "invalid UTF-8")
			return false
		}
		return true
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			v.add(path, "number must be finite, got %v", t)
			return false
		}
		return true
	}
	v.add(path, "must be a string, number or boolean, got %s", describe(val))
	return false
}

// describe names the type of a model value for a message.
func describe(val any) string {
	switch val.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case float64:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("Go type %T", val)
}

// maxFlagTags bounds Flag.Tags.
const maxFlagTags = 20

func (v *validator) flag(path string, index int, f *Flag) {
	if f == nil {
		v.add(path, "missing flag")
		return
	}
	v.key(path+".key", f.Key)
	v.text(path+".description", f.Description)
	if len(f.Tags) > maxFlagTags {
		v.add(path+".tags", "%d tags, at most %d", len(f.Tags), maxFlagTags)
	}
	tags := make(map[string]int, len(f.Tags))
	for i, tag := range f.Tags {
		p := indexPath(path+".tags", i)
		v.key(p, tag)
		if j, dup := tags[tag]; dup {
			v.add(p, "duplicate tag %q (also tags[%d])", tag, j)
		} else {
			tags[tag] = i
		}
	}
	typed := true
	switch f.Type {
	case TypeBool, TypeString, TypeNumber, TypeJSON:
	case "":
		v.add(path+".type", "required")
		typed = false
	default:
		v.add(path+".type", "unknown type %q, want bool, string, number or json", f.Type)
		typed = false
	}
	if typed && f.Type != TypeBool && len(f.Variants) == 0 {
		v.add(path+".variants", "a %s flag needs at least one variant", f.Type)
	}
	seen := make(map[string]int, len(f.Variants))
	for i, vr := range f.Variants {
		p := indexPath(path+".variants", i)
		v.key(p+".key", vr.Key)
		if j, dup := seen[vr.Key]; dup {
			v.add(p+".key", "duplicate variant %q (also variants[%d])", vr.Key, j)
		} else {
			seen[vr.Key] = i
		}
		if typed {
			v.variantValue(p+".value", f.Type, vr.Value)
		}
	}
	variants := v.variants[index]
	implicit := f.Type == TypeBool && len(f.Variants) == 0
	ref := func(path, name string) {
		if !hasVariant(variants, name) {
			v.add(path, "unknown variant %q", name)
		}
	}
	for _, env := range sortedKeys(f.Environments) {
		p := memberPath(path+".environments", env)
		if !v.envs[env] {
			v.add(p, "unknown environment %q", env)
		}
		t := f.Environments[env]
		if t == nil {
			v.add(p, "missing targeting")
			continue
		}
		switch {
		case t.OffVariant != "":
			ref(p+".off_variant", t.OffVariant)
		case !implicit:
			v.add(p+".off_variant", "required")
		}
		for i, pr := range t.Prerequisites {
			v.prerequisite(indexPath(p+".prerequisites", i), pr)
		}
		v.common(p, t)
		for i, tg := range t.Targets {
			tp := indexPath(p+".targets", i)
			if tg.Version != "" {
				v.add(tp+".version", "not allowed in a flag, use variant")
			}
			if tg.Variant == "" {
				v.add(tp+".variant", "required")
			} else {
				ref(tp+".variant", tg.Variant)
			}
		}
		for i := range t.Rules {
			v.serve(indexPath(p+".rules", i)+".serve", &t.Rules[i].Serve, false, ref)
		}
		if t.Default != nil {
			v.serve(p+".default", t.Default, false, ref)
		}
	}
}

func hasVariant(variants []Variant, key string) bool {
	for _, vr := range variants {
		if vr.Key == key {
			return true
		}
	}
	return false
}

// variantValue checks that a variant value fits the flag type.
func (v *validator) variantValue(path string, typ FlagType, val any) {
	switch typ {
	case TypeBool:
		if _, ok := val.(bool); !ok {
			v.add(path, "a bool flag needs a boolean, got %s", describe(val))
		}
	case TypeString:
		if s, ok := val.(string); !ok {
			v.add(path, "a string flag needs a string, got %s", describe(val))
		} else {
			v.text(path, s)
		}
	case TypeNumber:
		if f, ok := val.(float64); !ok {
			v.add(path, "a number flag needs a number, got %s", describe(val))
		} else if math.IsNaN(f) || math.IsInf(f, 0) {
			v.add(path, "number must be finite, got %v", f)
		}
	case TypeJSON:
		if val == nil {
			v.add(path, "a json flag needs a value other than null")
		} else {
			v.jsonValue(path, val)
		}
	}
}

// jsonValue checks that val is a JSON value as Parse builds it.
func (v *validator) jsonValue(path string, val any) {
	switch t := val.(type) {
	case nil, bool:
	case string:
		v.text(path, t)
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			v.add(path, "number must be finite, got %v", t)
		}
	case []any:
		for i, e := range t {
			v.jsonValue(indexPath(path, i), e)
		}
	case map[string]any:
		for _, k := range sortedKeys(t) {
			p := memberPath(path, k)
			if !utf8.ValidString(k) {
				v.add(p, "invalid UTF-8 in key")
			}
			v.jsonValue(p, t[k])
		}
	default:
		v.add(path, "not a JSON value: %s", describe(val))
	}
}

// prerequisite checks a prerequisite's flag and variant; cycles are
// checked later.
func (v *validator) prerequisite(path string, pr Prerequisite) {
	if pr.Flag == "" {
		v.add(path+".flag", "required")
		return
	}
	i, ok := v.flags[pr.Flag]
	if !ok {
		v.add(path+".flag", "unknown flag %q", pr.Flag)
		return
	}
	switch {
	case pr.Variant == "":
		v.add(path+".variant", "required")
	case !hasVariant(v.variants[i], pr.Variant):
		v.add(path+".variant", "flag %q has no variant %q", pr.Flag, pr.Variant)
	}
}

// common checks what flag and component targeting share: salt, bucket_by,
// target keys, rule ids, segments and conditions.
func (v *validator) common(path string, t *Targeting) {
	v.text(path+".salt", t.Salt)
	v.text(path+".bucket_by", t.BucketBy)
	v.attribute(path+".bucket_by", t.BucketBy)
	for i, tg := range t.Targets {
		v.texts(indexPath(path+".targets", i)+".keys", tg.Keys)
	}
	ids := make(map[string]int, len(t.Rules))
	for i, r := range t.Rules {
		p := indexPath(path+".rules", i)
		v.key(p+".id", r.ID)
		if j, dup := ids[r.ID]; dup && r.ID != "" {
			v.add(p+".id", "duplicate rule id %q (also rules[%d])", r.ID, j)
		} else {
			ids[r.ID] = i
		}
		for j, s := range r.Segments {
			if _, ok := v.segments[s]; !ok {
				v.add(indexPath(p+".segments", j), "unknown segment %q", s)
			}
		}
		v.conditions(p+".conditions", r.Conditions)
	}
}

// serve checks a rule's or default's serve: exactly one of a variant (a
// version for components) or a rollout, and every name it refers to.
func (v *validator) serve(path string, s *Serve, component bool, ref func(path, name string)) {
	field, name, wrongField, wrong := "variant", s.Variant, "version", s.Version
	if component {
		field, name, wrongField, wrong = "version", s.Version, "variant", s.Variant
	}
	if wrong != "" {
		v.add(path+"."+wrongField, "not allowed in a %s, use %s", kindName(component), field)
	}
	switch {
	case name != "" && len(s.Rollout) > 0:
		v.add(path, "has both a %s and a rollout, want exactly one", field)
	case name == "" && len(s.Rollout) == 0 && wrong == "":
		v.add(path, "needs a %s or a rollout", field)
	}
	if name != "" {
		ref(path+"."+field, name)
	}
	if len(s.Rollout) == 0 {
		return
	}
	sum := 0
	for i, w := range s.Rollout {
		p := indexPath(path+".rollout", i)
		entry, wrongEntry := w.Variant, w.Version
		if component {
			entry, wrongEntry = w.Version, w.Variant
		}
		if wrongEntry != "" {
			v.add(p+"."+wrongField, "not allowed in a %s, use %s", kindName(component), field)
		}
		if entry == "" {
			v.add(p+"."+field, "required")
		} else {
			ref(p+"."+field, entry)
		}
		switch {
		case w.Weight < 0:
			v.add(p+".weight", "must not be negative, got %d", w.Weight)
		case w.Weight > RolloutTotal:
			v.add(p+".weight", "must be at most %d, got %d", RolloutTotal, w.Weight)
		default:
			sum += w.Weight
		}
	}
	if sum != RolloutTotal {
		v.add(path+".rollout", "weights sum to %d, want %d", sum, RolloutTotal)
	}
}

func kindName(component bool) string {
	if component {
		return "component"
	}
	return "flag"
}

func (v *validator) component(path string, c *Component) {
	if c == nil {
		v.add(path, "missing component")
		return
	}
	v.key(path+".key", c.Key)
	if v.components[c.Key] {
		v.add(path+".key", "duplicate component %q", c.Key)
	}
	v.components[c.Key] = true
	v.text(path+".description", c.Description)
	if c.MinSupported != "" {
		if _, ok := semver.Parse(c.MinSupported); !ok {
			v.add(path+".min_supported", "not a semantic version: %q", c.MinSupported)
		}
	}
	byText := make(map[string]int, len(c.Versions))
	byPrecedence := make(map[semver.Version]int, len(c.Versions))
	for i, ver := range c.Versions {
		p := indexPath(path+".versions", i)
		v.text(p+".notes", ver.Notes)
		v.text(p+".artifact", ver.Artifact)
		for _, k := range sortedKeys(ver.Labels) {
			lp := memberPath(p+".labels", k)
			v.text(lp, k)
			v.text(lp, ver.Labels[k])
		}
		if ver.Version == "" {
			v.add(p+".version", "required")
			continue
		}
		sv, ok := semver.Parse(ver.Version)
		if !ok {
			v.add(p+".version", "not a semantic version: %q", ver.Version)
			continue
		}
		sv.Build = ""
		if j, dup := byPrecedence[sv]; dup {
			v.add(p+".version", "duplicate version %q (same precedence as versions[%d] %q)", ver.Version, j, c.Versions[j].Version)
			continue
		}
		byPrecedence[sv] = i
		byText[ver.Version] = i
	}
	ref := func(path, name string) {
		i, ok := byText[name]
		if !ok {
			if sv, parsed := semver.Parse(name); parsed {
				sv.Build = ""
				if j, same := byPrecedence[sv]; same {
					v.add(path, "unknown version %q (registered as %q)", name, c.Versions[j].Version)
					return
				}
			}
			v.add(path, "unknown version %q", name)
			return
		}
		if c.Versions[i].Withdrawn {
			v.add(path, "version %q is withdrawn", name)
		}
	}
	for _, env := range sortedKeys(c.Environments) {
		p := memberPath(path+".environments", env)
		if !v.envs[env] {
			v.add(p, "unknown environment %q", env)
		}
		t := c.Environments[env]
		if t == nil {
			v.add(p, "missing targeting")
			continue
		}
		if t.Enabled {
			v.add(p+".enabled", "not allowed in a component")
		}
		if t.OffVariant != "" {
			v.add(p+".off_variant", "not allowed in a component")
		}
		if len(t.Prerequisites) > 0 {
			v.add(p+".prerequisites", "not allowed in a component")
		}
		v.common(p, t)
		for i, tg := range t.Targets {
			tp := indexPath(p+".targets", i)
			if tg.Variant != "" {
				v.add(tp+".variant", "not allowed in a component, use version")
			}
			if tg.Version == "" {
				v.add(tp+".version", "required")
			} else {
				ref(tp+".version", tg.Version)
			}
		}
		for i := range t.Rules {
			v.serve(indexPath(p+".rules", i)+".serve", &t.Rules[i].Serve, true, ref)
		}
		if t.Default != nil {
			v.serve(p+".default", t.Default, true, ref)
		}
	}
}

// edge is a reference from one node of a graph to another, with the path
// of the field that makes it.
type edge struct {
	to   int
	path string
}

// segmentCycles reports segments that refer to themselves through
// in_segment and not_in_segment conditions.
func (v *validator) segmentCycles() {
	graph := make([][]edge, len(v.doc.Segments))
	names := make([]string, len(v.doc.Segments))
	for i, s := range v.doc.Segments {
		if s == nil || v.segments[s.Key] != i {
			continue
		}
		names[i] = s.Key
		for ci, c := range s.Conditions {
			if c.Op != OpInSegment && c.Op != OpNotInSegment {
				continue
			}
			for vi, val := range c.Values {
				key, _ := val.(string)
				if j, ok := v.segments[key]; ok {
					p := indexPath(indexPath(indexPath("segments", i)+".conditions", ci)+".values", vi)
					graph[i] = append(graph[i], edge{to: j, path: p})
				}
			}
		}
	}
	for _, c := range cycles(graph) {
		v.add(c.path, "segment cycle: %s", c.describe(names))
	}
}

// prerequisiteCycles reports, per environment, flags that require
// themselves through prerequisites.
func (v *validator) prerequisiteCycles() {
	envs := make(map[string]bool)
	for _, f := range v.doc.Flags {
		if f == nil {
			continue
		}
		for env := range f.Environments {
			envs[env] = true
		}
	}
	names := make([]string, len(v.doc.Flags))
	for i, f := range v.doc.Flags {
		if f != nil {
			names[i] = f.Key
		}
	}
	for _, env := range sortedKeys(envs) {
		graph := make([][]edge, len(v.doc.Flags))
		for i, f := range v.doc.Flags {
			if f == nil || v.flags[f.Key] != i || f.Environments[env] == nil {
				continue
			}
			for pi, pr := range f.Environments[env].Prerequisites {
				if j, ok := v.flags[pr.Flag]; ok {
					p := indexPath(memberPath(indexPath("flags", i)+".environments", env)+".prerequisites", pi)
					graph[i] = append(graph[i], edge{to: j, path: p})
				}
			}
		}
		for _, c := range cycles(graph) {
			v.add(c.path, "prerequisite cycle in %s: %s", env, c.describe(names))
		}
	}
}

// cycle is a closed walk found in a graph: nodes[0] → … → nodes[0], closed
// by the edge at path.
type cycle struct {
	nodes []int
	path  string
}

func (c cycle) describe(names []string) string {
	parts := make([]string, 0, len(c.nodes)+1)
	for _, n := range c.nodes {
		parts = append(parts, names[n])
	}
	parts = append(parts, names[c.nodes[0]])
	return strings.Join(parts, " → ")
}

// cycles finds cycles by depth-first search from every node in order,
// one per back edge; every graph with a cycle yields at least one.
func cycles(graph [][]edge) []cycle {
	const (
		unvisited = iota
		active
		done
	)
	state := make([]uint8, len(graph))
	var stack []int
	var found []cycle
	var visit func(n int)
	visit = func(n int) {
		state[n] = active
		stack = append(stack, n)
		for _, e := range graph[n] {
			switch state[e.to] {
			case unvisited:
				visit(e.to)
			case active:
				start := slices.Index(stack, e.to)
				found = append(found, cycle{nodes: slices.Clone(stack[start:]), path: e.path})
			}
		}
		stack = stack[:len(stack)-1]
		state[n] = done
	}
	for n := range graph {
		if state[n] == unvisited && len(graph[n]) > 0 {
			visit(n)
		}
	}
	return found
}

// sortedKeys returns the keys of m in ascending order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
