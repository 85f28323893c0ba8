// Package model holds Switchyard's domain types: the declarative project
// document of DESIGN §2 and the resources it is made of. It does no I/O.
//
// Values in the model are immutable once published: code that changes a
// document builds new values and shares the unchanged ones, so a compiled
// snapshot can reuse the work it did for an unchanged segment or flag by
// pointer identity.
package model

// DocumentVersion is the only document format version this build reads.
const DocumentVersion = 1

// Document is one project's declarative state: its environments, segments,
// flags and components with their per-environment targeting.
type Document struct {
	Version      int          `json:"version"`
	Project      string       `json:"project"`
	Environments []string     `json:"environments"`
	Segments     []*Segment   `json:"segments,omitempty"`
	Flags        []*Flag      `json:"flags,omitempty"`
	Components   []*Component `json:"components,omitempty"`
}

// Match says how a segment's conditions combine.
type Match string

// The ways a segment's conditions combine.
const (
	MatchAll Match = "all"
	MatchAny Match = "any"
)

// Segment is a reusable audience: conditions plus explicit include and
// exclude lists of targeting keys. Exclude wins over include.
type Segment struct {
	Key         string      `json:"key"`
	Description string      `json:"description,omitempty"`
	Match       Match       `json:"match,omitempty"`
	Conditions  []Condition `json:"conditions,omitempty"`
	Include     []string    `json:"include,omitempty"`
	Exclude     []string    `json:"exclude,omitempty"`
}

// Op is a condition operator (DESIGN §3).
type Op string

// The condition operators.
const (
	OpIn           Op = "in"
	OpNotIn        Op = "not_in"
	OpContains     Op = "contains"
	OpStartsWith   Op = "starts_with"
	OpEndsWith     Op = "ends_with"
	OpMatches      Op = "matches"
	OpLT           Op = "lt"
	OpLTE          Op = "lte"
	OpGT           Op = "gt"
	OpGTE          Op = "gte"
	OpSemverEQ     Op = "semver_eq"
	OpSemverLT     Op = "semver_lt"
	OpSemverLTE    Op = "semver_lte"
	OpSemverGT     Op = "semver_gt"
	OpSemverGTE    Op = "semver_gte"
	OpBefore       Op = "before"
	OpAfter        Op = "after"
	OpExists       Op = "exists"
	OpNotExists    Op = "not_exists"
	OpInSegment    Op = "in_segment"
	OpNotInSegment Op = "not_in_segment"
)

// Condition tests one context attribute against a list of values. Values
// hold JSON scalars: string, float64 or bool.
type Condition struct {
	Attribute string `json:"attribute,omitempty"`
	Op        Op     `json:"op"`
	Values    []any  `json:"values,omitempty"`
}

// FlagType is the type of a flag's variant values.
type FlagType string

// The flag types.
const (
	TypeBool   FlagType = "bool"
	TypeString FlagType = "string"
	TypeNumber FlagType = "number"
	TypeJSON   FlagType = "json"
)

// Flag is a feature flag: a type, its variants and its targeting per
// environment. A bool flag may omit Variants; it then has the implicit
// variants "on" (true) and "off" (false).
type Flag struct {
	Key         string   `json:"key"`
	Description string   `json:"description,omitempty"`
	Type        FlagType `json:"type"`
	// Tags label the flag for finding it (the flag list filters by tag):
	// at most maxFlagTags, each a key, no duplicates.
	Tags         []string              `json:"tags,omitempty"`
	Variants     []Variant             `json:"variants,omitempty"`
	Environments map[string]*Targeting `json:"environments,omitempty"`
}

// Variant is one named value of a flag. Value is a JSON value that fits the
// flag type: bool, string, float64, or any JSON value for json flags.
type Variant struct {
	Key   string `json:"key"`
	Value any    `json:"value"`
}

// Targeting is a flag's or a component's state in one environment. For a
// component, Enabled, OffVariant and Prerequisites are not used, and
// targets, serves and rollouts name versions instead of variants.
type Targeting struct {
	Enabled       bool           `json:"enabled,omitempty"`
	OffVariant    string         `json:"off_variant,omitempty"`
	Salt          string         `json:"salt,omitempty"`
	BucketBy      string         `json:"bucket_by,omitempty"`
	Prerequisites []Prerequisite `json:"prerequisites,omitempty"`
	Targets       []Target       `json:"targets,omitempty"`
	Rules         []Rule         `json:"rules,omitempty"`
	Default       *Serve         `json:"default,omitempty"`
}

// Prerequisite requires another flag to yield a variant.
type Prerequisite struct {
	Flag    string `json:"flag"`
	Variant string `json:"variant"`
}

// Target serves a variant (or, for components, a version) to listed
// targeting keys.
type Target struct {
	Variant string   `json:"variant,omitempty"`
	Version string   `json:"version,omitempty"`
	Keys    []string `json:"keys"`
}

// Rule serves when every listed segment and every condition holds.
type Rule struct {
	ID         string      `json:"id"`
	Segments   []string    `json:"segments,omitempty"`
	Conditions []Condition `json:"conditions,omitempty"`
	Serve      Serve       `json:"serve"`
}

// Serve is what a rule or default serves: exactly one of a variant, a
// version (components) or a rollout.
type Serve struct {
	Variant string     `json:"variant,omitempty"`
	Version string     `json:"version,omitempty"`
	Rollout []Weighted `json:"rollout,omitempty"`
}

// RolloutTotal is the sum every rollout's weights must reach: one weight
// unit is 0.001 %.
const RolloutTotal = 100000

// Weighted is one entry of a rollout.
type Weighted struct {
	Variant string `json:"variant,omitempty"`
	Version string `json:"version,omitempty"`
	Weight  int    `json:"weight"`
}

// Component is a deployable thing whose versions CI/CD registers.
type Component struct {
	Key          string                `json:"key"`
	Description  string                `json:"description,omitempty"`
	MinSupported string                `json:"min_supported,omitempty"`
	Versions     []Version             `json:"versions,omitempty"`
	Environments map[string]*Targeting `json:"environments,omitempty"`
}

// Version is one deployed version of a component. Required marks an
// update that must be pushed; Deprecated marks a version that is still
// served but should be left (it does not change availability); Withdrawn
// marks a version that is never served and whose clients must move.
type Version struct {
	Version    string            `json:"version"`
	Notes      string            `json:"notes,omitempty"`
	Artifact   string            `json:"artifact,omitempty"`
	Required   bool              `json:"required,omitempty"`
	Deprecated bool              `json:"deprecated,omitempty"`
	Withdrawn  bool              `json:"withdrawn,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
}
