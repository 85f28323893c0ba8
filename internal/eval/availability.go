package eval

import (
	"sort"

	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/semver"
)

// Update says whether a client should update to the resolved version.
type Update string

// The update levels.
const (
	UpdateNone     Update = "NONE"
	UpdateOptional Update = "OPTIONAL"
	UpdateRequired Update = "REQUIRED"
)

// Note is one version's release notes.
type Note struct {
	// Version is the version as the document spells it.
	Version string
	// Notes are the version's release notes.
	Notes string
}

// Availability is the outcome of resolving a component version for a
// client (DESIGN §3 "Component versions"). Notes and ReleaseNotes are
// shared with the Ruleset and must not be modified.
type Availability struct {
	// Version is the resolved version as the document spells it; "" when
	// none is resolved.
	Version string
	// Reason says why the version was resolved.
	Reason Reason
	// Rule is RuleTargets, a rule id or RuleDefault; "" for DISABLED and
	// errors.
	Rule string
	// Update is "" on errors.
	Update Update
	// Notes lists every non-withdrawn version above the current one up to
	// and including the resolved one, ascending; nil when Update is NONE.
	Notes []Note
	// ReleaseNotes lists the notes of the releases that brought those
	// versions to the client — the release in progress that served it, and
	// the completed releases of the environment — ascending by version,
	// then in the releases' creation order; nil when Update is NONE.
	ReleaseNotes []ReleaseNote
	// ErrorCode is set when Reason is ERROR.
	ErrorCode ErrorCode
	// ErrorMessage explains ErrorCode.
	ErrorMessage string
}

// componentVersion is one version of a component, parsed.
type componentVersion struct {
	raw       string
	v         semver.Version
	withdrawn bool
}

// component is one component compiled for one environment.
type component struct {
	src      *model.Component
	key      string
	versions []componentVersion // ascending by precedence
	// notes lists the non-withdrawn versions ascending; noteVersions holds
	// them parsed; requiredBefore[i] counts the required ones in notes[:i].
	notes          []Note
	noteVersions   []semver.Version
	requiredBefore []int
	min            semver.Version
	hasMin         bool
	entry          bool // has targeting for the environment
	t              targeting
	segDeps        []*segment
	// relNotes are the completed releases' notes (from noteSrcs);
	// servedNotes what the audience of the release in progress that claims
	// the component gets.
	noteSrcs    []noteSource
	relNotes    releaseNotes
	servedNotes releaseNotes
}

// Availability resolves the version of the component key to offer a
// client at currentVersion ("" when the client sent none) for ctx, and
// whether and why to update. A nil ctx is an empty context. It allocates
// nothing: Notes is a slice of the Ruleset's precomputed notes.
func (rs *Ruleset) Availability(key string, ctx *Context, currentVersion string) Availability {
	var c *component
	if rs != nil {
		c = rs.components[key]
	}
	if c == nil {
		return Availability{Reason: ReasonError, ErrorCode: ErrorFlagNotFound, ErrorMessage: msgComponentNotFound}
	}
	if ctx == nil {
		ctx = new(Context)
	}
	current, ok := semver.Parse(currentVersion)
	if !ok {
		return Availability{Reason: ReasonError, ErrorCode: ErrorInvalidContext, ErrorMessage: msgBadCurrentVersion}
	}
	if msg := contextError(ctx); msg != "" {
		return Availability{Reason: ReasonError, ErrorCode: ErrorInvalidContext, ErrorMessage: msg}
	}
	if !c.entry {
		return Availability{Reason: ReasonDisabled, Update: UpdateNone}
	}
	m := c.t.evaluate(ctx)
	switch {
	case m.code() != "":
		return Availability{Reason: m.reason, ErrorCode: m.x.code, ErrorMessage: m.x.msg}
	case m.outcome == noOutcome:
		return Availability{Reason: ReasonDisabled, Update: UpdateNone}
	}
	resolved := &c.versions[m.outcome]
	a := Availability{Version: resolved.raw, Reason: m.reason, Rule: m.rule, Update: UpdateNone}
	if semver.Compare(current, resolved.v) >= 0 {
		return a
	}
	lo := sort.Search(len(c.noteVersions), func(i int) bool { return semver.Compare(c.noteVersions[i], current) > 0 })
	hi := sort.Search(len(c.noteVersions), func(i int) bool { return semver.Compare(c.noteVersions[i], resolved.v) > 0 })
	a.Update = UpdateOptional
	if c.requiredBefore[hi] > c.requiredBefore[lo] || c.withdrawn(current) ||
		(c.hasMin && semver.Compare(current, c.min) < 0) || c.pushedBy(&m) {
		a.Update = UpdateRequired
	}
	if hi > lo {
		a.Notes = c.notes[lo:hi:hi]
	}
	if c.servedBy(&m) {
		a.ReleaseNotes = c.servedNotes.between(current, resolved.v)
	} else {
		a.ReleaseNotes = c.relNotes.between(current, resolved.v)
	}
	return a
}

// pushedBy reports whether m was served by a release in push mode, whose
// version its audience must take.
func (c *component) pushedBy(m *match) bool {
	return c.servedBy(m) && c.t.release.aud.push
}

// withdrawn reports whether v is a withdrawn version of c.
func (c *component) withdrawn(v semver.Version) bool {
	i := sort.Search(len(c.versions), func(i int) bool { return semver.Compare(c.versions[i].v, v) >= 0 })
	return i < len(c.versions) && c.versions[i].withdrawn && semver.Compare(c.versions[i].v, v) == 0
}
