package sdk

import (
	"golang.org/x/text/language"

	"github.com/switchyard/switchyard/internal/eval"
)

// Update says whether a client should move to the resolved version.
type Update string

// The update levels (DESIGN §3 "Component versions").
const (
	// UpdateNone: the client runs the resolved version or a later one.
	UpdateNone Update = "NONE"
	// UpdateOptional: a newer version is available (pull).
	UpdateOptional Update = "OPTIONAL"
	// UpdateRequired: the client must update (push): its version is
	// withdrawn, below the component's minimum, or a required version lies
	// between it and the resolved one.
	UpdateRequired Update = "REQUIRED"
)

// VersionNote is one version's release notes.
type VersionNote = eval.Note

// ReleaseNote is one release's notes for the users of the version it
// released, in one language.
type ReleaseNote struct {
	// Release is the release's id; Version the version it released.
	Release string
	Version string
	// Language is the BCP 47 tag of the translation chosen, "" for the
	// release's default text.
	Language string
	Notes    string
}

// Availability is the version of a component resolved for a context and a
// client's current version, and whether to update to it.
type Availability struct {
	// Version is the resolved version; "" when none is (no targeting for
	// the environment, or an error).
	Version string
	// Update is "" on errors.
	Update Update
	// Notes lists every version above the current one up to and including
	// the resolved one, ascending; nil when Update is NONE. It is shared
	// with the ruleset and must not be modified.
	Notes []VersionNote
	// ReleaseNotes lists the notes of the releases that brought those
	// versions to the client (the release in progress that served it, and
	// the completed releases of the environment), ascending by version;
	// nil when Update is NONE.
	ReleaseNotes []ReleaseNote
	// Reason, Rule, Revision, ErrorCode and ErrorMessage are as in Detail;
	// an unknown component is FLAG_NOT_FOUND, a current version that is not
	// a semantic version INVALID_CONTEXT.
	Reason       Reason
	Rule         string
	Revision     uint64
	ErrorCode    ErrorCode
	ErrorMessage string
}

// Availability resolves the version of the component key to offer a client
// running currentVersion, for ctx: the same answer as the server's
// GetAvailability, evaluated locally (a release in progress included).
// Release notes come in the best match for languages — BCP 47 tags, most
// preferred first (tags that do not parse are skipped) — else in their
// default text. Before the first ruleset it answers PROVIDER_NOT_READY.
// It allocates only for release notes.
func (c *Client) Availability(key string, ctx *Context, currentVersion string, languages ...string) Availability {
	rs := c.ruleset.Load()
	if rs == nil {
		return Availability{Reason: ReasonError, ErrorCode: ErrorProviderNotReady, ErrorMessage: msgNotReady}
	}
	a := rs.Availability(key, ctx, currentVersion)
	return Availability{
		ReleaseNotes: localize(a.ReleaseNotes, languages),
		Version:      a.Version,
		Update:       Update(a.Update),
		Notes:        a.Notes,
		Reason:       Reason(a.Reason),
		Rule:         a.Rule,
		Revision:     rs.Revision,
		ErrorCode:    ErrorCode(a.ErrorCode),
		ErrorMessage: a.ErrorMessage,
	}
}

// localize returns notes in the languages given.
func localize(notes []eval.ReleaseNote, languages []string) []ReleaseNote {
	if len(notes) == 0 {
		return nil
	}
	var prefs []language.Tag
	for _, l := range languages {
		if tag, err := language.Parse(l); err == nil {
			prefs = append(prefs, tag)
		}
	}
	out := make([]ReleaseNote, len(notes))
	for i := range notes {
		lang, text := notes[i].Localize(prefs)
		out[i] = ReleaseNote{Release: notes[i].Release, Version: notes[i].Version, Language: lang, Notes: text}
	}
	return out
}
